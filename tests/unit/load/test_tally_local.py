"""A lone local runner hands its tally over without encoding: the master's merge is the same."""

from __future__ import annotations

import random

from harness.load.stats import percentile
from harness.load.tally import Tally
from harness.schemas.outcome import RequestOutcome
from harness.schemas.requests import RequestRow


def _rows(n: int) -> list[RequestRow]:
    rng, t = random.Random(5), 1_764_000_000.0
    return [RequestRow.measured(intended_start=t + i * 0.01, start=t + i * 0.01 + rng.random() * 0.1,
                                end=t + i * 0.01 + 0.1 + rng.random(), status=rng.choice([200, 200, 503]),
                                endpoint="/v1/agent/run", phase=rng.choice(["warmup", "steady"]),
                                cached=False, degraded=False, outcome=RequestOutcome.served,
                                session=f"s{i % 7}", turn=1)
            for i in range(n)]


def test_unencoded_increments_merge_as_encoded_ones() -> None:
    masters = {True: Tally(0.05), False: Tally(0.05)}
    for encode, master in masters.items():
        sender = Tally(0.05)
        for chunk in range(3):  # three flushes
            for row in _rows(900)[chunk * 300:(chunk + 1) * 300]:
                sender.add(row)
            message = sender.take(encode=encode)
            assert any(isinstance(h, bytes) for _, _, h in message["endpoints"]) is encode
            master.merge(message)
    encoded, local = masters[True], masters[False]
    assert local.requests == encoded.requests == 900
    for p in (50, 90, 99, 99.9):
        assert percentile(local.overall(), p) == percentile(encoded.overall(), p)
    assert local.statuses == encoded.statuses
    assert {k: h.get_total_count() for k, h in local.endpoints.items()} == \
        {k: h.get_total_count() for k, h in encoded.endpoints.items()}
    assert sum(h.get_total_count() for h, _ in local.seconds.values()) == 900
