"""The command line's options: ``loadgate --help`` and each command's, parsed into a namespace.

``harness.cli`` turns the namespace into settings and calls the pipeline.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from harness import __version__
from harness.credentials import add_secret_options
from harness.hosts import ALLOW_ENV
from harness.proxy import command as proxy_command

EXIT_USAGE = 3
STATE_FILE = Path(".loadgate/stack.json")
Command = Callable[[str, str, str], argparse.ArgumentParser]

DESCRIPTION = """\
Load-test an AI-agent HTTP service, grade it against a launch checklist, and report GO / NO-GO.

The common path:  loadgate gate --profile quick
  starts redis-server, prometheus and the bundled reference agent service on free loopback ports,
  runs every Locust scenario the checklist needs (2x target QPS, 1000 users, LLM slowdown, ...),
  grades each checklist item from Prometheus, the load generator's statistics and active probes,
  and writes reports/<run-id>/report.html, verdict.json and junit.xml.

Your own service:  loadgate gate --target-url http://127.0.0.1:8000 --api-key-file key.txt \\
                                 --prometheus-url http://127.0.0.1:9090
"""

EPILOG = """\
exit codes:
  0  GO       every blocker passed with enough data
  1  NO-GO    a blocker failed (or had no data)
  2  INVALID  the run cannot be trusted (load generator saturated, Prometheus gaps, too few samples)
  3  usage, configuration or infrastructure error (bad checklist, port in use, unreachable URL)
  (capacity: 0 when a sustainable rate was found, 1 when no rate met the SLO)
  130 interrupted (Ctrl-C / SIGTERM); spawned processes are stopped either way
