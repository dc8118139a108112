"""Request traces for replay (``--trace FILE``): CSV or JSONL, one request a row.

Columns (names case-insensitive; the public Azure LLM inference trace's names are accepted as is):

    timestamp      TIMESTAMP      when the request arrived: seconds (any origin) or an ISO 8601 time
    prompt_tokens  ContextTokens  optional: input length in tokens
    output_tokens  GeneratedTokens  optional: output length in tokens

Offsets are taken from the first (earliest) row and kept to the nanosecond: numbers are subtracted
as decimals and times as whole nanoseconds, never as large floats, so a replayed request's intended
start is the run's t0 plus exactly the file's offset. Rows are replayed in time order.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.load.arrivals import TraceRow

_ALIASES = {
    "timestamp": ("timestamp", "time", "arrival_time"),
    "prompt_tokens": ("prompt_tokens", "contexttokens", "input_tokens"),
    "output_tokens": ("output_tokens", "generatedtokens"),
}
_NS = 1_000_000_000


def _pick(record: dict[str, Any], field: str) -> Any:
    lowered = {str(k).strip().lower(): v for k, v in record.items()}
    for name in _ALIASES[field]:
        if name in lowered and lowered[name] not in (None, ""):
            return lowered[name]
    return None


def _nanoseconds(value: Any) -> int:
    """A timestamp as whole nanoseconds: a number of seconds, or an ISO time (up to 9 decimals)."""
    text = str(value).strip()
    try:
        return int(Decimal(text) * _NS)
    except InvalidOperation:
        pass
    whole, _, rest = text.partition(".")
    digits = "".join(c for c in rest if c.isdigit()) if rest else ""
    fraction = rest[len(digits):] if rest else ""
    if len(digits) > 9:
        raise ValueError(f"more than 9 decimals in {text!r}")
    moment = datetime.fromisoformat(whole + fraction)  # date, time and zone, without the fraction
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # offsets only: any fixed zone, never DST
    return int(moment.timestamp()) * _NS + int(digits.ljust(9, "0") or 0)


def _tokens(value: Any, where: str, field: str) -> int | None:
    if value is None:
        return None
    try:
        tokens = int(float(value))
    except ValueError:
        raise ConfigError(f"'{value}' is not a token count", path=where, field=field) from None
    if tokens < 0:
        raise ConfigError(f"{tokens} tokens is negative", path=where, field=field)
    return tokens


def _records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, record) for each request in the file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        out = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    raise ConfigError(f"not JSON: {exc}", path=str(path), line=number) from None
                if not isinstance(record, dict):
                    raise ConfigError("each line must be a JSON object", path=str(path), line=number)
                out.append((number, record))
        return out
    return [(number, row) for number, row in enumerate(csv.DictReader(text.splitlines()), 2)]


def load_trace(path: Path | str) -> list[TraceRow]:
    """The trace's rows in time order, offsets from its first request; ConfigError naming the line."""
    path = Path(path)
    try:
        records = _records(path)
    except OSError as exc:
        raise ConfigError(f"cannot read the trace: {exc.strerror}", path=str(path)) from None
    stamped: list[tuple[int, int, int | None, int | None]] = []
    for number, record in records:
        where = f"{path}:{number}"
        stamp = _pick(record, "timestamp")
        if stamp is None:
            raise ConfigError("no timestamp (columns: timestamp or TIMESTAMP)", path=str(path), line=number)
        try:
            ns = _nanoseconds(stamp)
        except ValueError as exc:
            raise ConfigError(f"'{stamp}' is not a timestamp: {exc}", path=str(path), line=number) from None
        stamped.append((ns, number, _tokens(_pick(record, "prompt_tokens"), where, "prompt_tokens"),
                        _tokens(_pick(record, "output_tokens"), where, "output_tokens")))
    if not stamped:
        raise ConfigError("the trace has no requests", path=str(path))
    stamped.sort(key=lambda r: (r[0], r[1]))
    first = stamped[0][0]
    return [TraceRow(offset_s=(ns - first) / _NS, prompt_tokens=p, output_tokens=o)
            for ns, _, p, o in stamped]
