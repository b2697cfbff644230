"""Command line: `opencases serve | migrate`."""

from __future__ import annotations

import argparse
import logging
import sys

from opencases import __version__
from opencases.config import Settings


def _add_database(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--database-url",
        help="sqlite:///PATH or postgresql://... (env OPENCASES_DATABASE_URL; default sqlite:///opencases.db)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="opencases", description="Amazon Connect Cases API, self-hosted")
    parser.add_argument("--version", action="version", version=f"opencases {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API server")
    serve.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    _add_database(serve)
    serve.add_argument(
        "--enforce-case-rules",
        action="store_true",
        default=None,
        help="enforce Required and FieldOptions case rules in the API (AWS enforces them in its UI only)",
    )
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    serve.add_argument(
        "--rate-limits",
        choices=["off", "aws"],
        help="'aws': answer 429 ThrottlingException at AWS's documented per-account rates "
        "(env OPENCASES_RATE_LIMITS; default off)",
    )

    migrate = sub.add_parser("migrate", help="apply database migrations and exit")
    _add_database(migrate)
    return parser


def _graceful_server_class() -> type:
    import contextlib
    import signal
    from collections.abc import Iterator

    import uvicorn

    class GracefulServer(uvicorn.Server):
        """uvicorn re-raises SIGINT/SIGTERM after shutting down, so the process dies by the
        signal; a service manager should see a clean exit 0 after in-flight requests finish."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            def stop(_sig: int, _frame: object) -> None:
                self.should_exit = True

            previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return GracefulServer


def _serve(settings: Settings) -> int:
    import uvicorn

    from opencases.server.app import create_app

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr
    )
    # Migrations log each step at INFO; one line per request is the log we want.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    app = create_app(settings)
    base = f"http://{settings.host}:{settings.port}"
    print(f"opencases {__version__} on {app.store.dialect}", flush=True)
    print(f"  API endpoint: {base}   (boto3.client('connectcases', endpoint_url='{base}'))", flush=True)
    print(f"  Web:          {base}/ui/", flush=True)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="warning", access_log=False, lifespan="on"
    )
    server = _graceful_server_class()(config)
    server.run()
    print("opencases stopped", flush=True)
    return 0


def _migrate(settings: Settings) -> int:
    from opencases.store import migrate
    from opencases.store.db import Database

    db = Database(settings.database_url)
    migrate.upgrade(db)
    print(f"database at revision {migrate.current_revision(db)}")
    db.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        database_url=args.database_url,
        enforce_case_rules=getattr(args, "enforce_case_rules", None),
        log_level=getattr(args, "log_level", None),
        rate_limits=getattr(args, "rate_limits", None),
    )
    if args.command == "serve":
        return _serve(settings)
    if args.command == "migrate":
        return _migrate(settings)
    return 2


if __name__ == "__main__":
    sys.exit(main())
