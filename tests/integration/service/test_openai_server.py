"""``python -m target_service.openai_server``: the bundled LLM backends behind the OpenAI API, as a real
process: whole and streamed answers with usage, embeddings from the MiniLM embedder, 4xx for bad
requests, and the instrumentator's metrics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import orjson
import pytest

from tests.planted_services.launch import Running, spawn_openai_server

pytestmark = pytest.mark.integration

KEY = "openai-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def _start(workdir: Path, backend: str) -> Running:
    server = spawn_openai_server(workdir, KEY, backend=backend)
    server.wait_ready()
    return server


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    server = _start(tmp_path_factory.mktemp("openai"), "simulated")
    try:
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as client:
            yield client
    finally:
        server.stop()


def _events(response: httpx.Response) -> list[str]:
    return [line[5:].strip() for line in response.iter_lines() if line.startswith("data:")]


def test_models_lists_the_llm_and_the_embedder(simulated: httpx.Client) -> None:
    ids = [m["id"] for m in simulated.get("/v1/models").json()["data"]]
    assert ids == ["simulated", "all-MiniLM-L6-v2"]


def test_chat_answer_counts_its_tokens(simulated: httpx.Client) -> None:
    body = {"model": "simulated", "messages": [{"role": "user", "content": "how do caches fail?"}],
            "max_tokens": 7}
    answer = simulated.post("/v1/chat/completions", json=body).json()
    assert answer["object"] == "chat.completion"
    choice = answer["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] == "length"
    assert len(choice["message"]["content"].split()) == 7  # the simulated backend yields a word per token
    usage = answer["usage"]
    assert usage["completion_tokens"] == 7 and usage["prompt_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + 7


def test_chat_stream_is_openai_sse_ending_done(simulated: httpx.Client) -> None:
    body = {"model": "simulated", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4,
            "stream": True, "stream_options": {"include_usage": True}}
    with simulated.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(response)
    assert events[-1] == "[DONE]"
    chunks = [orjson.loads(e) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    pieces = [c["choices"][0]["delta"].get("content") for c in chunks[1:] if c["choices"]]
    assert len([p for p in pieces if p]) == 4
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "length"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 4


def test_completions_whole_and_streamed(simulated: httpx.Client) -> None:
    whole = simulated.post("/v1/completions", json={"model": "simulated", "prompt": "the answer is"}).json()
    assert whole["object"] == "text_completion" and whole["usage"]["completion_tokens"] == 16  # default
    body = {"model": "simulated", "prompt": ["the answer is"], "max_tokens": 3, "stream": True}
    with simulated.stream("POST", "/v1/completions", json=body) as response:
        events = _events(response)
    assert events[-1] == "[DONE]"
    texts = [orjson.loads(e)["choices"][0]["text"] for e in events[:-1]]
    assert len([t for t in texts if t]) == 3


def test_embeddings_are_minilm_unit_vectors(simulated: httpx.Client) -> None:
    body = {"model": "all-MiniLM-L6-v2", "input": ["cache miss", "cache miss", "tokenizer"]}
    answer = simulated.post("/v1/embeddings", json=body).json()
    vectors = np.array([d["embedding"] for d in answer["data"]])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert np.allclose(vectors[0], vectors[1]) and not np.allclose(vectors[0], vectors[2])
    assert answer["usage"]["prompt_tokens"] > 0


@pytest.mark.parametrize(("body", "status", "param"), [
    ({"model": "simulated", "messages": []}, 400, "messages"),
    ({"model": "simulated", "messages": [{"role": "user", "content": "x"}], "max_tokens": 100000}, 400,
     "max_tokens"),
    ({"model": "simulated", "messages": [{"role": "robot", "content": "x"}]}, 400, "messages.0.role"),
    ({"model": "simulated", "messages": [{"role": "user", "content": "x"}], "n": 3}, 400, "n"),
    ({"messages": [{"role": "user", "content": "x"}]}, 400, "model"),
    ({"model": "gpt-unknown", "messages": [{"role": "user", "content": "x"}]}, 404, "model"),
])
def test_bad_requests_get_openai_4xx(simulated: httpx.Client, body: dict, status: int, param: str) -> None:
    response = simulated.post("/v1/chat/completions", json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["param"] == param and error["message"]


def test_unparseable_body_and_several_prompts_are_400(simulated: httpx.Client) -> None:
    garbage = simulated.post("/v1/chat/completions", content=b"{not json",
                             headers={"Content-Type": "application/json"})
    assert garbage.status_code == 400 and "JSON" in garbage.json()["error"]["message"]
    many = simulated.post("/v1/completions", json={"model": "simulated", "prompt": ["a", "b"]})
    assert many.status_code == 400 and many.json()["error"]["param"] == "prompt"


def test_a_missing_or_wrong_key_is_401(simulated: httpx.Client) -> None:
    url = simulated.base_url.join("/v1/models")
    assert httpx.get(url).status_code == 401
    wrong = httpx.get(url, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"


def test_metrics_count_requests_by_handler_and_status(simulated: httpx.Client) -> None:
    unknown = {"model": "nope", "messages": [{"role": "user", "content": "x"}]}
    assert simulated.post("/v1/chat/completions", json=unknown).status_code == 404
    text = simulated.get("/metrics").text
    assert 'http_requests_total{handler="/v1/chat/completions",method="POST",status="4xx"}' in text
    assert "process_resident_memory_bytes" in text
    assert "agent_requests_total" not in text  # the bundled service's metrics stay out


def test_local_backend_streams_the_real_model(tmp_path: Path) -> None:
    server = _start(tmp_path, "local")
    try:
        body = {"model": "tiny-llama", "messages": [{"role": "user", "content": "what is a cache?"}],
                "max_tokens": 5, "stream": True, "stream_options": {"include_usage": True}}
        with httpx.Client(headers=AUTH, timeout=120) as client, \
                client.stream("POST", f"{server.url}/v1/chat/completions", json=body) as response:
            events = _events(response)
    finally:
        server.stop()
    assert events[-1] == "[DONE]"
    last = orjson.loads(events[-2])
    assert last["model"] == "tiny-llama" and last["usage"]["completion_tokens"] == 5
