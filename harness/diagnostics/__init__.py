"""Evidence for a verdict: diagnostics captured during a run, and symptom -> cause -> evidence.

``DiagnosticsRecorder`` writes Redis INFO snapshots, py-spy stacks, tracemalloc top sites and GPU
memory into ``<run>/diagnostics/``; ``diagnose`` maps each failed or warned item to the reference
article's fault table and says which captured evidence supports or rules out each cause.
"""

from harness.diagnostics.diagnose import diagnose, write_diagnosis
from harness.diagnostics.overhead import measure_overhead
from harness.diagnostics.recorder import DiagnosticsRecorder, DiagnosticsSettings
from harness.diagnostics.stacks import capture_stacks, python_pids
from harness.schemas.diagnostics import Diagnosis

__all__ = [
    "Diagnosis",
    "DiagnosticsRecorder",
    "DiagnosticsSettings",
    "capture_stacks",
    "diagnose",
    "measure_overhead",
    "python_pids",
    "write_diagnosis",
]
