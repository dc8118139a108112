"""redis_outage: steady load with the cache cut off (fault redis_down) and restored."""

from harness.load.users import ArrivalUser, PlanShape, setup

setup("redis_outage")


class Agents(ArrivalUser):
    pass


class Shape(PlanShape):
    pass