"""


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage, which would read as INVALID: usage errors are 3 here."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=34)


def _timestamp(text: str) -> float:
    """Unix seconds, ISO 8601, or relative like '-15m' / '-2h' (from now)."""
    text = text.strip()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if text.startswith("-") and text[-1] in units:
            return time.time() - float(text[1:-1]) * units[text[-1]]
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a time: use unix seconds, ISO 8601 or -15m/-2h") from None


def _add_run_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("run")
    g.add_argument("--checklist", type=Path, default=Path("checklist.yaml"),
                   help="the launch checklist (default: %(default)s)")
    g.add_argument("--profile", help="profile from the checklist: quick (CI, minutes) or full (release)")
    g.add_argument("--reports-dir", type=Path, default=Path("reports"), help="where run folders go")
    g.add_argument("--run-id", help="name of the run folder (default: UTC time + random suffix)")
    g.add_argument("--force", action="store_true",
                   help="replace the run folder of a reused --run-id (default: refuse it)")
    g.add_argument("--load-workers", type=int, default=1, metavar="N",
                   help="Locust worker processes (default: %(default)s)")
    g.add_argument("--expect-workers", type=int, default=0, metavar="N",
                   help="also wait for N load-generator workers on other hosts, started with\n"
                        "`loadgate worker --master HOST:PORT` (needs --master-bind)")
    g.add_argument("--master-bind", metavar="HOST:PORT",
                   help="where the Locust master listens for workers (default: a free loopback port);\n"
                        "a non-loopback address needs --allow-host HOST[:PORT] as a remote target does")
    g.add_argument("--no-progress", action="store_true", help="no live progress line")
    g.add_argument("--seed", type=int, metavar="N",
                   help="seed of the load's random draws (arrivals, prompts); run.json records the one used, "
                        "so a run can be repeated with the same draws")


def _add_stack_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("stack (each URL given is used instead of starting one; loopback unless "
                             "--allow-host)")
    g.add_argument("--target-url", help="your agent service (default: start the bundled one)")
    add_secret_options(g)
    g.add_argument("--access-log", type=Path, help="the target's JSON access log, for the log probes")
    g.add_argument("--prometheus-url", help="your Prometheus (default: start one scraping the target)")
    g.add_argument("--service", type=Path, dest="service_file", metavar="FILE",
                   help="the service profile (preset + overrides, as checklist.yaml's service:); "
                        "default: the checklist's, else detected on --target-url")
    g.add_argument("--metrics-url", help="your service's metrics when not at TARGET/metrics "
                                         "(e.g. prometheus_client's start_http_server port)")
    g.add_argument("--redis-url", help="your Redis for the bundled service (default: start one)")
    _add_allow_host(g)
    g.add_argument("--service-workers", type=int, default=1, metavar="N",
                   help="uvicorn workers of the bundled service (default: %(default)s)")
    g.add_argument("--backend", choices=["local", "simulated", "openai"], default="local",
                   help="LLM backend of the bundled service (default: %(default)s)")
    proxy_command.add_driver_options(g)


def _add_allow_host(g: argparse._ActionsContainer) -> None:
    g.add_argument("--allow-host", action="append", dest="allow_hosts", default=[], metavar="HOST[:PORT]",
                   help=f"a host besides loopback that URLs may name (repeatable; env {ALLOW_ENV}, "
                        "comma-separated); without it a non-loopback URL is refused")


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of whole numbers") from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"'{text}': worker counts start at 1")
    return values


def _float_list(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of numbers") from None
    if any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"'{text}': each value must be above 0")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="loadgate", description=DESCRIPTION, epilog=EPILOG, formatter_class=_formatter)
    parser.add_argument("--version", action="version", version=f"loadgate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, description=description, epilog=EPILOG,
                              formatter_class=_formatter)

    for add in (_gate_command, _run_command, _check_command, _capacity_command, _validate_command,
                _detect_command, _report_command, _up_command, _down_command, _status_command,
                _proxy_command, _worker_command):
        add(command)
    return parser


def _gate_command(command: Command) -> None:
    p = command("gate", "run the whole launch gate and report GO / NO-GO",
                "Start the stack, run every scenario the checklist's items read, grade every item\n"
                "(Prometheus, client statistics, probes), write the report, stop the stack.\n"
                "Example: loadgate gate --profile quick --attest oncall_notified=alice")
    _add_run_options(p)
    _add_stack_options(p)
    p.add_argument("--scenario", action="append", dest="scenarios", metavar="NAME",
                   help="run only this scenario (repeatable); items reading others get no-data")
    p.add_argument("--baseline", type=Path, metavar="RUN_DIR",
                   help="an earlier run folder: flag regressions beyond each item's tolerance")
    p.add_argument("--attest", action="append", default=[], metavar="ITEM=WHO[@WHEN]",
                   help="a human's word for a manual item, e.g. oncall_notified=alice@2026-11-24")


def _run_command(command: Command) -> None:
    p = command("run", "run one load scenario (no grading)",
                "Start the stack and run one scenario of the checklist's profile, writing the timeline,\n"
                "client statistics and request log to reports/<run-id>/.\n"
                "Scenarios: target_2x, concurrency_1000, llm_slowdown, redis_outage, soak, spike,\n"
                "trace_replay (--trace FILE), agent_sessions.")
    p.add_argument("scenario", help="scenario name, e.g. target_2x")
    p.add_argument("--trace", type=Path, metavar="FILE",
                   help="trace_replay: requests to replay at their timestamps, CSV or JSONL; columns\n"
                        "timestamp|TIMESTAMP, optional prompt_tokens|ContextTokens and\n"
                        "output_tokens|GeneratedTokens (scenarios/README.md)")
    _add_run_options(p)
    _add_stack_options(p)


def _check_command(command: Command) -> None:
    p = command("check", "grade an existing window of any Prometheus (no load)",
                "Grade the checklist's metric items over [--since, --until] in a Prometheus you run\n"
                "(probe and client items need a run: use `gate`).\n"
                "Example: loadgate check --prometheus-url http://127.0.0.1:9090 --since -15m --until -1m")
    p.add_argument("--prometheus-url", required=True)
    _add_allow_host(p)
    p.add_argument("--since", type=_timestamp, required=True, help="unix seconds, ISO 8601, or -15m")
    p.add_argument("--until", type=_timestamp, default=time.time(), help="default: now")
    p.add_argument("--checklist", type=Path, default=Path("checklist.yaml"))
    p.add_argument("--reports-dir", type=Path, default=Path("reports"))
    p.add_argument("--run-id")
    p.add_argument("--force", action="store_true", help="replace the run folder of a reused --run-id")
    p.add_argument("--job", help="the Prometheus job label of your service's scrape "
                                 "(default: the service profile's metrics.job, agent)")
    p.add_argument("--service", type=Path, dest="service_file", metavar="FILE",
                   help="the service profile (preset + overrides); default: the checklist's")


def _capacity_command(command: Command) -> None:
    p = command("capacity", "find the highest sustainable QPS, how it scales, and replicas needed",
                "Search the highest open-model arrival rate at which the checklist's SLO (P99, error rate)\n"
                "still holds: a probe, a sweep that also probes above its own estimate, then bisection\n"
                "to a tolerance; each step starts from a drained service. Repeats per uvicorn worker count\n"
                "(the bundled service is restarted), fits the Universal Scalability Law and plans replicas.\n"
                "Near capacity a step passes or fails by chance, so the answer comes with a breaking rate\n"
                "(where a hold of 30 s quick, 120 s full, passes half the time), its 95% interval from\n"
                "every step, and the interval a rerun's estimate is expected in (one run's bracket is\n"
                "narrower than the spread between reruns).\n"
                "Example: loadgate capacity --peak-qps 50,100,200 --headroom 2 --llm-latency 0.5\n"
                "Side by side: loadgate capacity --compare reports/RUN_A reports/RUN_B")
    _add_run_options(p)
    _add_stack_options(p)
    g = p.add_argument_group("capacity")
    g.add_argument("--mode", choices=["quick", "full"], default="quick",
                   help="quick: < 10 minutes, 10%% tolerance; full: longer steps, 5%% (default: %(default)s)")
    g.add_argument("--workers", type=_int_list, default=[1, 2], metavar="N[,N...]",
                   help="uvicorn worker counts to search (default: 1,2)")
    g.add_argument("--peak-qps", type=_float_list, default=[], metavar="QPS[,QPS...]",
                   help="expected peak traffic, for the replica plan (several: one plan each)")
    g.add_argument("--headroom", type=float, default=2.0,
                   help="capacity over the peak, as the checklist's 2x load test (default: %(default)s)")
    g.add_argument("--llm-latency", type=float, action="append", default=[], metavar="SECONDS",
                   help="what-if: search again with the LLM this much slower (repeatable)")
    g.add_argument("--tolerance", type=float, help="relative width the bisection stops at")
    g.add_argument("--fresh-share", type=float, default=1.0,
                   help="share of requests made to miss the response cache; 1 (default) is the "
                        "cold-cache capacity, which no cache warming moves; lower credits the cache")
    g.add_argument("--what-if-fresh-share", type=float, action="append", default=[], metavar="SHARE",
                   help="what-if: search again with this share of cache-missing requests (repeatable)")
    g.add_argument("--cost-per-replica", type=float, metavar="AMOUNT",
                   help="price of one replica, to cost each replica plan")
    g.add_argument("--cost-unit", default="per replica-month",
                   help="what --cost-per-replica is in (default: %(default)s)")
    g.add_argument("--time-budget", type=float, metavar="SECONDS", help="for the whole search")
    g.add_argument("--compare", type=Path, nargs="+", metavar="RUN_DIR",
                   help="run nothing: render these earlier capacity runs side by side")


def _validate_command(command: Command) -> None:
    p = command("validate", "check a checklist without running anything",
                "Load the checklist and report its first mistake with file, line and field: its shape,\n"
                "measure and probe names, each item's params, and every PromQL template (parsed by\n"
                "promtool). Starts no stack and sends no request; gate, run and capacity do the same first.\n"
                "Example: loadgate validate --checklist checklist.yaml")
    p.add_argument("--checklist", type=Path, default=Path("checklist.yaml"))
    p.add_argument("--profile", help="also check that this profile exists")


def _detect_command(command: Command) -> None:
    p = command("detect", "say which service preset fits your service, as YAML to paste",
                "Read your service's metrics (TARGET/metrics, --metrics-url, or the series in\n"
                "--prometheus-url), try every preset (bundled, seed-article, fastapi-instrumentator,\n"
                "opentelemetry, openai) and print the service: profile that fits, with what matched and\n"
                "what is missing. Exit 0 when a preset fits, 3 when none does or nothing answers.\n"
                "Example: loadgate detect --target-url http://127.0.0.1:8000 --metrics-url "
                "http://127.0.0.1:9090/metrics")
    p.add_argument("--target-url", required=True, help="your agent service")
    p.add_argument("--metrics-url", help="its metrics when not at TARGET/metrics")
    p.add_argument("--prometheus-url", help="read the series names a Prometheus holds instead")
    p.add_argument("--job", help="the Prometheus job of your service (default: every job is tried)")
    _add_allow_host(p)
    # The key is only for GET /v1/models on an OpenAI-compatible server that wants one.
    add_secret_options(p.add_argument_group("keys"))


def _report_command(command: Command) -> None:
    p = command("report", "re-render the HTML report of a finished run folder",
                "Re-render reports/<run-id>/report.html (and reports/index.html) from the run folder alone.")
    p.add_argument("run_dir", type=Path)


def _up_command(command: Command) -> None:
    p = command("up", "start the stack and keep it running until Ctrl-C or `loadgate down`",
                "Start redis-server, prometheus and the bundled service on free loopback ports and print\n"
                "their URLs; stays in the foreground. State goes to .loadgate/stack.json for status/down.")
    _add_stack_options(p)
    p.add_argument("--state-file", type=Path, default=STATE_FILE)


def _down_command(command: Command) -> None:
    p = command("down", "stop a stack started with `loadgate up`",
                "Stop the `loadgate up` process and its children.")
    p.add_argument("--state-file", type=Path, default=STATE_FILE)


def _status_command(command: Command) -> None:
    p = command("status", "show the stack started with `loadgate up`",
                "Show each part of the running stack and whether it answers.")
    p.add_argument("--state-file", type=Path, default=STATE_FILE)


def _proxy_command(command: Command) -> None:
    proxy_command.add_arguments(command("proxy", "run an LLM (HTTP/SSE) or TCP fault proxy in the foreground",
                                        proxy_command.DESCRIPTION))


def _worker_command(command: Command) -> None:
    p = command("worker", "generate load for a gate, run or capacity search on another host",
                "Join the Locust master of a `loadgate gate|run|capacity --expect-workers N\n"
                "--master-bind HOST:PORT` as one of its N workers, for every scenario of the run, until\n"
                "no master has answered for --idle-exit seconds. This host needs the same loadgate\n"
                "revision (the master refuses other code, exit 3) and a clock within 100 ms of the\n"
                "master's (LOADGATE_MAX_CLOCK_SKEW_MS). Example: loadgate worker --master 10.0.0.5:5557 "
                "--allow-host 10.0.0.5")
    p.add_argument("--master", required=True, metavar="HOST:PORT", help="the run's --master-bind address")
    p.add_argument("--name", default=f"{socket.gethostname()}-{os.getpid()}",
                   help="what the master calls this worker in errors and reports (default: host-pid)")
    p.add_argument("--idle-exit", type=float, default=300.0, metavar="SECONDS",
                   help="end when no master has answered this long (default: %(default)s)")
    _add_allow_host(p)
