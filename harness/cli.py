"""Thin command line: options -> settings -> pipeline; prints; maps errors to exit codes.

Exit codes (documented in ``loadgate --help``): 0 GO, 1 NO-GO, 2 INVALID, 3 usage, configuration or
infrastructure error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType

from pydantic import ValidationError

from harness import __version__
from harness.errors import ConfigError, InternalError, LoadgateError
from harness.hosts import ALLOW_ENV
from harness.proxy import command as proxy_command
from harness.stack import StackSettings

EXIT_USAGE = 3
EXIT_INTERRUPTED = 130
STATE_FILE = Path(".loadgate/stack.json")

DESCRIPTION = """\
Load-test an AI-agent HTTP service, grade it against a launch checklist, and report GO / NO-GO.

The common path:  loadgate gate --profile quick
  starts redis-server, prometheus and the bundled reference agent service on free loopback ports,
  runs every Locust scenario the checklist needs (2x target QPS, 1000 users, LLM slowdown, ...),
  grades each checklist item from Prometheus, the load generator's statistics and active probes,
  and writes reports/<run-id>/report.html, verdict.json and junit.xml.

Your own service:  loadgate gate --target-url http://127.0.0.1:8000 --api-key $KEY \\
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


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


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
    g.add_argument("--no-progress", action="store_true", help="no live progress line")


def _add_stack_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("stack (each URL given is used instead of starting one; loopback unless "
                             "--allow-host)")
    g.add_argument("--target-url", help="your agent service (default: start the bundled one)")
    g.add_argument("--api-key", default=os.environ.get("LOADGATE_API_KEY"),
                   help="API key for --target-url (env LOADGATE_API_KEY)")
    g.add_argument("--api-key-2", default=os.environ.get("LOADGATE_API_KEY_2"),
                   help="a second key for the rate-limit probe (env LOADGATE_API_KEY_2)")
    g.add_argument("--admin-token", default=os.environ.get("LOADGATE_ADMIN_TOKEN"),
                   help="admin token for fault injection on --target-url (env LOADGATE_ADMIN_TOKEN)")
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


def _add_allow_host(g: argparse._ActionsContainer) -> None:
    g.add_argument("--allow-host", action="append", dest="allow_hosts", default=[], metavar="HOST[:PORT]",
                   help=f"a host besides loopback that URLs may name (repeatable; env {ALLOW_ENV}, "
                        "comma-separated); without it a non-loopback URL is refused")


def _allow_hosts(args: argparse.Namespace) -> list[str]:
    """--allow-host values and LOADGATE_ALLOW_HOSTS's, validated by StackSettings."""
    from_env = [t.strip() for t in os.environ.get(ALLOW_ENV, "").split(",") if t.strip()]
    return [*args.allow_hosts, *from_env]


def _stack_settings(args: argparse.Namespace) -> StackSettings:
    return StackSettings(
        allow_hosts=_allow_hosts(args), workers=args.service_workers, backend=args.backend,
        target_url=args.target_url,
        prometheus_url=args.prometheus_url, redis_url=args.redis_url, api_key=args.api_key,
        api_key_2=args.api_key_2, admin_token=args.admin_token, access_log=args.access_log,
        metrics_url=args.metrics_url,
    )


