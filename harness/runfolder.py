"""Claiming a run folder for one command: never reuse a finished run, never share one between gates.

A reused ``--run-id`` would upsert the old timeline and append to the old alerts.jsonl, so stale
requests would be graded; two gates writing one folder would interleave their files. ``claim``
refuses both (``--force`` empties a reused folder first) and holds a lock for the command's life.
Locks live in ``<reports_dir>/.locks/`` so a run folder holds nothing but the run.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from harness.errors import RunFolderError
from harness.schemas.files import make_dirs
from harness.schemas.run import RunFolder

LOCKS_DIR = ".locks"
INDEX_LOCK = "index.lock"
# Rendering the index reads every run folder: a second gate finishing at the same time waits this long.
INDEX_WAIT_S = 60.0


def _lock(reports_dir: Path, name: str) -> FileLock:
    return FileLock(make_dirs(reports_dir / LOCKS_DIR) / name)


@contextlib.contextmanager
def claim(reports_dir: Path, run_id: str, *, force: bool = False) -> Iterator[RunFolder]:
    """The run folder ``reports_dir/run_id``, new or emptied (``force``), locked until the block ends."""
    reports_dir = Path(reports_dir)
    make_dirs(reports_dir)
    lock = _lock(reports_dir, f"{run_id}.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RunFolderError(f"run folder {reports_dir / run_id} is in use by another loadgate "
                             f"(lock {lock.lock_file})") from None
    try:
        folder = RunFolder(reports_dir / run_id)
        if folder.root.exists() and any(folder.root.iterdir()):
            if not force:
                raise RunFolderError(f"run folder {folder.root} already holds a run: choose another "
                                     f"--run-id, or pass --force to replace it")
            _empty(folder.root)
        yield folder.ensure()
    finally:
        lock.release()


def _empty(root: Path) -> None:
    try:
        for entry in root.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    except OSError as exc:
        raise RunFolderError(f"cannot empty {root} for --force: {exc.strerror or exc}") from None


@contextlib.contextmanager
def index_locked(reports_dir: Path) -> Iterator[None]:
    """Serialise index.html renders of one reports folder (two gates may finish together)."""
    lock = _lock(Path(reports_dir), INDEX_LOCK)
    try:
        lock.acquire(timeout=INDEX_WAIT_S)
    except Timeout:
        raise RunFolderError(f"{reports_dir}/index.html: another loadgate held {lock.lock_file} "
                             f"for {INDEX_WAIT_S:g} s") from None
    try:
        yield
    finally:
        lock.release()
