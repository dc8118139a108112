"""``loadgate proxy`` settings, validated at the edge: loopback listeners, an allowed upstream, a token."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationInfo, field_validator

from harness.errors import ConfigError
from harness.hosts import HostAllowlist, is_loopback_host
from harness.ports import LOOPBACK, free_port
from harness.schemas.faults import TOKEN_ENV

DEFAULT_TOKEN_FILE = Path(".loadgate/proxy-token")


def split_host_port(text: str, what: str) -> tuple[str, int]:
    """'HOST:PORT' (or a URL's netloc) -> (host, port); ConfigError naming ``what`` otherwise."""
    parts = urlsplit(text if "//" in text else f"//{text}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise ConfigError(f"{what}: '{text}' is not HOST:PORT")
    return parts.hostname, port


class ProxySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["llm", "tcp"]
    allow_hosts: list[str] = []  # --allow-host: hosts besides loopback the upstream may name
    upstream: str  # llm: http(s)://host:port[/prefix]; tcp: host:port
    host: str = LOOPBACK
    port: int = 0  # 0: a free port, printed at start
    admin_port: int = 0  # tcp only: the admin API's port (the llm proxy serves it on its own port)
    token: SecretStr

    @field_validator("host")
    @classmethod
    def _listen_on_loopback(cls, host: str) -> str:
        if not is_loopback_host(host):
            raise ValueError(f"listen address {host} is not loopback: traffic stays on this machine")
        return host

    @field_validator("upstream")
    @classmethod
    def _upstream_allowed(cls, upstream: str, info: ValidationInfo) -> str:
        return HostAllowlist.validated(upstream, info.data.get("allow_hosts", []))

    def resolved(self) -> ProxySettings:
        """The same settings with port 0 replaced by free ports."""
        return self.model_copy(update={"port": self.port or free_port(self.host),
                                       "admin_port": self.admin_port or free_port(self.host)})


def resolve_token(token_file: Path | None) -> tuple[SecretStr, str]:
    """The admin token and where it came from (never the token itself): the environment, the given
    file, or a new one written to .loadgate/proxy-token (mode 600)."""
    if value := os.environ.get(TOKEN_ENV):
        return SecretStr(value), f"${TOKEN_ENV}"
    if token_file is not None:
        try:
            value = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the proxy token file: {exc.strerror}",
                              path=str(token_file)) from None
        if not value:
            raise ConfigError("the proxy token file is empty", path=str(token_file))
        return SecretStr(value), str(token_file)
    DEFAULT_TOKEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(24)
    fd = os.open(DEFAULT_TOKEN_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(value)
    return SecretStr(value), str(DEFAULT_TOKEN_FILE)
