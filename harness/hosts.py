"""Which hosts loadgate may send to: loopback always, any other host only when the user allows it
(``--allow-host HOST[:PORT]``, repeatable, or ``LOADGATE_ALLOW_HOSTS=HOST[:PORT],...``).

The decision is made on the URL as written, before anything is sent. Names are compared as names and
never resolved: allowing ``staging.example.com`` does not allow the address it resolves to, and only
``localhost`` counts as loopback by name. An allowance without a port allows every port of that host.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from harness.errors import ConfigError

ALLOW_ENV = "LOADGATE_ALLOW_HOSTS"
_DEFAULT_PORTS = {"http": 80, "https": 443, "redis": 6379, "rediss": 6379}


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_port(url: str) -> tuple[str, int | None]:
    """(host, port) of a URL as written; the scheme's default port when none is given."""
    parts = urlsplit(url if "//" in url else f"//{url}")
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"'{url}' has an invalid port") from exc
    if not parts.hostname:
        raise ConfigError(f"'{url}' names no host")
    return parts.hostname.lower(), port if port is not None else _DEFAULT_PORTS.get(parts.scheme)


@dataclass(frozen=True)
class AllowedHost:
    host: str  # lower case; an IPv6 address without brackets
    port: int | None  # None: every port

    @classmethod
    def parse(cls, text: str) -> AllowedHost:
        text = text.strip()
        try:
            if "/" in text or not text:
                raise ConfigError("write HOST or HOST:PORT (no scheme, no path)")
            return cls(*_host_port(text))
        except ConfigError as exc:
            raise ConfigError(f"--allow-host '{text}': {exc}") from None

    def allows(self, host: str, port: int | None) -> bool:
        return host == self.host and (self.port is None or self.port == port)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


@dataclass(frozen=True)
class HostAllowlist:
    entries: tuple[AllowedHost, ...] = ()

    @classmethod
    def parse(cls, flags: Iterable[str] = (), env: str | None = None) -> HostAllowlist:
        """From ``--allow-host`` values and the comma-separated ``LOADGATE_ALLOW_HOSTS``."""
        texts = [*flags, *(t for t in (env or "").split(",") if t.strip())]
        return cls(tuple(AllowedHost.parse(t) for t in texts))

    @classmethod
    def from_environment(cls, flags: Iterable[str] = ()) -> HostAllowlist:
        return cls.parse(flags, os.environ.get(ALLOW_ENV))

    def allows(self, url: str) -> bool:
        host, port = _host_port(url)
        return is_loopback_host(host) or any(e.allows(host, port) for e in self.entries)

    def refusal(self, url: str) -> str | None:
        """None when ``url`` may be sent to; else why not, and how to allow it."""
        if self.allows(url):
            return None
        host, port = _host_port(url)
        wanted = str(AllowedHost(host, port))
        return (f"{url}: host {host} is not loopback, and loadgate sends traffic only to loopback and to "
                f"hosts you allow; to send to it, add --allow-host {wanted} (or {ALLOW_ENV}={wanted})")

    @classmethod
    def validated(cls, url: str, flags: Iterable[str]) -> str:
        """For a pydantic validator: ``url`` when ``flags`` (the ``--allow-host`` values) allow it;
        else a ValueError saying why and how to allow it (a malformed flag too)."""
        try:
            why = cls.parse(flags).refusal(url)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        if why is not None:
            raise ValueError(why)
        return url

    def check(self, url: str, what: str) -> str:
        """``url`` when it may be sent to; else a ConfigError naming ``what`` and how to allow it."""
        why = self.refusal(url)
        if why is not None:
            raise ConfigError(f"{what} {why}")
        return url
