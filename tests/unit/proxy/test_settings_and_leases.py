"""Proxy settings refuse what must not happen (non-loopback listeners and upstreams); leases end."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from harness.errors import ConfigError
from harness.proxy import leases
from harness.proxy.leases import LeaseStore
from harness.proxy.settings import ProxySettings, split_host_port
from harness.schemas.faults import FaultLease, LLMFault


def _settings(**kw: object) -> ProxySettings:
    fields = {"kind": "llm", "upstream": "http://127.0.0.1:8000", "token": SecretStr("t"), **kw}
    return ProxySettings(**fields)


@pytest.mark.parametrize("upstream", ["http://10.0.0.8:8000", "https://api.openai.com", "example.org:6379"])
def test_non_loopback_upstream_is_refused_unless_allowed(upstream):
    with pytest.raises(ValidationError, match="--allow-host"):
        _settings(upstream=upstream)
    host = upstream.split("//")[-1]
    assert _settings(upstream=upstream, allow_hosts=[host]).upstream == upstream


def test_non_loopback_listener_is_refused_and_loopback_passes():
    with pytest.raises(ValidationError, match="listen address"):
        _settings(host="0.0.0.0")  # noqa: S104 - the point of the test
    assert _settings(upstream="http://localhost:9/v1", host="::1").host == "::1"


def test_host_port_parsing_names_the_option():
    assert split_host_port("127.0.0.1:6379", "--upstream") == ("127.0.0.1", 6379)
    with pytest.raises(ConfigError, match="--listen: 'nope' is not HOST:PORT"):
        split_host_port("nope", "--listen")


def test_a_lease_carries_one_fault_and_expires(fake_clock):
    with pytest.raises(ValidationError, match="exactly one"):
        FaultLease(ttl_s=1)
    clock = fake_clock(leases)
    store = LeaseStore("llm")
    store.set(FaultLease(llm=LLMFault(error_rate=1), ttl_s=0.05))
    clock.advance(0.049)
    assert store.current() is not None and store.state().expires_in_s == pytest.approx(0.001)
    clock.advance(0.001)
    assert store.current() is None and store.state().last_end == "expired"
    assert LLMFault(routes=["/v1/chat/"]).applies_to("/v1/chat/completions")
    assert not LLMFault(routes=["/v1/chat/"]).applies_to("/v1/embeddings")
