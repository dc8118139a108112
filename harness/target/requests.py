"""What is sent: a request's path, body and headers, built from the profile's request spec."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.schemas.service import RequestSpec

_DROP = object()
_FIELDS = ("prompt", "session_id", "max_tokens")
Builder = Callable[[dict[str, Any]], Any]


def _text(template: str) -> Builder:
    if template.startswith("{") and template.endswith("}") and template[1:-1] in _FIELDS:
        name = template[1:-1]  # a whole-value placeholder keeps its type (max_tokens: int)
        return lambda values: _DROP if values[name] is None else values[name]
    if "{" not in template and "}" not in template:
        return lambda values: template
    return lambda values: template.format_map({k: "" if v is None else v for k, v in values.items()})


def _compile(template: Any) -> Builder:
    """The template walked once into a function of the values: a request only fills it in."""
    if isinstance(template, str):
        return _text(template)
    if isinstance(template, dict):
        items = [(k, _compile(v)) for k, v in template.items()]
        return lambda values: {k: v for k, v in ((k, fill(values)) for k, fill in items) if v is not _DROP}
    if isinstance(template, list):
        fills = [_compile(v) for v in template]
        return lambda values: [v for v in (fill(values) for fill in fills) if v is not _DROP]
    return lambda values: template


# (spec's body, its stream_body, stream) -> those templates and the builder compiled from them; the
# templates are kept so their ids are not reused by others while the entry lives.
_MAX_BUILDERS = 64
_BUILDERS: dict[tuple[int, int, bool], tuple[dict[str, Any], dict[str, Any], Builder]] = {}


def _builder(spec: RequestSpec, stream: bool) -> Builder:
    key = (id(spec.body), id(spec.stream_body), stream)
    entry = _BUILDERS.get(key)
    if entry is None or entry[0] is not spec.body or entry[1] is not spec.stream_body:
        if len(_BUILDERS) >= _MAX_BUILDERS:  # a process builds requests for a handful of profiles
            _BUILDERS.clear()
        template = {**spec.body, **spec.stream_body} if stream else spec.body
        entry = _BUILDERS[key] = (spec.body, spec.stream_body, _compile(template))
    return entry[2]


def body(spec: RequestSpec, prompt: str, *, session_id: str = "", max_tokens: int | None = None,
         stream: bool = False) -> dict[str, Any]:
    """The JSON body; a key whose whole value is ``"{max_tokens}"`` is left out when there is none."""
    values = {"prompt": prompt, "session_id": session_id or None, "max_tokens": max_tokens}
    return _builder(spec, stream)(values)


def turn_body(spec: RequestSpec, prompt: str, history: list[dict[str, Any]], *, session_id: str,
              max_tokens: int | None = None, stream: bool = False) -> dict[str, Any]:
    """One turn of a conversation (``spec.conversation``): the server's session fields merged in, or
    the history (chat messages, oldest first) resent before the template's last message."""
    filled = body(spec, prompt, session_id=session_id, max_tokens=max_tokens, stream=stream)
    if spec.conversation == "server":
        return {**filled, **spec.session_body}
    messages = filled["messages"]
    return {**filled, "messages": [*messages[:-1], *history, *messages[-1:]]}


def path(spec: RequestSpec, stream: bool = False) -> str:
    return spec.stream_path if stream and spec.stream_path else spec.run_path


def headers(spec: RequestSpec, api_key: str | None) -> dict[str, str]:
    """The profile's headers plus the key in its scheme (``bearer``: ``Authorization: Bearer KEY``)."""
    out = dict(spec.headers)
    if api_key and spec.auth == "bearer":
        out[spec.auth_header] = f"Bearer {api_key}"
    elif api_key and spec.auth == "header":
        out[spec.auth_header] = api_key
    return out