def _run_settings(args: argparse.Namespace) -> dict:
    return {
        "checklist": args.checklist, "profile": args.profile, "reports_dir": args.reports_dir,
        "run_id": args.run_id, "force": args.force, "load_workers": args.load_workers,
        "progress": False if args.no_progress else None, "stack": _stack_settings(args),
        "service_file": args.service_file,
    }


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
    p.add_argument("--api-key", default=os.environ.get("LOADGATE_API_KEY"),
                   help="API key, for GET /v1/models on an OpenAI-compatible server (env LOADGATE_API_KEY)")
    _add_allow_host(p)

    p = command("report", "re-render the HTML report of a finished run folder",
                "Re-render reports/<run-id>/report.html (and reports/index.html) from the run folder alone.")
    p.add_argument("run_dir", type=Path)

    p = command("up", "start the stack and keep it running until Ctrl-C or `loadgate down`",
                "Start redis-server, prometheus and the bundled service on free loopback ports and print\n"
                "their URLs; stays in the foreground. State goes to .loadgate/stack.json for status/down.")
    _add_stack_options(p)
    p.add_argument("--state-file", type=Path, default=STATE_FILE)

    p = command("down", "stop a stack started with `loadgate up`",
                "Stop the `loadgate up` process and its children.")
    p.add_argument("--state-file", type=Path, default=STATE_FILE)

    p = command("status", "show the stack started with `loadgate up`",
                "Show each part of the running stack and whether it answers.")
    p.add_argument("--state-file", type=Path, default=STATE_FILE)
    proxy_command.add_arguments(command("proxy", "run an LLM (HTTP/SSE) or TCP fault proxy in the foreground",
                                        proxy_command.DESCRIPTION))
    return parser


def _terminate_as_interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so every `with Stack(...)` tears its processes down.
    raise KeyboardInterrupt


def _cmd_gate(args: argparse.Namespace) -> int:
    from harness import pipeline
    from harness.report import terminal_summary

    settings = pipeline.GateSettings(**_run_settings(args), scenarios=args.scenarios,
                                     baseline=args.baseline, attest=args.attest)
    folder, verdict = pipeline.gate(settings, _say)
    print(terminal_summary(folder))
    return verdict.outcome.exit_code


def _cmd_run(args: argparse.Namespace) -> int:
    from harness import pipeline

    settings = pipeline.RunSettings(**_run_settings(args), trace=args.trace)
    folder, result = pipeline.run(settings, args.scenario, _say)
    print(f"scenario {result.name}: {result.status.value}{(' — ' + result.reason) if result.reason else ''}")
    for reason in result.invalid_reasons:
        print(f"  invalid: {reason}")
    print(f"run folder: {folder.root}")
    return 0 if result.status.value == "completed" and not result.invalid_reasons else 2


def _cmd_check(args: argparse.Namespace) -> int:
    from harness import pipeline
    from harness.report import terminal_summary

    settings = pipeline.RunSettings(checklist=args.checklist, reports_dir=args.reports_dir,
                                    run_id=args.run_id, service_file=args.service_file, force=args.force,
                                    stack=StackSettings(allow_hosts=_allow_hosts(args),
                                                        prometheus_url=args.prometheus_url))
    folder, verdict = pipeline.check(settings, since=args.since, until=args.until, job=args.job, say=_say)
    print(terminal_summary(folder))
    return verdict.outcome.exit_code


def _cmd_capacity(args: argparse.Namespace) -> int:
    from harness import pipeline
    from harness.capacity import CapacitySettings

    if args.compare:
        folder = pipeline.compare_capacity(args.compare, args.reports_dir)
        print(f"comparison: {folder / 'compare.html'}")
        return 0
    capacity = CapacitySettings(
        mode=args.mode, worker_counts=args.workers, peak_qps=args.peak_qps, headroom=args.headroom,
        llm_latency_s=args.llm_latency, tolerance=args.tolerance, fresh_share=args.fresh_share,
        fresh_share_what_if=args.what_if_fresh_share, cost_per_replica=args.cost_per_replica,
        cost_unit=args.cost_unit, time_budget_s=args.time_budget, load_workers=args.load_workers)
    settings = pipeline.CapacityRunSettings(**_run_settings(args), capacity=capacity)
    folder, result = pipeline.capacity(settings, _say)
    print(result.summary)
    print(f"report: {folder.report_html}")
    return 0 if result.max_sustainable_rps else 1


