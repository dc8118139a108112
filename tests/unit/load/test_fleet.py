"""Who may join a distributed run (decisions only: nothing binds or sends to a non-loopback address)."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.load import fleet
from harness.load.guard import LoadSettings, invalid_reasons
from harness.pipeline import RunSettings, StackSettings
from harness.schemas.timeline import ScenarioStats

LOCUST = "2.47.0"


def _hello(**changes: object) -> dict[str, object]:
    return {**fleet.hello("w7", LOCUST), **changes}


def test_a_worker_like_the_master_is_admitted() -> None:
    data = _hello()
    assert fleet.admission(data, received=float(data["clock"]) + 0.01, locust_version=LOCUST,
                           max_skew=0.1) is None


@pytest.mark.parametrize(("changes", "words"), [
    ({"code": "0" * 64}, "runs other code"),
    ({"plan": "0" * 64}, "another load plan format"),
    ({"locust": "2.31.0"}, "Locust 2.31.0"),
])
def test_other_code_plan_or_locust_is_refused_naming_the_worker(changes, words) -> None:
    data = _hello(**changes)
    why = fleet.admission(data, float(data["clock"]), LOCUST, max_skew=0.1)
    assert why is not None and words in why and "worker 'w7'" in why


@pytest.mark.parametrize("skew", [-0.5, 0.25])
def test_a_clock_off_by_more_than_the_bound_is_refused(skew: float) -> None:
    data = _hello()
    why = fleet.admission(data, float(data["clock"]) - skew, LOCUST, max_skew=0.1)
    assert why is not None and f"{skew * 1000:+.0f} ms" in why and fleet.MAX_SKEW_ENV in why


def test_one_changed_byte_or_name_changes_the_fingerprint(tmp_path) -> None:
    root = tmp_path / "harness"
    (root / "load").mkdir(parents=True)
    (root / "load" / "a.py").write_text("x = 1\n")
    (root / "b.txt").write_text("prompt\n")
    first = fleet.fingerprint(root)
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "a.pyc").write_bytes(b"compiled")
    assert fleet.fingerprint(root) == first  # byte code is not source
    (root / "load" / "a.py").write_text("x = 2\n")
    second = fleet.fingerprint(root)
    assert second != first
    (root / "load" / "a.py").rename(root / "load" / "c.py")
    assert fleet.fingerprint(root) not in (first, second)
    assert fleet.code_fingerprint() == fleet.code_fingerprint() and len(fleet.code_fingerprint()) == 64


def test_a_worker_name_becomes_a_file_name() -> None:
    assert fleet.safe_name("pod/w 1:x") == "pod_w_1_x"


@pytest.mark.parametrize(("bind", "allow", "ok"), [
    ("127.0.0.1:5557", [], True),
    ("0.0.0.0:5557", [], False),
    ("0.0.0.0:5557", ["0.0.0.0:5557"], True),
    ("10.0.0.5:5557", ["10.0.0.5:6000"], False),
    ("[::1]:5557", [], True),
])
def test_a_master_bound_off_loopback_needs_the_host_allowance(bind, allow, ok) -> None:
    def settings() -> RunSettings:
        return RunSettings(load=LoadSettings(expect_workers=2, master_bind=bind),
                           stack=StackSettings(allow_hosts=allow))
    if ok:
        assert settings().load.bind()[1] == 5557
    else:
        with pytest.raises(ConfigError, match="--master-bind .*--allow-host"):
            settings()


def test_a_malformed_bind_is_a_usage_error() -> None:
    with pytest.raises(ConfigError, match="HOST:PORT"):
        LoadSettings(master_bind="5557").bind()


def test_the_saturation_guard_names_the_hot_worker() -> None:
    samples = [{"phase": "steady", "cpu_max": 97.0, "cpu_by_worker": {"local0": 40.0, "pod-b": 97.0}}] * 12
    reasons = invalid_reasons(samples, ScenarioStats(scenario="s", phases=[]), LoadSettings(), poisson=False)
    assert len(reasons) == 1 and "pod-b" in reasons[0] and "local0" not in reasons[0]
