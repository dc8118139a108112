"""orjson vs json on the service's response bodies (article claim: 10x).

The bodies are built the way ``target_service.agent.Agent.answer`` builds them, from the shipped
corpus, and validated against the API schema (``AgentResponse``) so the shape is the real one.
"""

from __future__ import annotations

import json
import random
import uuid

import orjson

from benchmarks.core import Row, Variant, interleave, per_op, speedup
from target_service.retrieval.index import load_corpus
from target_service.schemas import AgentResponse

CLAIM = "10x"


def response_bodies(count: int, answer_tokens: int = 32) -> list[dict[str, object]]:
    rng = random.Random(8)
    passages = load_corpus()
    words = [w for p in passages[:200] for w in p.text.split()]
    bodies = []
    for _ in range(count):
        hits = rng.sample(passages, 3)
        body = {
            "request_id": uuid.UUID(int=rng.getrandbits(128)).hex,
            "answer": " ".join(rng.choice(words) for _ in range(answer_tokens)),
            "sources": [{"id": h.id, "title": h.title, "score": round(rng.random(), 4)} for h in hits],
            "cached": False,
            "degraded": False,
            "degraded_reason": None,
            "model": "tiny-llama",
            "timings": {
                "total_ms": round(rng.uniform(5, 900), 2),
                "retrieval_ms": round(rng.uniform(1, 30), 2),
                "llm_ms": round(rng.uniform(5, 800), 2),
            },
        }
        AgentResponse.model_validate(body)
        bodies.append(body)
    return bodies


def run(quick: bool = False) -> list[Row]:
    bodies = response_bodies(50)
    encoded = [orjson.dumps(b) for b in bodies]
    calls, reps = (4, 5) if quick else (80, 9)  # each call serializes all the bodies
    dumps = interleave(
        [
            Variant("json.dumps", per_op(lambda: [json.dumps(b).encode() for b in bodies], calls)),
            Variant("orjson.dumps", per_op(lambda: [orjson.dumps(b) for b in bodies], calls)),
        ],
        reps,
    )
    loads = interleave(
        [
            Variant("json.loads", per_op(lambda: [json.loads(e) for e in encoded], calls)),
            Variant("orjson.loads", per_op(lambda: [orjson.loads(e) for e in encoded], calls)),
        ],
        reps,
    )
    rows = []
    for what, (base, opt) in (("dumps", dumps), ("loads", loads)):
        base, opt = base.scaled(1 / len(bodies)), opt.scaled(1 / len(bodies))  # per body, not per batch
        ratio = speedup(base, opt)
        rows.append(
            Row(
                benchmark=f"orjson vs json ({what})",
                size=f"/v1/agent/run body, {len(encoded[0])} B",
                baseline=base,
                optimized=opt,
                ratio=ratio,
                ratio_text=f"{ratio:.1f}x faster",
                claim=CLAIM,
                holds=ratio >= 10,
                note="The service itself uses orjson only for SSE events and Redis values; /run bodies go "
                "through FastAPI's response_model + json path.",
            )
        )
    return rows
