"""Thin command line: options -> settings -> pipeline; prints; maps errors to exit codes.

Exit codes (documented in ``loadgate --help``): 0 GO, 1 NO-GO, 2 INVALID, 3 usage, configuration or
infrastructure error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING

from pydantic import ValidationError

from harness.cli_options import EXIT_USAGE, build_parser
from harness.credentials import resolve_secrets
from harness.errors import ConfigError, InternalError, LoadgateError
from harness.hosts import ALLOW_ENV
from harness.proxy import command as proxy_command

if TYPE_CHECKING:  # the pipeline is imported when a command runs, so --help stays quick
    from harness.pipeline import LoadSettings, StackSettings

EXIT_INTERRUPTED = 130

def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _allow_hosts(args: argparse.Namespace) -> list[str]:
    """--allow-host values and LOADGATE_ALLOW_HOSTS's, validated by StackSettings."""
    from_env = [t.strip() for t in os.environ.get(ALLOW_ENV, "").split(",") if t.strip()]
    return [*args.allow_hosts, *from_env]


def _stack_settings(args: argparse.Namespace) -> StackSettings:
    from harness.pipeline import StackSettings

    return StackSettings(
        allow_hosts=_allow_hosts(args), workers=args.service_workers, backend=args.backend,
        target_url=args.target_url, prometheus_url=args.prometheus_url, redis_url=args.redis_url,
        access_log=args.access_log, **proxy_command.driver_settings(args), metrics_url=args.metrics_url,
        **resolve_secrets(args, lambda text: print(f"loadgate: warning: {text}", file=sys.stderr)),
    )


def _run_settings(args: argparse.Namespace) -> dict:
    return {
        "checklist": args.checklist, "profile": args.profile, "reports_dir": args.reports_dir,
        "run_id": args.run_id, "force": args.force, "load_workers": args.load_workers, "seed": args.seed,
        "progress": False if args.no_progress else None, "stack": _stack_settings(args),
        "service_file": args.service_file, "load": _load_settings(args),
    }


def _load_settings(args: argparse.Namespace) -> LoadSettings:
    """The LOADGATE_* environment, with the remote workers the command line asks for."""
    from harness.pipeline import LoadSettings

    if args.expect_workers and not args.master_bind:
        raise ConfigError("--expect-workers needs --master-bind HOST:PORT: the address the workers "
                          "on other hosts connect to")
    given = {"expect_workers": args.expect_workers, "master_bind": args.master_bind}
    return LoadSettings(**{k: v for k, v in given.items() if v})


def _terminate_as_interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so every `with Stack(...)` tears its processes down.
    raise KeyboardInterrupt


def _cmd_gate(args: argparse.Namespace) -> int:
    from harness import pipeline

    settings = pipeline.GateSettings(**_run_settings(args), scenarios=args.scenarios,
                                     baseline=args.baseline, attest=args.attest)
    folder, verdict = pipeline.gate(settings, _say)
    print(pipeline.summary(folder))
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

    settings = pipeline.RunSettings(checklist=args.checklist, reports_dir=args.reports_dir,
                                    run_id=args.run_id, service_file=args.service_file, force=args.force,
                                    stack=pipeline.StackSettings(allow_hosts=_allow_hosts(args),
                                                        prometheus_url=args.prometheus_url))
    folder, verdict = pipeline.check(settings, since=args.since, until=args.until, job=args.job, say=_say)
    print(pipeline.summary(folder))
    return verdict.outcome.exit_code


def _cmd_capacity(args: argparse.Namespace) -> int:
    from harness import pipeline

    if args.compare:
        folder = pipeline.compare_capacity(args.compare, args.reports_dir)
        print(f"comparison: {folder / 'compare.html'}")
        return 0
    capacity = pipeline.CapacitySettings(
        mode=args.mode, worker_counts=args.workers, peak_qps=args.peak_qps, headroom=args.headroom,
        llm_latency_s=args.llm_latency, tolerance=args.tolerance, fresh_share=args.fresh_share,
        fresh_share_what_if=args.what_if_fresh_share, cost_per_replica=args.cost_per_replica,
        cost_unit=args.cost_unit, time_budget_s=args.time_budget, load_workers=args.load_workers)
    settings = pipeline.CapacityRunSettings(**_run_settings(args), capacity=capacity)
    folder, result = pipeline.capacity(settings, _say)
    print(pipeline.summary(folder))
    return 0 if result.max_sustainable_rps else 1


def _cmd_validate(args: argparse.Namespace) -> int:
    from harness import pipeline

    checklist, profile = pipeline.validate(args.checklist, args.profile)
    queries = sum(1 for i in checklist.items if i.query)
    print(f"{args.checklist}: valid — {len(checklist.items)} items, profiles {', '.join(checklist.profiles)} "
          f"(checked: {profile}), {queries} PromQL template{'s' if queries != 1 else ''} parsed")
    return 0


def _cmd_detect(args: argparse.Namespace) -> int:
    from harness.pipeline import StackSettings
    from harness.target.discover import detect, render

    # Validated like a run's URLs: detection sends requests too.
    urls = StackSettings(allow_hosts=_allow_hosts(args), target_url=args.target_url,
                         metrics_url=args.metrics_url, prometheus_url=args.prometheus_url)
    key = resolve_secrets(args, lambda text: print(f"loadgate: warning: {text}", file=sys.stderr))["api_key"]
    detection = detect(urls.target_url or args.target_url, metrics=urls.metrics_url,
                       prometheus_url=urls.prometheus_url, job=args.job, api_key=key)
    print(render(detection), end="")
    return 0 if detection.chosen is not None else EXIT_USAGE


def _cmd_report(args: argparse.Namespace) -> int:
    from harness import pipeline

    print(pipeline.report(args.run_dir))
    return 0


def _cmd_up(args: argparse.Namespace) -> int:
    from harness import pipeline

    def ready(state: dict) -> None:
        for key in ("target_url", "prometheus_url", "redis_url", "llm_proxy_url", "redis_proxy_url"):
            if state.get(key):
                print(f"{key:15} {state[key]}")
        for name, path in sorted(state["secret_files"].items()):  # the paths, never the values
            print(f"{name + '_file':15} {path}")
        print("stack is up; Ctrl-C or `loadgate down` stops it", flush=True)

    pipeline.up(_stack_settings(args), args.state_file, ready)
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    from harness import pipeline

    print("stack stopped" if pipeline.down(args.state_file)
          else "stack was not running (stale state file removed)")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from harness import pipeline

    parts = pipeline.status(args.state_file)
    for name, up, where in parts:
        print(f"{name:15} {'up  ' if up else 'DOWN'} {where}")
    return 0 if all(up for _, up, _ in parts) else EXIT_USAGE


def _one_line(exc: ValidationError) -> str:
    """An option that failed validation, as 'option --x: why' (pydantic's own text is multi-line)."""
    parts = []
    for err in exc.errors():
        name = "--" + "-".join(str(p) for p in err["loc"]).replace("_", "-") if err["loc"] else "options"
        parts.append(f"option {name}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def _cmd_worker(args: argparse.Namespace) -> int:
    from harness import pipeline

    return pipeline.worker(args.master, args.name, args.idle_exit, _allow_hosts(args), _say)


COMMANDS = {"gate": _cmd_gate, "run": _cmd_run, "check": _cmd_check, "capacity": _cmd_capacity,
            "detect": _cmd_detect, "report": _cmd_report, "validate": _cmd_validate,
            "up": _cmd_up, "down": _cmd_down, "status": _cmd_status, "worker": _cmd_worker,
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
