"""The load generator's request log, ``client/<scenario>/requests.csv``: one ``RequestRow`` a request.

The file is a version line, a CSV header naming ``RequestRow``'s fields in order, then one line per
request (here cut after ``outcome``)::

    # loadgate request log schema_version=4
    intended_start,start,end,latency,latency_uncorrected,status,endpoint,phase,cached,degraded,ttft,itl,outcome
    1764000000.000000,1764000000.001000,1764000000.250000,0.250000,0.249000,200,/v1/agent/run,steady,0,0,,,served

Floats have six decimals, booleans are 0/1, enums their value, None and "" are empty (read back as
missing). A reader refuses a file of another schema version. To add a field: one line in
``RequestRow`` (with a default, so existing writers still build rows) and ``SCHEMA_VERSION + 1``;
the writer, the reader, the column dtypes and the check of enum values follow from the fields.
Outside loadgate, read it with ``pandas.read_csv(path, skiprows=1)``.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, get_args, get_type_hints

import pandas as pd

from harness.errors import ReportError
from harness.schemas.outcome import RequestOutcome

SCHEMA_VERSION = 4  # 2: outcome; 3: session, turn, turns, tools, output_tokens; 4: cancelled
REQUEST_LOG = "requests.csv"
VERSION_PREFIX = "# loadgate request log schema_version="
_TRUE = {"true", "1", "yes"}


class RequestRow(NamedTuple):
    """One request as the load generator saw it (also the message a Locust worker sends its master)."""

    intended_start: float  # unix s: when the schedule meant it to start (open model)
    start: float  # unix s: when it was sent (after waiting for a connection)
    end: float  # unix s: when the answer (or the error) was complete
    latency: float  # end - intended_start: what a user at the promised rate waits
    latency_uncorrected: float  # end - start: the service's response time alone
    status: int  # HTTP status; 0 = no answer (connection error, broken stream)
    endpoint: str
    phase: str
    cached: bool  # the service said it answered from its cache
    degraded: bool  # the service said it answered without its LLM (fallback)
    ttft: float | None  # streamed answers: time to the first token, from the intended start
    itl: float | None  # streamed answers: mean gap between tokens
    outcome: RequestOutcome  # served / shed / error (harness.schemas.outcome)
    # agent_sessions (empty otherwise): the conversation, this turn's index from 1, the turns the
    # session planned, and the answer's tool calls as ``name:status;...``.
    session: str = ""
    turn: int | None = None
    turns: int | None = None
    tools: str = ""
    output_tokens: int | None = None  # streamed answers: tokens (chunks) received
    cancelled: bool = False  # the user closed the stream mid-answer on purpose (agent_sessions' option)

    @classmethod
    def measured(cls, *, intended_start: float, start: float, end: float, ttft: float | None = None,
                 itl: float | None = None, **fields: Any) -> RequestRow:
        """A row whose two latencies are derived from its three times (no stream: no ttft, no itl)."""
        return cls(intended_start=intended_start, start=start, end=end, latency=end - intended_start,
                   latency_uncorrected=end - start, ttft=ttft, itl=itl, **fields)


COLUMNS = RequestRow._fields


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return f"{value:.6f}"
    return value


class RequestLogWriter:
    """Writes ``requests.csv`` row by row: ``with RequestLogWriter(path) as log: log.write(row)``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._file.write(f"{VERSION_PREFIX}{SCHEMA_VERSION}\n")
        self._csv = csv.writer(self._file)
        self._csv.writerow(COLUMNS)

    def write(self, row: RequestRow) -> None:
        self.write_rows([row])

    def write_rows(self, rows: list[RequestRow]) -> None:
        cells = _cell_writers()
        self._csv.writerows([[value if cell is None else cell(value) for cell, value in zip(cells, row,
                                                                                          strict=True)]
                             for row in rows])

    def append_log(self, part: Path) -> None:
        """Copy another log's rows (same schema version, else ReportError naming it) after these."""
        version = _file_version(part)
        if version != SCHEMA_VERSION:
            raise ReportError(f"request log part {part} has schema_version {version}, not {SCHEMA_VERSION}")
        with open(part, encoding="utf-8") as source:
            source.readline(), source.readline()  # the version line and the header
            for line in source:
                self._file.write(line)

    def close(self) -> None:
        self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed

    def __enter__(self) -> RequestLogWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def write_request_log(path: Path, rows: list[RequestRow]) -> Path:
    """A whole log at once (tests, synthetic runs)."""
    with RequestLogWriter(path) as log:
        for row in rows:
            log.write(row)
    return Path(path)


