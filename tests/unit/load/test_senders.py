"""The sender pool: intended starts kept, drops counted exactly, no greenlet per arrival.

Sends that must overlap block on a gevent Event the test releases, so which arrivals find the cap is
decided by the test, not by the machine's speed; every wait polls with a generous deadline.
"""

from __future__ import annotations

import time

import gevent
import gevent.event

from harness.load.arrivals import Arrival
from harness.load.senders import SenderPool

DEADLINE_S = 30.0


def _until(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        gevent.sleep(0.005)


class Recorder:
    """What the pool did: the arrivals sent (with when they went), dropped, and what ended it."""

    def __init__(self, stop_at: float = float("inf")) -> None:
        self.sent: list[tuple[Arrival, float]] = []
        self.dropped: list[Arrival] = []
        self.stop_at = stop_at
        self.due_calls = 0

    def due(self, arrival: Arrival) -> bool:
        self.due_calls += 1
        return arrival.t < self.stop_at

    def drop(self, arrival: Arrival) -> None:
        self.dropped.append(arrival)


def _schedule(start: float, n: int, gap: float, phase: str = "steady") -> list[Arrival]:
    return [Arrival(start + i * gap, phase) for i in range(n)]


def test_arrivals_finding_the_cap_in_flight_are_dropped_and_counted_exactly() -> None:
    rec, release = Recorder(), gevent.event.Event()
    schedule = _schedule(time.time() + 0.05, 10, 0.01)

    def send(arrival: Arrival) -> None:
        rec.sent.append((arrival, time.time()))
        release.wait()

    pool = SenderPool(iter(schedule), cap=3, send=send, due=rec.due, dropped=rec.drop)
    runner = gevent.spawn(pool.run)
    _until(lambda: len(rec.dropped) == 7, "seven drops")
    assert [a for a, _ in rec.sent] == schedule[:3]  # the first three went, in order
    assert pool.in_flight == 3
    assert rec.dropped == schedule[3:]  # each later one was due while three were outstanding
    release.set()
    runner.get(timeout=DEADLINE_S)
    assert pool.in_flight == 0
    assert pool.peak <= pool.cap + 1


def test_a_freed_slot_takes_the_next_arrival_and_intended_starts_are_the_schedules() -> None:
    rec, release = Recorder(), gevent.event.Event()
    first = _schedule(time.time() + 0.05, 3, 0.01)

    def send(arrival: Arrival) -> None:
        rec.sent.append((arrival, time.time()))
        if arrival == first[0]:  # only the first request hangs; the cap is 1
            release.wait()

    def drop(arrival: Arrival) -> None:
        rec.drop(arrival)
        if len(rec.dropped) == 2:
            release.set()  # the first request ends ...
            _until(lambda: pool.in_flight == 0, "the first request's end")

    def schedule():
        yield from first
        # ... before the later arrivals are drawn: none of them can find the cap.
        yield from _schedule(time.time() + 0.02, 5, 0.005, "later")

    pool = SenderPool(schedule(), cap=1, send=send, due=rec.due, dropped=drop)
    pool.run()
    assert rec.dropped == first[1:]
    sent = [a for a, _ in rec.sent]
    assert sent[0] == first[0] and sorted(a.phase for a in sent[1:]) == ["later"] * 5
    # The intended start is the schedule's own value, and nothing went before it.
    assert all(at >= a.t for a, at in rec.sent)


def test_no_greenlet_per_arrival_the_pool_follows_the_requests_in_flight() -> None:
    rec = Recorder()
    schedule = _schedule(time.time(), 500, 0.0001)  # 500 arrivals, each request over at once

    pool = SenderPool(iter(schedule), cap=2000, send=lambda a: rec.sent.append((a, time.time())),
                      due=rec.due, dropped=rec.drop)
    pool.run()
    assert sorted(a for a, _ in rec.sent) == schedule and not rec.dropped
    assert pool.peak == 2  # one sending, one waiting for the next arrival; never one per arrival


def test_late_arrivals_go_at_once_with_their_intended_start_and_are_not_dropped_below_the_cap() -> None:
    rec = Recorder()
    schedule = _schedule(time.time() - 1.0, 50, 0.001)  # all already due: the generator is behind

    def send(arrival: Arrival) -> None:
        rec.sent.append((arrival, time.time()))
        gevent.sleep(0.001)  # the request yields, as a real one does

    pool = SenderPool(iter(schedule), cap=100, send=send, due=rec.due, dropped=rec.drop)
    pool.run()
    assert sorted(a for a, _ in rec.sent) == schedule and not rec.dropped
    assert all(at - a.t > 0.5 for a, at in rec.sent)  # late, and kept as late (latency from intended)
    assert pool.peak <= pool.cap + 1


def test_an_early_stop_ends_the_schedule_at_the_first_arrival_past_it() -> None:
    start = time.time() + 0.02
    schedule = _schedule(start, 20, 0.005)
    rec = Recorder(stop_at=schedule[10].t)

    pool = SenderPool(iter(schedule), cap=10, send=lambda a: rec.sent.append((a, time.time())),
                      due=rec.due, dropped=rec.drop)
    pool.run()
    assert sorted(a for a, _ in rec.sent) == schedule[:10] and not rec.dropped


def test_run_returns_only_once_every_request_has_ended() -> None:
    ended: list[Arrival] = []

    def send(arrival: Arrival) -> None:
        gevent.sleep(0.05)
        ended.append(arrival)

    schedule = _schedule(time.time(), 8, 0.0)
    SenderPool(iter(schedule), cap=8, send=send, due=lambda a: True, dropped=lambda a: None).run()
    assert sorted(ended) == schedule


def test_a_sender_killed_by_an_error_is_replaced_and_the_schedule_goes_on() -> None:
    rec = Recorder()
    schedule = _schedule(time.time(), 20, 0.001)

    def send(arrival: Arrival) -> None:
        if arrival == schedule[3]:
            raise RuntimeError("a bug in one request")
        rec.sent.append((arrival, time.time()))

    pool = SenderPool(iter(schedule), cap=5, send=send, due=rec.due, dropped=rec.drop)
    pool.run()
    assert sorted(a for a, _ in rec.sent) == schedule[:3] + schedule[4:] and not rec.dropped
    assert pool.size == 0 and pool.in_flight == 0
