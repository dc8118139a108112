"""Facts about this run's machine and code, recorded in run.json so a report says what it measured."""

from __future__ import annotations

import os
import platform
import secrets
import subprocess
import time
from importlib import metadata
from pathlib import Path

import psutil

from harness.schemas.run import MachineInfo

_VERSIONED = ("loadgate", "locust", "fastapi", "uvicorn", "torch", "transformers", "prometheus-client",
              "redis")
_BINARIES = {"prometheus": ["prometheus", "--version"], "redis": ["redis-server", "--version"]}


def new_run_id(prefix: str = "") -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"{prefix}{stamp}-{secrets.token_hex(2)}"


def git_commit(cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                           capture_output=True, text=True, timeout=5).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def binary_version(argv: list[str]) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0] if first else None


def machine_info() -> MachineInfo:
    versions: dict[str, str] = {}
    for dist in _VERSIONED:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    for name, argv in _BINARIES.items():
        version = binary_version(argv)
        if version:
            versions[name] = version
    return MachineInfo(
        cores=os.cpu_count() or 1,
        memory_bytes=psutil.virtual_memory().total,
        platform=platform.platform(),
        python=platform.python_version(),
        versions=versions,
    )