@functools.cache
def _cell_writers() -> tuple[Callable[[Any], Any] | None, ...]:
    """``_cell`` per column, specialised by the column's type (None: written as it is; csv writes None
    as empty and a str enum as its value): the log is written on the generator's hot path."""
    def floats(value: Any) -> Any:
        return f"{value:.6f}" if type(value) is float else _cell(value)

    def bools(value: Any) -> Any:
        return int(value) if type(value) is bool else _cell(value)

    writers: list[Callable[[Any], Any] | None] = []
    for kind, _ in _column_types().values():
        if kind is float:
            writers.append(floats)
        elif kind is bool:
            writers.append(bools)
        elif issubclass(kind, Enum) and not issubclass(kind, str):
            writers.append(_cell)
        else:
            writers.append(None)
    return tuple(writers)


def _column_types() -> dict[str, tuple[type, bool]]:
    """Each column's type and whether it may be empty, from ``RequestRow``'s annotations."""
    kinds = {}
    for name, hint in get_type_hints(RequestRow).items():
        args = [a for a in get_args(hint) if a is not type(None)]
        kinds[name] = (args[0] if args else hint, type(None) in get_args(hint))
    return kinds


def _file_version(path: Path) -> int | None:
    with open(path, encoding="utf-8") as log:
        first = log.readline().strip()
    if not first.startswith(VERSION_PREFIX):
        return None
    try:
        return int(first.removeprefix(VERSION_PREFIX))
    except ValueError:
        return None


def read_request_log(path: Path) -> pd.DataFrame | None:
    """The log as a frame, one column per ``RequestRow`` field (None when the file does not exist).

    A file of another schema version, or that is not a request log, raises ReportError naming it.
    """
    path = Path(path)
    if not path.exists():
        return None
    version = _file_version(path)
    if version != SCHEMA_VERSION:
        found = "no schema version line" if version is None else f"schema_version {version}"
        raise ReportError(f"request log {path} has {found}; this loadgate reads request logs of "
                          f"schema_version {SCHEMA_VERSION} only (re-run the scenario to write one)")
    types = _column_types()
    dtypes = {name: ("string" if issubclass(kind, str) else "Int64") for name, (kind, _) in types.items()
              if issubclass(kind, str | int) and kind is not bool}
    try:
        frame = pd.read_csv(path, skiprows=1, dtype=dtypes)
    except (ValueError, pd.errors.ParserError) as exc:
        raise ReportError(f"cannot read request log {path}: {exc}") from exc
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ReportError(f"request log {path} lacks columns {missing} (has {list(frame.columns)})")
    for name, (kind, optional) in types.items():
        if kind is bool:
            frame[name] = frame[name].astype(str).str.strip().str.lower().isin(_TRUE)
        elif kind is int and not optional:
            frame[name] = frame[name].fillna(0).astype(int)
        elif issubclass(kind, Enum):
            present = frame[name].dropna() if optional else frame[name].fillna("")
            unknown = set(present) - {member.value for member in kind}
            if unknown:
                raise ReportError(f"request log {path} has unknown {name} values {sorted(unknown)}")
    return frame



def merge_request_logs(parts: list[Path], path: Path) -> Path:
    """One log from several processes' logs (each of this schema version), part after part.

    Rows keep each part's order (completion order on that process); they are not re-sorted.
    """
    with RequestLogWriter(path) as merged:
        for part in parts:
            merged.append_log(part)
    return Path(path)
