"""Capacity planning: the highest arrival rate that meets the SLO, how it scales, replicas needed.

Entry point: ``run_capacity(settings, checklist=, profile=, folder=, targets=, load=, say=)`` writes
``capacity.json`` (``harness.schemas.capacity.CapacityResult``) into the run folder.
"""

from harness.capacity.run import STEPS_DIR, LoadDriver, Target, TargetFactory, run_capacity
from harness.capacity.settings import CapacitySettings

__all__ = ["STEPS_DIR", "CapacitySettings", "LoadDriver", "Target", "TargetFactory", "run_capacity"]
