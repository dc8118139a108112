"""What is sent: a request's path, body and headers, built from the profile's request spec."""

from __future__ import annotations

from typing import Any

from harness.schemas.service import RequestSpec

_DROP = object()


def _fill(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str):
        for name, filler in values.items():
            if value == "{" + name + "}":  # a whole-value placeholder keeps its type (max_tokens: int)
                return _DROP if filler is None else filler
        return value.format_map({k: "" if v is None else v for k, v in values.items()})
    if isinstance(value, dict):
        filled = {k: _fill(v, values) for k, v in value.items()}
        return {k: v for k, v in filled.items() if v is not _DROP}
    if isinstance(value, list):
        return [v for v in (_fill(v, values) for v in value) if v is not _DROP]
    return value


def body(spec: RequestSpec, prompt: str, *, session_id: str = "", max_tokens: int | None = None,
         stream: bool = False) -> dict[str, Any]:
    """The JSON body; a key whose whole value is ``"{max_tokens}"`` is left out when there is none."""
    template = {**spec.body, **spec.stream_body} if stream else spec.body
    return _fill(template, {"prompt": prompt, "session_id": session_id or None, "max_tokens": max_tokens})


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
