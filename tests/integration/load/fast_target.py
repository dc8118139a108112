"""A tiny, cheap asyncio HTTP/1.1 target with the agent API, for load-generator tests.

``python tests/integration/load/fast_target.py PORT [--stall-every N --stall-s S] [--key KEY]``
Every N-th /v1/agent/* request stalls S seconds (a known delay); /admin/faults sets an extra delay.
Cheap on purpose: the generator, not this server, should be what the tests measure.
"""

from __future__ import annotations

import argparse
import asyncio
import json

STATE = {"n": 0, "active": 0, "delay": 0.0, "faults": []}


def _response(status: int, body: bytes, ctype: str = "application/json") -> bytes:
    reason = {200: "OK", 401: "Unauthorized", 404: "Not Found"}.get(status, "OK")
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


async def _agent(
    path: str, headers: dict[str, str], args: argparse.Namespace, writer: asyncio.StreamWriter
) -> None:
    if headers.get("authorization") != f"Bearer {args.key}":
        writer.write(_response(401, b'{"detail":"bad key"}'))
        return
    STATE["n"] += 1
    STATE["active"] += 1
    try:
        delay = STATE["delay"] + (
            args.stall_s if args.stall_every and STATE["n"] % args.stall_every == 0 else 0
        )
        if delay:
            await asyncio.sleep(delay)
        final = {"answer": "ok", "cached": STATE["n"] % 3 == 0, "degraded": STATE["delay"] > 0}
        if path.endswith("/stream"):
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            for event in [
                *(f'data: {{"token": "t{i}"}}\n\n' for i in range(3)),
                f"event: done\ndata: {json.dumps(final)}\n\n",
            ]:
                data = event.encode()
                writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                await writer.drain()
                await asyncio.sleep(0.005)
            writer.write(b"0\r\n\r\n")
        else:
            writer.write(_response(200, json.dumps(final).encode()))
    finally:
        STATE["active"] -= 1


async def _handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, args: argparse.Namespace
) -> None:
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            method, path, _ = line.decode().split(" ", 2)
            headers = {}
            while (h := await reader.readline()) not in (b"\r\n", b""):
                k, _, v = h.decode().partition(":")
                headers[k.strip().lower()] = v.strip()
            body = await reader.readexactly(int(headers.get("content-length", 0)))
            if path.startswith("/v1/agent/"):
                await _agent(path, headers, args, writer)
            elif path == "/healthz":
                writer.write(_response(200, b'{"status":"ok"}'))
            elif path == "/metrics":
                writer.write(_response(200, f"agent_active_tasks {STATE['active']}\n".encode(), "text/plain"))
            elif path == "/admin/faults":
                spec = json.loads(body or b"{}") if method == "PUT" else {}
                STATE["delay"] = float(spec.get("llm_delay_s", 0.0))
                STATE["faults"].append([method, spec])
                writer.write(_response(200, json.dumps(STATE["faults"]).encode()))
            else:
                writer.write(_response(404, b"{}"))
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        pass
    finally:
        writer.close()


async def main(args: argparse.Namespace) -> None:
    server = await asyncio.start_server(
        lambda r, w: _handle(r, w, args), "127.0.0.1", args.port, backlog=4096
    )
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--stall-every", type=int, default=0)
    parser.add_argument("--stall-s", type=float, default=2.0)
    parser.add_argument("--key", default="test-key")
    asyncio.run(main(parser.parse_args()))
