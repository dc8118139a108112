"""The bundled admin API's faults are leases: they end by themselves unless renewed."""

from __future__ import annotations

import json
import time

import pytest

from target_service import faults
from target_service.faults import FaultSpec, FaultStore


def test_a_fault_with_a_ttl_expires_in_every_reader_and_renewal_extends_it(tmp_path, fake_clock):
    clock = fake_clock(faults)  # the lease's clock; a busy machine cannot end it between two lines
    writer, reader = FaultStore(tmp_path, poll_s=0.0), FaultStore(tmp_path, poll_s=0.0)
    writer.set(FaultSpec(llm_delay_s=5, ttl_s=0.3))
    assert reader.current().llm_delay_s == 5
    first = json.loads(writer.path.read_bytes())["expires_at"]
    clock.advance(0.2)
    time.sleep(0.02)  # real time, so the renewed file's mtime differs (the readers' change check)
    writer.set(FaultSpec(llm_delay_s=5, ttl_s=0.3))  # a renewal moves the end of the lease
    assert json.loads(writer.path.read_bytes())["expires_at"] == pytest.approx(first + 0.2)
    clock.advance(0.2)  # past the first lease's end, inside the renewed one
    assert reader.current().llm_delay_s == 5
    clock.advance(0.11)  # past the renewed end
    assert reader.current() == FaultSpec()
    assert FaultStore(tmp_path, poll_s=0.0).current() == FaultSpec()  # a restarted worker too


def test_a_fault_without_a_ttl_stays_until_cleared(tmp_path):
    store = FaultStore(tmp_path, poll_s=0.0)
    store.set(FaultSpec(redis_down=True))
    time.sleep(0.05)
    assert FaultStore(tmp_path, poll_s=0.0).current().redis_down
    store.clear()
    assert not FaultStore(tmp_path, poll_s=0.0).current().redis_down
