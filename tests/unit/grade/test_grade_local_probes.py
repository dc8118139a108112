"""Probe parts that need no service: the access-log format check, and the burst client's HTTP parsing
against an in-process asyncio server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from harness.checklist import load_checklist
from harness.grade.context import GradeContext
from harness.grade.items import grade_item
from harness.grade.rawhttp import ConnectionPool
from harness.schemas.run import Endpoints
from harness.schemas.verdict import ItemStatus

REPO = Path(__file__).resolve().parents[3]


def _grade_log(tmp_path: Path, lines: list[str]) -> tuple[ItemStatus, str]:
    log = tmp_path / "access.log"
    log.write_text("".join(line + "\n" for line in lines))
    checklist = load_checklist(REPO / "checklist.yaml")
    endpoints = Endpoints(target_url="http://127.0.0.1:9", prometheus_url="http://127.0.0.1:9", api_key="k",
                          access_log=log)
    ctx = GradeContext(checklist=checklist, profile="quick", endpoints=endpoints, prom=None)
    result = grade_item(ctx, next(i for i in checklist.items if i.id == "logs_collected"), {})
    return result.status, result.reason


def test_access_log_lines_must_be_json_with_the_fields(tmp_path: Path) -> None:
    good = json.dumps({"ts": 1.0, "request_id": "a", "method": "POST", "path": "/v1/agent/run",
                       "status": 200})
    assert _grade_log(tmp_path, [good, good])[0] == ItemStatus.passed
    status, reason = _grade_log(tmp_path, [good, '127.0.0.1 - "POST /v1/agent/run" 200'])
    assert status == ItemStatus.failed and "1 of 2 lines are not JSON" in reason
    status, reason = _grade_log(tmp_path, [good, json.dumps({"ts": 1.0, "path": "/x"})])
    assert status == ItemStatus.failed and "lack 'status'" in reason
    assert _grade_log(tmp_path, [])[0] == ItemStatus.no_data


@pytest.mark.parametrize("chunked", [False, True])
def test_burst_client_reads_whole_answers_on_one_connection(chunked: bool) -> None:
    async def scenario() -> list[tuple[int, str | None, bytes]]:
        connections = 0

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                await reader.readexactly(length)
                if chunked:
                    writer.write(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n4\r\nslow\r\n5\r\n down\r\n0\r\n\r\n")
                else:
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = ConnectionPool(f"http://127.0.0.1:{port}", 1)
        answers = []
        for _ in range(3):
            response = await pool.post("/v1/agent/run", b"{}", {"Authorization": "Bearer k"})
            answers.append((response.status, response.headers.get("retry-after"), response.body))
        await pool.close()
        server.close()
        assert connections == 1  # keep-alive: one connection served all three
        return answers

    answers = asyncio.run(scenario())
    expected = (429, "2", b"slow down") if chunked else (200, None, b"ok")
    assert answers == [expected] * 3
