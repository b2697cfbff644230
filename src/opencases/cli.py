"""Command line: `opencases serve | migrate`."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from opencases import __version__, events_cli
from opencases.config import DEFAULT_BATCH, Settings, SettingsError, positive_flag


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
        "--log-format",
        choices=["text", "json"],
        help="'json': one JSON object per line (env OPENCASES_LOG_FORMAT; default text)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        help="server processes sharing the port (env OPENCASES_WORKERS; default 1)",
    )
    serve.add_argument(
        "--auth",
        choices=["open", "strict"],
        help="'open': any SigV4 signature is accepted; 'strict': signatures are verified against "
        "--credentials (env OPENCASES_AUTH; default open)",
    )
    serve.add_argument(
        "--credentials",
        metavar="FILE",
        help='auth strict: JSON {"credentials": [{"accessKeyId", "secretAccessKey", "accountId", '
        '"principalArn"}]}, re-read on SIGHUP (env OPENCASES_CREDENTIALS)',
    )
    serve.add_argument(
        "--rate-limits",
        choices=["off", "aws"],
        help="'aws': answer 429 ThrottlingException at AWS's documented per-account rates "
        "(env OPENCASES_RATE_LIMITS; default off)",
    )
    events_cli.add_serve_flags(serve)

    migrate = sub.add_parser("migrate", help="apply database migrations and exit")
    _add_database(migrate)

    imp = sub.add_parser("import", help="create cases from a JSON-lines file (the export format)")
    imp.add_argument("file", help="JSON lines, one case per line")
    imp.add_argument("--domain", required=True, help="the domain id to import into")
    imp.add_argument(
        "--batch-size", type=positive_flag, default=DEFAULT_BATCH,
        help=f"cases per transaction (default {DEFAULT_BATCH})",
    )
    _add_database(imp)

    exp = sub.add_parser("export", help="write a domain's cases and related items as JSON lines")
    exp.add_argument("--domain", required=True, help="the domain id to export")
    exp.add_argument("--output", "-o", help="file to write (default: standard output)")
    _add_database(exp)

    events_cli.add_parser(sub, _add_database)

    backup = sub.add_parser("backup", help="copy a SQLite database consistently, even while it is served")
    backup.add_argument("path", help="the file to write (replaced atomically when the copy is complete)")
    _add_database(backup)
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


def _check_auth(settings: Settings) -> str | None:
    """The reason the server cannot start with these auth settings, or None."""
    from opencases.server.credentials import CredentialsError, load_credentials

    if settings.auth not in ("open", "strict"):
        return f"auth mode must be 'open' or 'strict', not {settings.auth!r}"
    if settings.auth != "strict":
        return None
    if not settings.credentials_file:
        return "auth mode 'strict' needs a credentials file (--credentials FILE or OPENCASES_CREDENTIALS)"
    try:
        load_credentials(settings.credentials_file)
    except CredentialsError as exc:
        return f"bad credentials file: {exc}"
    return None


def _serve(settings: Settings) -> int:
    import signal

    import uvicorn

    from opencases.server.app import create_app
    from opencases.server.http_protocol import BoundedHttpToolsProtocol

    problem = settings.problem() or _check_auth(settings) or events_cli.check_serve(settings)
    if problem:
        print(f"opencases: {problem}", file=sys.stderr, flush=True)
        return 2

    from opencases.server import logging_setup

    if settings.log_format not in logging_setup.FORMATS:
        print(f"opencases: log format must be 'text' or 'json', not {settings.log_format!r}", file=sys.stderr)
        return 2
    logging_setup.configure(settings.log_level, settings.log_format)
    # Migrations log each step at INFO; one line per request is the log we want.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if settings.workers > 1:
        return _serve_workers(settings)
    app = create_app(settings)
    credentials = app.pipeline.auth.credentials
    if credentials is not None and hasattr(signal, "SIGHUP"):
        # `kill -HUP <pid>` re-reads the credentials file; a bad file keeps the old keys.
        signal.signal(signal.SIGHUP, lambda _sig, _frame: credentials.reload_logged())
    base = f"http://{settings.host}:{settings.port}"
    print(f"opencases {__version__} on {app.store.dialect}", flush=True)
    print(f"  API endpoint: {base}   (boto3.client('connectcases', endpoint_url='{base}'))", flush=True)
    print(f"  Web:          {base}/ui/", flush=True)
    if credentials is not None:
        print(f"  Auth:         strict, {len(credentials)} access key(s) from {settings.credentials_file}", flush=True)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="warning", access_log=False, lifespan="on",
        http=BoundedHttpToolsProtocol,
    )
    server = _graceful_server_class()(config)
    server.run()
    print("opencases stopped", flush=True)
    return 0


def _serve_workers(settings: Settings) -> int:
    """`--workers N`: uvicorn's supervisor runs N processes on one socket, each its own app.

    The schema is migrated here, once, before any worker starts: N workers migrating a fresh
    database at the same moment would race on creating the same tables.
    """
    import os
    import shutil
    import tempfile

    import uvicorn

    from opencases.server.app import SETTINGS_ENV, settings_to_env
    from opencases.server.http_protocol import BoundedHttpToolsProtocol
    from opencases.store.store import Store

    store = Store(settings.database_url, settings.sqlite_synchronous)
    dialect = store.dialect
    store.close()
    os.environ[SETTINGS_ENV] = settings_to_env(settings)
    # Counters of every worker add up in files here (server/metrics.py); set before any
    # worker imports prometheus_client.
    metrics_dir = tempfile.mkdtemp(prefix="opencases-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    base = f"http://{settings.host}:{settings.port}"
    print(f"opencases {__version__} on {dialect}, {settings.workers} workers", flush=True)
    print(f"  API endpoint: {base}   (boto3.client('connectcases', endpoint_url='{base}'))", flush=True)
    print(f"  Web:          {base}/ui/", flush=True)
    try:
        uvicorn.run(
            "opencases.server.app:create_app_from_env",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level="warning",
            access_log=False,
            lifespan="on",
            http=BoundedHttpToolsProtocol,
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    print("opencases stopped", flush=True)
    return 0


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from opencases.store.backup import BackupError, backup_sqlite

    try:
        report = backup_sqlite(settings.database_url, args.path)
    except BackupError as exc:
        print(f"opencases: {exc}", file=sys.stderr)
        return 2
    print(f"backed up {report.source} to {report.target}: {report.pages} pages, {report.bytes} bytes, "
          f"integrity {report.integrity}")
    return 0 if report.integrity == "ok" else 1


def _migrate(settings: Settings) -> int:
    from opencases.store import migrate
    from opencases.store.db import Database

    db = Database(settings.database_url)
    migrate.upgrade(db)
    print(f"database at revision {migrate.current_revision(db)}")
    db.dispose()
    return 0


def _domain_context(settings: Settings, domain_id: str) -> Any:
    """An operator's context for one domain: its own account and region, principal `opencases-cli`."""
    from opencases.services.context import RequestContext
    from opencases.store.store import Store

    store = Store(settings.database_url, settings.sqlite_synchronous)
    with store.read() as tx:
        row = tx.get_domain(domain_id)
    if row is None:
        store.close()
        raise SystemExit(f"opencases: no domain {domain_id} in {settings.database_url}")
    return RequestContext(
        store=store,
        settings=settings,
        account=row["account"],
        region=row["region"],
        principal_arn=f"arn:aws:iam::{row['account']}:user/opencases-cli",
    )


