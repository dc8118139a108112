"""How an answer is read: JSON body and its markers (degraded, cached), and the streaming formats.

This module says what was *read* (parsed or not, which marker found); what a reading means for the
verdict (served, shed, error) is decided by the grader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from harness.schemas.service import Marker, ResponseSpec

_MISSING = object()


def pointer(document: Any, where: str) -> Any:
    """RFC 6901 JSON pointer (``/choices/0/message/content``); ``_MISSING`` when the path is absent."""
    if where == "":
        return document
    node = document
    for raw in where.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _flag(marker: Marker | None, document: Any, headers: Mapping[str, str]) -> bool:
    if marker is None:
        return False
    if marker.header is not None:
        value = next((v for k, v in headers.items() if k.lower() == marker.header.lower()), "")
        return value.strip().lower() in ("1", "true", "yes")
    found = pointer(document, marker.pointer or "")
    return found is not _MISSING and bool(found)


@dataclass(frozen=True)
class Reading:
    """One non-streamed answer as read. ``readable`` False: a JSON object was required and none came."""

    readable: bool
    cached: bool = False
    degraded: bool = False


def read_body(spec: ResponseSpec, content: bytes, headers: Mapping[str, str] | None = None) -> Reading:
    headers = headers or {}
    try:
        document = orjson.loads(content or b"")
    except orjson.JSONDecodeError:
        document = _MISSING
    if document is _MISSING or not isinstance(document, dict):
        return Reading(readable=not spec.require_json, cached=_flag(_header_only(spec.cached), {}, headers),
                       degraded=_flag(_header_only(spec.degraded), {}, headers))
    return Reading(readable=True, cached=_flag(spec.cached, document, headers),
                   degraded=_flag(spec.degraded, document, headers))


def tool_calls(spec: ResponseSpec, document: Any) -> list[str]:
    """The answer's tool calls as ``name:status`` (``called`` when the answer gives no status)."""
    calls = pointer(document, spec.tool_calls) if spec.tool_calls is not None else _MISSING
    if not isinstance(calls, list):
        return []
    out = []
    for call in calls:
        if isinstance(call, dict):
            name = call.get("name") or pointer(call, "/function/name")
            if isinstance(name, str) and name:
                out.append(f"{name}:{call.get('status') or 'called'}")
    return out


def answer_text(spec: ResponseSpec, document: Any) -> str:
    text = pointer(document, spec.answer) if spec.answer is not None else _MISSING
    return text if isinstance(text, str) else ""


def _header_only(marker: Marker | None) -> Marker | None:
    return marker if marker is not None and marker.header is not None else None


@dataclass
class StreamReading:
    """A streamed answer: time to first token and mean gap between tokens (seconds, from ``start``),
    the markers, completion tokens (when the server reports usage) and whether the end was seen."""

    ttft: float | None = None
    itl: float | None = None
    cached: bool = False
    degraded: bool = False
    tokens: int | None = None
    chunks: int = 0
    done: bool = False
    readable: bool = True  # False: a frame that must be a JSON object was not
    text: str = ""  # the answer as streamed (openai-sse's content deltas, or the done frame's answer)
    tools: list[str] = field(default_factory=list)  # tool calls as ``name:status`` (tool_calls above)


class StreamReader:
    """Reads server-sent events line by line as they arrive (``feed``), in one of the formats:

    ``loadgate-sse``  ``data:`` frames are tokens; an ``event: done`` frame carries the final JSON
                      (markers read from it with the profile's pointers).
    ``openai-sse``    ``data: {chunk}`` with ``choices[0].delta.content``; ``data: [DONE]`` ends it;
                      a chunk with ``usage`` gives the completion tokens.
    """

    def __init__(self, spec: ResponseSpec, start: float) -> None:
        self.spec, self.start = spec, start
        self.reading = StreamReading()
        self._event = "message"
        self._first: float | None = None
        self._last: float | None = None
        self._gaps: list[float] = []
        self._headers: Mapping[str, str] = {}

    def headers(self, headers: Mapping[str, str]) -> None:
        """Markers read from headers apply to the whole stream."""
        self._headers = headers

    def feed(self, line: str, now: float) -> None:
        line = line.strip()
        if line.startswith("event:"):
            self._event = line[6:].strip()
        elif line.startswith("data:"):
            self._data(line[5:].strip(), now)
        elif not line:
            self._event = "message"

    def _token(self, now: float) -> None:
        self.reading.chunks += 1
        if self._first is None:
            self._first = now
        elif self._last is not None:
            self._gaps.append(now - self._last)
        self._last = now

    def _data(self, data: str, now: float) -> None:
        if self.spec.stream_format == "openai-sse":
            self._openai(data, now)
        elif self._event == "done":
            self.reading.done = True
            final = self._object(data)
            self._markers(final)
            self.reading.text = answer_text(self.spec, final)
            self.reading.tools = tool_calls(self.spec, final)
        else:
            self._token(now)

    def _openai(self, data: str, now: float) -> None:
        if data == "[DONE]":
            self.reading.done = True
            return
        chunk = self._object(data)
        content = pointer(chunk, "/choices/0/delta/content")
        if isinstance(content, str) and content:
            self.reading.text += content
            self._token(now)
        # A tool call streams as deltas: its name in the first one for its index, then arguments.
        calls = pointer(chunk, "/choices/0/delta/tool_calls")
        for call in calls if isinstance(calls, list) else []:
            name = pointer(call, "/function/name")
            if isinstance(name, str) and name:
                self.reading.tools.append(f"{name}:called")
        tokens = pointer(chunk, "/usage/completion_tokens")
        if isinstance(tokens, int):
            self.reading.tokens = tokens
        self._markers(chunk)

    def _object(self, data: str) -> dict[str, Any]:
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError:
            document = None
        if not isinstance(document, dict):
            self.reading.readable = False
            return {}
        return document

    def _markers(self, document: Any) -> None:
        self.reading.cached |= _flag(self.spec.cached, document, self._headers)
        self.reading.degraded |= _flag(self.spec.degraded, document, self._headers)

    def result(self) -> StreamReading:
        r = self.reading
        r.ttft = None if self._first is None else self._first - self.start
        r.itl = sum(self._gaps) / len(self._gaps) if self._gaps else None
        r.cached |= _flag(_header_only(self.spec.cached), {}, self._headers)
        r.degraded |= _flag(_header_only(self.spec.degraded), {}, self._headers)
        return r
