"""``python -m target_service.openai_server --port P [--backend local|simulated|openai] [--api-key KEY]``"""

from __future__ import annotations

import argparse

from target_service.config import Settings


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m target_service.openai_server",
                                description="An OpenAI-compatible server over the bundled LLM backends.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--backend", choices=["local", "simulated", "openai"], default=None,
                   help="LLM backend (default: AGENT_LLM_BACKEND, else local)")
    p.add_argument("--api-key", action="append", dest="api_keys", default=[],
                   help="accept only these Bearer keys (repeatable; none: no auth)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides = {"llm_backend": args.backend} if args.backend else {}
    settings = Settings(**overrides)  # AGENT_* environment variables tune the backend, as for the service
    import uvicorn

    from target_service.openai_server.app import create_app

    uvicorn.run(create_app(settings, args.api_keys), host=args.host, port=args.port, access_log=False,
                log_level="warning", timeout_keep_alive=settings.keep_alive_s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
