"""The service profile: everything loadgate knows about the service under test, as data.

A profile is a preset (``harness.target.presets``) with the user's overrides merged in; it is
validated like the rest of the checklist (``service:`` in checklist.yaml or ``--service FILE``) and
recorded in ``run.json``. Its behaviour lives in ``harness.target``: ``requests`` builds what is sent,
``responses`` reads what comes back, ``client`` talks to health / in-flight / faults, and
``harness.grade.queries`` turns ``metrics`` into PromQL.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from harness.schemas.base import Contract
from harness.target.presets import PRESETS, expand

StreamFormat = Literal["loadgate-sse", "openai-sse", "none"]
Unit = Literal["auto", "s", "ms"]
PLACEHOLDERS = ("prompt", "session_id", "max_tokens")
# The union tag pydantic puts in an error's location under ``service``; error messages drop it.
SERVICE_PROFILE_TAG = "profile"


def _matchers(text: str) -> str:
    """A selector is label matchers without braces (``endpoint=~"/v1/.*", method="POST"``)."""
    text = text.strip()
    if text.startswith("{") or text.endswith("}"):
        raise ValueError(f"write the label matchers without braces, got {text!r}")
    return text


Matchers = Annotated[str, AfterValidator(_matchers)]


class Series(Contract):
    """One metric family and the label matchers that pick the service's share of it."""

    name: str = Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    selector: Matchers = ""


class Histogram(Series):
    """A latency histogram (``name`` without ``_bucket``). ``auto``: milliseconds when the name says so
    (``_milliseconds``, ``_ms``); detection also reads bucket edges and writes the unit out."""

    unit: Unit = "auto"

    @property
    def in_ms(self) -> bool:
        if self.unit != "auto":
            return self.unit == "ms"
        return self.name.endswith(("_milliseconds", "_ms"))


class Counter(Series):
    """Requests counted by outcome (harness.schemas.outcome): ``error`` picks the failed ones
    (``status=~"4..|5..", status!="429"``, ``status="error"``, ``http_response_status_code=~"5.."``),
    ``shed`` the 429s where the labels can tell them apart, ``served`` the answered ones (unset:
    whatever is neither shed nor an error)."""

    error: Matchers
    shed: Matchers | None = None
    served: Matchers | None = None


class Gauge(Series):
    pass


class Breaker(Series):
    """A circuit-breaker gauge and the values it takes (the bundled one: 0 closed, 1 half-open, 2 open)."""

    open: float = 2.0
    closed: float = 0.0


class MetricsMapping(Contract):
    """Which series mean what. Unset: the measure has no server-side view on this service."""

    # The job label the service's series carry in Prometheus (the embedded one scrapes it so).
    job: str = "agent"
    request_duration: Histogram | None = None
    requests: Counter | None = None
    memory: Gauge | None = Gauge(name="process_resident_memory_bytes")
    llm_duration: Histogram | None = None
    llm_ttft: Histogram | None = None
    in_flight: Gauge | None = None
    breaker: Breaker | None = None
    degraded: Series | None = None  # a counter of fallback answers (chart only)


class Marker(Contract):
    """Where a flag of the answer is read: a JSON pointer into the body (RFC 6901) or a header."""

    pointer: str | None = None
    header: str | None = None

    @model_validator(mode="after")
    def _one_place(self) -> Marker:
        if (self.pointer is None) == (self.header is None):
            raise ValueError("a marker is read from exactly one of 'pointer' or 'header'")
        if self.pointer is not None and self.pointer and not self.pointer.startswith("/"):
            raise ValueError(f"a JSON pointer starts with '/', got {self.pointer!r}")
        return self


