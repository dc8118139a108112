"""What a planner must read beside a capacity answer: which LLM the service ran (a simulated one is
said so), how busy the machine was (a load average over the cores says the rates are what the machine
had left), each step's load average in the table, and, when no rate held, what the lowest steps
failed on instead of a bare "no rate met the SLO"."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from report_pages import parse

from harness.report import render_run, terminal_summary
from harness.report.capacity import headline, machine_lines
from harness.report.fmt import fmt_value
from harness.schemas import RunInfo
from harness.schemas.capacity import CapacityResult, StepOutcome

CAPACITY_RUN = Path(__file__).parents[2] / "fixtures" / "capacity_run"
SIMULATED = {"backend": "SimulatedLLM", "model": "simulated"}
LOCAL = {"backend": "LocalLLM", "model": "tiny-llama", "device": "cpu", "dtype": "float32"}


def _run_folder(tmp_path: Path, llm: dict | None, loads: list[float] | None = None,
                nothing_held: bool = False, others: list[float] | None = None) -> Path:
    """The stored capacity run, with the service's readiness answer, step load averages and outcomes set."""
    run = shutil.copytree(CAPACITY_RUN, tmp_path / "run")
    info = json.loads((run / "run.json").read_text())
    info["service_readiness"] = {"ready": True, "llm": llm} if llm else None
    (run / "run.json").write_text(json.dumps(info))
    result = json.loads((run / "capacity.json").read_text())
    for n, step in enumerate(result["steps"]):
        if loads is not None:
            step["load_average"] = loads[n % len(loads)]
        if others is not None:
            step["other_cpu_cores"] = others[n % len(others)]
        if nothing_held:
            step["outcome"] = "fail"
            step["error_kinds"] = {"degraded": step["errors"] or 1}
            step["errors"] = step["errors"] or 1
            step["degraded_reasons"] = {"breaker_open": 2 * step["errors"], "timeout": step["errors"]}
    if nothing_held:
        for search in result["searches"]:
            search["max_sustainable_rps"] = None
            search["bracket_rps"] = [None, search["bracket_rps"][1]]
            search["plans"] = []
            search["breaking"] = None  # no step passed: no rate seen on both sides
        result["max_sustainable_rps"] = None
        result["recommendation"] = None
    (run / "capacity.json").write_text(json.dumps(result))
    return run


def _headline_text(run: Path) -> str:
    return parse(render_run(run).read_text(encoding="utf-8")).find_all("section", id="headline")[0].text


def test_a_simulated_llm_is_said_so_and_the_local_model_is_named(tmp_path: Path) -> None:
    simulated = _headline_text(_run_folder(tmp_path / "a", SIMULATED))
    assert "Service LLM: SimulatedLLM, model simulated: a simulated model" in simulated
    assert "not the real model's" in simulated
    local = _headline_text(_run_folder(tmp_path / "b", LOCAL))
    assert "Service LLM: LocalLLM, model tiny-llama, on cpu float32." in local
    assert "simulated" not in local
    assert "Service LLM" not in _headline_text(_run_folder(tmp_path / "c", None))  # a service saying nothing


def test_a_load_average_over_the_cores_says_the_rates_are_what_the_machine_had_left(tmp_path: Path) -> None:
    busy = _run_folder(tmp_path / "busy", None, loads=[4.83, 10.7, 6.0])
    text = _headline_text(busy)
    assert "load average was 4.8–10.7 over the steps on 2 cores" in text
    assert "not the service's capacity on a machine of its own" in text
    assert "The machine was busy" in terminal_summary(busy)
    quiet = _run_folder(tmp_path / "quiet", None, loads=[0.4, 1.9])
    assert "The machine was busy" not in _headline_text(quiet)
    assert machine_lines(CapacityResult.load_file(quiet), RunInfo.load_file(quiet)) == []


def test_cpu_taken_outside_the_run_decides_busy_not_the_runs_own_load(tmp_path: Path) -> None:
    # A service at capacity and its load generator alone keep the load average over the core count.
    own_load = _run_folder(tmp_path / "own", None, loads=[2.5, 3.2], others=[0.02, 0.08])
    text = _headline_text(own_load)
    assert "The machine was busy" not in text
    assert "processes outside it used at most 0.08 of its 2 cores during any step" in text
    shared = _run_folder(tmp_path / "shared", None, loads=[2.5, 3.2], others=[0.1, 0.9])
    text = _headline_text(shared)
    steps = len(CapacityResult.load_file(shared).steps)
    assert (f"processes outside this run kept up to 0.90 of its 2 cores busy, over 0.25 in {steps // 2} of "
            f"{steps} steps (workers=1") in text
    assert "not the service's capacity on a machine of its own" in text


