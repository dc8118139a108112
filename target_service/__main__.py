"""``python -m target_service [--host H] [--port P] [--workers N]`` serves the API;
``python -m target_service build-model --out DIR [--size tiny|1b]`` writes a deterministic Llama."""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from target_service.llm.build import SIZES, build_model


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m target_service", description=__doc__)
    p.add_argument("command", nargs="?", choices=["serve", "build-model"], default="serve")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--out", type=Path, help="build-model: output directory")
    p.add_argument("--size", choices=list(SIZES), default="tiny",
                   help="build-model: tiny (~8M parameters, the CPU default) or 1b (GPU benchmarks)")
    return p


def serve(host: str, port: int, workers: int) -> None:
    # Settings first, before anything imports prometheus_client: it picks its storage at import time.
    from target_service.config import Settings

    settings = Settings()
    multiproc = settings.state_dir / f"metrics-{port}"
    shutil.rmtree(multiproc, ignore_errors=True)  # samples of a previous run must not add up with ours
    multiproc.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc)
    os.environ["AGENT_WORKERS"] = str(workers)
    os.environ["AGENT_SERVICE_ROOT_PID"] = str(os.getpid())
    import uvicorn

    uvicorn.run("target_service.app:create_app", factory=True, host=host, port=port, workers=workers,
                access_log=False, timeout_graceful_shutdown=settings.shutdown_grace_s,
                timeout_keep_alive=settings.keep_alive_s, log_level="info")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "build-model":
        if args.out is None:
            _parser().error("build-model needs --out DIR")
        print(build_model(args.out, args.size))
        return 0
    serve(args.host, args.port, args.workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
