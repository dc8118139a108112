"""Versioned pydantic models that save to and load from a run folder (like guidellm's report)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import ReportError
from harness.schemas.files import write_atomic


class Contract(BaseModel):
    """A step-to-step contract: unknown fields are a bug, not data."""

    model_config = ConfigDict(extra="forbid")


class VersionedModel(Contract):
    """A top-level document of the run folder. Bump ``SCHEMA_VERSION`` on incompatible change."""

    SCHEMA_VERSION: ClassVar[int] = 1
    FILE_NAME: ClassVar[str] = ""

    schema_version: int = 1

    def save_file(self, path: Path) -> Path:
        """Write atomically, so a reader never sees half a file (a crash keeps the old one)."""
        path = Path(path)
        if path.is_dir() or not path.suffix:
            path = path / self.FILE_NAME
        return write_atomic(path, self.model_dump_json(indent=2))

    @classmethod
    def load_file(cls, path: Path) -> Self:
        path = Path(path)
        if path.is_dir() or not path.suffix:
            path = path / cls.FILE_NAME
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ReportError(f"cannot read {cls.__name__} from {path}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise ReportError(f"{path} is not UTF-8 text (byte {exc.start}): not a {cls.__name__}") from exc
        try:
            model = cls.model_validate_json(text)
        except ValidationError as exc:
            raise ReportError(f"{path} is not a valid {cls.__name__}: {exc}") from exc
        if model.schema_version > cls.SCHEMA_VERSION:
            raise ReportError(
                f"{path} has schema_version {model.schema_version}; this loadgate reads up to "
                f"{cls.SCHEMA_VERSION}: upgrade loadgate"
            )
        return model
