"""Checklist checks (``kind: probe`` items): act on the service, its access log or the monitoring, and
judge what comes back. They run after the load, against the still-running stack; ``grade.items``
registers each under its checklist name."""
