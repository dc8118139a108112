"""Runner failures: a clear LoadError, and timeline.json still says what happened."""

from __future__ import annotations

import pytest

from harness.errors import LoadError
from harness.load import SCENARIOS, run_scenario
from harness.ports import free_port
from harness.schemas import RunFolder, ScenarioPlan, Timeline
from tests.integration.load.conftest import checklist, endpoints

pytestmark = pytest.mark.integration

STEP = ScenarioPlan(warmup_s=0, steady_s=2, rate_x=1, arrival="constant")


def _failed(folder: RunFolder, name: str) -> str:
    run = Timeline.load_file(folder.timeline).scenario(name)
    assert run.status == "failed" and run.end is not None
    return run.reason


def test_unreachable_target(tmp_path) -> None:
    folder = RunFolder(tmp_path)
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(LoadError, match="not reachable") as err:
        run_scenario(
            "target_2x",
            checklist=checklist(target_2x=STEP),
            profile="quick",
            endpoints=endpoints(url),
            run_folder=folder,
        )
    assert url in str(err.value)
    assert "not reachable" in _failed(folder, "target_2x")


def test_bad_scenario_name_lists_the_valid_ones(tmp_path) -> None:
    folder = RunFolder(tmp_path)
    with pytest.raises(LoadError, match="unknown scenario 'target_3x'") as err:
        run_scenario(
            "target_3x",
            checklist=checklist(target_2x=STEP),
            profile="quick",
            endpoints=endpoints("http://127.0.0.1:9"),
            run_folder=folder,
        )
    assert all(name in str(err.value) for name in SCENARIOS)
    assert "target_3x" in _failed(folder, "target_3x")


def test_scenario_missing_from_the_profile(tmp_path) -> None:
    folder = RunFolder(tmp_path)
    with pytest.raises(LoadError, match="has no scenario 'spike'"):
        run_scenario(
            "spike",
            checklist=checklist(target_2x=STEP),
            profile="quick",
            endpoints=endpoints("http://127.0.0.1:9"),
            run_folder=folder,
        )
    assert _failed(folder, "spike")


def test_zero_requests(tmp_path, fast_target, monkeypatch) -> None:
    url = fast_target("--stall-every", "1", "--stall-s", "60")  # nothing ever completes
    monkeypatch.setenv("LOADGATE_DRAIN_S", "1")
    folder = RunFolder(tmp_path)
    with pytest.raises(LoadError, match="zero requests"):
        run_scenario(
            "step",
            checklist=checklist(),
            profile="quick",
            endpoints=endpoints(url),
            run_folder=folder,
            plan=STEP,
        )
    assert "zero requests" in _failed(folder, "step")
    assert [p.name for p in Timeline.load_file(folder.timeline).scenario("step").phases] == ["steady"]


def test_a_rejected_api_key_fails_the_scenario(tmp_path, fast_target) -> None:
    url = fast_target()
    folder = RunFolder(tmp_path)
    wrong = endpoints(url).model_copy(update={"api_key": "wrong"})
    with pytest.raises(LoadError, match="every request was rejected.*401.*API key"):
        run_scenario(
            "step", checklist=checklist(), profile="quick", endpoints=wrong, run_folder=folder, plan=STEP
        )
    assert "401" in _failed(folder, "step")
