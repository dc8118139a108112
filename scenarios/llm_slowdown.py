"""llm_slowdown: steady load; the LLM made slow through PUT /admin/faults, cleared, recovery."""

from harness.load.users import ArrivalUser, PlanShape, setup

setup("llm_slowdown")


class Agents(ArrivalUser):
    pass


class Shape(PlanShape):
    pass
