"""The bundled admin API's faults are leases: they end by themselves unless renewed."""

from __future__ import annotations

import json
import time

from target_service.faults import FaultSpec, FaultStore


def test_a_fault_with_a_ttl_expires_in_every_reader_and_renewal_extends_it(tmp_path):
    writer, reader = FaultStore(tmp_path, poll_s=0.0), FaultStore(tmp_path, poll_s=0.0)
    writer.set(FaultSpec(llm_delay_s=5, ttl_s=0.3))
    assert reader.current().llm_delay_s == 5
    first = json.loads(writer.path.read_bytes())["expires_at"]
    time.sleep(0.01)
    writer.set(FaultSpec(llm_delay_s=5, ttl_s=0.3))  # a renewal moves the end of the lease
    assert json.loads(writer.path.read_bytes())["expires_at"] > first
    deadline = time.monotonic() + 10
    while reader.current().llm_delay_s:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert FaultStore(tmp_path, poll_s=0.0).current() == FaultSpec()  # a restarted worker too


def test_a_fault_without_a_ttl_stays_until_cleared(tmp_path):
    store = FaultStore(tmp_path, poll_s=0.0)
    store.set(FaultSpec(redis_down=True))
    time.sleep(0.05)
    assert FaultStore(tmp_path, poll_s=0.0).current().redis_down
    store.clear()
    assert not FaultStore(tmp_path, poll_s=0.0).current().redis_down
