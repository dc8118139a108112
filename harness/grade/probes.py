"""Probe items: act on the service, its access log or Prometheus, and judge what comes back.

Probes run after the load, against the still-running stack. The burst probe uses the second API key
so the keys the load used are never throttled by the grader.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np

from harness.grade.context import GradeContext
from harness.grade.nodata import missing_series
from harness.grade.rawhttp import ConnectionPool
from harness.grade.requests_log import phase_rows
from harness.grade.result import NoData, judge, make_result
from harness.schemas.checklist import ChecklistItem
from harness.schemas.run import Endpoints
from harness.schemas.verdict import ItemResult, ItemStatus, Window
from harness.stack.alertmanager import AlertNotification, read_notifications
from harness.target.client import TargetClient
from harness.target.metrics import key_series

# Small and identical, so after the first answer the service serves it from cache: probes stay cheap.
PROBE_PROMPT = "loadgate probe: what is a circuit breaker?"
TIMEOUT_S = 30.0
LOG_WAIT_S = 3.0  # how long a written request may take to reach the access log (buffered writers)
DELIVERY_ALERT = "LoadgateDeliveryCheck"
DELIVERY_WAIT_S = 15.0  # Alertmanager's group_wait plus the webhook call; far less on a calm stack


def _endpoints(ctx: GradeContext) -> Endpoints:
    if ctx.endpoints is None:
        raise NoData("no service endpoints to probe")
    return ctx.endpoints


def _ask(client: httpx.Client, ep: Endpoints, key: str | None, prompt: str = PROBE_PROMPT) -> httpx.Response:
    """One short agent request in the profile's shape, with ``key`` (None or "": no key at all)."""
    return TargetClient.of(ep).send(client, prompt, max_tokens=1, api_key=key or "")


def _client() -> httpx.Client:
    return httpx.Client(timeout=TIMEOUT_S)


def _verdict(item: ChecklistItem, problems: list[str], ok: str, **fields: Any) -> ItemResult:
    if problems:
        return make_result(item, ItemStatus.failed, "; ".join(problems), **fields)
    return make_result(item, ItemStatus.passed, ok, **fields)


