"""Cache keys, API-key matching and the fault file, without a server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from target_service.cache import cache_key
from target_service.config import Settings
from target_service.faults import FaultSpec, FaultStore
from target_service.security import KeyRing, bearer, key_id


def test_cache_key_normalizes_input_but_separates_keys_and_lengths() -> None:
    assert cache_key("k1", "Hello   World", 32) == cache_key("k1", " hello world ", 32)
    assert cache_key("k1", "hello", 32) != cache_key("k2", "hello", 32)
    assert cache_key("k1", "hello", 32) != cache_key("k1", "hello", 33)


def test_keyring_and_bearer() -> None:
    ring = KeyRing(["alpha", "beta"])
    assert ring.match("beta") == key_id("beta") and len(key_id("beta")) == 12
    assert ring.match("gamma") is None and ring.match(None) is None
    assert bearer("Bearer  tok ") == "tok" and bearer("bearer tok") == "tok"
    assert bearer("Basic tok") is None and bearer("Bearer ") is None and bearer(None) is None


def test_fault_store_shares_through_the_file(tmp_path: Path) -> None:
    writer, reader = FaultStore(tmp_path, poll_s=0.05), FaultStore(tmp_path, poll_s=0.05)
    assert reader.current() == FaultSpec()
    writer.set(FaultSpec(llm_delay_s=2.0, redis_down=True))
    time.sleep(0.06)
    assert reader.current().llm_delay_s == 2.0 and reader.current().redis_down
    writer.clear()
    time.sleep(0.06)
    assert reader.current() == FaultSpec()


def test_fault_spec_bounds() -> None:
    with pytest.raises(ValidationError):
        FaultSpec(llm_error_rate=1.5)
    with pytest.raises(ValidationError):
        FaultSpec.model_validate({"llm_delay": 1})


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_API_KEYS", " a ,b,,")
    monkeypatch.setenv("AGENT_LLM_BACKEND", "simulated")
    monkeypatch.setenv("AGENT_LLM_TIMEOUT_S", "2")
    s = Settings()
    assert s.key_values() == ["a", "b"] and s.llm_backend == "simulated" and s.llm_timeout_s == 2.0
    monkeypatch.setenv("AGENT_LLM_BACKEND", "nope")
    with pytest.raises(ValidationError):
        Settings()
