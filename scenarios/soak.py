"""soak: long steady open-model load at the target rate, for memory growth."""

from harness.load.users import ArrivalUser, PlanShape, setup

setup("soak")


class Agents(ArrivalUser):
    pass


class Shape(PlanShape):
    pass
