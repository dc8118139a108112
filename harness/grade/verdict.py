"""Items -> GO / NO-GO / INVALID, and the JUnit view of the same (one test case per item)."""

from __future__ import annotations

import time
from pathlib import Path
from xml.etree import ElementTree as ET

from harness.schemas.files import write_atomic
from harness.schemas.verdict import ItemResult, ItemStatus, Outcome, Verdict


def decide(run_id: str, items: list[ItemResult], invalid_reasons: list[str], *,
           prometheus_url: str | None, target_failures: list[str] | None = None) -> Verdict:
    """Precedence: the target dying, restarting or falling silent under load (``target_failures``), or
    a blocker that failed on trustworthy data, is NO-GO whatever else happened; otherwise a run that
    cannot be trusted, a blocker whose grading raised (error), or a blocker without enough data is
    INVALID; otherwise GO, which needs at least one blocker that passed. Waived and not-applicable
    items never block."""
    blockers = [i for i in items if i.severity == "blocker"]
    failed = [i for i in blockers if i.status == ItemStatus.failed and not i.evidence.get("untrusted")]
    errored = [i for i in blockers if i.status == ItemStatus.error]
    shaky = [i for i in blockers if i.status in (ItemStatus.no_data, ItemStatus.failed) and i not in failed]
    invalid = list(dict.fromkeys(invalid_reasons))
    if target_failures:
        outcome = Outcome.no_go
        reason = "; ".join(target_failures)
        if failed:
            reason += f"; {len(failed)} blocker{'s' if len(failed) > 1 else ''} failed: " + \
                ", ".join(i.id for i in failed)
    elif failed:
        outcome = Outcome.no_go
        reason = f"{len(failed)} blocker{'s' if len(failed) > 1 else ''} failed: " + _listed(failed)
    elif invalid:
        outcome = Outcome.invalid
        reason = "the run cannot be trusted: " + "; ".join(invalid)
    elif errored:
        outcome = Outcome.invalid
        reason = "the harness could not grade " + _listed(errored)
    elif shaky:
        outcome = Outcome.invalid
        reason = "not enough data for " + _listed(shaky)
    elif not any(i.status == ItemStatus.passed for i in blockers):
        outcome, reason = Outcome.invalid, "no blocker was graded and passed"
    else:
        outcome = Outcome.go
        reason = f"all {len(blockers)} blockers pass"
        for status in (ItemStatus.waived, ItemStatus.not_applicable):
            named = [i.id for i in blockers if i.status == status]
            if named:
                reason += f" ({len(named)} {status.value}: {', '.join(named)})"
        warned = [i.id for i in items if not i.status.clears and i.severity != "blocker"]
        if warned:
            reason += f"; warnings not passing: {', '.join(warned)}"
    return Verdict(run_id=run_id, outcome=outcome, reason=reason, items=items, invalid_reasons=invalid,
                   prometheus_url=prometheus_url, graded_at=time.time())


def _listed(items: list[ItemResult]) -> str:
    return "; ".join(f"{i.id}: {i.reason}" for i in items)


def write_junit(verdict: Verdict, path: Path) -> Path:
    """Blockers that do not pass are failures (no-data included: missing data is never a pass); an item
    whose grading raised is an error; waived and not-applicable items are skipped, with why; warning
    items report in system-out so CI stays green on a GO."""
    errors = [i for i in verdict.items if i.status == ItemStatus.error]
    skipped = [i for i in verdict.items if i.status in (ItemStatus.waived, ItemStatus.not_applicable)]
    failures = [i for i in verdict.failed_blockers if i.status != ItemStatus.error]
    suite = ET.Element("testsuite", name=f"loadgate {verdict.run_id}", tests=str(len(verdict.items)),
                       failures=str(len(failures)), errors=str(len(errors)), skipped=str(len(skipped)),
                       timestamp=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(verdict.graded_at)))
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="outcome", value=verdict.outcome.value)
    ET.SubElement(props, "property", name="reason", value=verdict.reason)
    for item in verdict.items:
        case = ET.SubElement(suite, "testcase", classname=f"loadgate.{item.category}", name=item.id)
        text = _details(item)
        message = f"[{item.status.value}] {item.reason}"
        if item in errors or item in failures:
            tag = "error" if item in errors else "failure"
            ET.SubElement(case, tag, message=message, type=item.status.value).text = text
        elif item in skipped:
            ET.SubElement(case, "skipped", message=message).text = text
        else:
            ET.SubElement(case, "system-out").text = f"{message}\n{text}"
    return write_atomic(Path(path), ET.tostring(suite, encoding="utf-8", xml_declaration=True))


def _details(item: ItemResult) -> str:
    parts = [f"title: {item.title}", f"severity: {item.severity}", f"kind: {item.kind}"]
    for name in ("value", "unit", "threshold", "bound", "interval", "samples", "query", "measured_status"):
        value = getattr(item, name)
        if value not in (None, ""):
            parts.append(f"{name}: {value}")
    if item.window:
        w = item.window
        parts.append(f"window: {w.scenario}/{w.phase} {w.start:.3f}-{w.end:.3f}")
    if "traceback" in item.evidence:
        parts.append(str(item.evidence["traceback"]))
    return "\n".join(parts)
