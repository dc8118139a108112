"""The live progress line: computed from a live sample, printed on stderr only when it is a TTY."""

from __future__ import annotations

import sys
from typing import Any, TextIO


def progress_line(scenario: str, s: dict[str, Any]) -> str:
    phase = s.get("phase") or ("draining" if s.get("elapsed", 0) > 0 else "starting")
    p99 = f"{s['window_p99']:.3f} s" if s.get("window_p99") is not None else "-"
    return (
        f"{scenario} [{phase}] {s.get('elapsed', 0):5.0f}/{s.get('total_s', 0):.0f} s"
        f"  {s.get('rps', 0):6.1f} req/s  P99 {p99}  errors {s.get('errors', 0)}"
        f"  users {s.get('users', 0)}  in-flight {s.get('in_flight', 0)}"
    )


class Progress:
    def __init__(self, enabled: bool | None, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.enabled = stream.isatty() if enabled is None else enabled
        self._shown = False

    def show(self, text: str) -> None:
        if self.enabled:
            self.stream.write("\r\033[K" + text)
            self.stream.flush()
            self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
