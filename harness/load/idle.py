"""The target's own in-flight count (``agent_active_tasks``): what the runner records at the end of a run."""

from __future__ import annotations

import httpx


def target_in_flight(target_url: str, timeout_s: float = 5.0) -> float | None:
    """The service's ``agent_active_tasks`` now; None when it exports no such gauge or cannot be read."""
    try:
        text = httpx.get(f"{target_url.rstrip('/')}/metrics", timeout=timeout_s).text
    except httpx.HTTPError:
        return None
    values = [
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("agent_active_tasks") and not line.startswith("agent_active_tasks_")
    ]
    return sum(values) if values else None

