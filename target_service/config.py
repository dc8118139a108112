"""The service's one settings object. Every field is an environment variable ``AGENT_<NAME>``.

Defaults are sized for a 2-core machine running the launch checklist (P99 < 3 s at 50 req/s with a
Zipf-skewed prompt mix, many requests answered from Redis) next to the load generator and Prometheus.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CACHE_ROOT = Path.home() / ".cache" / "loadgate"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGENT_", extra="ignore")

    # --- security -------------------------------------------------------------------------------
    # Comma-separated Bearer keys for /v1/*. The defaults are for local development only.
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=lambda: [SecretStr("loadgate-dev-key"), SecretStr("loadgate-dev-key-2")])
    admin_token: SecretStr = SecretStr("loadgate-dev-admin")
    max_body_bytes: int = Field(64 * 1024, gt=0)
    # Input <= 4000 characters and max_tokens <= 256 are fixed by the API schema (schemas.py).
    default_max_tokens: int = Field(32, gt=0, le=256)

    # --- rate limits (token buckets; split evenly over the uvicorn workers) ------------------------
    # One key may sustain 160 req/s with a burst of 100: 150 req/s of Poisson load passes (a 100-token
    # deficit is > 5 sd away over 5 s), a burst of 500 requests sent within ~2.5 s is cut after
    # 100 + 160/s of refill.
    key_rate_per_s: float = Field(160.0, gt=0)
    key_burst: float = Field(100.0, gt=0)
    global_rate_per_s: float = Field(1000.0, gt=0)
    global_burst: float = Field(2000.0, gt=0)

    # --- LLM ----------------------------------------------------------------------------------------
    llm_backend: Literal["local", "simulated", "openai"] = "local"
    # Slower LLM calls become a degraded (retrieval-only) answer: 1.5 s leaves room in a 3 s P99
    # even when the model is 5 s slower than usual.
    llm_timeout_s: float = Field(1.5, gt=0)
    model_dir: Path = CACHE_ROOT / "models" / "tiny-llama"
    model_name: str = "tiny-llama"
    torch_threads: int = Field(1, gt=0)
    # Where the local model runs (target_service/llm/placement.py): auto is CUDA when torch sees a GPU,
    # else the CPU; dtype auto is bfloat16 (float16 where unsupported) on CUDA, float32 on the CPU.
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    load_in_4bit: bool = False  # bitsandbytes NF4 weights; on CUDA they compute in the 16-bit dtype
    torch_compile: bool = False  # on CUDA with a static KV cache, so decoding is captured once
    max_batch_size: int = Field(32, gt=0)
    max_batch_wait_ms: float = Field(10.0, ge=0)
    # A prompt longer than this keeps its end (the question); 256 leaves room for a conversation's
    # history, so a session's later turns cost more. Single questions stay far below it.
    max_prompt_tokens: int = Field(256, gt=0)
    # simulated backend: time to first token + per-token time, each with +/- jitter (fraction).
    sim_ttft_s: float = Field(0.15, ge=0)
    sim_per_token_s: float = Field(0.01, ge=0)
    sim_jitter: float = Field(0.3, ge=0, le=1)
    # Prefill: time per prompt word (up to max_prompt_tokens) before the first token, as a real model
    # reads the whole prompt first; a session's history then makes its later turns start later. 0: none.
    sim_prefill_per_token_s: float = Field(0.0, ge=0)
    # A JSON line per call with the first-token delay the model chose, for tests that bound measured
    # latency from below by it (load only adds time). None: no trace.
    sim_trace_path: Path | None = None
    # openai backend
    openai_base_url: str = "http://127.0.0.1:8000"
    openai_api_key: SecretStr | None = None
    openai_model: str = "gpt-4o-mini"
    openai_max_connections: int = Field(100, gt=0)

    # --- tools and conversation memory -------------------------------------------------------------
    # The external API tool's own deadline; past it the turn goes on with a fallback, marked degraded.
    # 0 means no timeout (a planted misconfiguration: a slow API then slows the whole answer).
    tool_timeout_s: float = Field(0.5, ge=0)
    session_ttl_s: int = Field(1800, gt=0)
    session_max_turns: int = Field(8, gt=0)  # turns of history kept (and sent to the model)
    history_max_chars: int = Field(1500, gt=0)

    # --- circuit breaker ------------------------------------------------------------------------------
    breaker_failure_threshold: int = Field(5, gt=0)
    breaker_reset_s: float = Field(5.0, gt=0)
    breaker_half_open_max: int = Field(1, gt=0)

    # --- retrieval ------------------------------------------------------------------------------------
    cache_dir: Path = CACHE_ROOT
    top_k: int = Field(3, gt=0)
    embedding_cache_size: int = Field(4096, gt=0)
    hnsw_ef: int = Field(64, gt=0)

    # --- Redis response cache ----------------------------------------------------------------------
    redis_url: str = "redis://127.0.0.1:6379/0"
    cache_ttl_s: int = Field(600, gt=0)
    redis_max_connections: int = Field(64, gt=0)
    redis_timeout_s: float = Field(0.25, gt=0)
    # After a Redis error, skip Redis for this long instead of paying a failed connect per request.
    redis_retry_after_s: float = Field(1.0, ge=0)

    # --- process-wide -----------------------------------------------------------------------------
    state_dir: Path = CACHE_ROOT / "state"  # shared across workers: faults, multiprocess metrics
    access_log: Path | None = None  # JSON lines; None: no access log
    faults_poll_s: float = Field(0.2, gt=0)
    shutdown_grace_s: float = Field(10.0, ge=0)
    # Longer than clients keep idle connections (uvicorn's own default is 5 s): a server closing one
    # just as a client reuses it fails that POST, which clients may not retry (RFC 9110 9.2.2).
    # 75 s is nginx's default; load balancers in front use 60 s.
    keep_alive_s: int = Field(75, gt=0)
    tracemalloc: bool = False
    # A planted fault for calibrating leak detection (issue 16): every request to /v1/agent/* answered
    # 2xx keeps this many KB for the life of the worker. 0 (the default): nothing kept.
    leak_kb_per_request: float = Field(0.0, ge=0, le=1024)
    workers: int = Field(1, gt=0)  # set by ``python -m target_service``; rate limits divide by it

    @model_validator(mode="after")
    def _placement_without_a_gpu(self) -> Settings:
        # What needs no torch to know: the rest is checked where the model loads (placement.py).
        if self.device == "cpu" and self.dtype in ("float16", "bfloat16"):
            raise ValueError(f"AGENT_DTYPE={self.dtype} needs CUDA: on AGENT_DEVICE=cpu use auto or float32")
        return self

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, v: object) -> object:
        if isinstance(v, str):
            return [k.strip() for k in v.split(",") if k.strip()]
        return v

    def key_values(self) -> list[str]:
        return [k.get_secret_value() for k in self.api_keys]
