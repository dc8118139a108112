"""A lean HTTP/1.1 client over asyncio streams, for bursts that must outpace a rate limiter.

httpx spends more CPU per request than a cached answer costs the service, so on a small machine a
burst sent with it may never exceed the limiter's refill rate; this sends keep-alive requests with a
few microseconds of Python each.
"""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


class ConnectionPool:
    """Up to ``size`` keep-alive connections to one origin; a broken one is dropped, not reused."""

    def __init__(self, url: str, size: int) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        self.netloc = parts.netloc
        self.size = size
        self._free: asyncio.Queue[Connection] = asyncio.Queue()
        self._opened = 0

    async def _get(self) -> Connection:
        if self._free.empty() and self._opened < self.size:
            self._opened += 1
            try:
                return await asyncio.open_connection(self.host, self.port,
                                                     ssl=ssl.create_default_context() if self.tls else None)
            except OSError:
                self._opened -= 1
                raise
        return await self._free.get()

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Response:
        """POST and read the whole answer; raises OSError (or IncompleteReadError) when the
        connection fails."""
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (f"POST {path} HTTP/1.1\r\nHost: {self.netloc}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n{head}\r\n").encode() + body
        reader, writer = await self._get()
        try:
            writer.write(request)
            await writer.drain()
            response = await _read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError, asyncio.CancelledError):
            writer.close()  # half-read: never reuse it
            self._opened -= 1
            raise
        if response.headers.get("connection", "").lower() == "close":
            writer.close()
            self._opened -= 1
        else:
            self._free.put_nowait((reader, writer))
        return response

    async def close(self) -> None:
        while not self._free.empty():
            _, writer = self._free.get_nowait()
            writer.close()


async def _read_response(reader: asyncio.StreamReader) -> Response:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Response(status, headers, body)
