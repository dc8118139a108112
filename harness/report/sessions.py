"""agent_sessions in the report: latency by turn index (a chart), session outcomes and tool outcomes
(tables with bars), all from ``stats.json``'s sessions, which the recorder built from the request log."""

from __future__ import annotations

from typing import Any

from harness.report.svg import Chart, Line
from harness.schemas.timeline import SessionStats

_PERCENTILES = (("p50", "#2e90fa"), ("p95", "#f79009"), ("p99", "#d92d20"))


def turn_latency_chart(sessions: SessionStats) -> Chart:
    """P50 / P95 / P99 of turn latency (from each turn's intended start) by turn index."""
    chart = Chart(key="turn-latency", title="Turn latency by turn index (history grows with the turn)",
                  unit="s",
                  x="value", x_unit="turn")
    for name, color in _PERCENTILES:
        points = [(float(turn), getattr(s, name)) for turn, s in sorted(sessions.latency_by_turn.items())
                  if getattr(s, name) is not None]
        if points:
            chart.lines.append(Line(name, points, color, markers=True))
    counts = ", ".join(f"{t}: {s.count}" for t, s in sorted(sessions.latency_by_turn.items()))
    chart.note = f"turns answered per index: {counts}" if counts else ""
    return chart


def tool_rows(sessions: SessionStats) -> list[dict[str, Any]]:
    """One row per tool: calls, each status with its share (for a bar), failures first in the eye."""
    rows = []
    for tool, statuses in sorted(sessions.tool_outcomes.items()):
        total = sum(statuses.values())
        parts = [{"status": s, "count": n, "share": n / total if total else 0.0}
                 for s, n in sorted(statuses.items(), key=lambda kv: (kv[0] != "ok", kv[0]))]
        rows.append({"tool": tool, "calls": total, "parts": parts})
    return rows


def session_view(sessions: SessionStats | None) -> dict[str, Any] | None:
    if sessions is None:
        return None
    finished = sessions.completed + sessions.failed
    return {
        "stats": sessions,
        "success_share": sessions.completed / finished if finished else None,
        "turns": sorted(sessions.turns_per_session.items()),
        "tools": tool_rows(sessions),
    }
