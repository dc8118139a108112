"""trace_replay: every request of a trace (``--trace FILE``) at its own timestamp (open model)."""

from harness.load.users import ArrivalUser, PlanShape, setup

setup("trace_replay")


class Agents(ArrivalUser):
    pass


class Shape(PlanShape):
    pass
