"""Planted targets graded for real: five planted services (one fault each) scraped by one real
Prometheus, driven together by one bounded load loop, each written out as a run folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from grade_driver import Target, drive, write_request_log
from grade_planted import (
    KEYS,
    PHASES,
    PLANTED,
    RATE,
    PlantedRun,
    start_planted,
    wait_scraped,
    wait_scraped_after,
)

from harness.process import ManagedProcess
from harness.schemas.run import Endpoints, RunFolder
from harness.schemas.timeline import Phase, ScenarioRun, ScenarioStatus, Timeline
from harness.stack.prometheus import start_prometheus


@pytest.fixture(scope="module")
def planted_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, int]]]:
    workdir = tmp_path_factory.mktemp("planted")
    procs: list[ManagedProcess] = []
    try:
        ports = {}
        for name, (args, _) in PLANTED.items():
            proc, ports[name] = start_planted(name, args, workdir)
            procs.append(proc)
        prom, prom_url = start_prometheus(workdir / "prometheus",
                                          {name: f"127.0.0.1:{port}" for name, port in ports.items()})
        procs.append(prom)
        wait_scraped(prom_url, len(PLANTED))
        yield prom_url, ports
    finally:
        for proc in procs:
            proc.stop()


@pytest.fixture(scope="module")
def planted_runs(planted_prometheus: tuple[str, dict[str, int]],
                 tmp_path_factory: pytest.TempPathFactory) -> dict[str, PlantedRun]:
    prom_url, ports = planted_prometheus
    targets = {name: Target(f"http://127.0.0.1:{port}", KEYS[0]) for name, port in ports.items()}
    windows = drive(list(targets.values()), RATE, PHASES)
    wait_scraped_after(prom_url, windows[-1][2], len(targets))  # grading reads the scrape after the end
    root = tmp_path_factory.mktemp("runs")
    runs = {}
    for name, target in targets.items():
        folder = RunFolder(root / name).ensure()
        phases = [Phase(name=phase, start=start, end=end) for phase, start, end in windows]
        run = ScenarioRun(name="target_2x", status=ScenarioStatus.completed, start=phases[0].start,
                          end=phases[-1].end, phases=phases)
        Timeline(run_id=name, scenarios=[run]).save_file(folder.timeline)
        write_request_log(folder.request_log("target_2x"), target.rows)
        endpoints = Endpoints(target_url=target.url, prometheus_url=prom_url, api_key=KEYS[0],
                              api_key_2=KEYS[1])
        runs[name] = PlantedRun(name, folder.root, endpoints, PLANTED[name][1],
                                {phase: (start, end) for phase, start, end in windows})
    return runs
