"""The fault proxies' wire contract: the faults they inject, the lease that carries a fault, and the
upstream calls they saw (``client/<scenario>/upstream_calls.json``).

Shared by the proxies (``harness.proxy``), the drivers that set faults during a phase
(``harness.load``) and the grader that judges resilience from what the proxy saw (``harness.grade``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from harness.schemas.base import Contract, VersionedModel

ADMIN_PREFIX = "/_proxy"  # the proxies' own routes; an OpenAI-compatible API has nothing under it
TOKEN_ENV = "LOADGATE_PROXY_TOKEN"
DEFAULT_LEASE_S = 10.0


class LLMFault(Contract):
    """What the LLM proxy does to the calls it forwards while the fault's lease lasts."""

    first_byte_delay_s: float = Field(0.0, ge=0, le=600)  # before the response starts
    jitter_s: float = Field(0.0, ge=0, le=600)  # uniform extra on top of first_byte_delay_s
    chunk_delay_s: float = Field(0.0, ge=0, le=60)  # before each streamed chunk (slow tokens)
    error_rate: float = Field(0.0, ge=0, le=1)  # share of calls answered with error_status instead
    error_status: Literal[500, 429, 503] = 500
    retry_after_s: int = Field(1, ge=0)  # the Retry-After of a 429 or 503
    hang: bool = False  # never answer: the client's own timeout is the only way out
    disconnect_after_chunks: int | None = Field(None, ge=0)  # cut a stream after this many chunks
    # Path prefixes the fault applies to (None: every forwarded route).
    routes: list[str] | None = None

    def applies_to(self, path: str) -> bool:
        return self.routes is None or any(path.startswith(r) for r in self.routes)


class TCPFault(Contract):
    """Toxiproxy's vocabulary: refuse new connections, cut open ones, add latency, blackhole."""

    refuse: bool = False  # new connections are closed as soon as they are accepted
    cut: bool = False  # open connections are closed when the fault is set
    latency_s: float = Field(0.0, ge=0, le=60)  # each chunk is held this long in both directions
    blackhole: bool = False  # bytes are read and dropped; nothing reaches either side


class FaultLease(Contract):
    """A fault that ends by itself ``ttl_s`` after it was last set, unless renewed: a driver that
    dies (SIGKILL) cannot leave it behind."""

    llm: LLMFault | None = None
    tcp: TCPFault | None = None
    ttl_s: float = Field(DEFAULT_LEASE_S, gt=0, le=3600)

    @model_validator(mode="after")
    def _one_fault(self) -> FaultLease:
        if (self.llm is None) == (self.tcp is None):
            raise ValueError("a lease carries exactly one of 'llm' or 'tcp'")
        return self


class FaultState(Contract):
    """``GET /_proxy/fault``: what is applied now, and how the last fault ended."""

    kind: Literal["llm", "tcp"]
    lease: FaultLease | None = None
    expires_in_s: float | None = None
    last_end: Literal["cleared", "expired"] | None = None


class UpstreamCalls(VersionedModel):
    """Wall-clock arrival of every call the service made through the LLM proxy on its LLM routes
    (forwarded or stopped by a fault), and what the TCP proxy refused and cut: the grader compares
    the calls with the client's cache misses."""

    FILE_NAME = "upstream_calls.json"

    proxy_url: str
    llm_calls: list[float] = Field(default_factory=list)
    refused: int = 0
    cut: int = 0
