"""The load step: scenarios run headless by Locust in subprocesses (gevent never patches the harness).

``run_scenario`` is the API; ``harness.load.users`` is for locustfiles only (it imports Locust).
"""

from harness.load.corpus import prompt_picker
from harness.load.guard import LoadSettings
from harness.load.idle import target_in_flight
from harness.load.plan import SCENARIOS, LoadPlan, PhaseSpec, check_trace
from harness.load.remote_worker import serve as serve_worker
from harness.load.runner import run_scenario

__all__ = ["SCENARIOS", "LoadPlan", "LoadSettings", "PhaseSpec", "check_trace", "prompt_picker",
           "run_scenario", "serve_worker", "target_in_flight"]
