"""CPU outside the run: a process that is not loadgate's (nor the service's) counts as the machine's
other work; a child of the run counts as the run's own, also after it was reaped."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from harness.capacity.cpu_account import CpuAccount

# Burns half a CPU second (bounded in wall time), then writes the CPU seconds it used.
BURN = ("import sys, time\n"
        "t = time.monotonic()\n"
        "while time.process_time() < 0.5 and time.monotonic() - t < 30:\n"
        "    pass\n"
        "open(sys.argv[1], 'w').write(str(time.process_time()))\n")


def _wait_for(path: Path, deadline_s: float = 60.0) -> float:
    end = time.monotonic() + deadline_s
    while not path.exists() or not path.read_text():
        assert time.monotonic() < end, f"the burner never wrote {path}"
        time.sleep(0.05)
    return float(path.read_text())


def test_a_process_outside_the_run_is_other_work(tmp_path: Path) -> None:
    done = tmp_path / "detached"
    before = CpuAccount.now()
    # `sh -c 'cmd &'` exits at once: the burner is re-parented to init, outside this process tree.
    subprocess.run(["sh", "-c", f'"{sys.executable}" -c "$0" "{done}" &', BURN], check=True)
    burned = _wait_for(done)
    time.sleep(0.2)  # its exit after writing
    after = CpuAccount.now()
    other = after.other_cores_since(before)
    assert other is not None and other * (after.at - before.at) >= 0.9 * burned


def test_a_reaped_child_of_the_run_is_the_runs_own(tmp_path: Path) -> None:
    done = tmp_path / "child"
    before = CpuAccount.now()
    subprocess.run([sys.executable, "-c", BURN, str(done)], check=True)
    after = CpuAccount.now()
    assert after.run_s - before.run_s >= 0.9 * float(done.read_text())
