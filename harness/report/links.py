"""Links that re-run an item's PromQL in the Prometheus the run used, at the item's own window."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from urllib.parse import urlencode

from harness.schemas import Window


def _prom_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def prometheus_links(prom_url: str | None, query: str | None, window: Window | None) -> dict[str, str]:
    """{"table": ..., "graph": ...}: the table at the window's end, the graph over the window (+10%).

    Only http(s) bases make links: the URL comes from a file, and a link must never run script.
    """
    if not query or not prom_url or not prom_url.startswith(("http://", "https://")):
        return {}
    base = prom_url.rstrip("/") + "/graph?"
    table = {"g0.expr": query, "g0.tab": "1"}
    graph = {"g0.expr": query, "g0.tab": "0"}
    if window:
        margin = max((window.end - window.start) * 0.1, 5.0)
        table["g0.moment_input"] = _prom_time(window.end)
        graph["g0.range_input"] = f"{math.ceil(window.end - window.start + 2 * margin)}s"
        graph["g0.end_input"] = _prom_time(window.end + margin)
    return {"table": base + urlencode(table), "graph": base + urlencode(graph)}
