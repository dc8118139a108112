"""Reproducible performance measurements of the reference service and the harness (not tests).

``python -m benchmarks`` runs every benchmark and writes ``benchmarks/results.json`` and
``benchmarks/RESULTS.md``; each module's ``run(quick)`` returns its table rows (``core.Row``).
"""

# name -> module; the order is the table's (cheap first, the long end-to-end runs last).
BENCHMARKS: dict[str, str] = {
    "serialization": "benchmarks.serialization",
    "hnsw": "benchmarks.hnsw",
    "singleton": "benchmarks.singleton",
    "batching": "benchmarks.batching",
    "quantization": "benchmarks.quantization",
    "cache": "benchmarks.cache_hit",
    "llm_async": "benchmarks.llm_async",
    "proxy": "benchmarks.proxy_overhead",
    "loadgen": "benchmarks.loadgen",
    "trace_lateness": "benchmarks.trace_lateness",
    "capacity": "benchmarks.capacity",
    "verdict_time": "benchmarks.verdict_time",
}
