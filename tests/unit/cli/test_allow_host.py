"""Remote hosts: refused unless allowed (--allow-host, LOADGATE_ALLOW_HOSTS). Decisions only: no test
here sends anything; the remote addresses are documentation ones (RFC 5737, RFC 3849)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from harness.cli import _stack_settings, main
from harness.cli_options import EXIT_USAGE, build_parser
from harness.errors import ConfigError
from harness.hosts import ALLOW_ENV, AllowedHost, HostAllowlist
from harness.stack import StackSettings

REMOTE = "http://203.0.113.7:8000"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://127.8.9.10", "http://localhost:1/x",
                                 "http://[::1]:9090", "redis://127.0.0.1:6379/0"])
def test_loopback_needs_no_allowance(url: str) -> None:
    assert HostAllowlist().allows(url)


@pytest.mark.parametrize(("allowed", "url", "verdict"), [
    ("203.0.113.7:8000", REMOTE, True),
    ("203.0.113.7", REMOTE, True),  # no port: every port of the host
    ("203.0.113.7:9000", REMOTE, False),  # another port of the host
    ("203.0.113.8", REMOTE, False),
    ("staging.example.com", "https://staging.example.com/v1", True),
    ("staging.example.com:443", "https://STAGING.example.com/v1", True),  # the scheme's port; names fold case
    ("staging.example.com:80", "https://staging.example.com/v1", False),
    ("example.com", "https://staging.example.com", False),  # no implied subdomains
    ("redis.internal", "redis://redis.internal/0", True),
    ("[2001:db8::5]:9090", "http://[2001:db8::5]:9090", True),
    ("0.0.0.0", "http://0.0.0.0:8000", True),
])
def test_allowance_decides_by_host_and_port(allowed: str, url: str, verdict: bool) -> None:
    assert HostAllowlist.parse([allowed]).allows(url) is verdict


def test_names_are_not_resolved() -> None:
    # A name that may well resolve to loopback is still a name someone has to allow; only localhost is.
    assert not HostAllowlist().allows("http://localhost.example.com:8000")
    assert not HostAllowlist().allows("http://0.0.0.0:8000")


@pytest.mark.parametrize("text", ["http://203.0.113.7:8000", "203.0.113.7:port", "", "host/path"])
def test_a_bad_allowance_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="allow"):
        AllowedHost.parse(text) if text else HostAllowlist.parse([text])


def test_refusal_says_how_to_allow() -> None:
    with pytest.raises(ConfigError) as err:
        HostAllowlist().check(REMOTE, "target")
    text = str(err.value)
    assert "not loopback" in text and "--allow-host 203.0.113.7:8000" in text and f"{ALLOW_ENV}=" in text


@pytest.mark.parametrize("field", ["target_url", "prometheus_url", "redis_url", "metrics_url"])
def test_stack_settings_refuse_every_remote_url_without_allowance(field: str) -> None:
    url = "redis://203.0.113.7:6379/0" if field == "redis_url" else REMOTE
    with pytest.raises(ValidationError, match="--allow-host"):
        StackSettings(**{field: url})
    allowed = StackSettings(allow_hosts=["203.0.113.7"], **{field: url})
    assert getattr(allowed, field) == url


def test_remote_target_is_refused_in_one_line(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_ENV, "203.0.113.7:9000")  # the host, another port: still refused
    monkeypatch.setenv("LOADGATE_API_KEY", "k")
    code = main(["run", "target_2x", "--target-url", REMOTE])
    assert code == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"loadgate: error: option --target-url: {REMOTE}: host 203.0.113.7 is not loopback")
    assert "add --allow-host 203.0.113.7:8000" in err and "\n" not in err


def test_check_refuses_a_remote_prometheus(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--prometheus-url", "http://203.0.113.9:9090", "--since=-5m"])
    assert code == EXIT_USAGE
    assert "--allow-host 203.0.113.9:9090" in capsys.readouterr().err


def test_flags_and_environment_both_allow(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's settings accept the allowed URLs (built, not run: nothing is sent)."""
    monkeypatch.setenv(ALLOW_ENV, "prom.example.net:9090, 203.0.113.7")
    monkeypatch.setenv("LOADGATE_API_KEY", "k")
    args = build_parser().parse_args(["gate", "--target-url", REMOTE,
                                      "--prometheus-url", "http://prom.example.net:9090",
                                      "--metrics-url", "http://198.51.100.4:9100/metrics",
                                      "--allow-host", "198.51.100.4:9100"])
    settings = _stack_settings(args)
    assert settings.target_url == REMOTE
    assert settings.metrics_url == "http://198.51.100.4:9100/metrics"
    assert settings.allow_hosts == ["198.51.100.4:9100", "prom.example.net:9090", "203.0.113.7"]
