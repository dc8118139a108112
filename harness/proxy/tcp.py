"""The TCP fault proxy: bytes between clients and one upstream (Redis or any TCP peer), with
Toxiproxy's faults from the leased ``TCPFault``: refuse (reset new connections), cut (close open
ones), latency (hold each chunk), blackhole (drop bytes both ways)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Any

from pydantic import SecretStr
from starlette.applications import Starlette

from harness.proxy.admin import admin_routes
from harness.proxy.leases import LeaseStore
from harness.proxy.metrics import TCPProxyMetrics
from harness.schemas.faults import TCPFault

_CHUNK = 64 * 1024
_WATCH_S = 0.1  # how soon a newly set 'cut' closes idle connections too


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a refused or killed peer looks to the client."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class TCPProxy:
    def __init__(self, upstream_host: str, upstream_port: int, token: SecretStr) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.leases = LeaseStore("tcp")
        self.metrics = TCPProxyMetrics()
        self.refused = self.cut = 0
        self._open: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.app = Starlette(routes=admin_routes(self.leases, token, self.metrics.registry, self._counts))

    def _counts(self, _: float) -> dict[str, Any]:
        return {"refused": self.refused, "cut": self.cut, "open": len(self._open)}

    def fault(self) -> TCPFault | None:
        lease = self.leases.current()
        return lease.tcp if lease is not None else None

    def _cut_all(self) -> None:
        for pair in list(self._open):
            self._open.discard(pair)
            self.cut += 1
            self.metrics.faults.labels("cut").inc()
            for w in pair:
                _reset(w)

    async def watch(self) -> None:
        """Cut open connections as soon as a 'cut' fault is set, idle ones included."""
        while True:
            fault = self.fault()
            if fault is not None and fault.cut and self._open:
                self._cut_all()
            await asyncio.sleep(_WATCH_S)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        fault = self.fault()
        if fault is not None and (fault.refuse or fault.cut):
            self.refused += 1
            self.metrics.connections.labels("refused").inc()
            self.metrics.faults.labels("refuse").inc()
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            self.metrics.connections.labels("upstream_unreachable").inc()
            _reset(writer)
            return
        self.metrics.connections.labels("accepted").inc()
        pair = (writer, up_writer)
        self._open.add(pair)
        try:
            await asyncio.gather(self._pipe(reader, up_writer, "up"), self._pipe(up_reader, writer, "down"))
        finally:
            self._open.discard(pair)
            for w in pair:
                w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str) -> None:
        with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
            while data := await reader.read(_CHUNK):
                fault = self.fault()
                if fault is not None and fault.cut:  # before the watcher's next look
                    self._cut_all()
                    return
                if fault is not None and fault.latency_s:
                    self.metrics.faults.labels("latency").inc()
                    await asyncio.sleep(fault.latency_s)
                if fault is not None and fault.blackhole:
                    self.metrics.faults.labels("blackhole").inc()
                    continue
                writer.write(data)
                await writer.drain()
                self.metrics.bytes.labels(direction).inc(len(data))
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()