def _import(settings: Settings, args: argparse.Namespace) -> int:
    import time

    from opencases.transfer import import_file

    ctx = _domain_context(settings, args.domain)
    started = time.perf_counter()
    report = import_file(ctx, args.domain, args.file, args.batch_size)
    elapsed = time.perf_counter() - started
    ctx.store.close()
    for line in report.errors[:50]:
        print(line, file=sys.stderr)
    rate = report.cases / elapsed if elapsed > 0 else 0.0
    print(
        f"imported {report.cases} cases and {report.related_items} related items in {elapsed:.1f}s "
        f"({rate:.0f} cases/s); {len(report.errors)} lines failed"
    )
    return 1 if report.errors else 0


def _export(settings: Settings, args: argparse.Namespace) -> int:
    from opencases.transfer import export_cases

    ctx = _domain_context(settings, args.domain)
    try:
        if args.output:
            with open(args.output, "w", encoding="utf-8") as out:
                count = export_cases(ctx, args.domain, out)
        else:
            count = export_cases(ctx, args.domain, sys.stdout)
    finally:
        ctx.store.close()
    print(f"exported {count} cases", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
    except SettingsError as exc:
        print(f"opencases: {exc}", file=sys.stderr)
        return 2
    return _dispatch(args, settings)


def _settings(args: argparse.Namespace) -> Settings:
    """The flags over the OPENCASES_* environment; SettingsError for a value that is not a number."""
    return Settings.from_env(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        database_url=args.database_url,
        enforce_case_rules=getattr(args, "enforce_case_rules", None),
        log_level=getattr(args, "log_level", None),
        log_format=getattr(args, "log_format", None),
        workers=getattr(args, "workers", None),
        rate_limits=getattr(args, "rate_limits", None),
        auth=getattr(args, "auth", None),
        credentials_file=getattr(args, "credentials", None),
        **events_cli.serve_overrides(args),
    )


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve":
        return _serve(settings)
    if args.command == "migrate":
        return _migrate(settings)
    if args.command == "import":
        return _import(settings, args)
    if args.command == "export":
        return _export(settings, args)
    if args.command == "events":
        return events_cli.run(settings, args)
    if args.command == "backup":
        return _backup(settings, args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
