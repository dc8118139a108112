"""JSON-lines files of the run folder: one pydantic record a line, appended as it happens.

Used by the diagnostics snapshots (``diagnostics/*.jsonl``) and the alert receiver (``alerts.jsonl``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

Record = TypeVar("Record", bound=BaseModel)


def append_jsonl(path: Path, *records: BaseModel) -> None:
    """Append each record as one line (the file and its folder are created when missing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as out:
        for record in records:
            out.write(record.model_dump_json() + "\n")


def read_jsonl(path: Path, model: type[Record]) -> list[Record]:
    """Every record of ``path`` in file order; [] when the file does not exist (nothing was written)."""
    path = Path(path)
    if not path.exists():
        return []
    return [
        model.model_validate_json(line)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
