"""`opencases events list | redeliver`: look into the case event outbox and re-queue
dead-lettered events; plus the `serve` flags of event delivery and their start-up check.

Re-queued events are sent by a running server's delivery worker at its next poll.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from opencases.config import Settings, positive_flag


def add_serve_flags(serve: argparse.ArgumentParser) -> None:
    g = serve.add_argument_group("case events (README: Case events)")
    g.add_argument("--event-webhook", action="append", metavar="URL", dest="event_webhooks",
                   help="POST every case event here as JSON; repeatable "
                   "(env OPENCASES_EVENT_WEBHOOKS, comma-separated)")
    g.add_argument("--event-webhook-secret", metavar="SECRET",
                   help="sign webhook bodies: X-Opencases-Signature: sha256=<hex HMAC-SHA256> "
                   "(env OPENCASES_EVENT_WEBHOOK_SECRET)")
    g.add_argument("--event-log", metavar="PATH", help="append every case event to this JSON-lines file "
                   "(env OPENCASES_EVENT_LOG)")
    g.add_argument("--event-max-attempts", type=int, metavar="N",
                   help="attempts before an event is dead-lettered (env OPENCASES_EVENT_MAX_ATTEMPTS; default 10)")
    g.add_argument("--event-retry-base", type=float, metavar="SECONDS",
                   help="wait before the first retry, doubled per attempt (env OPENCASES_EVENT_RETRY_BASE; default 1)")
    g.add_argument("--event-retry-max", type=float, metavar="SECONDS",
                   help="longest wait between attempts (env OPENCASES_EVENT_RETRY_MAX; default 300)")
    g.add_argument("--event-timeout", type=float, metavar="SECONDS",
                   help="webhook request timeout (env OPENCASES_EVENT_TIMEOUT; default 10)")


SERVE_SETTINGS = ("event_webhooks", "event_webhook_secret", "event_log", "event_max_attempts",
                  "event_retry_base", "event_retry_max", "event_timeout")


def serve_overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name, None) for name in SERVE_SETTINGS}


def check_serve(settings: Settings) -> str | None:
    """Why the event settings cannot work, or None."""
    for url in settings.event_webhooks:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return f"event webhook must be an http(s) URL: {url!r}"
    if settings.event_log:
        parent = Path(settings.event_log).resolve().parent
        if not parent.is_dir():
            return f"event log directory does not exist: {parent}"
    return None


def add_parser(sub: Any, add_database: Any) -> None:
    events = sub.add_parser("events", help="inspect the case event outbox, re-queue dead events")
    cmds = events.add_subparsers(dest="events_command", required=True)
    ls = cmds.add_parser("list", help="events waiting for delivery (or dead-lettered with --dead)")
    ls.add_argument("--dead", action="store_true", help="list dead-lettered events instead")
    ls.add_argument("--limit", type=positive_flag, default=100, help="at most this many (default 100)")
    ls.add_argument("--json", action="store_true", help="one JSON object per line, with the payload")
    add_database(ls)
    again = cmds.add_parser("redeliver", help="re-queue dead-lettered events")
    again.add_argument("--all", action="store_true", help="every dead-lettered event")
    again.add_argument("seq", nargs="*", type=int, default=[],
                       help="outbox sequence numbers (from `events list --dead`)")
    add_database(again)


def _iso(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(settings: Settings, args: argparse.Namespace) -> int:
    from opencases.store.store import Store

    store = Store(settings.database_url, settings.sqlite_synchronous)
    try:
        if args.events_command == "list":
            return _list(store, args)
        return _redeliver(store, args)
    finally:
        store.close()


def _list(store: Any, args: argparse.Namespace) -> int:
    state = "dead" if args.dead else "pending"
    with store.read() as tx:
        rows = tx.list_outbox(state, None, args.limit)
        counts = tx.count_outbox()
    for r in rows:
        detail = r["payload"].get("detail", {})
        if args.json:
            out = {k: r[k] for k in ("seq", "state", "attempts", "last_error", "domain_id", "order_key")}
            out |= {"created": _iso(r["created_ms"]), "next_attempt": _iso(r["next_attempt_ms"]), "event": r["payload"]}
            print(json.dumps(out))
            continue
        print(
            f"{r['seq']:>8} {r['state']:<7} attempts={r['attempts']:<3} {detail.get('eventType', '?'):<21} "
            f"case={r['order_key']} created={_iso(r['created_ms'])} next={_iso(r['next_attempt_ms'])}"
            + (f" error={r['last_error']}" if r["last_error"] else "")
        )
    print(f"{counts.get('pending', 0)} pending, {counts.get('dead', 0)} dead", file=sys.stderr)
    return 0


def _redeliver(store: Any, args: argparse.Namespace) -> int:
    if args.all == bool(args.seq):
        print("opencases: give either --all or the sequence numbers of dead events", file=sys.stderr)
        return 2
    wanted = None if args.all else list(dict.fromkeys(args.seq))
    with store.write() as tx:
        done = tx.redeliver_outbox(wanted, int(time.time() * 1000))
    print(f"re-queued {len(done)} event(s)" + (": " + " ".join(map(str, done)) if done else ""))
    missing = sorted(set(wanted or []) - set(done))
    if missing:
        print(f"not dead-lettered (or unknown): {' '.join(map(str, missing))}", file=sys.stderr)
        return 1
    return 0