def test_the_step_table_shows_each_steps_load_average(tmp_path: Path) -> None:
    run = _run_folder(tmp_path, None, loads=[4.83, 10.7, 6.0])
    steps = {(s.search, s.index): s for s in CapacityResult.load_file(run).steps}
    page = parse(render_run(run).read_text(encoding="utf-8"))
    rows = page.find_all("table", cls="steps")[0].find_all("tr")[1:]
    assert len(rows) == len(steps)
    for row in rows:
        cell = next(td for td in row.find_all("td") if td.attrs["data-key"] == "load_average")
        step = steps[(row.attrs["data-search"], int(row.attrs["data-index"]))]
        assert float(cell.attrs["data-value"]) == step.load_average
        assert cell.text == fmt_value(step.load_average)
    assert "Load avg" in (run / "capacity.md").read_text()
    assert "load_average" in (run / "capacity_steps.csv").read_text().splitlines()[0]


def test_when_nothing_held_each_search_says_what_its_lowest_step_failed_on(tmp_path: Path) -> None:
    run = _run_folder(tmp_path, LOCAL, nothing_held=True)
    result = CapacityResult.load_file(run)
    lines = headline(result)
    assert lines[0].startswith("No rate met the SLO (P99 < 3 s")
    for search in result.searches:
        low = min((s for s in result.steps if s.search == search.name), key=lambda s: s.rate_rps)
        assert low.outcome == StepOutcome.failed
        line = next(x for x in lines if x.startswith(f"{search.name}: "))
        assert f"even {fmt_value(low.rate_rps, 'req/s')}, its lowest step, failed (" in line
        assert f"{low.errors} of {low.requests} requests were errors: degraded x{low.errors}" in line
        fallbacks = f"breaker_open x{2 * low.errors}, timeout x{low.errors}"
        assert f"the service's fallback answers: {fallbacks}" in line
    assert any("answering without its LLM" in x for x in lines)
    page = parse(render_run(run).read_text(encoding="utf-8"))
    breaking = next(f for f in page.find_all("figure") if f.attrs.get("data-chart") == "breaking")
    assert "No breaking rate: it needs a search with steps that passed and steps that failed; no " \
           "measured step passed." in breaking.text
    text = page.find_all("section", id="headline")[0].text
    assert "holds no rate" not in text and "One replica" not in text.split("What if")[0]


def test_a_lowest_step_that_observed_neither_is_named_with_the_lowest_that_failed(tmp_path: Path) -> None:
    run = _run_folder(tmp_path, LOCAL, nothing_held=True)
    data = json.loads((run / "capacity.json").read_text())
    first = data["searches"][0]["name"]
    mine = sorted((s for s in data["steps"] if s["search"] == first), key=lambda s: s["rate_rps"])
    mine[0].update(outcome="inconclusive",
                   reason="58 samples give no upper bound on P99 (estimate 1.01 s); drain wait 0 s")
    (run / "capacity.json").write_text(json.dumps(data))
    line = next(x for x in headline(CapacityResult.load_file(run)) if x.startswith(f"{first}: "))
    assert line.startswith(f"{first}: its lowest step, {fmt_value(mine[0]['rate_rps'], 'req/s')}, was "
                           "inconclusive (58 samples give no upper bound on P99 (estimate 1.01 s))")
    assert f"; {fmt_value(mine[1]['rate_rps'], 'req/s')}, the lowest that failed, failed (" in line


def test_a_search_without_a_usl_fit_is_named_under_the_chart_with_why(tmp_path: Path) -> None:
    run = _run_folder(tmp_path, None)
    data = json.loads((run / "capacity.json").read_text())
    last = data["searches"][-1]
    last.update(usl=None, usl_error="a USL fit needs 3 distinct concurrency levels, got 2")
    (run / "capacity.json").write_text(json.dumps(data))
    page = parse(render_run(run).read_text(encoding="utf-8"))
    usl = next(f for f in page.find_all("figure") if f.attrs.get("data-chart") == "usl")
    assert f"No fit for {last['name']}: a USL fit needs 3 distinct concurrency levels, got 2." in usl.text


def test_a_what_if_that_held_nothing_states_the_drop_as_a_bound(tmp_path: Path) -> None:
    run = shutil.copytree(CAPACITY_RUN, tmp_path / "run")
    result = json.loads((run / "capacity.json").read_text())
    slow = result["what_if"][0]
    slow.update(max_sustainable_rps=None, change=None, breaking_change=None, failed_from_rps=6.5,
                change_at_most=6.5 / slow["baseline_rps"] - 1)
    search = next(s for s in result["searches"] if s["name"] == slow["search"])
    search.update(max_sustainable_rps=None, bracket_rps=[None, 3.25], breaking=None, plans=[])
    (run / "capacity.json").write_text(json.dumps(result))
    text = _headline_text(run)
    assert "LLM +0.5 s: no rate shown to hold" in text
    assert "it holds less than 6.5 req/s, where its steps failed, a drop of more than 69%" in text
    page = parse(render_run(run).read_text(encoding="utf-8")).text
    assert "-69.0 % or worse" in page
