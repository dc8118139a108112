"""Which preset fits a service: read what it exposes (its metrics text, or the series names a
Prometheus holds for it), try every preset, and say what matched, what is missing, and the profile
to paste (``loadgate detect``; ``gate`` without a profile runs the same).

A preset fits when its two core series are there with the labels its selectors use: the request
duration histogram and the request counter (whose error label must take values of the same kind
as the preset's matcher: status codes, ``5xx`` classes or words like ``error``). Among those that
fit, the one with most of its other series present wins. A selector whose values match nothing
the service has (another route than ``/v1/agent/...``) is rewritten to the routes it does have.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from harness.schemas.service import Counter, Histogram, ServiceProfile, expand_service
from harness.target.metrics import MEASURES, sample_name
from harness.target.presets import PRESETS, merge

# sample name -> every label set seen (``le`` included for buckets)
Inventory = dict[str, list[dict[str, str]]]
CORE = ("request_duration", "requests")
SHOWN_LABELS = 6
_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"(.*)"\s*$')
# Routes that are not what users wait for: never proposed as the agent's.
_INFRA = re.compile(r"metrics|health|ready|live|docs|openapi|favicon|admin|^/$|none|^$", re.IGNORECASE)
# OpenTelemetry's FastAPI instrumentation before the stable HTTP conventions (its 0.66b2 default).
OTEL_OLD_SEMCONV: dict[str, Any] = {"metrics": {
    "request_duration": {"name": "http_server_duration_milliseconds", "unit": "ms",
                         "selector": 'http_target=~"/v1/agent/.*"'},
    "requests": {"name": "http_server_duration_milliseconds_count", "selector": 'http_target=~"/v1/agent/.*"',
                 "served": 'http_status_code=~"2.."', "shed": 'http_status_code="429"',
                 "error": 'http_status_code=~"4..|5..", http_status_code!="429"'},
}}
CANDIDATES: list[tuple[str, dict[str, Any]]] = [
    ("bundled", {}), ("seed-article", {}), ("fastapi-instrumentator", {}), ("opentelemetry", {}),
    ("opentelemetry", OTEL_OLD_SEMCONV),
]


def inventory_from_text(text: str) -> Inventory:
    """What a metrics endpoint exposes (Prometheus text format)."""
    out: Inventory = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(dict(sample.labels))
    return out


def inventory_from_series(series: list[dict[str, str]]) -> Inventory:
    """What Prometheus holds (``/api/v1/series`` rows: ``__name__`` and labels)."""
    out: Inventory = {}
    for row in series:
        labels = {k: v for k, v in row.items() if k not in ("__name__", "job", "instance")}
        out.setdefault(row["__name__"], []).append(labels)
    return out


def _values(inv: Inventory, name: str, label: str) -> list[str]:
    return sorted({labels[label] for labels in inv.get(name, []) if label in labels})


def _style(value: str) -> str:
    if re.fullmatch(r"\d{3}", value):
        return "code"
    if re.fullmatch(r"\dxx", value, re.IGNORECASE):
        return "class"
    return "word"


def _matches(op: str, pattern: str, value: str) -> bool:
    if op in ("=", "!="):
        return (value == pattern) == (op == "=")
    try:
        return bool(re.fullmatch(pattern, value)) == (op == "=~")
    except re.error:
        return False


@dataclass
class Check:
    measure: str
    ok: bool
    text: str


@dataclass
class Fit:
    """One candidate tried against the inventory."""

    preset: str
    overrides: dict[str, Any]
    checks: list[Check] = field(default_factory=list)
    adjusted: dict[str, Any] = field(default_factory=dict)  # selectors rewritten to the service's routes

    @property
    def fits(self) -> bool:
        return all(c.ok for c in self.checks if c.measure in CORE)

    @property
    def score(self) -> int:
        return sum(c.ok for c in self.checks)

    @property
    def spec(self) -> dict[str, Any]:
        """The ``service:`` mapping to paste: the preset and only what differs from it."""
        return {"preset": self.preset, **merge(self.overrides, self.adjusted)}

    def profile(self) -> ServiceProfile:
        return ServiceProfile.model_validate(expand_service(self.spec))


def _selector(inv: Inventory, name: str, selector: str) -> tuple[bool, str, str | None]:
    """(labels there, what was seen, a selector that fits the service's routes when the preset's
    values match none of them)."""
    label_sets = inv.get(name, [])
    seen = sorted({k for labels in label_sets for k in labels if k != "le"})
    more = f", ... {len(seen) - SHOWN_LABELS} more" if len(seen) > SHOWN_LABELS else ""
    shown = "{" + ", ".join(seen[:SHOWN_LABELS]) + more + "}" if seen else "no labels"
    if not selector:
        return True, shown, None
    for part in selector.split(","):
        m = _MATCHER.match(part)
        if m is None:
            continue
        label, op, pattern = m.groups()
        values = _values(inv, name, label)
        if not values:
            return False, f"{shown}: no '{label}' label for {selector}", None
        if op in ("=", "=~") and not any(_matches(op, pattern, v) for v in values):
            routes = [v for v in values if not _INFRA.search(v)]
            if not routes:
                return False, f"{label} has only {values}", None
            proposed = f'{label}="{routes[0]}"' if len(routes) == 1 else \
                f'{label}=~"{"|".join(re.escape(r) for r in routes)}"'
            return True, f"{shown}; {label} values {routes} (selector adjusted)", proposed
    return True, shown, None


def _check_histogram(fit: Fit, inv: Inventory, measure: str, hist: Histogram) -> None:
    name = sample_name(hist)
    if name not in inv:
        fit.checks.append(Check(measure, False, f"no {name}"))
        return
    ok, seen, proposed = _selector(inv, name, hist.selector)
    if proposed:
        fit.adjusted = merge(fit.adjusted, {"metrics": {measure: {"selector": proposed}}})
    if ok and hist.unit == "auto" and not hist.in_ms and _edges_in_ms(inv, name):
        fit.adjusted = merge(fit.adjusted, {"metrics": {measure: {"unit": "ms"}}})
        seen += "; bucket edges in milliseconds"
    fit.checks.append(Check(measure, ok, f"{hist.name} ({seen})"))


def _edges_in_ms(inv: Inventory, name: str) -> bool:
    """Bucket edges reaching past 100 for a latency: milliseconds, whatever the name says."""
    edges = [float(le) for labels in inv.get(name, []) if (le := labels.get("le")) not in (None, "+Inf")]
    return bool(edges) and max(edges) > 100


def _check_counter(fit: Fit, inv: Inventory, measure: str, counter: Counter) -> None:
    if counter.name not in inv:
        fit.checks.append(Check(measure, False, f"no {counter.name}"))
        return
    ok, seen, proposed = _selector(inv, counter.name, counter.selector)
    if proposed:
        fit.adjusted = merge(fit.adjusted, {"metrics": {measure: {"selector": proposed}}})
    m = _MATCHER.match(counter.error.split(",")[0])
    if ok and m:
        label, _, pattern = m.groups()
        values = _values(inv, counter.name, label)
        want = _style(pattern.split("|")[0].replace(".", "0"))
        if not values or want not in {_style(v) for v in values}:
            ok, seen = False, f"{seen}; errors by {counter.error} but {label} takes {values or 'no values'}"
        else:
            seen = f"{seen}; errors {counter.error}"
    fit.checks.append(Check(measure, ok, f"{counter.name} ({seen})"))


def try_preset(inv: Inventory, preset: str, overrides: dict[str, Any] | None = None) -> Fit:
    fit = Fit(preset, overrides or {})
    metrics = ServiceProfile.model_validate(expand_service(fit.spec)).metrics
    for measure in MEASURES:
        series = getattr(metrics, measure)
        if series is None:
            continue
        if isinstance(series, Histogram):
            _check_histogram(fit, inv, measure, series)
        elif isinstance(series, Counter):
            _check_counter(fit, inv, measure, series)
        else:
            there = series.name in inv
            fit.checks.append(Check(measure, there, series.name if there else f"no {series.name}"))
    return fit


def best_fit(inv: Inventory) -> tuple[Fit | None, list[Fit]]:
    """(the fitting candidate with most series present, every candidate tried)."""
    tried = [try_preset(inv, preset, overrides) for preset, overrides in CANDIDATES]
    fitting = [f for f in tried if f.fits]
    return (max(fitting, key=lambda f: f.score) if fitting else None), tried


def openai_fit(models_answer: Any) -> Fit | None:
    """An OpenAI-compatible server answers ``GET /v1/models`` with ``{"object": "list", "data": [...]}``;
    the first model's id goes into the request body."""
    if not isinstance(models_answer, dict) or not isinstance(models_answer.get("data"), list):
        return None
    fit = Fit("openai", {})
    models = [m.get("id") for m in models_answer["data"] if isinstance(m, dict) and m.get("id")]
    fit.checks.append(Check("requests", True, f"GET /v1/models lists {models or 'no model'}"))
    if models:
        body = dict(PRESETS["openai"]["requests"]["body"], model=models[0])
        fit.adjusted = {"requests": {"body": body}}
    return fit
