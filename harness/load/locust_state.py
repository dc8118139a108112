"""What one Locust process of a scenario holds: its plan, its recorder (master), its keeper (workers).

One instance per process (``STATE``), shared by the users, the shape, the conductor and the wiring.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from harness.load.corpus import ZipfPicker
from harness.load.plan import LoadPlan
from harness.load.recorder import Recorder
from harness.load.tally import Keeper
from harness.schemas.checklist import ScenarioPlan

FLUSH_S = 0.5  # how often workers send their tallies to the master


@dataclass
class LocustState:
    """Per process. ``plan`` is the master's copy on the master and the latest broadcast on workers."""

    scenario: str = ""
    default_plan: ScenarioPlan | None = None
    plan: LoadPlan | None = None
    recorder: Recorder | None = None
    keeper: Keeper | None = None  # a sending process: its request log and tally
    roster: dict[str, str] = field(default_factory=dict)  # master: Locust client id -> worker name
    logs_in: set[str] = field(default_factory=set)  # master: workers whose request log arrived
    refusal: str | None = None  # master: why a worker may not join (the run is refused)
    dropped: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    done: bool = False  # master: plan and drain are over, the shape may stop
    fault_on: bool = False
    fault_urls: list[str] = field(default_factory=list)  # where the fault on now was set
    picker: ZipfPicker | None = None
    rng: random.Random = field(default_factory=random.Random)  # per-request choices (the plan's seed)


STATE = LocustState()
