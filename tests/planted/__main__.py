"""Command line of the planted service (see tests/planted/__init__.py)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import uvicorn

from tests.planted.app import Knobs, create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.planted")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-key", action="append", dest="api_keys")
    parser.add_argument("--any-key", action="store_true")
    parser.add_argument("--no-rate-limit", action="store_true")
    parser.add_argument("--rate-per-s", type=float, default=200.0)
    parser.add_argument("--burst", type=float, default=100.0)
    parser.add_argument("--leak-mb-per-s", type=float, default=0.0)
    parser.add_argument("--leak-kb-per-request", type=float, default=0.0)
    parser.add_argument("--cache-kb", type=float, default=0.0)
    parser.add_argument("--cache-entries", type=int, default=0)
    parser.add_argument("--slow-every", type=int, default=0)
    parser.add_argument("--slow-s", type=float, default=4.2)
    parser.add_argument("--error-every", type=int, default=0)
    parser.add_argument("--shed-every", type=int, default=0)
    parser.add_argument("--bad-request-every", type=int, default=0)
    parser.add_argument("--garbage-every", type=int, default=0)
    parser.add_argument("--service-time-s", type=float, default=0.0)
    parser.add_argument("--max-concurrency", type=int, default=0)
    parser.add_argument("--access-log", type=Path)
    parser.add_argument("--log-input", action="store_true")
    parser.add_argument("--log-late-s", type=float, default=0.0)
    args = vars(parser.parse_args())
    port = args.pop("port")
    # Keys from the environment keep them out of `ps`, as loadgate's own tests of that need.
    from_env = [k for k in os.environ.get("PLANTED_API_KEYS", "").split(",") if k]
    args["api_keys"] = (args["api_keys"] or []) + from_env
    if not args["api_keys"]:
        args.pop("api_keys")
    knobs = Knobs(**args)
    # 127.0.0.1 only: tests never listen on another address.
    uvicorn.run(create_app(knobs), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