def _cmd_detect(args: argparse.Namespace) -> int:
    from harness.target.discover import detect, render

    # Validated like a run's URLs: detection sends requests too.
    urls = StackSettings(allow_hosts=_allow_hosts(args), target_url=args.target_url,
                         metrics_url=args.metrics_url, prometheus_url=args.prometheus_url)
    detection = detect(urls.target_url or args.target_url, metrics=urls.metrics_url,
                       prometheus_url=urls.prometheus_url, job=args.job, api_key=args.api_key)
    print(render(detection), end="")
    return 0 if detection.chosen is not None else EXIT_USAGE


def _cmd_report(args: argparse.Namespace) -> int:
    from harness import pipeline

    print(pipeline.report(args.run_dir))
    return 0


def _cmd_up(args: argparse.Namespace) -> int:
    from harness.stack import Stack

    settings = _stack_settings(args).model_copy(update={"run_dir": args.state_file.parent / "stack-run"})
    with Stack(settings) as stack:
        state = {"pid": os.getpid(), "started": time.time(),
                 **stack.endpoints.model_dump(mode="json"),
                 "processes": [{"name": p.name, "pid": p.pid} for p in stack.processes]}
        args.state_file.parent.mkdir(parents=True, exist_ok=True)
        args.state_file.write_text(json.dumps(state, indent=2))
        for key in ("target_url", "prometheus_url", "redis_url", "api_key"):
            print(f"{key:15} {state[key]}")
        print("stack is up; Ctrl-C or `loadgate down` stops it", flush=True)
        try:
            signal.pause()
        finally:
            args.state_file.unlink(missing_ok=True)
    return 0


def _read_state(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError("no stack is running here (start one with `loadgate up`)", path=str(path)) from None


def _cmd_down(args: argparse.Namespace) -> int:
    state = _read_state(args.state_file)
    try:
        os.kill(state["pid"], signal.SIGTERM)
    except ProcessLookupError:
        args.state_file.unlink(missing_ok=True)
        print("stack was not running (stale state file removed)")
        return 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and args.state_file.exists():
        time.sleep(0.2)
    print("stack stopped")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from harness.stack.http import answers

    state = _read_state(args.state_file)
    checks = {"target service": f"{state['target_url']}/healthz",
              "prometheus": f"{state['prometheus_url']}/-/ready"}
    healthy = True
    for name, url in checks.items():
        ok = answers(url)
        healthy &= ok
        print(f"{name:15} {'up  ' if ok else 'DOWN'} {url}")
    for proc in state["processes"]:
        alive = _pid_alive(proc["pid"])
        healthy &= alive
        print(f"{proc['name']:15} {'up  ' if alive else 'DOWN'} pid {proc['pid']}")
    return 0 if healthy else EXIT_USAGE


def _one_line(exc: ValidationError) -> str:
    """An option that failed validation, as 'option --x: why' (pydantic's own text is multi-line)."""
    parts = []
    for err in exc.errors():
        name = "--" + "-".join(str(p) for p in err["loc"]).replace("_", "-") if err["loc"] else "options"
        parts.append(f"option {name}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


COMMANDS = {"gate": _cmd_gate, "run": _cmd_run, "check": _cmd_check, "capacity": _cmd_capacity,
            "detect": _cmd_detect, "report": _cmd_report,
            "up": _cmd_up, "down": _cmd_down, "status": _cmd_status,
            "proxy": lambda args: proxy_command.run(args, _say)}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        return COMMANDS[args.command](args)
    except LoadgateError as exc:
        print(f"loadgate: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValidationError as exc:
        print(f"loadgate: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("loadgate: interrupted; stack stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a bug outside any run folder: still exit 3, not NO-GO
        print(f"loadgate: error: {InternalError.saved(exc, _save_traceback())}", file=sys.stderr)
        return EXIT_USAGE


def _save_traceback() -> str:
    """The current exception's traceback in a file of its own (no run folder to hold it)."""
    fd, path = tempfile.mkstemp(prefix="loadgate-crash-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(traceback.format_exc())
    return path


if __name__ == "__main__":
    sys.exit(main())
