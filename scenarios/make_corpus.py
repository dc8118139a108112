"""Write ``scenarios/data/prompts.txt``: the shipped prompt corpus, deterministically.

Run ``python scenarios/make_corpus.py`` after changing the lists below; the output is committed.
Line order is popularity rank (line 1 is drawn most often under the Zipf-like draw).
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data" / "prompts.txt"

TEMPLATES = (
    "How do I {verb} {topic}?",
    "What is the best way to {verb} {topic} in production?",
    "Explain how to {verb} {topic} for a small team.",
    "Give me a checklist to {verb} {topic}.",
    "Why does my service fail when I {verb} {topic}?",
    "Summarise the trade-offs when you {verb} {topic}.",
    "Which metrics tell me whether I should {verb} {topic}?",
    "Write a short runbook to {verb} {topic} during an incident.",
)
VERBS = (
    "configure",
    "monitor",
    "scale",
    "debug",
    "secure",
    "test",
    "roll back",
    "cache",
    "rate limit",
    "benchmark",
)
TOPICS = (
    "the vector index",
    "the LLM gateway",
    "Redis caching",
    "request timeouts",
    "circuit breakers",
    "API keys",
    "structured logging",
    "Prometheus alerts",
    "autoscaling replicas",
    "streaming responses",
    "retrieval quality",
    "prompt templates",
    "token budgets",
    "connection pools",
    "health checks",
)


def prompts() -> list[str]:
    rows = [t.format(verb=v, topic=p) for t, v, p in itertools.product(TEMPLATES, VERBS, TOPICS)]
    random.Random(20261124).shuffle(rows)  # fixed seed: popularity rank is arbitrary but stable
    return rows


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(prompts()) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(prompts())} prompts)")


if __name__ == "__main__":
    main()
