"""Grade: checklist + timeline + Prometheus + probes -> Verdict. Statistics live in ``stats``; this
package starts no process."""

from harness.grade.items import MEASURES, PROBES, validate_names
from harness.grade.run import grade_run, grade_window

__all__ = ["MEASURES", "PROBES", "grade_run", "grade_window", "validate_names"]
