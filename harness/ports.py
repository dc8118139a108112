"""Free loopback ports, and a clear error when a requested one is taken."""

from __future__ import annotations

import contextlib
import fcntl
import random
import socket
import tempfile
import time
from pathlib import Path

from harness.errors import PortInUseError

LOOPBACK = "127.0.0.1"
# Ports handed out for servers come from below the kernel's ephemeral range, where no outgoing
# connection takes a local port between our pick and the server's bind (a load test opens thousands),
# and each is leased for LEASE_S to this machine's loadgate processes (parallel test workers, several
# runs at once), so two of them are not handed the same port before either binds it.
LISTEN_FLOOR = 20_000
LEASE_S = 300.0
LEASES = Path(tempfile.gettempdir()) / "loadgate-port-leases"


def free_port(host: str = LOOPBACK) -> int:
    """A port free now, leased to the caller (another program may still take it before we bind)."""
    low, high = LISTEN_FLOOR, _ephemeral_floor()
    for _ in range(200) if high - low > 1000 else ():
        port = random.randrange(low, high)
        if _bindable(host, port) and _lease(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # the kernel's own pick
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _ephemeral_floor() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _lease(port: int) -> bool:
    """True when no loadgate process on this machine was handed ``port`` in the last LEASE_S."""
    try:
        LEASES.mkdir(mode=0o700, exist_ok=True)
        with (LEASES / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            lease = LEASES / str(port)
            with contextlib.suppress(FileNotFoundError):
                if time.time() - lease.stat().st_mtime < LEASE_S:
                    return False
            lease.touch()
            return True
    except OSError:
        return True  # no shared folder (read-only /tmp, another user's): the bind check alone


def ensure_free(port: int, owner: str, host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Servers bind with SO_REUSEADDR, so a port in TIME_WAIT after a restart is free for them.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PortInUseError(
                f"{owner}: port {host}:{port} is already in use ({exc.strerror}); "
                f"free it or leave the port unset to pick a free one"
            ) from exc
    return port


def pick_port(requested: int | None, owner: str) -> int:
    return free_port() if requested is None else ensure_free(requested, owner)
