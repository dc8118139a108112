"""Open-model arrivals sent by a pool of sender greenlets: no greenlet and no hand-over per arrival.

Each sender takes the next arrival of the schedule (in time order), sleeps until its intended start
and sends it, then takes the next one: one timer per arrival, as a bare Locust user sleeps between
its tasks, and no scheduler greenlet in between. The pool grows only when every sender is busy, so
its size follows the requests in flight (plus one), never the arrival rate.

Exactness, as with a greenlet per arrival:

- intended starts are the schedule's, untouched; a sender that wakes late sends at once, and the
  request's row keeps its intended start (latency is measured from it, lateness counted from it);
- one sender more than the requests in flight is kept (up to ``cap + 1``), so some sender is always
  waiting on the earliest arrival not yet started: the generator adds no queue of its own. An
  arrival that finds ``cap`` requests in flight when it is due is dropped and counted, exactly the
  ones that would have found the cap under a greenlet per arrival.

At overload, drops come without a timer each: a sender that dropped an arrival waits for a slot to
free (or ``DROP_TICK_S``) instead of sleeping to each next arrival, then drops in one step every
arrival that came due while the cap stayed full. Which arrivals that is comes from the pool's record
of when the cap was last full (``_full_since`` .. the request end that freed a slot), so counts and
intended starts stay exact; only the moment a drop is counted moves, by at most ``DROP_TICK_S``. The
freed slot wakes the waiting sender in the same turn of the loop, before another request can end, so
the last full stretch is the one its arrival fell in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import gevent
import gevent.event

from harness.load.arrivals import Arrival

DROP_TICK_S = 0.05  # at overload, a waiting sender looks at the due arrivals this often, not per arrival


class SenderPool:
    """Sends a schedule of arrivals with at most ``cap`` in flight; see the module docstring.

    ``send(arrival)`` makes the request (it may wait for a connection: that counts as in flight and
    shows as a late start); ``due(arrival)`` is False once the plan stopped before the arrival, which
    ends the schedule; ``dropped(arrival)`` counts one that found ``cap`` in flight.
    """

    def __init__(
        self, schedule: Iterator[Arrival], cap: int, send: Callable[[Arrival], object],
        due: Callable[[Arrival], bool], dropped: Callable[[Arrival], object],
    ) -> None:
        self._schedule = schedule
        self.cap = max(cap, 1)
        self._send, self._due, self._dropped = send, due, dropped
        self.in_flight = 0
        self.size = 0  # senders alive
        self.peak = 0  # the most senders ever alive at once
        self._senders: list[gevent.Greenlet] = []
        self._over = False
        self._full_since: float | None = None  # when ``cap`` requests were last found in flight
        self._last_full = (0.0, 0.0)  # [from, to): the last time the cap stayed full
        # A slot freed under a full cap wakes the senders waiting on this event; each free swaps in a
        # new one, so a wake-up is never lost to another sender starting to wait in between.
        self._freed = gevent.event.Event()
        self._waiting = 0

    def run(self) -> None:
        """Send the whole schedule; returns once it is over and every request has ended."""
        self._grow()
        while self._senders:
            gevent.joinall(list(self._senders))
            self._senders = [s for s in self._senders if not s.dead]

    def _grow(self) -> None:
        if self.size <= self.cap:
            self.size += 1
            self.peak = max(self.peak, self.size)
            self._senders.append(gevent.spawn(self._sender))

    def _sender(self) -> None:
        try:
            self._send_arrivals()
        finally:  # a sender that died of an error is replaced at the next arrival that needs one
            self.size -= 1

    def _send_arrivals(self) -> None:
        dropping = False  # this sender's last arrival was dropped: the cap may still be full
        while not self._over and (arrival := next(self._schedule, None)) is not None:
            self._wait_until_due(arrival, dropping)
            if not self._due(arrival):
                self._over = True
                return
            start, end = self._last_full
            if self.in_flight >= self.cap or start <= arrival.t < end:
                self._dropped(arrival)  # full now, or full at its due time and freed since
                dropping = True
                continue
            dropping = False
            self._send_one(arrival)

    def _wait_until_due(self, arrival: Arrival, dropping: bool) -> None:
        """Sleep to the arrival's intended start (a late one goes at once: sleeping 0 would only yield).
        While the cap is full after a drop, wait for a freed slot or a tick rather than each arrival."""
        while (delay := arrival.t - time.time()) > 0:
            if not (dropping and self.in_flight >= self.cap):
                gevent.sleep(delay)
                return
            self._waiting += 1
            try:
                self._freed.wait(max(delay, DROP_TICK_S))
            finally:
                self._waiting -= 1

    def _send_one(self, arrival: Arrival) -> None:
        self.in_flight += 1
        if self.in_flight == self.cap:
            self._full_since = time.time()
        if self.size - self.in_flight == 0:  # nobody left waiting for the next arrival
            self._grow()
        try:
            self._send(arrival)
        finally:
            if self.in_flight == self.cap:
                self._last_full = (self._full_since or 0.0, time.time())
                if self._waiting:
                    self._freed.set()
                    self._freed = gevent.event.Event()
            self.in_flight -= 1
