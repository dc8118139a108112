"""The contracts between steps: versioned pydantic models saved to and loaded from the run folder."""

from harness.schemas.base import Contract, VersionedModel
from harness.schemas.checklist import (
    Category,
    Checklist,
    ChecklistItem,
    FaultSpec,
    ItemKind,
    Profile,
    ScenarioPlan,
    Severity,
    Threshold,
)
from harness.schemas.run import Endpoints, MachineInfo, RunFolder, RunInfo, RunKind
from harness.schemas.timeline import (
    Incident,
    IncidentKind,
    LatencySummary,
    Phase,
    PhaseStats,
    ScenarioRun,
    ScenarioStats,
    ScenarioStatus,
    Timeline,
)
from harness.schemas.verdict import (
    Attestation,
    BaselineDelta,
    ItemResult,
    ItemStatus,
    Outcome,
    Series,
    SeriesSet,
    Verdict,
    Waiver,
    Window,
)

__all__ = [
    "Attestation", "BaselineDelta", "Category", "Checklist", "ChecklistItem", "Contract", "Endpoints",
    "FaultSpec", "Incident", "IncidentKind", "ItemKind", "ItemResult", "ItemStatus", "LatencySummary",
    "MachineInfo", "Outcome",
    "Phase", "PhaseStats", "Profile", "RunFolder", "RunInfo", "RunKind", "ScenarioPlan", "ScenarioRun",
    "ScenarioStats", "ScenarioStatus", "Series", "SeriesSet", "Severity", "Threshold", "Timeline",
    "VersionedModel", "Verdict", "Waiver", "Window",
]
