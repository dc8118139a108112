"""A real Alertmanager routing every alert to a webhook receiver that runs inside the harness.

The receiver records each alert of each notification, with its labels and the time it arrived, as
one JSON line (``harness.schemas.alerts``), so a run can show that an alert was *delivered* (not only
that a rule exists).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from harness.ports import LOOPBACK, pick_port
from harness.process import ManagedProcess, require_binary
from harness.schemas.alerts import AlertNotification, read_notifications
from harness.schemas.files import write_atomic
from harness.schemas.jsonl import append_jsonl
from harness.stack.http import answers

READY_TIMEOUT_S = 30.0
WEBHOOK_PATH = "/alerts"


def _records(payload: dict[str, Any], received_at: float) -> list[AlertNotification]:
    # Alertmanager's webhook payload (version 4): common fields plus a list of alerts.
    return [
        AlertNotification(
            received_at=received_at,
            status=alert.get("status", payload.get("status", "")),
            alertname=alert.get("labels", {}).get("alertname", ""),
            labels=alert.get("labels", {}),
            annotations=alert.get("annotations", {}),
            starts_at=alert.get("startsAt", ""),
            ends_at=alert.get("endsAt", ""),
            receiver=payload.get("receiver", ""),
            group_key=payload.get("groupKey", ""),
        )
        for alert in payload.get("alerts", [])
    ]


class WebhookReceiver:
    """A small threaded HTTP server on loopback appending each alert it receives to ``path``.

    ``with WebhookReceiver(path) as receiver: receiver.url`` -> give ``url`` to Alertmanager.
    """

    def __init__(self, path: Path, port: int | None = None) -> None:
        self.path = Path(path)
        self._port = port
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("webhook receiver not started")
        return f"http://{LOOPBACK}:{self._server.server_address[1]}{WEBHOOK_PATH}"

    def start(self) -> WebhookReceiver:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                received_at = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    records = _records(json.loads(body), received_at)
                except (ValueError, AttributeError):
                    self.send_error(400, "not an Alertmanager webhook payload")
                    return
                receiver._append(records)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # the JSON-lines file is the record; stderr noise helps nobody

        self._server = ThreadingHTTPServer((LOOPBACK, pick_port(self._port, "alert webhook")), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="alert-webhook", daemon=True)
        self._thread.start()
        return self

    def _append(self, records: list[AlertNotification]) -> None:
        with self._lock:
            append_jsonl(self.path, *records)

    def notifications(self) -> list[AlertNotification]:
        with self._lock:
            return read_notifications(self.path)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _duration(seconds: float) -> str:
    """Alertmanager's duration syntax takes whole units: 1s, 500ms (never 0.5s)."""
    return f"{seconds:g}s" if float(seconds).is_integer() else f"{round(seconds * 1000)}ms"


def alertmanager_config(webhook_url: str, group_wait_s: float) -> dict:
    """Route every alert to one webhook; resolved alerts too, so the record shows when it ended."""
    return {
        "route": {
            "receiver": "loadgate",
            "group_by": ["alertname"],
            "group_wait": _duration(group_wait_s),
            "group_interval": _duration(max(group_wait_s, 1)),
            "repeat_interval": "4h",
        },
        "receivers": [{"name": "loadgate", "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}],
    }


def start_alertmanager(
    workdir: Path, webhook_url: str, port: int | None = None, *, group_wait_s: float = 1.0
) -> tuple[ManagedProcess, str]:
    """Start Alertmanager on loopback routing to ``webhook_url``. Returns the process and its URL.

    Give Prometheus ``alertmanager=url.removeprefix("http://")``. Clustering is off (it would
    otherwise listen on every interface, port 9094).
    """
    binary = require_binary("prometheus-alertmanager", "prometheus-alertmanager")
    port = pick_port(port, "alertmanager")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "alertmanager.yml"
    write_atomic(config_path, yaml.safe_dump(alertmanager_config(webhook_url, group_wait_s), sort_keys=False))
    argv = [
        binary,
        f"--config.file={config_path}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address={LOOPBACK}:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    proc = ManagedProcess("alertmanager", argv, log_path=workdir / "alertmanager.log").start()
    url = f"http://{LOOPBACK}:{port}"
    proc.wait_ready(lambda: answers(f"{url}/-/ready"), READY_TIMEOUT_S)
    return proc, url
