"""The terminal summary: the top of the report as text. Computed here, printed by the CLI."""

from __future__ import annotations

from pathlib import Path

from harness.report.capacity import headline, machine_lines, search_rows
from harness.report.fmt import fmt_value, is_number
from harness.report.html import outcome_of, sorted_items
from harness.report.rundata import RunData, load_run
from harness.schemas import ItemStatus, RunFolder, RunKind


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())  # one line, whatever the item text held
    return text if len(text) <= width else text[: width - 1] + "…"


def capacity_summary(data: RunData) -> str:
    """A capacity run's answer as the report's headline says it, each what-if, the report's path."""
    lines = [f"CAPACITY  run {data.run_id}"]
    if data.capacity:
        lines += [f"  {line}" for line in headline(data.capacity)]
        lines += [f"  what if {row['sentence']}" for row in search_rows(data.capacity) if row["sentence"]]
        lines += [f"  {line}" for line in machine_lines(data.capacity, data.run)]
    lines += [f"  missing: {_clip(p, 180)}" for p in data.problems]
    lines.append(f"  report: {data.folder.report_html}")
    return "\n".join(lines)


def terminal_summary(run_folder: Path | str | RunFolder) -> str:
    """Verdict, reason, every item that did not pass, counts and the report's path; no colour codes.
    A capacity run: its answer instead."""
    data = load_run(run_folder)
    if data.kind == RunKind.capacity:
        return capacity_summary(data)
    outcome, reason = outcome_of(data)
    profile = f"profile {data.run.profile} · " if data.run else ""
    lines = [f"{outcome}  {profile}run {data.run_id}", f"  {_clip(reason, 200)}"]
    if data.verdict:
        for r in data.verdict.invalid_reasons:
            lines.append(f"  invalid: {_clip(r, 180)}")
        not_passed = [i for i in sorted_items(data.verdict.items) if i.status != ItemStatus.passed]
        for i in not_passed:
            measured = fmt_value(i.value, i.unit)
            vs = f" vs {i.threshold}" if i.threshold else ""
            bound = f" (bound {fmt_value(i.bound, i.unit)})" if is_number(i.bound) else ""
            status = f"{i.status.value.upper():<8}"
            status += "" if status.endswith(" ") else " "  # NOT-APPLICABLE runs past the column
            lines.append(f"  {status}{i.severity:<8} {i.id}: {measured}{vs}{bound}"
                         f" — {_clip(i.reason, 120)}")
            top = data.top_cause(i.id)
            if top:
                lines.append(f"          likely cause: {_clip(f'{top.title} — {top.summary}', 160)}")
        counts = ", ".join(f"{sum(1 for i in data.verdict.items if i.status == s)} {s.value}"
                           for s in ItemStatus)
        lines.append(f"  {len(data.verdict.items)} items: {counts}")
    for problem in data.problems:
        lines.append(f"  missing: {_clip(problem, 180)}")
    lines.append(f"  report: {data.folder.report_html}")
    return "\n".join(lines)
