"""agent_sessions on the Locust side: each scheduled arrival opens a conversation of several turns.

Sessions arrive as an open model (the plan's rate, its intended starts); inside a session the user is
a closed loop, as a person is: ask, read the answer, think (0.5-1.5x the think time), ask a follow-up
that carries the conversation: the service keeps it (the profile's ``conversation: server``, the
bundled agent's ``memory: true``) or, for a stateless chat API (``messages``), the user resends the
whole history each turn. Turns are streamed at the plan's ``stream_share``; a streamed answer's tool-call
deltas are read, and ``cancel_share`` of them the user stops reading mid-answer (``cancelled`` in the
log; the session goes on with the partial answer). Prompt and output lengths may be drawn per
turn from stated distributions (``prompt_tokens``, ``output_tokens``: gamma, mean and CV). Each turn's
latency is measured from its own intended start (the previous answer plus the think time), so a turn the
generator starts late shows as late, not as a faster service. A turn that fails ends the session,
as a user gives up. A session counts as in flight from its first question to its last answer, so
the drain after the plan lets started conversations finish.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import gevent
import orjson
from locust.contrib.fasthttp import FastHttpUser

from harness.load.arrivals import Arrival
from harness.load.corpus import SCENARIO_DIR, RequestSizes, draw_length, load_prompts, sized_prompt
from harness.load.locust_state import STATE
from harness.load.plan import LoadPlan, SessionSpec
from harness.load.shipping import keep
from harness.load.users import ArrivalUser, _outstanding
from harness.schemas.outcome import RequestOutcome, classify
from harness.schemas.requests import RequestRow
from harness.schemas.service import ResponseSpec
from harness.target import requests as target_requests
from harness.target.responses import StreamReader, answer_text, read_body, tool_calls

FOLLOWUPS_PATH = SCENARIO_DIR / "data" / "followups.txt"
DRAIN_PHASE = "drain"  # turns of started sessions asked after the plan's last phase


def draw_turns(spec: SessionSpec, rng: random.Random) -> int:
    """Geometric on 1, 2, ... with mean ``turns_mean``, cut at ``turns_max``."""
    p = 1.0 / spec.turns_mean
    turns = 1
    while turns < spec.turns_max and rng.random() >= p:
        turns += 1
    return turns


@dataclass
class Answer:
    """What a turn's answer said, as far as the session needs it."""

    status: int = 0
    readable: bool = True
    cached: bool = False
    degraded: bool = False
    text: str = ""
    tools: list[str] = field(default_factory=list)
    ttft: float | None = None
    itl: float | None = None
    tokens: int | None = None
    cancelled: bool = False


def _abort(response: Any) -> None:
    """Close a stream mid-answer, as a user who stops reading: the connection is dropped, not reused
    (geventhttpclient's pooled response would hand the half-read socket to the next request)."""
    raw = response._response
    sock, pool = raw._sock, raw._pool
    raw._sock = raw._pool = None
    if sock is not None and pool is not None:
        pool.release_socket(sock)


def _streamed(response: Any, reader: StreamReader, cancel_after: int | None) -> Answer:
    """Read the stream line by line as it arrives (geventhttpclient's ``read(n)`` would wait for n
    bytes); with ``cancel_after``, stop after that many tokens."""
    reader.headers(dict(response.headers or {}))
    cancelled = False
    while line := response._response.readline(b"\n"):
        reader.feed(line.decode("utf-8", "replace"), time.time())
        if cancel_after is not None and reader.reading.chunks >= cancel_after and not reader.reading.done:
            _abort(response)
            cancelled = True
            break
    r = reader.result()
    return Answer(200, r.readable, r.cached, r.degraded, r.text, r.tools, r.ttft, r.itl,
                  r.tokens if r.tokens is not None else r.chunks, cancelled)


def _whole(spec: ResponseSpec, response: Any) -> Answer:
    content = response.content or b""
    reading = read_body(spec, content, dict(response.headers or {}))
    try:
        document = orjson.loads(content)
    except orjson.JSONDecodeError:
        document = None
    return Answer(200, reading.readable, reading.cached, reading.degraded, answer_text(spec, document),
                  tool_calls(spec, document))


