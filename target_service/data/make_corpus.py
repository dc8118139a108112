"""Generates the shipped corpus deterministically: same seed, same bytes.

Run once, commit the outputs: ``python -m target_service.data.make_corpus``. Passages are templated
operations-handbook notes, enough variety for nearest-neighbour search to be meaningful.

It also embeds every passage with MiniLM and ships the vectors (int8, ``corpus_embeddings.npz``):
embedding 6,000 passages takes about two minutes on one CPU thread, which would otherwise be every
fresh service's cold start. Building the HNSW index from the vectors takes a second or two.
"""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import numpy as np
import orjson

SEED = 20260101
COUNT = 6000
OUT = Path(__file__).with_name("corpus.jsonl.gz")
EMBEDDINGS = Path(__file__).with_name("corpus_embeddings.npz")

SYSTEMS = ["Redis cache", "PostgreSQL primary", "vector index", "LLM gateway", "embedding service",
           "message queue", "API gateway", "session store", "object storage", "search cluster",
           "rate limiter", "load balancer", "feature store", "batch scheduler", "tokenizer service",
           "agent orchestrator", "prompt router", "audit log", "billing service", "auth service"]
SYMPTOMS = ["latency spikes above the P99 target", "memory that grows without bound",
            "connection pool exhaustion", "timeouts under peak traffic", "a rising error rate",
            "stale cached answers", "throughput that stops scaling", "slow cold starts",
            "dropped requests during deploys", "CPU saturation on a few workers",
            "lock contention in hot paths", "queue backlog after a failover"]
CAUSES = ["a missing timeout on an upstream call", "a synchronous call blocking the event loop",
          "an unbounded in-process cache", "too few pooled connections", "a model loaded per request",
          "brute-force vector search", "retries without jitter", "a circuit breaker that never opens",
          "large JSON serialisation in the request path", "a leaked reference cycle",
          "a hot key concentrating load", "garbage collection pauses"]
FIXES = ["add a timeout and a degraded fallback answer", "move the call behind an async client",
         "bound the cache with an LRU policy and a TTL", "size the pool to the worker count",
         "load the model once as a process singleton", "switch to an HNSW index",
         "add exponential backoff with jitter", "configure failure threshold and reset timeout",
         "serialise with orjson", "profile with tracemalloc and break the cycle",
         "shard the key or cache it locally", "tune the allocator and batch the work"]
CHECKS = ["watch the P99 in Prometheus", "compare before and after with a load test at twice the target",
          "alert when the error rate exceeds 0.1%", "review the access log for slow routes",
          "check the dashboard for saturation", "run the launch checklist again"]


def passages(count: int = COUNT, seed: int = SEED) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        system, symptom = rng.choice(SYSTEMS), rng.choice(SYMPTOMS)
        cause, fix, check = rng.choice(CAUSES), rng.choice(FIXES), rng.choice(CHECKS)
        title = f"{system}: {symptom} (note {i:05d})"
        text = (f"When the {system} shows {symptom}, the usual cause is {cause}. "
                f"Teams fixed it when they {fix}. Afterwards {check}. "
                f"Severity {rng.randint(1, 4)}, seen in {rng.randint(1, 40)} incidents.")
        out.append({"id": f"doc-{i:05d}", "title": title, "text": text})
    return out


def main() -> None:
    lines = b"".join(orjson.dumps(p) + b"\n" for p in passages())
    # mtime=0: the gzip header carries no timestamp, so the file is byte-for-byte reproducible.
    OUT.write_bytes(gzip.compress(lines, compresslevel=9, mtime=0))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {COUNT} passages)")
    # Imported here: the service imports this module's paths without paying for torch twice.
    from target_service.retrieval.embedder import Embedder
    from target_service.retrieval.index import corpus_digest, load_corpus, passage_text, quantize

    embedder = Embedder(cache_size=1, torch_threads=2)
    corpus = load_corpus(OUT)
    vecs = np.concatenate([embedder.embed([passage_text(p) for p in corpus[i:i + 128]])
                           for i in range(0, len(corpus), 128)])
    np.savez_compressed(EMBEDDINGS, vectors=quantize(vecs), digest=np.array(corpus_digest(OUT)))
    print(f"wrote {EMBEDDINGS} ({EMBEDDINGS.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
