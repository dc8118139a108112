"""A short test checklist for gates run through the real CLI: the shipped items, phases of seconds."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]


def short_checklist(tmp_path: Path, items: tuple[str, ...], target_qps: float = 5, steady_s: float = 60,
                    concurrency: bool = True) -> Path:
    """checklist.yaml cut to ``items``, with one profile 'short': target_2x (3 s warm-up, ``steady_s``)
    and, with ``concurrency``, a 10-user concurrency_1000 of a few seconds after it."""
    shipped = yaml.safe_load((ROOT / "checklist.yaml").read_text())
    scenarios: dict = {"target_2x": {"warmup_s": 3, "steady_s": steady_s, "rate_x": 2}}
    if concurrency:
        scenarios["concurrency_1000"] = {"warmup_s": 2, "steady_s": 5, "users": 10, "spawn_rate": 5,
                                         "think_time_s": 2, "max_in_flight": 10}
    shipped.update(target_qps=target_qps, default_profile="short", profiles={"short": {
        "description": "seconds-long phases for CLI tests", "scenarios": scenarios}})
    # Items of the shipped checklist, whichever profiles they name: this checklist has only 'short'.
    shipped["items"] = [{k: v for k, v in i.items() if k != "profiles"} for i in shipped["items"]
                        if i["id"] in items]
    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump(shipped, sort_keys=False))
    return path
