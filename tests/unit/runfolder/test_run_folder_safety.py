"""Run folder safety: a reused run id is refused, a claimed folder is locked, whole-file writes are
atomic and leave no temporary file, and an unwritable or full reports folder is one line, exit 3."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import RunFolderError
from harness.runfolder import claim
from harness.schemas.files import PRIVATE, write_atomic

LOADGATE = [sys.executable, "-m", "harness.cli"]
REPO = Path(__file__).resolve().parents[3]


def _gate(*args: str) -> subprocess.CompletedProcess[str]:
    # --target-url to a closed port: if the run folder were accepted, the stack would fail later and
    # differently (the target is unreachable), so the folder check is what the output shows.
    return subprocess.run([*LOADGATE, "gate", "--checklist", str(REPO / "checklist.yaml"),
                           "--target-url", "http://127.0.0.1:9", "--no-progress", *args],
                          capture_output=True, text=True, timeout=120, env={**os.environ,
                                                                            "LOADGATE_API_KEY": "k"})


def _no_temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


def test_claim_refuses_a_folder_holding_a_run_and_force_empties_it(tmp_path: Path) -> None:
    with claim(tmp_path, "r1") as folder:
        (folder.root / "timeline.json").write_text("{}")
    with pytest.raises(RunFolderError, match="already holds a run.*--force"), claim(tmp_path, "r1"):
        pass
    assert (tmp_path / "r1" / "timeline.json").exists()  # refusing touches nothing
    with claim(tmp_path, "r1", force=True) as folder:
        assert list(folder.root.iterdir()) == []


def test_a_claimed_folder_is_locked_against_another_process(tmp_path: Path) -> None:
    code = ("import sys; from harness.runfolder import claim\n"
            "from harness.errors import RunFolderError\n"
            "try:\n    with claim(sys.argv[1], 'r2'): pass\n"
            "except RunFolderError as e:\n    print(e); sys.exit(3)\n")
    with claim(tmp_path, "r2"):
        other = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                               timeout=60, cwd=REPO)
    assert other.returncode == 3, other.stdout + other.stderr
    assert "in use by another loadgate" in other.stdout
    after = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                           timeout=60, cwd=REPO)
    assert after.returncode == 0, "the lock must end with the claim"
    assert not [p for p in (tmp_path / "r2").iterdir()], "the lock file lives outside the run folder"


def test_write_atomic_replaces_whole_files_with_the_mode_asked(tmp_path: Path) -> None:
    path = write_atomic(tmp_path / "a.json", "first")
    write_atomic(path, "second")
    assert path.read_text() == "second" and oct(path.stat().st_mode & 0o777) == "0o644"
    secret = write_atomic(tmp_path / "key", "s3cret", mode=PRIVATE)
    assert oct(secret.stat().st_mode & 0o777) == "0o600"
    assert _no_temp_files(tmp_path) == []


@contextlib.contextmanager
def _unwritable_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder writes fail in: a full 64 KiB tmpfs as root (root ignores modes), read-only otherwise."""
    where = tmp_path / "small"
    where.mkdir()
    if os.geteuid() != 0:
        where.chmod(0o500)
        yield where
        where.chmod(0o700)
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)], check=True)
    try:
        with open(where / "filler", "wb") as fill, contextlib.suppress(OSError):
            fill.write(b"\1" * 1024 * 1024)  # fails when the 64 KiB are used up: the disk is full
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def test_a_failed_write_leaves_no_temporary_file_and_names_the_path(tmp_path: Path) -> None:
    with _unwritable_dir(tmp_path) as where:
        target = where / "run.json"
        with pytest.raises(RunFolderError, match=f"cannot (write|create folder) {where}"):
            write_atomic(target, "x" * 200_000)
        assert not target.exists() and _no_temp_files(where) == []


def test_gate_refuses_a_reused_run_id_in_one_line_before_anything_starts(tmp_path: Path) -> None:
    old = tmp_path / "reports" / "same"
    old.mkdir(parents=True)
    (old / "timeline.json").write_text('{"stale": true}')
    done = _gate("--reports-dir", str(tmp_path / "reports"), "--run-id", "same")
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "already holds a run" in lines[0] and "--force" in lines[0]
    assert (old / "timeline.json").read_text() == '{"stale": true}'


def test_gate_with_an_unusable_reports_dir_exits_3_in_one_line(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    done = _gate("--reports-dir", str(not_a_dir / "reports"))
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and f"cannot create folder {not_a_dir}" in done.stderr
    with _unwritable_dir(tmp_path) as where:
        done = _gate("--reports-dir", str(where / "reports"))
        assert done.returncode == 3 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.strip().count("\n") == 0 and "cannot " in done.stderr
        assert _no_temp_files(where) == []
