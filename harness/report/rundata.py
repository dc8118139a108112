"""Read a finished run folder for reporting, tolerating what is missing or unreadable.

A report must say what is wrong with a run rather than crash on it: each document that cannot be read
becomes None plus a line in ``problems``, shown on the page. Only a folder that does not exist is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from harness.errors import ReportError
from harness.schemas import (
    RunFolder,
    RunInfo,
    RunKind,
    ScenarioRun,
    ScenarioStats,
    SeriesSet,
    Timeline,
    Verdict,
)
from harness.schemas.base import VersionedModel
from harness.schemas.capacity import CapacityResult
from harness.schemas.diagnostics import (
    Assessment,
    CauseAssessment,
    Diagnosis,
    DiagnosticsOverhead,
    OverheadEstimate,
)

M = TypeVar("M", bound=VersionedModel)


@dataclass
class RunData:
    folder: RunFolder
    run: RunInfo | None = None
    timeline: Timeline | None = None
    verdict: Verdict | None = None
    series: SeriesSet | None = None
    stats: dict[str, ScenarioStats] = field(default_factory=dict)
    capacity: CapacityResult | None = None
    diagnosis: Diagnosis | None = None  # optional: only runs with diagnostics have one
    overhead: DiagnosticsOverhead | None = None  # optional: what the diagnostics cost (A/B blocks)
    problems: list[str] = field(default_factory=list)
    # Documents present but unreadable (not UTF-8, not valid): a subset of ``problems``.
    unreadable: list[str] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        if self.run:
            return self.run.run_id
        return self.verdict.run_id if self.verdict else self.folder.run_id

    @property
    def kind(self) -> RunKind:
        """What run.json says; without it, a folder with capacity.json and no verdict is a capacity run."""
        if self.run:
            return self.run.kind
        if self.capacity and not self.verdict:
            return RunKind.capacity
        return RunKind.gate

    @property
    def prometheus_url(self) -> str | None:
        if self.verdict and self.verdict.prometheus_url:
            return self.verdict.prometheus_url
        return self.run.prometheus_url if self.run else None

    @property
    def scenarios(self) -> list[str]:
        """Every scenario any document mentions, in run order first."""
        names: list[str] = list(self.run.scenarios) if self.run else []
        names += [s.name for s in self.timeline.scenarios] if self.timeline else []
        names += list(self.stats)
        names += [s.scenario for s in self.series.series] if self.series else []
        return list(dict.fromkeys(names))

    def causes(self, item_id: str) -> list[CauseAssessment]:
        """The diagnosis's causes for one item, supported first; [] when it has none."""
        if not self.diagnosis:
            return []
        item = next((d for d in self.diagnosis.items if d.item_id == item_id), None)
        return item.causes if item else []

    def overhead_of(self, scenario: str) -> OverheadEstimate | None:
        if not self.overhead:
            return None
        return next((o for o in self.overhead.scenarios if o.scenario == scenario), None)

    def top_cause(self, item_id: str) -> CauseAssessment | None:
        """The first cause the evidence supports; None when none is supported."""
        return next((c for c in self.causes(item_id) if c.assessment == Assessment.supported), None)

    def scenario_run(self, name: str) -> ScenarioRun | None:
        if not self.timeline:
            return None
        return next((s for s in self.timeline.scenarios if s.name == name), None)


def _load(model: type[M], path: Path, data: RunData, required: bool = True) -> M | None:
    if not path.exists():
        if required:
            data.problems.append(f"{path.name} is missing")
        return None
    try:
        return model.load_file(path)
    except ReportError as exc:
        data.problems.append(str(exc))
        data.unreadable.append(str(exc))
        return None


def as_folder(where: Path | str | RunFolder) -> RunFolder:
    """Callers hold a run folder as a path or as a RunFolder; both are accepted everywhere here."""
    return where if isinstance(where, RunFolder) else RunFolder(Path(where))


def load_run(where: Path | str | RunFolder) -> RunData:
    folder = as_folder(where)
    if not folder.root.is_dir():
        raise ReportError(f"no run folder at {folder.root}")
    data = RunData(folder=folder)
    data.run = _load(RunInfo, folder.run_info, data)
    capacity_run = (data.run.kind == RunKind.capacity if data.run
                    else folder.capacity.exists() and not folder.verdict.exists())
    data.capacity = _load(CapacityResult, folder.capacity, data, required=capacity_run)
    if capacity_run:  # it writes run.json and capacity.json only: nothing else is missing from it
        return data
    data.timeline = _load(Timeline, folder.timeline, data)
    data.verdict = _load(Verdict, folder.verdict, data)
    data.series = _load(SeriesSet, folder.series, data)
    client = folder.root / "client"
    for stats_path in sorted(client.glob("*/stats.json")) if client.is_dir() else ():
        stats = _load(ScenarioStats, stats_path, data)
        if stats:
            data.stats[stats.scenario or stats_path.parent.name] = stats
    data.diagnosis = _load(Diagnosis, folder.diagnosis, data, required=False)
    if data.diagnosis and data.diagnosis.run_id != data.run_id:
        # A diagnosis copied in from another run would explain the wrong failures.
        data.problems.append(f"{folder.diagnosis.name} is for run {data.diagnosis.run_id}, not {data.run_id}")
        data.diagnosis = None
    data.overhead = _load(DiagnosticsOverhead, folder.overhead, data, required=False)
    return data
