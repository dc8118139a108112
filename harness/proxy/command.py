"""``loadgate proxy llm|tcp``: the options, and the settings they make (cli.py stays thin)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from harness.errors import ConfigError
from harness.hosts import ALLOW_ENV
from harness.proxy.serve import serve_llm, serve_tcp
from harness.proxy.settings import ProxySettings, resolve_token, split_host_port
from harness.schemas.faults import TOKEN_ENV

DESCRIPTION = f"""\
Run a fault proxy in the foreground. Point the service under test at it (its OPENAI_BASE_URL, or
its Redis host:port); `loadgate gate --llm-proxy URL` / `--redis-proxy URL` then inject faults there.
Admin API (token: ${TOKEN_ENV}, --token-file, or a new one in .loadgate/proxy-token):
  PUT/GET/DELETE /_proxy/fault  a fault lease, e.g. {{"llm": {{"first_byte_delay_s": 5}}, "ttl_s": 10}}
  GET /_proxy/metrics           Prometheus metrics of what was forwarded (no token)
Examples:
  loadgate proxy llm --upstream http://127.0.0.1:8000 --listen 127.0.0.1:8100
  loadgate proxy tcp --upstream 127.0.0.1:6379 --listen 127.0.0.1:6380 --admin-listen 127.0.0.1:6381
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=["llm", "tcp"], help="llm: OpenAI-compatible HTTP/SSE; tcp: bytes")
    p.add_argument("--upstream", required=True,
                   help="llm: the real API's base URL (http://HOST:PORT); tcp: HOST:PORT (loopback)")
    p.add_argument("--listen", metavar="HOST:PORT",
                   help="where the proxy listens (default: a free loopback port)")
    p.add_argument("--admin-listen", metavar="HOST:PORT",
                   help="tcp: the admin API's address (default: a free loopback port)")
    p.add_argument("--token-file", type=Path, help=f"file holding the admin token (else ${TOKEN_ENV})")
    p.add_argument("--allow-host", action="append", dest="allow_hosts", default=[], metavar="HOST[:PORT]",
                   help=f"a non-loopback host the upstream may name (repeatable; env {ALLOW_ENV})")


def settings_from(args: argparse.Namespace) -> tuple[ProxySettings, str]:
    token, source = resolve_token(args.token_file)
    host, port = split_host_port(args.listen, "--listen") if args.listen else ("127.0.0.1", 0)
    admin_port = split_host_port(args.admin_listen, "--admin-listen")[1] if args.admin_listen else 0
    allowed = [*args.allow_hosts, *(t for t in os.environ.get(ALLOW_ENV, "").split(",") if t.strip())]
    settings = ProxySettings(kind=args.kind, allow_hosts=allowed, upstream=args.upstream, host=host,
                             port=port, admin_port=admin_port, token=token)
    return settings.resolved(), source


def run(args: argparse.Namespace, say: Callable[[str], None]) -> int:
    settings, token_source = settings_from(args)
    say(f"admin token from {token_source}")
    (serve_llm if settings.kind == "llm" else serve_tcp)(settings, say)
    return 0


def add_driver_options(g: argparse._ArgumentGroup) -> None:
    """``gate`` / ``run``: inject faults through proxies the service's traffic already goes through."""
    g.add_argument("--llm-proxy", metavar="URL", help="a `loadgate proxy llm` the service's LLM calls go "
                   "through: llm_slowdown slows it instead of PUT /admin/faults")
    g.add_argument("--redis-proxy", metavar="URL", help="the admin URL of a `loadgate proxy tcp` in front of "
                   "the service's Redis: redis_outage refuses connections there")
    g.add_argument("--proxy-token-file", type=Path, help=f"the proxies' admin token (else ${TOKEN_ENV})")
    g.add_argument("--proxy-redis", action="store_true", help="start a TCP fault proxy between the bundled "
                   "service and its Redis: redis_outage refuses connections there")
    g.add_argument("--proxy-llm-upstream", metavar="URL", help="start an LLM fault proxy in front of this "
                   "OpenAI-compatible server and point the bundled service's openai backend at it")
    g.add_argument("--real-topology", nargs="?", const="local", choices=["local", "simulated"],
                   metavar="BACKEND", help="the bundled service as a real agent: its model served over "
                   "the OpenAI API by its own process (BACKEND, default local), reached through an LLM "
                   "fault proxy, its Redis through a TCP fault proxy; faults go on the wire")


def driver_settings(args: argparse.Namespace) -> dict[str, object]:
    """The StackSettings fields of those options (the token only when a proxy is given)."""
    started = {"proxy_redis": args.proxy_redis or bool(args.real_topology),
               "proxy_llm_upstream": args.proxy_llm_upstream, "llm_server_backend": args.real_topology}
    if not (args.llm_proxy or args.redis_proxy):
        return started
    if not (args.proxy_token_file or os.environ.get(TOKEN_ENV)):
        raise ConfigError(f"--llm-proxy / --redis-proxy need the proxies' admin token: ${TOKEN_ENV} or "
                          "--proxy-token-file")
    token, _ = resolve_token(args.proxy_token_file)
    return {**started, "llm_proxy_url": args.llm_proxy, "redis_proxy_url": args.redis_proxy,
            "proxy_token": token.get_secret_value()}
