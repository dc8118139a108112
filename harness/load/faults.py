"""Where a phase's fault goes, and the calls that set, renew and clear it.

A ``FaultSpec`` is split by destination: its LLM part goes to the LLM proxy when the run has one
(``--llm-proxy``), its Redis part to the TCP proxy (``--redis-proxy``), and whatever is left to the
service's own admin API (the bundled ``PUT /admin/faults``). Every PUT carries a lease (``ttl_s``)
that the Locust master renews each second while the phase lasts, so a harness killed with SIGKILL
leaves nothing applied for longer than the lease. Used by the master (set, renew, clear at phase
edges) and by the runner (clear in a ``finally``, whatever happened to the master).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.errors import LoadError
from harness.load.plan import LoadPlan
from harness.schemas.checklist import FaultSpec
from harness.schemas.faults import ADMIN_PREFIX, FaultLease, LLMFault, TCPFault, UpstreamCalls
from harness.schemas.run import Endpoints

_ADMIN_FIELDS = ("llm_delay_s", "llm_jitter_s", "llm_error_rate", "redis_down", "tool_delay_s",
                 "tool_error_rate")


def _llm_fault(spec: FaultSpec) -> LLMFault | None:
    fault = LLMFault(first_byte_delay_s=spec.llm_delay_s, jitter_s=spec.llm_jitter_s,
                     error_rate=spec.llm_error_rate, error_status=spec.llm_error_status,
                     chunk_delay_s=spec.llm_chunk_delay_s, hang=spec.llm_hang,
                     disconnect_after_chunks=spec.llm_disconnect_after_chunks)
    return None if fault == LLMFault() else fault


@dataclass(frozen=True)
class FaultDriver:
    """The destinations of one run's faults. Tokens stay in memory, never in a file."""

    target_url: str
    admin_path: str | None = "/admin/faults"
    admin_token: str | None = None
    llm_proxy_url: str | None = None
    redis_proxy_url: str | None = None
    proxy_token: str | None = None
    lease_s: float = 10.0

    @classmethod
    def of(cls, plan: LoadPlan, target_url: str) -> FaultDriver:
        return cls(target_url, plan.admin_faults_path, plan.admin_token, plan.llm_proxy_url,
                   plan.redis_proxy_url, plan.proxy_token, plan.fault_lease_s)

    def bodies(self, spec: FaultSpec) -> dict[str, dict]:
        """URL -> JSON body for each destination this spec needs (raises LoadError for what none takes)."""
        out: dict[str, dict] = {}
        admin = {k: getattr(spec, k) for k in _ADMIN_FIELDS}
        llm = _llm_fault(spec)
        if self.llm_proxy_url and llm is not None:
            lease = FaultLease(llm=llm, ttl_s=self.lease_s)
            out[f"{self.llm_proxy_url}{ADMIN_PREFIX}/fault"] = lease.model_dump(mode="json")
            admin.update(llm_delay_s=0.0, llm_jitter_s=0.0, llm_error_rate=0.0)
        elif spec.llm_chunk_delay_s or spec.llm_hang or spec.llm_disconnect_after_chunks is not None \
                or spec.llm_error_status != 500:
            raise LoadError("slow tokens, hangs, disconnects and 429/503 errors need the LLM proxy "
                            "(--llm-proxy)")
        if self.redis_proxy_url and spec.redis_down:
            lease = FaultLease(tcp=TCPFault(refuse=True, cut=True), ttl_s=self.lease_s)
            out[f"{self.redis_proxy_url}{ADMIN_PREFIX}/fault"] = lease.model_dump(mode="json")
            admin["redis_down"] = False
        if any(admin.values()):
            # Only the knobs set: a service that knows fewer of them than this harness still accepts it.
            admin = {k: v for k, v in admin.items() if v != FaultSpec.model_fields[k].default}
            self._check_admin(admin)
            out[f"{self.target_url.rstrip('/')}{self.admin_path}"] = {**admin, "ttl_s": self.lease_s}
        return out

    def _check_admin(self, faults: dict[str, object]) -> None:
        """The service's own fault API must exist and be open to us; otherwise say which it lacks."""
        what = ", ".join(f"{k}={v}" for k, v in faults.items())
        if not self.admin_path:
            raise LoadError(f"this scenario injects a fault ({what}) that only a fault API or proxy can "
                            "apply: the service profile has none (service.admin.faults_path is not set: "
                            "only the bundled service has one), and no proxy takes it (--llm-proxy / "
                            "--redis-proxy)")
        if not self.admin_token:
            raise LoadError(f"this scenario injects a fault ({what}) through the service's fault API, but "
                            "no admin token is known for it (LOADGATE_ADMIN_TOKEN or --admin-token-file), "
                            "and no proxy takes it (--llm-proxy / --redis-proxy)")

    def destinations(self, specs: list[FaultSpec]) -> list[str]:
        return sorted({url for spec in specs for url in self.bodies(spec)})

    def _headers(self, url: str) -> dict[str, str]:
        token = self.proxy_token if ADMIN_PREFIX in url else self.admin_token
        return {"Authorization": f"Bearer {token or ''}", "Content-Type": "application/json"}

    def apply(self, spec: FaultSpec) -> dict[str, str]:
        """PUT (set or renew) the spec's lease at each destination; URL -> status or error."""
        return {url: self._call("PUT", url, body) for url, body in self.bodies(spec).items()}

    def clear(self, urls: list[str]) -> dict[str, str]:
        return {url: self._call("DELETE", url, None) for url in urls}

    @staticmethod
    def summary(results: dict[str, str]) -> str:
        """'200' when every destination answered 200, else each destination's answer."""
        if set(results.values()) == {"200"}:
            return "200"
        return "; ".join(f"{url}: {answer}" for url, answer in results.items()) or "no destination"

    def _call(self, method: str, url: str, body: dict | None) -> str:
        try:
            response = httpx.request(method, url, headers=self._headers(url), timeout=5.0,
                                     content=json.dumps(body) if body is not None else None)
            return str(response.status_code)
        except httpx.HTTPError as exc:  # recorded: the grader sees a fault that never applied
            return f"error: {type(exc).__name__}: {exc}"


def save_upstream_calls(endpoints: Endpoints, since: float, out: Path) -> None:
    """What the proxies saw since ``since`` (LLM calls forwarded, connections refused and cut), into
    ``out/upstream_calls.json`` for the grader; nothing without a proxy."""
    if not (endpoints.llm_proxy_url or endpoints.redis_proxy_url):
        return
    seen: dict[str, object] = {}
    headers = {"Authorization": f"Bearer {endpoints.proxy_token or ''}"}
    for url in (endpoints.llm_proxy_url, endpoints.redis_proxy_url):
        if url:
            try:
                response = httpx.get(f"{url}{ADMIN_PREFIX}/calls", params={"since": since}, headers=headers,
                                     timeout=10.0)
                response.raise_for_status()
            except httpx.HTTPError as exc:
                raise LoadError(f"cannot read what the fault proxy {url} forwarded: {exc}") from None
            seen.update(response.json())
    proxy_url = endpoints.llm_proxy_url or endpoints.redis_proxy_url or ""
    calls = UpstreamCalls(proxy_url=proxy_url, llm_calls=seen.get("llm_calls", []),
                          refused=seen.get("refused", 0), cut=seen.get("cut", 0))
    calls.save_file(out / UpstreamCalls.FILE_NAME)
