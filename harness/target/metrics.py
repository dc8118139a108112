"""The profile's metrics mapping read as series names: what a service exposes when it fits."""

from __future__ import annotations

from harness.schemas.service import Histogram, MetricsMapping, Series

MEASURES = ("request_duration", "requests", "memory", "llm_duration", "llm_ttft", "in_flight", "breaker",
            "degraded")


def sample_name(series: Series) -> str:
    """The sample name that proves the series is there (a histogram's buckets)."""
    return series.name + "_bucket" if isinstance(series, Histogram) else series.name


def mapped(metrics: MetricsMapping) -> dict[str, Series]:
    """Measure -> series, for the measures the profile maps."""
    return {m: s for m in MEASURES if (s := getattr(metrics, m)) is not None}


def key_series(metrics: MetricsMapping, wanted: list[str]) -> tuple[list[str], list[str]]:
    """Sample names to look for: each entry of ``wanted`` is a measure of the mapping
    (``requests``, ``request_duration``, ...) or a plain metric name; empty ``wanted`` means every
    mapped measure. Returns (names, measures the profile does not map)."""
    series = mapped(metrics)
    names, unmapped = [], []
    for entry in wanted or list(series):
        if entry in MEASURES:
            if entry in series:
                names.append(sample_name(series[entry]))
            else:
                unmapped.append(entry)
        else:
            names.append(entry)
    return names, unmapped
