"""Python stacks of running processes with ``py-spy dump``, and what the event loop was doing.

py-spy reads another process's memory (ptrace), so it needs root or CAP_SYS_PTRACE; a failed dump
is recorded as an error sample, never raised into the run.
"""

from __future__ import annotations

import json
import linecache
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from harness.errors import BinaryNotFoundError
from harness.schemas.diagnostics import Frame, LoopState, StackSample, ThreadStack

DUMP_TIMEOUT_S = 10.0
MAX_FRAMES = 40

# Frames that run an asyncio event loop (stdlib and uvloop): everything *inside* the innermost of
# them is work the loop is doing right now. A loop with nothing inside it (or only its selector)
# is waiting for I/O.
_LOOP_RUNNERS = {
    "asyncio/runners.py": None,
    "asyncio/base_events.py": {
        "run_forever",
        "_run_once",
        "run_until_complete",
        "BaseEventLoop.run_forever",
        "BaseEventLoop._run_once",
        "BaseEventLoop.run_until_complete",
    },
    "asyncio/events.py": {"_run", "Handle._run"},
}
_LOOP_WAIT_FILES = ("selectors.py",)


def py_spy_binary() -> str:
    """py-spy from the harness's own environment first (pip installs it beside the interpreter)."""
    beside = Path(sys.executable).parent / "py-spy"
    if beside.exists():
        return str(beside)
    found = shutil.which("py-spy")
    if found is None:
        raise BinaryNotFoundError("'py-spy' is not installed: `pip install py-spy` (in the harness's venv)")
    return found


def python_pids(root_pid: int) -> list[int]:
    """``root_pid`` and its descendants that run Python (uvicorn's workers are children)."""
    try:
        root = psutil.Process(root_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    pids = []
    for proc in procs:
        try:
            if "python" in Path(proc.exe()).name:
                pids.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return pids


def _is_loop_runner(frame: Frame) -> bool:
    for suffix, names in _LOOP_RUNNERS.items():
        if frame.file.endswith(suffix) and (names is None or frame.name in names):
            return True
    return False


def classify(thread: str, active: bool, frames: list[Frame]) -> ThreadStack:
    """Say whether this thread runs an event loop and, if so, whether the loop was free."""
    runner = next((i for i, f in enumerate(frames) if _is_loop_runner(f)), None)
    if runner is None:
        return ThreadStack(thread=thread, active=active, frames=frames[:MAX_FRAMES])
    work = [f for f in frames[:runner] if not f.file.endswith(_LOOP_WAIT_FILES)]
    state = LoopState.idle if not work else LoopState.cpu if active else LoopState.blocked
    return ThreadStack(
        thread=thread, active=active, loop=state, frames=frames[:MAX_FRAMES], loop_frames=len(work)
    )


def _frames(raw: list[dict]) -> list[Frame]:
    out = []
    for f in raw[:MAX_FRAMES]:
        code = linecache.getline(f["filename"], f["line"]).strip() if f.get("line") else ""
        out.append(
            Frame(
                name=f["name"],
                file=f.get("short_filename") or f["filename"],
                line=f.get("line") or 0,
                code=code,
            )
        )
    return out


def dump(pid: int, label: str, *, nonblocking: bool = False) -> StackSample:
    """One ``py-spy dump`` of ``pid``: every thread's stack. Errors become an error sample."""
    t = time.time()
    start = time.perf_counter()
    argv = [py_spy_binary(), "dump", "--pid", str(pid), "--json"]
    if nonblocking:
        argv.append("--nonblocking")
    try:
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=DUMP_TIMEOUT_S,  # noqa: S603
            check=False,
        )
    except subprocess.TimeoutExpired:
        return StackSample(
            t=t,
            label=label,
            pid=pid,
            cost_s=time.perf_counter() - start,
            error=f"py-spy dump timed out after {DUMP_TIMEOUT_S:.0f} s",
        )
    cost = time.perf_counter() - start
    if result.returncode != 0:
        why = (result.stderr or result.stdout).strip().splitlines()
        return StackSample(
            t=t,
            label=label,
            pid=pid,
            cost_s=cost,
            error=f"py-spy dump exited {result.returncode}: {why[-1] if why else ''}",
        )
    threads = [
        classify(
            th.get("thread_name") or str(th.get("thread_id")),
            bool(th.get("active")),
            _frames(th.get("frames", [])),
        )
        for th in json.loads(result.stdout)
    ]
    return StackSample(t=t, label=label, pid=pid, cost_s=cost, threads=threads)


def capture_stacks(
    pids: Iterable[int], label: str = "on-demand", *, nonblocking: bool = False
) -> list[StackSample]:
    """One dump of each process (e.g. ``python_pids(service.pid)``)."""
    return [dump(pid, label, nonblocking=nonblocking) for pid in pids]


def format_frame(frame: Frame) -> str:
    where = f"{frame.name} ({frame.file}:{frame.line})"
    return f"{where}  `{frame.code}`" if frame.code else where


def format_stack(frames: list[Frame]) -> str:
    """Innermost first, one frame a line, as py-spy prints it."""
    return "\n".join(format_frame(f) for f in frames)


@dataclass
class LoopProfile:
    """How often the event loop(s) were free, blocked or on the CPU, and in what code."""

    dumps: int = 0  # successful dumps
    errors: list[str] = field(default_factory=list)
    states: Counter = field(default_factory=Counter)  # LoopState -> thread samples
    busy_stacks: Counter = field(default_factory=Counter)  # (state, tuple(frames on the loop)) -> count
    hot_frames: Counter = field(default_factory=Counter)  # innermost frame of any thread on the CPU

    @property
    def loop_samples(self) -> int:
        return sum(self.states.values())

    def share(self, state: LoopState) -> float:
        return self.states[state] / self.loop_samples if self.loop_samples else 0.0

    def top(self, state: LoopState, n: int = 3) -> list[tuple[tuple[Frame, ...], int]]:
        return [(frames, count) for (s, frames), count in self.busy_stacks.most_common() if s == state][:n]


def loop_profile(samples: Iterable[StackSample]) -> LoopProfile:
    profile = LoopProfile()
    for sample in samples:
        if sample.error:
            profile.errors.append(sample.error)
            continue
        profile.dumps += 1
        for thread in sample.threads:
            if thread.active and thread.frames:
                profile.hot_frames[thread.frames[0]] += 1
            if thread.loop is None:
                continue
            profile.states[thread.loop] += 1
            if thread.loop != LoopState.idle:
                profile.busy_stacks[(thread.loop, tuple(thread.frames[: thread.loop_frames]))] += 1
    return profile
