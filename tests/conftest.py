"""Shared fixtures: real redis-server and prometheus on free loopback ports, torn down after use."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from harness.stack import Stack, StackSettings
from harness.stack.prometheus import start_prometheus
from harness.stack.redis import start_redis

# Keep torch and tokenizers to one thread: the suite shares two cores with the processes it starts.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    proc.stop()


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Factory: ``prometheus_for({"job": "host:port"}, rule_files=None) -> URL`` of a fresh Prometheus."""
    started = []

    def start(targets: dict[str, str], **kwargs: object) -> str:
        proc, url = start_prometheus(tmp_path / f"prometheus{len(started)}", targets, **kwargs)
        started.append(proc)
        return url

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """Factory: ``make_stack(**StackSettings fields) -> started Stack``, stopped at test end."""
    stacks: list[Stack] = []

    def make(**fields: object) -> Stack:
        fields.setdefault("run_dir", tmp_path / f"run{len(stacks)}")
        stack = Stack(StackSettings(**fields))
        stacks.append(stack)
        stack.__enter__()
        return stack

    yield make
    for stack in stacks:
        stack.stop()


class FakeClock:
    """Stands in for the ``time`` module of the modules under test: ``monotonic()`` and ``time()``
    move only when the test says so (``advance``), so a busy machine cannot age a 50 ms lease or
    refill a token bucket between two lines of a test. Everything else is the real ``time``."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeClock]:
    """``fake_clock(module, ...) -> FakeClock``: those modules' ``time`` replaced for this test."""

    def install(*modules: ModuleType) -> FakeClock:
        clock = FakeClock()
        for module in modules:
            monkeypatch.setattr(module, "time", clock)
        return clock

    return install


# ------------------------------------------------- tests that need the machine to themselves (xdist)
# `make test` runs the suite on several pytest-xdist workers: most tests wait on processes far more than
# they compute. A test marked `alone` (a gate that must hold its promised rate on the real model) runs
# with no other test beside it: every test holds a shared lock on a file of this run while it runs, an
# `alone` one an exclusive lock. A turnstile file taken first lets the exclusive lock win over a stream
# of shared ones (flock alone would let two workers starve it). Without xdist nothing is locked.


def _run_dir(config: pytest.Config) -> Path | None:
    """A folder of this run that every worker sees (xdist gives each worker its own basetemp under it)."""
    if not hasattr(config, "workerinput"):
        return None
    return config._tmp_path_factory.getbasetemp().parent  # noqa: SLF001 - pytest's run-wide temp root


@contextlib.contextmanager
def _flock(path: Path, mode: int) -> Iterator[None]:
    with path.open("a") as fh:
        fcntl.flock(fh, mode)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def _machine_share(item: pytest.Item) -> Iterator[None]:
    root = _run_dir(item.config)
    if root is None:
        yield
        return
    turnstile, machine = root / "turnstile.lock", root / "machine.lock"
    if item.get_closest_marker("alone"):
        with _flock(turnstile, fcntl.LOCK_EX), _flock(machine, fcntl.LOCK_EX):
            yield
        return
    with _flock(turnstile, fcntl.LOCK_EX):
        pass  # wait while an `alone` test waits or runs
    with _flock(machine, fcntl.LOCK_SH):
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    # Around setup, call and teardown: a module's fixture (a whole gate run) is set up inside the
    # protocol of its first test, so it is covered too.
    with _machine_share(item):
        return (yield)


# ---------------------------------------------------------------- what each tier of the suite costs

TIERS = ("unit", "integration", "e2e")


def _tier(report: pytest.TestReport) -> str:
    if "e2e" in report.keywords:
        return "e2e"
    return "integration" if "integration" in report.keywords else "unit"


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_STARTED] = time.monotonic()


_STARTED = pytest.StashKey[float]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Seconds per tier (setup, call and teardown of every test), so a change sees what its tests cost;
    under xdist they are summed over the workers, so the wall-clock time of the run is printed too."""
    seconds = dict.fromkeys(TIERS, 0.0)
    tests: dict[str, set[str]] = {tier: set() for tier in TIERS}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if isinstance(report, pytest.TestReport):
                tier = _tier(report)
                seconds[tier] += report.duration
                tests[tier].add(report.nodeid)
    if not any(tests.values()):
        return
    workers = getattr(config.option, "numprocesses", None) or 0
    terminalreporter.section("time per tier" + (f" (summed over {workers} xdist workers)" if workers else ""))
    for tier in TIERS:
        if tests[tier]:
            terminalreporter.write_line(f"{tier:12} {len(tests[tier]):4d} tests {seconds[tier]:8.1f} s")
    started = config.stash.get(_STARTED, None)
    if started is not None:
        terminalreporter.write_line(f"{'wall clock':12} {sum(map(len, tests.values())):4d} tests "
                                    f"{time.monotonic() - started:8.1f} s")
