"""Checks of the monitoring: key metrics have series, alert rules are loaded, an alert reaches on-call.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from harness.grade.checks.common import pass_unless, probe_client, service_endpoints
from harness.grade.context import GradeContext
from harness.grade.result import NoData, make_result
from harness.schemas.alerts import AlertNotification, read_notifications
from harness.schemas.checklist import ChecklistItem
from harness.schemas.params import AlertDeliveryParams, AlertRulesParams, KeyMetricsParams
from harness.schemas.verdict import ItemResult, ItemStatus
from harness.target.metrics import key_series

DELIVERY_ALERT = "LoadgateDeliveryCheck"

def key_metrics(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    prom = ctx.require_prom()
    at = _last_end(ctx)
    names, unmapped = key_series(ctx.metrics, KeyMetricsParams.of(item.params).metrics)
    if not names:
        raise NoData("no metric names configured (params.metrics) or none mapped by the service profile")
    if not prom.scalar(f"count(count_over_time({ctx.q.up()}[1h] @ {at:.3f}))", at):
        raise NoData(f"Prometheus never scraped job={ctx.job}: which metrics exist is unknown")
    missing = [m for m in names if not prom.scalar(ctx.q.present(m, at), at)]
    problems = [f"missing from Prometheus (job={ctx.job}): {', '.join(missing)}"] if missing else []
    return pass_unless(item, problems,
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
    wanted = AlertRulesParams.of(item.params).rules
    loaded = {rule["name"]: rule for group in prom.api("rules").get("groups", [])
              for rule in group.get("rules", []) if rule.get("type") == "alerting"}
    missing = [name for name in wanted if name not in loaded]
    broken = [f"{name} ({loaded[name].get('lastError')})" for name in wanted
              if name in loaded and loaded[name].get("health") == "err"]
    problems = ([f"not loaded: {', '.join(missing)}"] if missing else []) + (
        [f"failing to evaluate: {', '.join(broken)}"] if broken else [])
    return pass_unless(item, problems, f"{', '.join(wanted)} loaded and evaluating",
                       value=len(wanted) - len(missing) - len(broken), unit=f"of {len(wanted)}",
                       evidence={"loaded": sorted(loaded),
                              "states": {n: r.get("state") for n, r in loaded.items()}})


def alert_delivery(ctx: GradeContext, item: ChecklistItem) -> ItemResult:
    """Post one synthetic alert to Alertmanager and time its arrival at the harness's webhook receiver:
    the on-call path measured end to end. Rule alerts the run itself delivered are listed beside it."""
    ep = service_endpoints(ctx)
    if ep.alertmanager_url is None:
        raise NoData("no Alertmanager known to loadgate (the Prometheus was given by the user): delivery "
                     "not measured; a person attests it with oncall_notified")
    if ctx.folder is None:
        raise NoData("no run folder: the webhook receiver's file is unknown")
    path = ctx.folder.alerts
    wait_s = AlertDeliveryParams.of(item.params).wait_s
    # A fresh label per check, so an earlier check's notification is never taken for this one.
    labels = {"alertname": DELIVERY_ALERT, "severity": "info", "run_id": ctx.folder.run_id,
              "check_id": secrets.token_hex(6)}
    posted = time.time()
    alert = {"labels": labels, "annotations": {"summary": "loadgate checks that alerts reach on-call"},
             "startsAt": _rfc3339(posted), "endsAt": _rfc3339(posted + 2 * wait_s)}
    url = ep.alertmanager_url.rstrip("/") + "/api/v2/alerts"
    try:
        with probe_client() as client:
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
