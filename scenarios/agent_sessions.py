"""agent_sessions: conversations of several turns with memory and tools; then the external tool slowed."""

from harness.load.sessions import SessionUser
from harness.load.users import PlanShape, setup

setup("agent_sessions")


class Sessions(SessionUser):
    pass


class Shape(PlanShape):
    pass
