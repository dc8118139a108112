"""CSV and Markdown summaries of capacity runs: every step, and the answer per search.

One run's report writes ``capacity_steps.csv``, ``capacity_answer.csv`` and ``capacity.md`` beside
``report.html``; ``--compare`` writes the same three over every run compared, a ``run`` column first.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from enum import Enum
from pathlib import Path

from harness.report.capacity import STEP_COLUMNS, headline, search_rows, step_cells
from harness.schemas.capacity import CapacityResult
from harness.schemas.files import write_atomic

STEP_FIELDS = ("search", "index", "rate_rps", "duration_s", "achieved_rps", "requests", "errors",
               "error_rate", "p50_s", "p95_s", "p99_s", "outcome", "drain_wait_s", "drained", "remeasure_of",
               "load_average", "other_cpu_cores", "cpu_percent", "reason")
ANSWER_FIELDS = ("search", "workers", "llm_extra_latency_s", "fresh_share", "max_sustainable_rps",
                 "bracket_low_rps", "bracket_high_rps", "confirmed", "breaking_rps", "interval_low_rps",
                 "interval_high_rps", "rerun_low_rps", "rerun_high_rps", "change", "real_or_noise")

Runs = Sequence[tuple[str, CapacityResult]]  # (run label, its capacity.json)


def _csv(header: Sequence[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue()


def _plain(value: object) -> object:
    return value.value if isinstance(value, Enum) else value


def steps_csv(runs: Runs) -> str:
    return _csv(["run", *STEP_FIELDS], [[label, *(_plain(getattr(step, f)) for f in STEP_FIELDS)]
                                        for label, result in runs for step in result.steps])


def answer_csv(runs: Runs) -> str:
    peaks = sorted({p for _, result in runs for p in result.peaks_qps})
    rows = []
    for label, result in runs:
        for row in search_rows(result):
            s, br, w = row["search"], row["search"].breaking, row["what_if"]
            interval = br.interval_rps if br else (None, None)
            rerun = br.rerun_interval_rps if br else (None, None)
            plans = row["plans"]
            rows.append([label, s.name, s.workers, s.llm_extra_latency_s, s.fresh_share,
                         s.max_sustainable_rps, *s.bracket_rps, s.confirmed,
                         br.estimate_rps if br else None, *interval, *rerun,
                         w.change if w else None, row["real"] if row["real"] != "—" else None,
                         *(plans[p].replicas if p in plans else None for p in peaks)])
    return _csv(["run", *ANSWER_FIELDS, *(f"replicas_at_{p:g}_rps" for p in peaks)], rows)


def _md_table(header: Sequence[str], rows: list[list[str]]) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"
    return [line(header), line(["---"] * len(header)), *(line(r) for r in rows)]


def markdown(runs: Runs) -> str:
    lines: list[str] = []
    for label, result in runs:
        lines += [f"## {label}", "", *(f"- {h}" for h in headline(result)), ""]
        lines += _md_table(["Search", "What changed", "Holds", "Breaks near", "Interval", "Rerun interval",
                            "Change", "Real or noise"],
                           [[r["search"].name, r["changed"], r["holds"], r["breaks"], r["interval"],
                             r["rerun"], r["change"], r["real"]] for r in search_rows(result)])
        lines += ["", "### Steps", ""]
        lines += _md_table(STEP_COLUMNS, [[c.text for c in step_cells(s)] for s in result.steps])
        lines.append("")
    return "\n".join(lines)


def write_exports(where: Path, runs: Runs, prefix: str = "capacity") -> list[Path]:
    """``<prefix>_steps.csv``, ``<prefix>_answer.csv`` and ``<prefix>.md`` in ``where``."""
    return [write_atomic(where / f"{prefix}_steps.csv", steps_csv(runs)),
            write_atomic(where / f"{prefix}_answer.csv", answer_csv(runs)),
            write_atomic(where / f"{prefix}.md", markdown(runs))]
