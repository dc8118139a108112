"""The service profile: presets validate, overrides merge, mistakes name the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.checklist import load_checklist, load_service_file
from harness.errors import ConfigError
from harness.schemas.service import preset_profile
from harness.target.presets import PRESETS, merge

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_a_valid_profile(name: str) -> None:
    profile = preset_profile(name)
    assert profile.preset == name
    assert profile.requests.run_path.startswith("/")


def test_bundled_preset_is_todays_contract() -> None:
    m = preset_profile("bundled").metrics
    assert (m.request_duration.name, m.request_duration.selector) == (
        "agent_request_duration_seconds", 'endpoint=~"/v1/agent/.*"')
    assert (m.requests.name, m.requests.served, m.requests.shed, m.requests.error) == (
        "agent_requests_total", 'status=~"2.."', 'status="429"', 'status=~"4..|5..", status!="429"')
    assert (m.breaker.name, m.breaker.open, m.breaker.closed) == ("agent_circuit_breaker_state", 2, 0)


def test_merge_keeps_siblings_and_replaces_bodies() -> None:
    base = {"requests": {"run_path": "/a", "body": {"input": "{prompt}", "x": 1}},
            "metrics": {"job": "agent"}}
    out = merge(base, {"requests": {"body": {"q": "{prompt}"}}, "metrics": {"job": "svc"}})
    assert out["requests"] == {"run_path": "/a", "body": {"q": "{prompt}"}}
    assert out["metrics"] == {"job": "svc"}
    assert merge({"metrics": {"breaker": {"name": "b"}}}, {"metrics": {"breaker": None}}) == {
        "metrics": {"breaker": None}}


def _checklist_with(tmp_path: Path, service: object) -> Path:
    data = yaml.safe_load((ROOT / "checklist.yaml").read_text())
    data["service"] = service
    path = tmp_path / "checklist.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_checklist_string_service_is_a_name_without_profile(tmp_path: Path) -> None:
    checklist = load_checklist(_checklist_with(tmp_path, "my agent"))
    assert checklist.service_name == "my agent" and checklist.service_profile is None


def test_checklist_preset_name_is_that_preset(tmp_path: Path) -> None:
    assert load_checklist(_checklist_with(tmp_path, "openai")).service_profile.preset == "openai"


def test_checklist_service_mapping_merges_overrides(tmp_path: Path) -> None:
    path = _checklist_with(tmp_path, {"preset": "seed-article", "name": "faq bot",
                                      "metrics": {"requests": {"selector": 'endpoint="answer"'}}})
    profile = load_checklist(path).service_profile
    assert profile.metrics.requests.selector == 'endpoint="answer"'
    assert profile.metrics.requests.error == 'status="error"'  # from the preset
    assert load_checklist(path).service_name == "faq bot"


def test_bad_selector_names_line_and_field(tmp_path: Path) -> None:
    path = _checklist_with(tmp_path, {"preset": "bundled", "metrics": {"requests": {"selector": '{a="b"}'}}})
    with pytest.raises(ConfigError) as err:
        load_checklist(path)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "selector" in text)
    assert err.value.line == line
    assert err.value.field == "service.metrics.requests.selector"
    assert "without braces" in str(err.value)


def test_unknown_preset_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_checklist(_checklist_with(tmp_path, {"preset": "nginx"}))
    assert err.value.field == "service.preset"
    assert "seed-article" in str(err.value)


def test_service_file_with_unknown_placeholder(tmp_path: Path) -> None:
    path = tmp_path / "service.yaml"
    path.write_text('preset: opentelemetry\nrequests:\n  body: {q: "{prompt}", n: "{tokens}"}\n')
    with pytest.raises(ConfigError) as err:
        load_service_file(path)
    assert (err.value.line, err.value.field) == (3, "requests.body")
    assert "{tokens}" in str(err.value)


def test_service_file_under_a_service_key(tmp_path: Path) -> None:
    path = tmp_path / "service.yaml"
    path.write_text("service:\n  preset: openai\n  requests:\n    headers: {X-Team: qa}\n")
    profile = load_service_file(path)
    assert profile.preset == "openai" and profile.requests.headers == {"X-Team": "qa"}
    assert profile.requests.run_path == "/v1/chat/completions"
