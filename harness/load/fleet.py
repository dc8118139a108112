"""Who may join a distributed run: the same code, the same plan format, a clock close to the master's.

A worker introduces itself (``hello``) as soon as it is connected; the master admits it or refuses
the whole run before any load, naming the worker (``admission``). Pure functions: no Locust.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import time
from functools import cache
from pathlib import Path
from typing import Any

import harness
from harness.load.plan import SCENARIO_DIR, LoadPlan

WORKER_NAME_ENV = "LOADGATE_WORKER_NAME"
MAX_SKEW_ENV = "LOADGATE_MAX_CLOCK_SKEW_MS"
DEFAULT_MAX_SKEW_MS = 100.0  # well under the 50-200 ms that makes a request "late"; NTP keeps a few ms
REFUSED_FILE = "refused.json"  # the master's refusal, read by the runner (exit 3)
REFUSED_EXIT = 3  # a worker the master refused exits with this (a configuration error, not a crash)
LATE_EXIT = 4  # a worker that came after the load started exits with this, to wait for the next master
FLEET_FILE = "fleet.json"  # the master's workers while it waits for them, for the progress line
_SOURCE_SUFFIXES = {".py", ".txt", ".yaml", ".yml", ".json", ".csv", ".jsonl"}


def _source_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in _SOURCE_SUFFIXES
                  and "__pycache__" not in p.parts)


def fingerprint(*roots: Path) -> str:
    """sha256 over the source files under ``roots`` (each file's path and bytes)."""
    digest = hashlib.sha256()
    for root in roots:
        for path in _source_files(root):
            digest.update(path.relative_to(root.parent).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@cache
def code_fingerprint() -> str:
    """This process's harness package and scenarios, as ``fingerprint`` sees them."""
    return fingerprint(Path(harness.__file__).parent, SCENARIO_DIR)


@cache
def plan_fingerprint() -> str:
    """sha256 of the load plan's JSON schema: the format the master broadcasts."""
    schema = json.dumps(LoadPlan.model_json_schema(), sort_keys=True).encode()
    return hashlib.sha256(schema).hexdigest()


def worker_name(client_id: str) -> str:
    """``LOADGATE_WORKER_NAME`` when set (what errors and reports call it), else Locust's client id."""
    return os.environ.get(WORKER_NAME_ENV) or client_id


def safe_name(name: str) -> str:
    """A worker name as a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:120] or "worker"


def hello(name: str, locust_version: str) -> dict[str, Any]:
    return {"name": name, "host": socket.gethostname(), "pid": os.getpid(), "code": code_fingerprint(),
            "plan": plan_fingerprint(), "locust": locust_version, "clock": time.time()}


def max_skew_s() -> float:
    return float(os.environ.get(MAX_SKEW_ENV) or DEFAULT_MAX_SKEW_MS) / 1000


def admission(data: dict[str, Any], received: float, locust_version: str, max_skew: float) -> str | None:
    """None when the worker may join; else why not (one sentence naming the worker)."""
    who = f"worker '{data.get('name')}' (host {data.get('host')}, pid {data.get('pid')})"
    if data.get("code") != code_fingerprint():
        return (f"{who} runs other code than the master (source fingerprint {str(data.get('code'))[:12]} "
                f"vs {code_fingerprint()[:12]}): install the same loadgate revision on every generator host")
    if data.get("plan") != plan_fingerprint():
        return f"{who} reads another load plan format than the master"
    if data.get("locust") != locust_version:
        return f"{who} runs Locust {data.get('locust')}, the master {locust_version}"
    skew = float(data.get("clock", 0.0)) - received
    if abs(skew) > max_skew:
        return (f"{who}: its clock is {skew * 1000:+.0f} ms off the master's (limit "
                f"{max_skew * 1000:g} ms, {MAX_SKEW_ENV}): arrivals are scheduled by wall clock; "
                f"synchronise the hosts' clocks (NTP)")
    return None
