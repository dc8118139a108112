"""Fault proxies that sit on the wire between the service under test and its dependencies.

``llm``: an OpenAI-compatible reverse proxy (HTTP and SSE) that the service's ``OPENAI_BASE_URL``
points at; ``tcp``: a byte proxy for Redis or any TCP peer. Both take faults as leases over the same
admin API (``/_proxy/fault``, token required), export Prometheus metrics of what they forwarded
(``/_proxy/metrics``), and start no process themselves (``loadgate proxy`` runs one in the
foreground; the stack runs them as children that die with the harness).
"""
