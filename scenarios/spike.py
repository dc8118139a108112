"""spike: base rate, a sudden step to spike_x times the target, back down (phases base/spike/after)."""

from harness.load.users import ArrivalUser, PlanShape, setup

setup("spike")


class Agents(ArrivalUser):
    pass


class Shape(PlanShape):
    pass
