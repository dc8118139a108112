"""concurrency_1000: ramp to 1000 concurrent users (closed model with think time), hold."""

from harness.load.users import PlanShape, ThinkingUser, setup
from harness.schemas.checklist import ScenarioPlan

setup("concurrency_1000", ScenarioPlan(warmup_s=20, steady_s=40, users=1000, spawn_rate=50, think_time_s=24))


class Agents(ThinkingUser):
    pass


class Shape(PlanShape):
    pass
