"""A fault with nowhere to go is refused before any load, saying which is missing: a service whose
profile has no fault API (every preset but the bundled one), or a fault API without the admin token.
Decisions only: nothing is sent."""

from __future__ import annotations

import pytest

from harness.errors import LoadError
from harness.load.faults import FaultDriver
from harness.schemas.checklist import FaultSpec
from harness.schemas.faults import ADMIN_PREFIX

TARGET = "http://127.0.0.1:9"


def test_a_service_without_a_fault_api_is_named_as_such() -> None:
    with pytest.raises(LoadError) as err:
        FaultDriver(TARGET, admin_path=None, admin_token="token").destinations([FaultSpec(llm_delay_s=5)])
    text = str(err.value)
    assert "(llm_delay_s=5.0)" in text and "the service profile has none (service.admin.faults_path" in text
    assert "admin token" not in text  # a token would not help: there is no API to give it to


def test_a_fault_api_without_its_token_asks_for_the_token() -> None:
    with pytest.raises(LoadError) as err:
        FaultDriver(TARGET, admin_token=None).destinations([FaultSpec(tool_delay_s=5)])
    text = str(err.value)
    assert "(tool_delay_s=5.0)" in text and "LOADGATE_ADMIN_TOKEN or --admin-token-file" in text


def test_a_proxy_takes_the_llm_fault_without_any_fault_api() -> None:
    driver = FaultDriver(TARGET, admin_path=None, llm_proxy_url="http://127.0.0.1:8")
    assert driver.destinations([FaultSpec(llm_delay_s=5)]) == [f"http://127.0.0.1:8{ADMIN_PREFIX}/fault"]