@dataclass
class Turn:
    """One question of a session: where it stands in the conversation and how it is asked."""

    session_id: str
    turn: int
    turns: int
    prompt: str
    history: list[dict[str, Any]]  # the conversation so far as chat messages (stateless targets)
    stream: bool = False
    cancel_after: int | None = None
    max_tokens: int | None = None


def ask(user: FastHttpUser, plan: LoadPlan, turn: Turn, intended: float) -> Answer:
    """Send one turn in the profile's shape (``conversation``: server memory or resent messages); a
    streamed answer's first token is timed from the intended start, as every other latency."""
    spec = plan.service.requests
    path = target_requests.path(spec, turn.stream)
    body = target_requests.turn_body(spec, turn.prompt, turn.history, session_id=turn.session_id,
                                     max_tokens=turn.max_tokens, stream=turn.stream)
    try:
        response = user.client.request(spec.method, path, json=body, stream=turn.stream,
                                       headers=target_requests.headers(spec, plan.api_key),
                                       name=f"{path} (session)")
        status = int(response.status_code or 0)
        if status != 200:
            return Answer(status)
        if turn.stream:
            return _streamed(response, StreamReader(plan.service.responses, intended), turn.cancel_after)
        return _whole(plan.service.responses, response)
    except Exception:  # noqa: BLE001 - a connection lost mid-answer is a failed turn, not a crash
        return Answer(0)


def send_turn(user: FastHttpUser, plan: LoadPlan, intended: float, phase: str,
              turn: Turn) -> tuple[RequestRow, Answer]:
    """One turn, as the request log's row (session columns included) and the answer read."""
    start = time.time()
    answer = ask(user, plan, turn, intended)
    row = RequestRow.measured(intended_start=intended, start=start, end=time.time(), status=answer.status,
                              endpoint=target_requests.path(plan.service.requests, turn.stream), phase=phase,
                              cached=answer.cached, degraded=answer.degraded, ttft=answer.ttft,
                              itl=answer.itl,
                              outcome=classify(answer.status, answer.readable), session=turn.session_id,
                              turn=turn.turn, turns=turn.turns, tools=";".join(answer.tools),
                              output_tokens=answer.tokens, cancelled=answer.cancelled)
    return row, answer


class SessionUser(ArrivalUser):
    """Open model over sessions: ArrivalUser's schedule, each arrival one conversation."""

    abstract = True
    _followups: list[str] | None = None

    def _one(self, plan: LoadPlan, arrival: Arrival) -> None:
        assert plan.session is not None and STATE.picker is not None
        if SessionUser._followups is None:
            SessionUser._followups = load_prompts(FOLLOWUPS_PATH)
        rng = random.Random()
        session_id = uuid.uuid4().hex[:16]
        turns = draw_turns(plan.session, rng)
        history: list[dict[str, Any]] = []
        intended = arrival.t
        with _outstanding():
            for index in range(1, turns + 1):
                gevent.sleep(max(intended - time.time(), 0))
                plan = STATE.plan or plan  # workers take a new copy when the master stops early
                if plan.stop_at is not None and intended >= plan.stop_at:
                    return  # a stop condition ended the run: no more questions
                _, phase = plan.phase_at(intended)
                turn = self._turn(plan, rng, session_id, index, turns, history)
                row, answer = send_turn(self, plan, intended, phase.name if phase else DRAIN_PHASE, turn)
                keep(row)
                if row.outcome == RequestOutcome.error:
                    return
                history += [{"role": "user", "content": turn.prompt},
                            {"role": "assistant", "content": answer.text}]
                intended = row.end + rng.uniform(0.5, 1.5) * plan.session.think_time_s

    @staticmethod
    def _turn(plan: LoadPlan, rng: random.Random, session_id: str, index: int, turns: int,
              history: list[dict[str, Any]]) -> Turn:
        assert plan.session is not None and STATE.picker is not None and SessionUser._followups
        spec = plan.session
        sizes = RequestSizes(draw_length(spec.prompt_tokens, rng), draw_length(spec.output_tokens, rng))
        prompt = STATE.picker.pick() if index == 1 else rng.choice(SessionUser._followups)
        stream = bool(plan.service.requests.stream_path) and rng.random() < plan.stream_share
        cancel = stream and rng.random() < spec.cancel_share
        return Turn(session_id, index, turns, sized_prompt(prompt, sizes.prompt_tokens), list(history),
                    stream, spec.cancel_after_tokens if cancel else None, sizes.max_tokens(plan.max_tokens))
