"""The local backend really runs the model, and the dynamic batcher batches under concurrency."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.integration.service.conftest import KEYS, Service, metric

pytestmark = pytest.mark.integration


def test_concurrent_requests_share_generate_calls(service: Service) -> None:
    before = service.metrics()

    async def fire(n: int) -> list[dict]:
        async with httpx.AsyncClient(base_url=service.url, timeout=30,
                                     headers={"Authorization": f"Bearer {KEYS[1]}"}) as c:
            rs = await asyncio.gather(*[
                c.post("/v1/agent/run", json={"input": f"batch {i} {uuid.uuid4().hex}", "max_tokens": 16})
                for i in range(n)])
        return [r.json() for r in rs]

    bodies = asyncio.run(fire(24))
    assert all(not b["cached"] and not b["degraded"] and b["answer"] for b in bodies)
    after = service.metrics()
    calls = metric(after, "llm_batch_size_count") - metric(before, "llm_batch_size_count")
    requests = metric(after, "llm_batch_size_sum") - metric(before, "llm_batch_size_sum")
    singles = (metric(after, "llm_batch_size_bucket", le="1.0")
               - metric(before, "llm_batch_size_bucket", le="1.0"))
    assert requests == 24
    assert calls < 24 and singles < calls, (calls, singles)  # some generate() served > 1 request
