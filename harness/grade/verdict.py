"""Items -> GO / NO-GO / INVALID, and the JUnit view of the same (one test case per item)."""

from __future__ import annotations

import time
from pathlib import Path
from xml.etree import ElementTree as ET

from harness.schemas.files import write_atomic
from harness.schemas.verdict import ItemResult, ItemStatus, Outcome, Verdict


def decide(run_id: str, items: list[ItemResult], invalid_reasons: list[str], *,
           prometheus_url: str | None) -> Verdict:
    """Precedence: a blocker that failed on trustworthy data is NO-GO whatever else happened; otherwise
    a run that cannot be trusted, or a blocker without enough data, is INVALID; otherwise GO."""
    blockers = [i for i in items if i.severity == "blocker"]
    failed = [i for i in blockers if i.status == ItemStatus.failed and not i.evidence.get("untrusted")]
    shaky = [i for i in blockers if i.status in (ItemStatus.no_data, ItemStatus.failed) and i not in failed]
    invalid = list(dict.fromkeys(invalid_reasons))
    if failed:
        outcome = Outcome.no_go
        reason = f"{len(failed)} blocker{'s' if len(failed) > 1 else ''} failed: " + "; ".join(
            f"{i.id}: {i.reason}" for i in failed)
    elif invalid:
        outcome = Outcome.invalid
        reason = "the run cannot be trusted: " + "; ".join(invalid)
    elif shaky:
        outcome = Outcome.invalid
        reason = "not enough data for " + "; ".join(f"{i.id}: {i.reason}" for i in shaky)
    elif not blockers:
        outcome, reason = Outcome.invalid, "no blocker was graded"
    else:
        outcome = Outcome.go
        warned = [i.id for i in items if i.status != ItemStatus.passed]
        reason = f"all {len(blockers)} blockers pass"
        if warned:
            reason += f"; not passing: {', '.join(warned)}"
    return Verdict(run_id=run_id, outcome=outcome, reason=reason, items=items, invalid_reasons=invalid,
                   prometheus_url=prometheus_url, graded_at=time.time())


def write_junit(verdict: Verdict, path: Path) -> Path:
    """Blockers that do not pass are failures (no-data included: missing data is never a pass);
    warning items report in system-out so CI stays green on a GO."""
    suite = ET.Element("testsuite", name=f"loadgate {verdict.run_id}", tests=str(len(verdict.items)),
                       failures=str(len(verdict.failed_blockers)), errors="0", skipped="0",
                       timestamp=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(verdict.graded_at)))
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="outcome", value=verdict.outcome.value)
    ET.SubElement(props, "property", name="reason", value=verdict.reason)
    for item in verdict.items:
        case = ET.SubElement(suite, "testcase", classname=f"loadgate.{item.category}", name=item.id)
        text = _details(item)
        if item.severity == "blocker" and item.status != ItemStatus.passed:
            failure = ET.SubElement(case, "failure", message=f"[{item.status.value}] {item.reason}",
                                    type=item.status.value)
            failure.text = text
        else:
            ET.SubElement(case, "system-out").text = f"[{item.status.value}] {item.reason}\n{text}"
    return write_atomic(Path(path), ET.tostring(suite, encoding="utf-8", xml_declaration=True))


def _details(item: ItemResult) -> str:
    parts = [f"title: {item.title}", f"severity: {item.severity}", f"kind: {item.kind}"]
    for name in ("value", "unit", "threshold", "bound", "interval", "samples", "query"):
        value = getattr(item, name)
        if value not in (None, ""):
            parts.append(f"{name}: {value}")
    if item.window:
        w = item.window
        parts.append(f"window: {w.scenario}/{w.phase} {w.start:.3f}-{w.end:.3f}")
    return "\n".join(parts)
