"""The inlined ``stats.record`` fills a histogram exactly as hdrh's own ``record_value`` does."""

from __future__ import annotations

import random

from harness.load.stats import _MAX_US, _US, new_histogram, percentile, record


def test_inlined_record_equals_hdrh_record_value_over_the_whole_range() -> None:
    rng = random.Random(3)
    ours, theirs = new_histogram(), new_histogram()
    edges = [1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096, 10**6, 2**31, _MAX_US - 1, _MAX_US]
    values = edges + [int(10 ** rng.uniform(0, 9.5)) for _ in range(20_000)]
    for us in values:
        record(ours, us / _US)
        theirs.record_value(min(max(us, 1), _MAX_US))
    assert list(ours.counts) == list(theirs.counts)
    assert (ours.total_count, ours.min_value, ours.max_value) == \
        (theirs.total_count, theirs.min_value, theirs.max_value)
    assert ours.get_mean_value() == theirs.get_mean_value()
    assert [percentile(ours, p) for p in (50, 99, 99.9)] == [percentile(theirs, p) for p in (50, 99, 99.9)]
    # Merged and encoded as hdrh's own: the encoding of both is the same bytes.
    assert ours.encode() == theirs.encode()


def test_out_of_range_and_negative_latencies_are_clamped_as_before() -> None:
    hist = new_histogram()
    record(hist, -0.5)
    record(hist, 10 * 3600.0)
    assert hist.total_count == 2 and hist.min_value == 1 and hist.get_max_value() >= _MAX_US * 0.999
