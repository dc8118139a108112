"""Checks of the service's access log: PII masked, one JSON object a line, one line per request.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from harness.grade.checks.common import ask, pass_unless, probe_client, service_endpoints
from harness.grade.context import GradeContext
from harness.grade.result import NoData, make_result
from harness.schemas.checklist import ChecklistItem
from harness.schemas.params import AccessLogCoverageParams, AccessLogJsonParams, PiiParams
from harness.schemas.verdict import ItemResult, ItemStatus

# How long a request's line may take to reach the access log (buffered writers; a line written after
# the response left, on a busy event loop). The wait ends as soon as every line is there, so only a
# missing line pays it: 3 s failed the bundled service's quick gate once at load 7 on 2 cores (1 of 20).
LOG_WAIT_S = 15.0

class _LogTail:
    """Lines appended to the access log after this object was made."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def new_lines(self) -> list[str]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            return [line for line in fh.read().decode("utf-8", "replace").splitlines() if line.strip()]

    def wait_for(self, done: Callable[[list[str]], bool]) -> list[str]:
        deadline = time.monotonic() + LOG_WAIT_S
        lines = self.new_lines()
        while not done(lines) and time.monotonic() < deadline:
            time.sleep(0.1)
            lines = self.new_lines()
        return lines


def _access_log(ctx: GradeContext) -> Path:
    ep = service_endpoints(ctx)
    if ep.access_log is None:
        raise NoData("the service's access log is not known to loadgate: give its JSON-lines file with "
                     "--access-log FILE, or waive the item")
    return Path(ep.access_log)


def pii_masking(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    ep = service_endpoints(ctx)
    tail = _LogTail(_access_log(ctx))
    token = secrets.token_hex(4)
    samples = [str(s).format(token=token, digits4=f"{secrets.randbelow(10_000):04d}")
               for s in PiiParams.of(item.params).samples]
    if not samples:
        raise NoData("no PII samples configured (params.samples)")
    with probe_client() as client:
        status = ask(client, ep, ep.api_key, "Please contact me: " + ", ".join(samples)).status_code
    lines = tail.wait_for(lambda got: bool(got))
    if not lines:
        raise NoData(f"the request (status {status}) left no new access-log line: masking not judgeable")
    leaked = [s for s in samples if any(s in line for line in lines)]
    return pass_unless(item, [f"unmasked in the access log: {', '.join(leaked)}"] if leaked else [],
                       f"none of {len(samples)} PII samples appear unmasked in {len(lines)} new log lines",
                       value=len(leaked), unit="leaked", samples=len(samples),
                       evidence={"samples": samples, "lines": lines[:5]})


def access_log_json(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    path = _access_log(ctx)
    if not path.exists():
        return make_result(item, ItemStatus.failed, f"access log {path} does not exist")
    lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    if not lines:
        raise NoData(f"access log {path} is empty")
    fields = AccessLogJsonParams.of(item.params).fields
    bad, missing = 0, {f: 0 for f in fields}
    example = None
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not isinstance(record, dict):
            bad += 1
            example = example or line[:120]
            continue
        for f in fields:
            missing[f] += f not in record
    problems = [f"{bad} of {len(lines)} lines are not JSON objects (e.g. {example!r})"] if bad else []
    problems += [f"{n} lines lack '{f}'" for f, n in missing.items() if n]
    return pass_unless(item, problems, f"all {len(lines)} access-log lines are JSON objects"
                       + (f" with {', '.join(fields)}" if fields else ""),
                       value=len(lines) - bad, unit="JSON lines", samples=len(lines),
                       evidence={"path": str(path), "not_json": bad, "missing_fields": missing})


def access_log_coverage(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """Requests sent now (valid and refused) must each leave a line, found by the request id the
    service returns (X-Request-ID header, else the body's request_id)."""
    ep = service_endpoints(ctx)
    tail = _LogTail(_access_log(ctx))
    n = AccessLogCoverageParams.of(item.params).requests
    ids: list[str] = []
    with probe_client() as client:
        for _ in range(n):
            response = ask(client, ep, ep.api_key)
            rid = response.headers.get("x-request-id") or _body_request_id(response)
            if rid:
                ids.append(rid)
        ask(client, ep, None)  # a refused request is an access too
    expected = n + 1

    def missing(got: list[str]) -> list[str]:
        return [rid for rid in ids if not any(rid in line for line in got)]

    # Wait for the ids, not only a line count: a line is written as its response leaves, so the last
    # request's line can trail other traffic's (Prometheus scrapes) that already filled the count.
    lines = tail.wait_for(lambda got: len(got) >= expected and not missing(got))
    unmatched = missing(lines)
    problems = []
    if len(lines) < expected:
        problems.append(f"{len(lines)} new access-log lines for {expected} requests sent")
    if unmatched:
        problems.append(f"{len(unmatched)} of {len(ids)} request ids missing from the log "
                        f"(e.g. {unmatched[0]})")
    return pass_unless(item, problems, f"{expected} requests sent, {len(lines)} new access-log lines"
                       + (f", all {len(ids)} request ids found" if ids else ""),
                       value=len(lines), unit="lines", samples=expected,
                       evidence={"sent": expected, "new_lines": len(lines), "ids_checked": len(ids)})


def _body_request_id(response: httpx.Response) -> str | None:
    if not response.headers.get("content-type", "").startswith("application/json"):
        return None
    rid = response.json().get("request_id")
    return str(rid) if rid else None
