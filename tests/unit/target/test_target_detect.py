"""Detection fed with what the real libraries expose: each style is recognised as its preset, a route
other than /v1/agent/* gets its selector rewritten, and a mismatch says what each preset missed."""

from __future__ import annotations

import os

import pytest

from harness.target.detect import best_fit, inventory_from_series, inventory_from_text, openai_fit
from harness.target.discover import Detection, render
from tests.unit.target.exposition import exposition

STABLE_OTEL = {**os.environ, "OTEL_SEMCONV_STABILITY_OPT_IN": "http"}


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return {
        "bundled": exposition("bundled"),
        "seed-article": exposition("seed-article"),
        "fastapi-instrumentator": exposition("fastapi-instrumentator"),
        "opentelemetry": exposition("opentelemetry", env=STABLE_OTEL),
        "opentelemetry-old": exposition("opentelemetry"),
    }


@pytest.mark.parametrize("style", ["bundled", "seed-article", "fastapi-instrumentator", "opentelemetry"])
def test_each_library_style_is_its_preset(texts: dict[str, str], style: str) -> None:
    chosen, _ = best_fit(inventory_from_text(texts[style]))
    assert chosen is not None and chosen.preset == style
    assert chosen.spec == {"preset": style}  # the preset as it is fits: nothing to override
    assert all(c.ok for c in chosen.checks), [c.text for c in chosen.checks if not c.ok]


def test_opentelemetry_default_semconv_is_read_in_milliseconds(texts: dict[str, str]) -> None:
    chosen, _ = best_fit(inventory_from_text(texts["opentelemetry-old"]))
    assert chosen is not None and chosen.preset == "opentelemetry"
    profile = chosen.profile()
    assert profile.metrics.request_duration.name == "http_server_duration_milliseconds"
    assert profile.metrics.request_duration.in_ms
    assert profile.metrics.requests.error == 'http_status_code=~"4..|5..", http_status_code!="429"'


def test_bundled_names_without_labels_are_not_bundled(texts: dict[str, str]) -> None:
    """The article's metrics share the bundled names; the unlabelled histogram and status words
    tell them apart."""
    _, tried = best_fit(inventory_from_text(texts["seed-article"]))
    bundled = next(f for f in tried if f.preset == "bundled")
    assert not bundled.fits
    why = " ".join(c.text for c in bundled.checks if not c.ok)
    assert "no 'endpoint' label" in why


def test_another_handler_name_rewrites_the_selector() -> None:
    chosen, _ = best_fit(inventory_from_text(exposition("seed-article", handler="answer_question")))
    assert chosen is not None and chosen.preset == "seed-article"
    assert chosen.spec == {"preset": "seed-article",
                           "metrics": {"requests": {"selector": 'endpoint="answer_question"'}}}


def test_another_route_rewrites_the_selector_leaving_health_out() -> None:
    chosen, _ = best_fit(inventory_from_text(exposition("fastapi-instrumentator", route="/chat")))
    assert chosen is not None and chosen.preset == "fastapi-instrumentator"
    selector = chosen.profile().metrics.requests.selector
    assert "/chat" in selector and "healthz" not in selector and "metrics" not in selector


def test_prometheus_series_rows_read_like_the_text() -> None:
    rows = [{"__name__": "http_requests_total", "job": "api", "handler": "/v1/agent/run", "status": "2xx",
             "method": "POST"},
            {"__name__": "http_request_duration_highr_seconds_bucket", "job": "api", "le": "0.5"}]
    chosen, _ = best_fit(inventory_from_series(rows))
    assert chosen is not None and chosen.preset == "fastapi-instrumentator"


def test_nothing_fits_says_what_each_preset_looked_for() -> None:
    chosen, tried = best_fit(inventory_from_text("# TYPE up gauge\nup 1\n"))
    assert chosen is None
    text = render(Detection("metrics http://127.0.0.1:1/metrics", None, tried))
    assert "no preset fits" in text
    assert "bundled: no agent_request_duration_seconds_bucket" in text
    assert "opentelemetry: no http_server_request_duration_seconds_bucket" in text


def test_rendered_yaml_pastes_back_into_a_profile(texts: dict[str, str]) -> None:
    import yaml

    from harness.schemas.service import ServiceProfile, expand_service

    chosen, tried = best_fit(inventory_from_text(texts["opentelemetry-old"]))
    text = render(Detection("x", chosen, tried))
    assert "# fits preset opentelemetry" in text and "#   matched  request_duration" in text
    pasted = yaml.safe_load(text)["service"]
    assert ServiceProfile.model_validate(expand_service(pasted)) == chosen.profile()


def test_openai_models_listing() -> None:
    fit = openai_fit({"object": "list", "data": [{"id": "tiny-gpt", "object": "model"}]})
    assert fit is not None and fit.profile().requests.body["model"] == "tiny-gpt"
    assert openai_fit({"detail": "not found"}) is None
