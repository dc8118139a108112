"""The sender pool at overload: drops come in batches, not one timer each, and stay exact.

A request the test holds open keeps the cap full while arrivals come due; which arrivals find the
cap full is decided by when the test releases it, not by the machine's speed.
"""

from __future__ import annotations

import time

import gevent
import gevent.event

from harness.load.arrivals import Arrival
from harness.load.senders import DROP_TICK_S, SenderPool

DEADLINE_S = 30.0


def _schedule(start: float, n: int, gap: float) -> list[Arrival]:
    return [Arrival(start + i * gap, "steady") for i in range(n)]


def test_drops_at_overload_are_counted_in_batches_not_one_wake_up_each() -> None:
    release, dropped_at = gevent.event.Event(), []
    schedule = _schedule(time.time() + 0.02, 120, 0.004)  # ~0.5 s of arrivals, all behind one request
    pool = SenderPool(iter(schedule), cap=1, send=lambda a: release.wait(DEADLINE_S),
                      due=lambda a: True, dropped=lambda a: dropped_at.append((a, time.time())))
    runner = gevent.spawn(pool.run)
    deadline = time.monotonic() + DEADLINE_S
    while len(dropped_at) < len(schedule) - 1:
        assert time.monotonic() < deadline, "timed out waiting for the drops"
        gevent.sleep(0.01)
    release.set()
    runner.get(timeout=DEADLINE_S)
    assert [a for a, _ in dropped_at] == schedule[1:]  # exactly every arrival behind the held one
    assert all(at >= a.t for a, at in dropped_at)  # none counted before it was due
    # Wake-ups: drops further apart than 2 ms. One per arrival would be ~119; a tick is 50 ms.
    times = [at for _, at in dropped_at]
    wake_ups = 1 + sum(1 for t0, t1 in zip(times, times[1:], strict=False) if t1 - t0 > 0.002)
    assert wake_ups <= len(dropped_at) // 3, wake_ups
    assert DROP_TICK_S <= 0.1  # the count reaches the tally well within a flush


def test_arrivals_due_while_the_cap_was_full_are_dropped_not_sent_late_once_it_frees() -> None:
    release, sent, dropped = gevent.event.Event(), [], []
    schedule = _schedule(time.time() + 0.02, 60, 0.005)
    released_at: list[float] = []

    def send(arrival: Arrival) -> None:
        sent.append(arrival)
        if arrival is schedule[0]:
            release.wait(DEADLINE_S)

    def free() -> None:
        released_at.append(time.time())
        release.set()

    def drop(arrival: Arrival) -> None:
        dropped.append(arrival)
        if len(dropped) == 20:  # free the slot half a tick later, while arrivals are due and undecided
            gevent.spawn_later(DROP_TICK_S / 2, free)

    SenderPool(iter(schedule), cap=1, send=send, due=lambda a: True, dropped=drop).run()
    assert sorted(sent + dropped) == schedule and not set(sent) & set(dropped)
    assert dropped[:20] == schedule[1:21]
    # Arrivals that came due before the slot freed are dropped; none of them is sent late after it.
    assert all(a.t >= released_at[0] for a in sent[1:]), [a.t - released_at[0] for a in sent[1:]]
    assert len(sent) > 1  # later arrivals found the slot free
