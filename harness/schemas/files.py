"""Writing a whole file of the run folder: atomically, never leaving a temporary file behind.

Every document that is written whole (JSON contracts, reports, configs, plans) goes through
``write_atomic``; append-only logs (requests.csv, *.jsonl) are streams and are not.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from harness.errors import RunFolderError

SHARED = 0o644  # a report or a config is meant to be read by others
PRIVATE = 0o600  # a file holding a key or a token


def write_atomic(path: Path, data: str | bytes, *, mode: int = SHARED) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename.

    A reader sees the old file or the new one, never half of one; a failure (disk full, folder not
    writable) removes the temporary file and raises RunFolderError naming the path and the cause.
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise RunFolderError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def make_dirs(path: Path) -> Path:
    """``mkdir -p`` that fails as RunFolderError (one line, exit 3) instead of an OSError traceback."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunFolderError(f"cannot create folder {path}: {exc.strerror or exc}") from None
    return path
