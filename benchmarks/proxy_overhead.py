"""The LLM fault proxy's own cost, and how exactly it injects streaming delays.

1. Added latency at the gate's rate: 50 req/s of streamed chat completions, open loop, against a
   local upstream that answers after 50 ms (``benchmarks.upstream``), alternately direct and through
   ``loadgate proxy llm`` (no fault), in blocks so drift on the shared machine hits both alike.
   P50 and P99 of each side, one run.
2. TTFT and inter-token latency through the proxy with 500 ms before the first byte and 50 ms per
   chunk injected: measured over injected (>= 1 by construction; how close to 1 is the proxy's slack).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from benchmarks.core import Row, Sample
from harness.ports import LOOPBACK, free_port
from harness.process import ManagedProcess, uvicorn_argv
from harness.schemas.faults import ADMIN_PREFIX, TOKEN_ENV
from harness.stack.http import answers

RATE = 50.0
TOKEN = "bench-proxy-token"
FIRST_BYTE_S, CHUNK_S, TOKENS = 0.5, 0.05, 8
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": TOKENS, "stream": True}


def _start(tmp: Path) -> tuple[list[ManagedProcess], str, str]:
    up_port, proxy_port = free_port(), free_port()
    upstream = ManagedProcess("upstream", uvicorn_argv("benchmarks.upstream:app", up_port),
                              log_path=tmp / "upstream.log", env={"BENCH_UPSTREAM_DELAY_S": "0.05"}).start()
    up_url, proxy_url = f"http://{LOOPBACK}:{up_port}", f"http://{LOOPBACK}:{proxy_port}"
    upstream.wait_ready(lambda: answers(f"{up_url}/"), 60)
    loadgate = str(Path(sys.executable).with_name("loadgate"))
    proxy = ManagedProcess("proxy", [loadgate, "proxy", "llm", "--upstream", up_url, "--listen",
                                     f"{LOOPBACK}:{proxy_port}"], log_path=tmp / "proxy.log",
                           env={TOKEN_ENV: TOKEN}).start()
    proxy.wait_ready(lambda: answers(f"{proxy_url}{ADMIN_PREFIX}/healthz"), 60)
    return [proxy, upstream], up_url, proxy_url


async def _one(client: httpx.AsyncClient, url: str) -> tuple[float, float | None, float | None]:
    """(latency, TTFT, mean gap between data events) of one streamed completion."""
    start = time.perf_counter()
    arrivals = []
    async with client.stream("POST", f"{url}/v1/chat/completions", json=BODY) as r:
        async for line in r.aiter_lines():
            if line.startswith("data:"):
                arrivals.append(time.perf_counter())
    end = time.perf_counter()
    gaps = np.diff(arrivals)
    return end - start, (arrivals[0] - start) if arrivals else None, float(gaps.mean()) if len(gaps) else None


async def _open_loop(client: httpx.AsyncClient, url: str, seconds: float) -> list[float]:
    """Requests started every 1/RATE s whatever the answers do; their latencies."""
    tasks, t0 = [], time.perf_counter()
    for i in range(int(seconds * RATE)):
        await asyncio.sleep(max(0.0, t0 + i / RATE - time.perf_counter()))
        tasks.append(asyncio.create_task(_one(client, url)))
    return [lat for lat, _, _ in await asyncio.gather(*tasks)]


async def _overhead(direct: str, proxied: str, blocks: int, block_s: float) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"direct": [], "proxy": []}
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as client:
        await _open_loop(client, direct, 2)  # warm both paths' connection pools
        await _open_loop(client, proxied, 2)
        for b in range(blocks):
            for name in (("direct", "proxy") if b % 2 == 0 else ("proxy", "direct")):
                out[name] += await _open_loop(client, direct if name == "direct" else proxied, block_s)
    return out


async def _streaming(proxied: str, n: int) -> tuple[list[float], list[float]]:
    lease = {"llm": {"first_byte_delay_s": FIRST_BYTE_S, "chunk_delay_s": CHUNK_S}, "ttl_s": 600}
    async with httpx.AsyncClient(timeout=30) as client:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        await client.put(f"{proxied}{ADMIN_PREFIX}/fault", json=lease, headers=auth)
        got = await asyncio.gather(*(_one(client, proxied) for _ in range(n)))
    return [t for _, t, _ in got if t is not None], [g for _, _, g in got if g is not None]


NOTES = {
    "TTFT": "the floor is 600 ms, not 500: the 50 ms upstream and the first chunk's own 50 ms delay add to "
            "it; the rest is 40 streams opened at once on a shared 2-core machine",
    "inter-token latency": ">= 1 by construction; the excess is the proxy's and the client's slack",
}


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def run(quick: bool = False) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        procs, direct, proxied = _start(Path(tmp))
        try:
            lat = asyncio.run(_overhead(direct, proxied, 2 if quick else 6, 5.0))
            ttft, itl = asyncio.run(_streaming(proxied, 10 if quick else 40))
        finally:
            for p in procs:
                p.stop(grace_s=5)
    d, p = lat["direct"], lat["proxy"]
    extra = {"direct_p50_ms": _p(d, 50) * 1e3, "proxy_p50_ms": _p(p, 50) * 1e3,
             "direct_p99_ms": _p(d, 99) * 1e3, "proxy_p99_ms": _p(p, 99) * 1e3, "requests_each": len(d),
             "load_avg_1m": os.getloadavg()[0]}
    added = f"+{extra['proxy_p50_ms'] - extra['direct_p50_ms']:.1f} ms P50, " \
            f"+{extra['proxy_p99_ms'] - extra['direct_p99_ms']:.1f} ms P99"
    rows = [Row(benchmark="LLM proxy added latency (direct / through the proxy)",
                size=f"{RATE:g} req/s streamed, 50 ms upstream, {len(d)} requests each",
                baseline=Sample.of("through the proxy", "s", p),
                optimized=Sample.of("direct", "s", d), ratio=_p(p, 50) / _p(d, 50),
                ratio_text=f"{_p(p, 50) / _p(d, 50):.2f}x P50 ({added})", extra=extra,
                note="the proxy's own cost; no fault set")]
    for name, values, injected in (("TTFT", ttft, FIRST_BYTE_S), ("inter-token latency", itl, CHUNK_S)):
        measured = Sample.of(f"measured {name}", "s", values)
        rows.append(Row(benchmark=f"proxy-injected {name} (measured / injected)",
                        size=f"{injected * 1e3:.0f} ms injected, {len(values)} concurrent streams",
                        baseline=Sample.of("injected", "s", [injected]), optimized=measured,
                        ratio=measured.median / injected,
                        ratio_text=f"{measured.median / injected:.3f}x (min {measured.min / injected:.3f}x)",
                        note=NOTES[name]))
    return rows
