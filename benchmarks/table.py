"""results.json -> the Markdown table the README shows."""

from __future__ import annotations

from benchmarks.core import Row, Sample

_UNITS = {"s": [(1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")]}


def fmt_value(value: float, unit: str) -> str:
    if unit == "s":
        for scale, name in _UNITS["s"]:
            if abs(value) >= scale or scale == 1e-9:
                return f"{value / scale:.3g} {name}"
    if unit == "B":
        return f"{value / 2**20:.3g} MiB"
    return f"{value:.3g} {unit}"


def fmt_sample(s: Sample) -> str:
    spread = (
        f"IQR {fmt_value(s.q1, s.unit)}–{fmt_value(s.q3, s.unit)}"
        if s.n >= 4
        else f"range {fmt_value(s.min, s.unit)}–{fmt_value(s.max, s.unit)}"
    )
    return f"{s.label}: **{fmt_value(s.median, s.unit)}** ({spread}, n={s.n})"


def _holds(row: Row) -> str:
    return {True: "yes", False: "**no**", None: "–"}[row.holds]


def markdown(rows: list[Row], header: str) -> str:
    lines = [
        header,
        "",
        "| benchmark | size | baseline median | optimized median | ratio | article claim | holds? |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.benchmark} | {r.size} | {fmt_sample(r.baseline)} | {fmt_sample(r.optimized)} | "
            f"{r.ratio_text} | {r.claim} | {_holds(r)} |"
        )
    notes = [f"- **{r.benchmark}** ({r.size}): {r.note}" for r in rows if r.note]
    if notes:
        lines += ["", "Notes:", "", *notes]
    return "\n".join(lines) + "\n"
