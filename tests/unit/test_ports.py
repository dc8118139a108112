"""Ports for the servers loadgate starts: below the ephemeral range, and leased so two processes of this
machine are not handed the same one (xdist workers once collided: "address already in use")."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator

import pytest

from harness import ports


@pytest.fixture
def leases(tmp_path, monkeypatch) -> Iterator[None]:
    monkeypatch.setattr(ports, "LEASES", tmp_path / "leases")
    yield


def test_a_free_port_is_below_the_ephemeral_range_and_bindable(leases) -> None:
    port = ports.free_port()
    assert ports.LISTEN_FLOOR <= port < ports._ephemeral_floor()  # noqa: SLF001
    with socket.socket() as sock:
        sock.bind((ports.LOOPBACK, port))


def test_a_leased_port_is_not_handed_out_again_until_its_lease_ends(leases, monkeypatch) -> None:
    first = ports.free_port()
    picks = iter([first, first, first + 1 if first + 1 < ports._ephemeral_floor() else first - 1])  # noqa: SLF001
    monkeypatch.setattr(ports.random, "randrange", lambda low, high: next(picks))
    second = ports.free_port()
    assert second != first  # the same random pick twice: the lease sent the second caller on
    old = time.time() - ports.LEASE_S - 1
    os.utime(ports.LEASES / str(first), (old, old))
    monkeypatch.setattr(ports.random, "randrange", lambda low, high: first)
    assert ports.free_port() == first  # an expired lease frees it


def test_without_a_shared_lease_folder_the_bind_check_decides(tmp_path, monkeypatch) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setattr(ports, "LEASES", blocker / "leases")
    assert ports.free_port() >= ports.LISTEN_FLOOR