def health(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    ep = _endpoints(ctx)
    evidence: dict[str, Any] = {}
    problems = []
    paths = TargetClient.of(ep).health_paths()
    if not paths:
        raise NoData("the service profile has no health or readiness path (service.health)")
    with _client() as client:
        for path in paths:
            try:
                response = client.get(ep.target_url.rstrip("/") + path)
            except httpx.HTTPError as exc:
                problems.append(f"{path} unreachable ({type(exc).__name__})")
                continue
            evidence[path] = {"status": response.status_code, "body": response.text[:500]}
            if response.status_code != 200:
                problems.append(f"{path} answered {response.status_code}")
    return _verdict(item, problems, f"{' and '.join(paths)} answer 200", value=len(paths) - len(problems),
                    unit=f"of {len(paths)}",
                    evidence=evidence)


def auth(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    ep = _endpoints(ctx)
    cases = {"no key": None, "wrong key": "loadgate-wrong-" + secrets.token_hex(8), "valid key": ep.api_key}
    seen: dict[str, int] = {}
    with _client() as client:
        for name, key in cases.items():
            seen[name] = _ask(client, ep, key).status_code
    problems = [f"{name} got {seen[name]}, expected 401" for name in ("no key", "wrong key")
                if seen[name] != 401]
    if not 200 <= seen["valid key"] < 300:
        problems.append(f"the valid key got {seen['valid key']}, expected 2xx (auth not judgeable)")
    return _verdict(item, problems, "no key and a wrong key get 401, the valid key 2xx",
                    value=sum(seen[n] == 401 for n in ("no key", "wrong key")), unit="of 2 refused",
                    evidence={"statuses": seen})


def rate_limit(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    ep = _endpoints(ctx)
    key = ep.api_key_2 or ep.api_key
    burst = int(item.params.get("burst", 800))
    concurrency = int(item.params.get("concurrency", 64))
    started = time.monotonic()
    statuses, retry_after = asyncio.run(_burst(ep, key, burst, concurrency))
    elapsed = time.monotonic() - started
    limited = statuses.count(429)
    counts = {str(s): statuses.count(s) for s in sorted(set(statuses))}
    evidence = {"sent": len(statuses), "statuses": counts, "seconds": round(elapsed, 2),
                "key": "api_key_2" if ep.api_key_2 else "api_key (no second key known)",
                "retry_after": retry_after[:5]}
    fields = {"value": limited, "unit": "429s", "samples": len(statuses), "evidence": evidence}
    if statuses.count(0) == len(statuses):
        return make_result(item, ItemStatus.failed,
                           f"the service answered none of {len(statuses)} burst requests", **fields)
    if not limited:
        return make_result(item, ItemStatus.failed,
                           f"a burst of {len(statuses)} requests in {elapsed:.1f} s from one key got no 429",
                           **fields)
    bad = [h for h in retry_after if not _valid_retry_after(h)]
    if bad:
        return make_result(item, ItemStatus.failed, f"{len(bad)} of {limited} 429s lack a valid Retry-After "
                           f"(e.g. {bad[0]!r})", **fields)
    return make_result(item, ItemStatus.passed, f"{limited} of {len(statuses)} burst requests got 429 with "
                       f"Retry-After {retry_after[0]!r}", **fields)


async def _burst(ep: Endpoints, key: str, burst: int, concurrency: int) -> tuple[list[int], list[str | None]]:
    statuses: list[int] = []
    retry_after: list[str | None] = []
    queue = iter(range(burst))
    _, url, payload, headers = TargetClient.of(ep).request(PROBE_PROMPT, max_tokens=1, api_key=key)
    body = json.dumps(payload).encode()
    pool = ConnectionPool(ep.target_url, concurrency)
    path = urlsplit(url).path

    async def worker() -> None:
        for _ in queue:
            # A few 429s prove the limiter; more would only load the service.
            if len(retry_after) >= 20:
                return
            try:
                response = await asyncio.wait_for(pool.post(path, body, headers), TIMEOUT_S)
            except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError):
                statuses.append(0)
                continue
            statuses.append(response.status)
            if response.status == 429:
                retry_after.append(response.headers.get("retry-after"))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await pool.close()
    return statuses, retry_after


def _valid_retry_after(value: str | None) -> bool:
    if not value:
        return False
    if value.strip().isdigit():
        return True
    try:
        parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    return True


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
    ep = _endpoints(ctx)
    if ep.access_log is None:
        raise NoData("the service's access log is not known to loadgate (no access_log endpoint)")
    return Path(ep.access_log)


def pii_masking(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    ep = _endpoints(ctx)
    tail = _LogTail(_access_log(ctx))
    token = secrets.token_hex(4)
    samples = [str(s).format(token=token, digits4=f"{secrets.randbelow(10_000):04d}")
               for s in item.params.get("samples", [])]
    if not samples:
        raise NoData("no PII samples configured (params.samples)")
    with _client() as client:
        status = _ask(client, ep, ep.api_key, "Please contact me: " + ", ".join(samples)).status_code
    lines = tail.wait_for(lambda got: bool(got))
    if not lines:
        raise NoData(f"the request (status {status}) left no new access-log line: masking not judgeable")
    leaked = [s for s in samples if any(s in line for line in lines)]
    return _verdict(item, [f"unmasked in the access log: {', '.join(leaked)}"] if leaked else [],
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
    fields = list(item.params.get("fields", []))
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
    return _verdict(item, problems, f"all {len(lines)} access-log lines are JSON objects"
                    + (f" with {', '.join(fields)}" if fields else ""),
                    value=len(lines) - bad, unit="JSON lines", samples=len(lines),
                    evidence={"path": str(path), "not_json": bad, "missing_fields": missing})


def access_log_coverage(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """Requests sent now (valid and refused) must each leave a line, found by the request id the
    service returns (X-Request-ID header, else the body's request_id)."""
    ep = _endpoints(ctx)
    tail = _LogTail(_access_log(ctx))
    n = int(item.params.get("requests", 20))
    ids: list[str] = []
    with _client() as client:
        for _ in range(n):
            response = _ask(client, ep, ep.api_key)
            rid = response.headers.get("x-request-id") or _body_request_id(response)
            if rid:
                ids.append(rid)
        _ask(client, ep, None)  # a refused request is an access too
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
    return _verdict(item, problems, f"{expected} requests sent, {len(lines)} new access-log lines"
                    + (f", all {len(ids)} request ids found" if ids else ""),
                    value=len(lines), unit="lines", samples=expected,
                    evidence={"sent": expected, "new_lines": len(lines), "ids_checked": len(ids)})


def _body_request_id(response: httpx.Response) -> str | None:
    if not response.headers.get("content-type", "").startswith("application/json"):
        return None
    rid = response.json().get("request_id")
    return str(rid) if rid else None


def key_metrics(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    prom = ctx.require_prom()
    at = _last_end(ctx)
    names, unmapped = key_series(ctx.metrics, list(item.params.get("metrics", [])))
    if not names:
        raise NoData("no metric names configured (params.metrics) or none mapped by the service profile")
    if not prom.scalar(f"count(count_over_time({ctx.q.up()}[1h] @ {at:.3f}))", at):
        raise NoData(f"Prometheus never scraped job={ctx.job}: which metrics exist is unknown")
    missing = [m for m in names if not prom.scalar(ctx.q.present(m, at), at)]
    problems = [f"missing from Prometheus (job={ctx.job}): {', '.join(missing)}"] if missing else []
    return _verdict(item, problems,
                    f"all {len(names)} key metrics have series", value=len(names) - len(missing),
                    unit=f"of {len(names)}", query=ctx.q.present("<name>", at),
                    evidence={"missing": missing, "not_mapped": unmapped})


def _last_end(ctx: GradeContext) -> float:
    if ctx.window_override is not None:
        return ctx.window_override.end
    ends = [s.end for s in (ctx.timeline.scenarios if ctx.timeline else []) if s.end]
    return max(ends) if ends else time.time()


def alert_rules(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    prom = ctx.require_prom()
    wanted = list(item.params.get("rules", []))
    loaded = {rule["name"]: rule for group in prom.api("rules").get("groups", [])
              for rule in group.get("rules", []) if rule.get("type") == "alerting"}
    missing = [name for name in wanted if name not in loaded]
    broken = [f"{name} ({loaded[name].get('lastError')})" for name in wanted
              if name in loaded and loaded[name].get("health") == "err"]
    problems = ([f"not loaded: {', '.join(missing)}"] if missing else []) + (
        [f"failing to evaluate: {', '.join(broken)}"] if broken else [])
    return _verdict(item, problems, f"{', '.join(wanted)} loaded and evaluating",
                    value=len(wanted) - len(missing) - len(broken), unit=f"of {len(wanted)}",
                    evidence={"loaded": sorted(loaded),
                              "states": {n: r.get("state") for n, r in loaded.items()}})


def alert_delivery(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """Post one synthetic alert to Alertmanager and time its arrival at the harness's webhook receiver:
    the on-call path measured end to end. Rule alerts the run itself delivered are listed beside it."""
    ep = _endpoints(ctx)
    if ep.alertmanager_url is None:
        raise NoData("no Alertmanager known to loadgate (the Prometheus was given by the user): delivery "
                     "not measured; a person attests it with oncall_notified")
    if ctx.folder is None:
        raise NoData("no run folder: the webhook receiver's file is unknown")
    path = ctx.folder.alerts
    wait_s = float(item.params.get("wait_s", DELIVERY_WAIT_S))
    # A fresh label per check, so an earlier check's notification is never taken for this one.
    labels = {"alertname": DELIVERY_ALERT, "severity": "info", "run_id": ctx.folder.run_id,
              "check_id": secrets.token_hex(6)}
    posted = time.time()
    alert = {"labels": labels, "annotations": {"summary": "loadgate checks that alerts reach on-call"},
             "startsAt": _rfc3339(posted), "endsAt": _rfc3339(posted + 2 * wait_s)}
    url = ep.alertmanager_url.rstrip("/") + "/api/v2/alerts"
    try:
        with _client() as client:
            response = client.post(url, json=[alert])
    except httpx.HTTPError as exc:
        return make_result(item, ItemStatus.failed, f"Alertmanager at {ep.alertmanager_url} did not answer "
                           f"({type(exc).__name__})", evidence={"alertmanager": ep.alertmanager_url})
    if not response.is_success:
        return make_result(item, ItemStatus.failed, f"Alertmanager refused the synthetic alert: "
                           f"{response.status_code} {response.text[:200]}")
    delivered = _wait_delivered(path, labels["check_id"], posted + wait_s)
    rule_alerts = [{"alertname": n.alertname, "status": n.status, "received_at": n.received_at,
                    "starts_at": n.starts_at, "labels": n.labels}
                   for n in read_notifications(path) if n.alertname != DELIVERY_ALERT]
    # Alerts Prometheus fired during the run until shortly before the check: by now each must have
    # reached the receiver too (a Prometheus not wired to this Alertmanager fails here).
    fired = _fired_in_prometheus(ctx, until=posted - wait_s)
    arrived = {a["alertname"] for a in rule_alerts if a["status"] == "firing"}
    lost = sorted(set(fired or []) - arrived)
    evidence: dict[str, Any] = {"receiver_file": str(path), "alertmanager": ep.alertmanager_url,
                                "posted_at": posted, "rule_alerts": rule_alerts,
                                "fired_in_prometheus": fired}
    if delivered is None:
        return make_result(item, ItemStatus.failed, f"the synthetic alert posted to Alertmanager did not "
                           f"reach the receiver ({path}) within {wait_s:g} s", unit="s", evidence=evidence)
    seconds = delivered.received_at - posted
    evidence.update(labels=delivered.labels, received_at=delivered.received_at, receiver=delivered.receiver)
    if lost:
        return make_result(item, ItemStatus.failed, f"Prometheus fired {', '.join(lost)} during the run but "
                           f"the receiver never got it (the synthetic alert took {seconds:.2f} s): is "
                           f"Prometheus sending to {ep.alertmanager_url}?", value=seconds, unit="s",
                           evidence=evidence)
    names = sorted({a["alertname"] for a in rule_alerts})
    during = f"; rule alerts delivered during the run: {', '.join(names)}" if names else ""
    return make_result(item, ItemStatus.passed, f"{DELIVERY_ALERT} reached the receiver "
                       f"'{delivered.receiver}' {seconds:.2f} s after it was posted{during}",
                       value=seconds, unit="s", evidence=evidence)


def _fired_in_prometheus(ctx: GradeContext, until: float) -> list[str] | None:
    """Alert names Prometheus had firing between the first scenario's start and ``until``; None
    when there is no Prometheus or no timeline to bound the run."""
    starts = [s.start for s in (ctx.timeline.scenarios if ctx.timeline else [])]
    if ctx.prom is None or not starts or until <= min(starts):
        return None
    span = max(int(until - min(starts)), 1)
    rows = ctx.prom.instant(f'max_over_time(ALERTS{{alertstate="firing"}}[{span}s])', until)
    return sorted({labels["alertname"] for labels, _ in rows if labels.get("alertname")})


def _rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def _wait_delivered(path: Path, check_id: str, deadline: float) -> AlertNotification | None:
    while True:
        found = next((n for n in read_notifications(path)
                      if n.status == "firing" and n.labels.get("check_id") == check_id), None)
        if found is not None or time.time() >= deadline:
            return found
        time.sleep(0.1)


def breaker_cycle(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """Under the LLM slowdown the breaker must open (2), then close (0) after the fault; the value is
    the seconds from the fault's end until it closed for good."""
    if ctx.timeline is None or not item.scenario:
        raise NoData("no timeline: the fault scenario did not run")
    try:
        run = ctx.timeline.scenario(item.scenario)
        fault, recovery = run.phase("fault"), run.phase("recovery")
    except KeyError as exc:
        raise NoData(str(exc.args[0])) from None
    if fault.end is None or recovery.end is None:
        raise NoData(f"scenario {item.scenario} did not finish its fault and recovery phases")
    window = Window(scenario=item.scenario, phase="fault+recovery", start=fault.start, end=recovery.end)
    ctx.scrape_gaps(window)
    prom = ctx.require_prom()
    breaker = ctx.metrics.breaker
    if breaker is None:
        raise NoData("the service profile maps no breaker gauge (service.metrics.breaker)", window=window)
    query = ctx.q.breaker(breaker)
    series = prom.range(query, fault.start, recovery.end, ctx.scrape_interval_s())
    if not series:
        raise missing_series(ctx, breaker, "service.metrics.breaker", window, query=query)
    t = np.array([p[0] for p in series[0][1]])
    state = np.array([p[1] for p in series[0][1]])
    evidence: dict[str, Any] = {"max_state": float(state.max()), "degraded_recovery_s": _degraded_recovery(
        ctx, item.scenario, fault.end)}
    fields = {"window": window, "query": query, "samples": len(t), "evidence": evidence}
    if not (state[t <= fault.end + 5] == breaker.open).any():
        return make_result(item, ItemStatus.failed, "the breaker never opened while the LLM was slow",
                           **fields)
    last_open = t[np.nonzero(state != breaker.closed)[0][-1]]
    if state[-1] != breaker.closed:
        still = "open" if state[-1] == breaker.open else "half-open"
        return make_result(item, ItemStatus.failed, f"the breaker was still {still}"
                           f" {recovery.end - fault.end:.0f} s after the fault ended", **fields)
    closed_at = t[t > last_open][0]
    recovery_s = max(0.0, float(closed_at - fault.end))
    status, reason = judge(item, recovery_s, None)
    return make_result(item, status, f"opened during the fault, closed {recovery_s:.1f} s after it ended: "
                       f"{reason}", value=recovery_s, **fields)


def _degraded_recovery(ctx: GradeContext, scenario: str, fault_end: float) -> float | None:
    """Seconds after the fault until the client saw its last degraded answer (None without a log)."""
    frame = ctx.request_log(scenario)
    if frame is None:
        return None
    after = phase_rows(frame, "recovery", (fault_end, float("inf")))
    degraded = after[after["degraded"]]
    return float(degraded["intended_start"].max() - fault_end) if len(degraded) else 0.0
