"""Free loopback ports, and a clear error when a requested one is taken."""

from __future__ import annotations

import socket

from harness.errors import PortInUseError

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A port the kernel says is free now (another process may still take it before we bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


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
