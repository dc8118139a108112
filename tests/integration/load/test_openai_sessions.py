"""agent_sessions against a stateless OpenAI-compatible chat endpoint (``python -m
target_service.openai_server``, simulated LLM with a prefill cost per prompt word), through the real
runner with the ``openai`` preset: each turn resends the history in ``messages`` (so the model waits
longer before the first token turn by turn, by its own trace, and every measured time to first token
is at least that wait), tool calls are read from whole answers and from streamed deltas, streams
the user cancels mid-answer are counted, in the request log and in ``stats.json`` alike, and answer
lengths follow the stated distribution.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from harness.load import run_scenario
from harness.schemas import Endpoints, RunFolder, ScenarioPlan, ScenarioStats
from harness.schemas.checklist import Lengths
from harness.schemas.requests import read_request_log
from harness.schemas.service import ServiceProfile
from harness.target.presets import expand
from tests.integration.load.conftest import checklist, first_token_waits
from tests.planted_services.launch import openai_server

pytestmark = pytest.mark.integration

KEY = "openai-sessions-key"
CANCEL_AFTER = 3
TOOLS = [{"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
         for name in ("calculator", "external_api")]
PROFILE = ServiceProfile.model_validate(expand({
    "preset": "openai", "health": {"health_path": "/health"},
    "requests": {"body": {"model": "simulated", "messages": [{"role": "user", "content": "{prompt}"}],
                          "max_tokens": "{max_tokens}", "tools": TOOLS, "user": "{session_id}"}}}))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The server's URL and its simulated model's trace (the `user` field names each conversation)."""
    work = tmp_path_factory.mktemp("openai-sessions")
    trace = work / "sim-trace.jsonl"
    env = {"AGENT_SIM_TTFT_S": "0.05", "AGENT_SIM_PER_TOKEN_S": "0.01", "AGENT_SIM_JITTER": "0.2",
           "AGENT_SIM_PREFILL_PER_TOKEN_S": "0.004", "AGENT_SIM_TRACE_PATH": str(trace)}
    with openai_server(work, KEY, env) as running:
        yield running.url, trace


@pytest.fixture(scope="module")
def run(server: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> RunFolder:
    folder = RunFolder(tmp_path_factory.mktemp("run"))
    plan = ScenarioPlan(warmup_s=0, steady_s=20, turn_rate_rps=12, turns_mean=4, turns_max=6,
                        think_time_s=0.2, stream_share=0.7, cancel_share=0.3,
                        cancel_after_tokens=CANCEL_AFTER, output_tokens=Lengths(mean=16, cv=0.5))
    run_scenario("agent_sessions", checklist=checklist(agent_sessions=plan), profile="quick",
                 endpoints=Endpoints(target_url=server[0], prometheus_url="http://127.0.0.1:9",
                                     api_key=KEY, service=PROFILE), run_folder=folder)
    return folder


def _log(run: RunFolder) -> pd.DataFrame:
    log = read_request_log(run.request_log("agent_sessions"))
    return log.assign(tools=log.tools.fillna(""))


def test_each_turn_resends_the_history(run: RunFolder, server: tuple[str, Path]) -> None:
    log = _log(run)
    assert (log.outcome == "served").all(), log.outcome.value_counts()
    waits = first_token_waits(server[1], log)
    # The server keeps nothing: only a resent history makes later turns' prompts (and prefill) longer,
    # by the model's own numbers (deterministic from the words it read, not the clock).
    depth = waits.turn.clip(upper=3)  # turns 3 and deeper together: fewer sessions get that far
    modelled = waits.first_token_s.groupby(depth).median()
    counts = depth.value_counts().to_dict()
    assert min(counts.values()) >= 8 and len(counts) == 3, counts
    assert (modelled.diff().dropna() > 0.03).all(), modelled
    # The prefill is in what was measured (load only adds time): no answer, and no streamed first
    # token, came sooner than the model waited before it.
    first = waits.ttft.fillna(waits.latency)
    short = waits[first < waits.waited_s]
    assert short.empty, short[["session", "turn", "ttft", "latency", "waited_s"]]

def test_tool_calls_are_read_from_whole_and_streamed_answers(run: RunFolder) -> None:
    log = _log(run)
    stats = ScenarioStats.load_file(run.client_stats("agent_sessions")).sessions
    calls = log[log.tools != ""]
    streamed = calls[calls.ttft.notna() | calls.output_tokens.notna()]
    assert len(calls) > 0 and len(streamed) > 0 and len(calls) > len(streamed), (len(calls), len(streamed))
    names = calls.tools.str.split(";").explode().value_counts().to_dict()
    assert set(names) <= {"calculator:called", "external_api:called"}, names
    recorded = {f"{tool}:{status}": n for tool, by in stats.tool_outcomes.items() for status, n in by.items()}
    assert recorded == names


def test_cancelled_streams_are_counted(run: RunFolder) -> None:
    log = _log(run)
    stats = ScenarioStats.load_file(run.client_stats("agent_sessions")).sessions
    cancelled = log[log.cancelled]
    assert len(cancelled) > 0 and stats.cancelled_turns == len(cancelled)
    assert (cancelled.output_tokens == CANCEL_AFTER).all() and cancelled.ttft.notna().all()
    assert (cancelled.outcome == "served").all()  # the user stopped reading: not the service's failure
    assert stats.completed > 0 and stats.failed == 0


def test_answer_lengths_follow_the_stated_distribution(run: RunFolder) -> None:
    log = _log(run)
    # A stream read to its end has the tokens its turn asked for (the server's usage): mean 16, CV 0.5.
    finished = log[log.ttft.notna() & ~log.cancelled & (log.tools == "")].output_tokens.astype(float)
    assert len(finished) >= 40 and finished.min() >= 1
    assert abs(finished.mean() - 16) < 0.25 * 16 and 0.3 < finished.std() / finished.mean() < 0.7, (
        finished.describe())
