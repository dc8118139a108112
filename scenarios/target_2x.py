"""target_2x: warm-up, then 2x the target QPS (open model, intended-start latency)."""

from harness.load.users import ArrivalUser, PlanShape, setup

setup("target_2x")


class Agents(ArrivalUser):
    pass


class Shape(PlanShape):
    pass
