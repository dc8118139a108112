"""Grade: checklist + timeline + Prometheus + probes -> Verdict. Starts no process.

    from harness.checklist import load_checklist, parse_attestation
    from harness.grade import grade_run, grade_window, validate_names

    checklist = load_checklist(Path("checklist.yaml"))      # ConfigError: file:line: field: why
    validate_names(checklist)                                # unknown measure/probe: before any load
    verdict = grade_run(run_dir, checklist, endpoints=stack.endpoints,
                        attestations=[parse_attestation("oncall_notified=lee", checklist)],
                        baseline=Path("reports/<old-run>"))  # writes verdict.json, series.json, junit.xml
    verdict = grade_window(checklist, prometheus_url=url, since=t0, until=t1, out=folder)  # metric items only

Modules: ``prom`` (queries, errors naming the URL), ``queries`` (PromQL from the service profile's
metrics mapping over exact windows with ``@``), ``nodata`` (what a query that found nothing looked
for and what exists instead), ``metric_items`` / ``client_items`` / ``checks/`` (one function per
measure or checklist check, registered in ``items``), ``verdict`` (GO / NO-GO / INVALID, JUnit),
``series`` (charts), ``baseline`` (regressions with a significance test), ``run`` (the two entry
points). The statistics (bounds) are ``harness.stats``, shared with capacity.
"""

from harness.grade.items import MEASURES, PROBES, validate_names
from harness.grade.prom import scrape_interval_s
from harness.grade.run import grade_run, grade_window

__all__ = ["MEASURES", "PROBES", "grade_run", "grade_window", "scrape_interval_s", "validate_names"]
