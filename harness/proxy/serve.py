"""Run one proxy in the foreground until SIGINT/SIGTERM (uvicorn serves the HTTP side)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import uvicorn

from harness.proxy.llm import LLMProxy
from harness.proxy.settings import ProxySettings, split_host_port
from harness.proxy.tcp import TCPProxy


def _server(app: object, host: str, port: int) -> uvicorn.Server:
    # No access log: requests carry Authorization headers and keys that must never be written.
    return uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                         timeout_keep_alive=75, lifespan="on"))


def serve_llm(settings: ProxySettings, say: Callable[[str], None]) -> None:
    proxy = LLMProxy(settings.upstream, settings.token)
    say(f"llm proxy http://{settings.host}:{settings.port} -> {settings.upstream} "
        f"(admin and metrics under /_proxy)")
    _server(proxy.app, settings.host, settings.port).run()


async def _serve_tcp(settings: ProxySettings, say: Callable[[str], None]) -> None:
    host, port = split_host_port(settings.upstream, "--upstream")
    proxy = TCPProxy(host, port, settings.token)
    listener = await asyncio.start_server(proxy.handle, settings.host, settings.port)
    watcher = asyncio.create_task(proxy.watch())
    say(f"tcp proxy {settings.host}:{settings.port} -> {host}:{port}; admin and metrics "
        f"http://{settings.host}:{settings.admin_port}/_proxy")
    try:
        async with listener:
            await _server(proxy.app, settings.host, settings.admin_port).serve()
    finally:
        watcher.cancel()


def serve_tcp(settings: ProxySettings, say: Callable[[str], None]) -> None:
    asyncio.run(_serve_tcp(settings, say))
