"""Statistics against published values (Newcombe 1998, Wilks 1941, Mann & Whitney 1947 via the scipy
documentation example), and estimators against data whose truth is planted."""

from __future__ import annotations

import numpy as np
import pytest

from harness import stats


def test_wilson_and_clopper_pearson_match_newcombe_table() -> None:
    # Newcombe (1998), Table I, 81 of 263: Wilson 0.2553-0.3662, exact (Clopper-Pearson) 0.2527-0.3676.
    assert stats.proportion_interval(81, 263, 0.95, "wilson") == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert stats.proportion_interval(81, 263, 0.95) == pytest.approx((0.2527, 0.3676), abs=1e-4)


def test_zero_errors_in_300_cannot_show_a_tenth_of_a_percent() -> None:
    # Rule of three: with no events in n trials the 95% upper bound is about 3/n.
    upper = stats.proportion_upper(0, 300)
    assert upper == pytest.approx(3 / 300, rel=0.01)
    assert upper > 0.001
    assert stats.proportion_upper(0, 2995) < 0.001 < stats.proportion_upper(0, 2990)
    # Wilson is less conservative at zero events, but still cannot.
    assert 0.001 < stats.proportion_upper(0, 300, method="wilson") < upper


def test_wilks_sample_sizes() -> None:
    # Wilks (1941): 59 runs give a one-sided 95/95 tolerance bound; 299 for the 99th percentile.
    assert stats.min_samples_for_upper_bound(0.95, 0.95) == 59
    assert stats.min_samples_for_upper_bound(0.99, 0.95) == 299


def test_p99_upper_bound_needs_299_samples() -> None:
    rng = np.random.default_rng(7)
    few = stats.quantile_estimate(rng.exponential(size=298), 0.99)
    assert few.upper is None and few.n == 298
    enough_samples = rng.exponential(size=299)
    enough = stats.quantile_estimate(enough_samples, 0.99)
    assert enough.upper == pytest.approx(enough_samples.max())


def test_p99_interval_covers_the_true_quantile() -> None:
    # Exponential(1): the true P99 is ln(100) = 4.605.
    rng = np.random.default_rng(11)
    est = stats.quantile_estimate(rng.exponential(size=20_000), 0.99)
    assert est.interval is not None and est.upper is not None
    assert est.interval[0] < np.log(100) < est.interval[1]
    assert est.estimate < est.upper


def test_theil_sen_ignores_gc_spikes() -> None:
    # 2 MB per unit of time with 15% of points wildly off: the robust slope is exactly the planted one.
    t = np.arange(40.0)
    y = 100 + 2 * t
    y[::7] += 500
    trend = stats.theil_sen(t, y)
    assert trend.slope == pytest.approx(2.0)
    assert trend.low <= 2.0 <= trend.high
    assert np.polyfit(t, y, 1)[0] != pytest.approx(2.0, abs=0.1)  # least squares is fooled


def test_mann_whitney_matches_the_published_example() -> None:
    # Mann & Whitney (1947) / scipy docs: males vs females, U = 17, exact two-sided p = 0.1111.
    males = [19, 22, 16, 29, 24]
    females = [20, 11, 17, 12]
    assert stats.shift_p_value(females, males) == pytest.approx(0.1111 / 2, abs=1e-4)
