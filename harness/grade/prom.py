"""Prometheus reads for grading (prometheus-api-client), with errors that name the URL and query."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from urllib3.util.retry import Retry

from harness.errors import GradeError

Labels = dict[str, str]
Points = list[tuple[float, float]]


class PromQueryError(GradeError):
    """One query failed (bad PromQL, Prometheus refused it): the item gets no-data, not the run."""


class Prom:
    def __init__(self, url: str, timeout_s: float = 15.0) -> None:
        self.url = url.rstrip("/")
        # One quick retry: a grade must not stall for the client's default exponential back-off.
        retry = Retry(total=1, backoff_factor=0.2, status_forcelist=[502, 503, 504])
        # A 3xx is an error, never followed: requests follows 30, which could send our reads anywhere.
        self._session = requests.Session()
        self._session.max_redirects = 0
        self._client = PrometheusConnect(url=self.url, retry=retry, timeout=timeout_s, session=self._session)
        self._timeout_s = timeout_s
        self._intervals: dict[str, float | None] = {}

    def close(self) -> None:
        self._client.close()

    def check(self) -> None:
        """Raise when Prometheus does not answer at all (every metric item would be no-data)."""
        # /-/ready, not the client's check of "/": Prometheus answers "/" with a redirect to its UI.
        response = self._call(lambda: self._session.get(f"{self.url}/-/ready", timeout=self._timeout_s),
                              "/-/ready")
        if response.status_code != 200:
            raise GradeError(f"Prometheus at {self.url} answers, but not as a Prometheus server")

    def instant(self, query: str, at: float) -> list[tuple[Labels, float]]:
        data = self._call(lambda: self._client.custom_query(query, params={"time": f"{at:.3f}"}), query)
        return [(r["metric"], float(r["value"][1])) for r in data]

    def scalar(self, query: str, at: float) -> float | None:
        """The single value of a query that aggregates to one series; None when there is no series."""
        rows = self.instant(query, at)
        if len(rows) > 1:
            raise PromQueryError(f"query returned {len(rows)} series, expected one: {query}")
        return rows[0][1] if rows else None

    def range(self, query: str, start: float, end: float, step_s: float) -> list[tuple[Labels, Points]]:
        data = self._call(lambda: self._client.custom_query_range(
            query, start_time=datetime.fromtimestamp(start, UTC), end_time=datetime.fromtimestamp(end, UTC),
            step=f"{step_s:g}s"), query)
        return [(r["metric"], [(float(t), float(v)) for t, v in r["values"]]) for r in data]

    def api(self, path: str) -> Any:
        """GET /api/v1/<path> and return its ``data``."""
        url = f"{self.url}/api/v1/{path}"
        response = self._call(lambda: self._session.get(url, timeout=self._timeout_s), path)
        if response.status_code != 200:
            raise PromQueryError(f"Prometheus at {self.url}: /api/v1/{path} answered {response.status_code}")
        return response.json()["data"]

    def scrape_interval_s(self, job: str) -> float | None:
        """The configured scrape interval of ``job`` (from /api/v1/targets), None when not a target."""
        if job not in self._intervals:
            targets = self.api("targets?state=active").get("activeTargets", [])
            mine = [t["scrapeInterval"] for t in targets
                    if t.get("labels", {}).get("job") == job and t.get("scrapeInterval")]
            self._intervals[job] = _duration_s(mine[0]) if mine else None
        return self._intervals[job]

    def _call(self, fn: Any, what: str) -> Any:
        try:
            return fn()
        except requests.TooManyRedirects as exc:
            raise GradeError(f"Prometheus at {self.url} answered with a redirect, which loadgate never "
                             "follows: give the URL Prometheus itself serves") from exc
        except requests.RequestException as exc:
            raise GradeError(f"Prometheus at {self.url} is unreachable: {type(exc).__name__}") from exc
        except PrometheusApiClientException as exc:
            raise PromQueryError(f"Prometheus at {self.url} refused `{what}`: {exc}") from exc


def _duration_s(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in ("ms", "s", "m", "h"):
        if text.endswith(unit) and text[: -len(unit)].replace(".", "", 1).isdigit():
            return float(text[: -len(unit)]) * units[unit]
    raise PromQueryError(f"cannot read scrape interval {text!r}")


def scrape_interval_s(prometheus_url: str, job: str) -> float | None:
    """The job's configured scrape interval in the Prometheus at ``prometheus_url``; None when it
    cannot say (unreachable, or the job is not one of its targets)."""
    prom = Prom(prometheus_url, timeout_s=5.0)
    try:
        return prom.scrape_interval_s(job)
    except GradeError:
        return None
    finally:
        prom.close()
