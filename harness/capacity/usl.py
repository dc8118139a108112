"""The Universal Scalability Law fitted to throughput vs concurrency (Gunther).

X(N) = lambda*N / (1 + sigma*(N-1) + kappa*N*(N-1)): sigma is contention (queueing on a shared
resource), kappa coherency (the cost of keeping workers consistent). With kappa > 0 throughput peaks
at N* = sqrt((1 - sigma) / kappa) and then falls; with kappa ~ 0 it approaches lambda / sigma.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import curve_fit

from harness.schemas.capacity import USLFit, usl_throughput

_KAPPA_EPS = 1e-9


def usl_peak(lam: float, sigma: float, kappa: float) -> tuple[float | None, float | None]:
    """(N*, X(N*)). With kappa ~0 there is no peak: N* is None and X is the asymptote lambda/sigma
    (None too when sigma is also ~0: the fit saw linear scaling and predicts no limit)."""
    if kappa > _KAPPA_EPS and sigma < 1:
        n_star = math.sqrt((1 - sigma) / kappa)
        return n_star, float(usl_throughput(n_star, lam, sigma, kappa))
    return None, lam / sigma if sigma > _KAPPA_EPS else None


def fit_usl(concurrency: Sequence[float], throughput: Sequence[float]) -> USLFit:
    """Least-squares fit with bounds (sigma, kappa in [0, 1], lambda > 0). Needs 3 points with N > 0.

    Raises ValueError when there are too few points or the fit does not converge.
    """
    n = np.asarray(concurrency, dtype=float)
    x = np.asarray(throughput, dtype=float)
    keep = (n > 0) & (x > 0) & np.isfinite(n) & np.isfinite(x)
    n, x = n[keep], x[keep]
    if n.size < 3 or np.unique(n).size < 3:
        raise ValueError(f"a USL fit needs 3 distinct concurrency levels, got {np.unique(n).size}")
    # lambda is the throughput per unit of concurrency at light load: the best ratio seen is a good start.
    lam0 = float(np.max(x / n))
    try:
        params, _ = curve_fit(usl_throughput, n, x, p0=(lam0, 0.05, 0.001),
                              bounds=([1e-12, 0.0, 0.0], [np.inf, 1.0, 1.0]), maxfev=20000)
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"USL fit did not converge: {exc}") from exc
    lam, sigma, kappa = (float(p) for p in params)
    residual = float(np.sum((x - usl_throughput(n, lam, sigma, kappa)) ** 2))
    total = float(np.sum((x - x.mean()) ** 2))
    r_squared = 1.0 - residual / total if total > 0 else 0.0
    n_star, x_star = usl_peak(lam, sigma, kappa)
    within = n_star is not None and n_star <= 2 * float(n.max())
    return USLFit(lambda_rps=lam, sigma=sigma, kappa=kappa, r_squared=r_squared, points=int(n.size),
                  peak_concurrency=n_star, peak_rps=x_star, peak_within_data=within,
                  data=[(float(a), float(b)) for a, b in zip(n, x, strict=True)])