class RequestSpec(Contract):
    """How one request is made. ``body`` is a JSON template: a string value ``"{max_tokens}"`` becomes
    the number (and the key is dropped when the plan sets none); other placeholders fill strings."""

    method: Literal["POST", "PUT", "GET"] = "POST"
    run_path: str = Field(pattern=r"^/")
    stream_path: str | None = Field(None, pattern=r"^/")
    body: dict[str, Any]
    # Merged over ``body`` for streamed requests (``{"stream": true}`` on an OpenAI endpoint).
    stream_body: dict[str, Any] = Field(default_factory=dict)
    auth: Literal["bearer", "header", "none"] = "bearer"
    auth_header: str = "Authorization"
    headers: dict[str, str] = Field(default_factory=dict)
    # How a session's later turns carry the conversation (agent_sessions): ``server``, the service
    # keeps it per session id and ``session_body`` is merged into each turn (the bundled agent's
    # ``{"memory": true}``); ``messages``, a stateless chat API: the client resends the history as
    # the body's ``messages`` before the template's last message (the question).
    conversation: Literal["server", "messages"] = "server"
    session_body: dict[str, Any] = Field(default_factory=dict)

    @field_validator("body")
    @classmethod
    def _known_placeholders(cls, body: dict[str, Any]) -> dict[str, Any]:
        import string

        def walk(value: Any) -> None:
            if isinstance(value, str):
                for _, name, _, _ in string.Formatter().parse(value):
                    if name is not None and name not in PLACEHOLDERS:
                        raise ValueError(f"unknown placeholder {{{name}}} in the body template; "
                                         f"expected one of {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
            elif isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)

        walk(body)
        return body


class ResponseSpec(Contract):
    degraded: Marker | None = None
    cached: Marker | None = None
    # JSON pointers to the answer's text (what a ``messages`` conversation resends) and its tool calls
    # (a list of objects named by ``name`` or ``function.name``, with an optional ``status``).
    answer: str | None = Field(None, pattern=r"^(/.*)?$")
    tool_calls: str | None = Field(None, pattern=r"^(/.*)?$")
    # A 200 whose body is not JSON (or lacks a marker's pointer) is unreadable, i.e. failed.
    require_json: bool = True
    stream_format: StreamFormat = "none"


class HealthSpec(Contract):
    health_path: str | None = Field("/healthz", pattern=r"^/")
    ready_path: str | None = Field(None, pattern=r"^/")


class AdminSpec(Contract):
    """The bundled service's admin API (a real service has none: faults then go through the proxies)."""

    faults_path: str = Field("/admin/faults", pattern=r"^/")
    memory_path: str | None = Field("/admin/memory", pattern=r"^/")


class ServiceProfile(Contract):
    """A preset with overrides, resolved. ``preset`` names where the defaults came from."""

    name: str = ""
    preset: Literal[tuple(PRESETS)]  # type: ignore[valid-type]
    requests: RequestSpec
    responses: ResponseSpec = Field(default_factory=ResponseSpec)
    health: HealthSpec = Field(default_factory=HealthSpec)
    admin: AdminSpec | None = None
    # Where the service exposes its metrics, relative to the target (``--metrics-url`` overrides).
    metrics_path: str | None = Field("/metrics", pattern=r"^/")
    metrics: MetricsMapping = Field(default_factory=MetricsMapping)

    @model_validator(mode="after")
    def _stream_readable(self) -> ServiceProfile:
        if self.requests.stream_path and self.responses.stream_format == "none":
            raise ValueError("requests.stream_path is set but responses.stream_format is 'none'")
        messages = self.requests.body.get("messages")
        if self.requests.conversation == "messages" and not (isinstance(messages, list) and messages):
            raise ValueError("requests.conversation 'messages' needs a non-empty 'messages' list in "
                             "requests.body (a body without one: set requests.conversation: server)")
        return self


def expand_service(value: Any) -> Any:
    """``service:`` as written -> profile data: a mapping is a preset plus overrides; a string naming
    a preset is that preset; any other string is only the service's name (no profile given)."""
    if isinstance(value, str) and value in PRESETS:
        return expand({"preset": value})
    if isinstance(value, dict):
        return expand(value)
    return value


def preset_profile(name: str) -> ServiceProfile:
    """A preset as it is, no overrides (``bundled`` is what a run uses when nothing says otherwise)."""
    return ServiceProfile.model_validate(expand({"preset": name}))
