"""The USL fit recovers the parameters that generated exact data, and its peak formula holds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.capacity.usl import fit_usl, usl_throughput


@pytest.mark.parametrize(("lam", "sigma", "kappa"),
                         [(10.0, 0.05, 0.002), (3.0, 0.2, 0.0005), (50.0, 0.01, 0.01)])
def test_fit_recovers_known_parameters(lam: float, sigma: float, kappa: float) -> None:
    n = np.array([1, 2, 4, 8, 16, 32, 64], dtype=float)
    fit = fit_usl(n, usl_throughput(n, lam, sigma, kappa))
    assert fit.lambda_rps == pytest.approx(lam, rel=1e-3)
    assert fit.sigma == pytest.approx(sigma, rel=1e-2, abs=1e-5)
    assert fit.kappa == pytest.approx(kappa, rel=1e-2, abs=1e-7)
    assert fit.r_squared > 0.9999
    n_star = math.sqrt((1 - sigma) / kappa)
    assert fit.peak_concurrency == pytest.approx(n_star, rel=1e-2)
    assert fit.peak_within_data
    # The predicted peak is the curve's maximum: no integer concurrency does better.
    dense = np.arange(1, 1000, dtype=float)
    assert fit.peak_rps == pytest.approx(float(np.max(usl_throughput(dense, lam, sigma, kappa))), rel=1e-3)


def test_linear_scaling_peak_is_flagged_as_extrapolation() -> None:
    n = np.array([1, 2, 3, 4, 5], dtype=float)
    fit = fit_usl(n, 7.0 * n)
    assert fit.kappa < 1e-6 and fit.sigma < 1e-5
    assert not fit.peak_within_data
    assert fit.peak_concurrency is None or fit.peak_concurrency > 100


def test_noisy_data_reports_imperfect_fit() -> None:
    n = np.array([1, 2, 4, 8, 16, 32], dtype=float)
    x = usl_throughput(n, 10.0, 0.05, 0.002) * np.array([1.0, 1.15, 0.85, 1.1, 0.9, 1.2])
    fit = fit_usl(n, x)
    assert 0 < fit.r_squared < 0.999


def test_too_few_levels_is_an_error() -> None:
    with pytest.raises(ValueError, match="3 distinct"):
        fit_usl([1, 1, 2], [5, 5, 9])
