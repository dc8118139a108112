"""HTTP routes: the agent API (/v1), operations (/healthz, /readyz, /metrics) and /admin."""
