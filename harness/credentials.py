"""Keys and tokens for the target: from the environment or a file, never needed on the command line.

A command line is visible to every user of the machine (``ps``, /proc/<pid>/cmdline) and lands in
shell history and CI logs. ``--api-key`` and friends still work, hidden from ``--help`` and with a
warning, so old scripts keep running while they move to ``LOADGATE_API_KEY`` or ``--api-key-file``.
"""

from __future__ import annotations

import argparse
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError


@dataclass(frozen=True)
class Secret:
    name: str  # the StackSettings / Endpoints field
    env: str
    what: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def file_flag(self) -> str:
        return self.flag + "-file"


SECRETS = (
    Secret("api_key", "LOADGATE_API_KEY", "API key for --target-url"),
    Secret("api_key_2", "LOADGATE_API_KEY_2", "a second key, for the rate-limit probe"),
    Secret("admin_token", "LOADGATE_ADMIN_TOKEN", "admin token for fault injection on --target-url"),
)


def add_secret_options(group: argparse._ArgumentGroup) -> None:
    for secret in SECRETS:
        group.add_argument(secret.file_flag, type=Path, metavar="FILE", dest=f"{secret.name}_file",
                           help=f"{secret.what}: a file holding it (mode 0600), or env {secret.env}")
        # Kept for old scripts only; hidden so --help never teaches a secret on the command line.
        group.add_argument(secret.flag, dest=secret.name, help=argparse.SUPPRESS)


def resolve_secrets(args: argparse.Namespace, warn: Callable[[str], None]) -> dict[str, str | None]:
    """Each secret from (in order) the hidden argv flag with a warning, its file, its variable."""
    found: dict[str, str | None] = {}
    for secret in SECRETS:
        on_argv = getattr(args, secret.name, None)
        path = getattr(args, f"{secret.name}_file", None)
        if on_argv:
            warn(f"{secret.flag} on the command line is visible to every user (ps) and in shell "
                 f"history: use {secret.env} or {secret.file_flag}")
            found[secret.name] = on_argv
        elif path is not None:
            found[secret.name] = read_secret_file(path, secret.file_flag, warn)
        else:
            found[secret.name] = os.environ.get(secret.env) or None
    return found


def read_secret_file(path: Path, flag: str, warn: Callable[[str], None]) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
        mode = path.stat().st_mode
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the secret file: {getattr(exc, 'strerror', None) or exc}",
                          path=str(path), field=flag) from None
    if not text:
        raise ConfigError("the secret file is empty", path=str(path), field=flag)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        warn(f"{path} is readable by others (mode {stat.S_IMODE(mode):o}): chmod 600 {path}")
    return text
