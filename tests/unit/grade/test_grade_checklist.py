"""The shipped checklist says what the article's launch checklist says; a bad one fails on one line
naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checklist import checklist_sha256, load_checklist, parse_attestation
from harness.errors import ConfigError
from harness.grade import validate_names
from harness.schemas.checklist import ItemKind, Severity
from harness.stats import proportion_upper

REPO = Path(__file__).resolve().parents[3]
SHIPPED = REPO / "checklist.yaml"


def test_shipped_checklist_holds_every_article_item() -> None:
    checklist = load_checklist(SHIPPED)
    validate_names(checklist)
    by_category: dict[str, set[str]] = {}
    for item in checklist.items:
        by_category.setdefault(item.category.value, set()).add(item.id)
    assert {"load_2x_target", "memory_stable", "p99_latency", "error_rate"} <= by_category["performance"]
    reliability = {"timeouts_set", "degradation_ready", "circuit_breaker", "health_check"}
    assert reliability <= by_category["reliability"]
    assert {"logs_collected", "key_metrics", "alert_rules", "oncall_notified"} <= by_category["monitoring"]
    assert {"api_auth", "pii_masked", "access_logs", "rate_limiting"} <= by_category["security"]
    oncall = next(i for i in checklist.items if i.id == "oncall_notified")
    assert oncall.kind == ItemKind.manual
    assert checklist.target_qps >= 25 and checklist.slo_p99_s == 3 and checklist.slo_error_rate == 0.001


def test_quick_profile_can_prove_the_error_rate_in_a_short_gate() -> None:
    checklist = load_checklist(SHIPPED)
    plan = checklist.plan("quick", "target_2x")
    assert plan.rate_x is not None and plan.rate_x * checklist.target_qps >= 50
    requests = plan.rate_x * checklist.target_qps * plan.steady_s
    assert proportion_upper(0, int(requests * 0.95)) < checklist.slo_error_rate  # Poisson slack
    gated = [checklist.plan("quick", name) for name in checklist.scenarios_needed("quick")]
    load_s = sum(p.warmup_s + p.steady_s + (p.fault_s or 0) + (p.recovery_s or 0) for p in gated)
    assert load_s < 6 * 60
    assert checklist.scenarios_needed("quick") == ["target_2x", "concurrency_1000", "llm_slowdown",
                                                   "agent_sessions"]
    assert {"soak", "redis_outage", "spike"} <= set(checklist.scenarios_needed("full"))
    quick = {i.id: i for i in checklist.items_for("quick")}
    assert quick["memory_stable"].severity == Severity.blocker and "soak_memory" not in quick


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = SHIPPED.read_text()
    assert old in text
    path = tmp_path / "checklist.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


P99_THRESHOLD = "    threshold: {op: \"<\", value: 3, unit: s}\n    min_samples: 300    # the largest"
MEMORY_ITEM = ("    severity: blocker\n    kind: metric\n    scenario: target_2x\n    phase: steady\n"
               "    measure: memory_trend")


@pytest.mark.parametrize(("old", "new", "needle", "words"), [
    ("target_qps: 25", "target_qps: lots", "target_qps: lots", ["target_qps", "expected a number", "'lots'"]),
    ("    measure: p99_latency\n", "    measure: p99_latency\n    colour: red\n", "colour: red",
     ["colour", "not a known field"]),
    (P99_THRESHOLD, "    min_samples: 300    # the largest", "- id: p99_latency", ["threshold"]),
    (P99_THRESHOLD, P99_THRESHOLD.replace("value: 3, ", ""), "threshold: {op: \"<\", unit: s}",
     ["threshold.value", "required"]),
    (MEMORY_ITEM, MEMORY_ITEM.replace("blocker", "fatal"), "severity: fatal", ["severity", "'fatal'"]),
    ("    scenario: concurrency_1000\n", "    scenario: concurency_1000\n", "scenario: concurency_1000",
     ["unknown scenario", "concurency_1000"]),
])
def test_bad_checklist_is_one_line_with_file_and_line(tmp_path: Path, old: str, new: str, needle: str,
                                                      words: list[str]) -> None:
    path = _broken(tmp_path, old, new)
    with pytest.raises(ConfigError) as info:
        load_checklist(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{_line_of(path, needle)}: "), message
    for word in words:
        assert word in message


def test_yaml_syntax_error_and_duplicate_key_name_their_line(tmp_path: Path) -> None:
    path = _broken(tmp_path, "slo_p99_s: 3\n", "slo_p99_s: [3\n")
    with pytest.raises(ConfigError, match=rf"^{path}:\d+: not valid YAML"):
        load_checklist(path)
    path = _broken(tmp_path, "slo_p99_s: 3\n", "slo_p99_s: 3\nslo_p99_s: 30\n")
    with pytest.raises(ConfigError, match=rf"^{path}:{_line_of(path, 'slo_p99_s: 30')}: duplicate key"):
        load_checklist(path)


def test_unknown_probe_is_a_config_error(tmp_path: Path) -> None:
    checklist = load_checklist(_broken(tmp_path, "probe: rate_limit", "probe: rate_limitt"))
    with pytest.raises(ConfigError, match="rate_limitt"):
        validate_names(checklist)


def test_sha256_changes_with_the_file(tmp_path: Path) -> None:
    path = _broken(tmp_path, "target_qps: 25", "target_qps: 26")
    assert checklist_sha256(path) != checklist_sha256(SHIPPED)
    assert len(checklist_sha256(SHIPPED)) == 64


def test_attestation_from_the_command_line() -> None:
    checklist = load_checklist(SHIPPED)
    attestation = parse_attestation("oncall_notified=Lee Chen@2026-11-24T15:00:00Z", checklist)
    assert (attestation.item, attestation.by, attestation.at) == ("oncall_notified", "Lee Chen",
                                                                  "2026-11-24T15:00:00Z")
    assert parse_attestation("oncall_notified=lee", checklist).at.endswith("Z")
    with pytest.raises(ConfigError, match="not a manual item"):
        parse_attestation("p99_latency=lee", checklist)
    with pytest.raises(ConfigError, match="ITEM=WHO"):
        parse_attestation("oncall_notified", checklist)
