"""The case event delivery worker: a background thread of the server process that drains the
outbox (store/outbox_repo.py) into the configured sinks, at least once and in order per case.

Sinks: webhooks (`--event-webhook URL`, repeatable: each event POSTed as JSON, signed with
`X-Opencases-Signature: sha256=<hex HMAC-SHA256 of the body>` when a secret is set; anything
but a 2xx answer, or no answer in time, is a failure) and a JSON-lines file (`--event-log`).
An event is delivered when every sink has it. With no sink the worker does not run and events
stay pending in the outbox until a server with sinks starts.

One round: claim a batch (a lease), send it (different cases in parallel, each case's events
one after another, stopping at the first failure), and record the outcome in the transaction
of the next claim: delivered rows are deleted; a failed one is retried after
`retry_base * 2**(attempts-1)` seconds (at most `retry_max`) and is dead after `max_attempts`
attempts (`opencases events list --dead`, `opencases events redeliver`). A sink that does not
answer at all (refused, timed out) is not tried again in the same round: the round's other
events fail with it, each counting an attempt, so an outage costs one timeout per round
rather than one per event. A dead event no longer holds back the later events of its case.

A commit that wrote outbox rows in this process wakes the worker at once; work written by
other processes is found by polling every `event_poll` seconds.

The worker's database transactions go through `run_db`, which the server points at its event
loop on SQLite (server/app.py): the loop then is SQLite's only writer in the process, and a
claim never waits for the GIL between its statements while the loop runs requests.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import os
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import event

from opencases import __version__
from opencases.config import Settings
from opencases.store.outbox_repo import OUTBOX_WRITTEN
from opencases.store.store import Store

log = logging.getLogger("opencases.events")

T = TypeVar("T")

# Seconds the worker waits after a round that did not fill a batch: at 500 events/s, rounds
# of about ten events instead of one or two, at the cost of that much added lag.
LINGER = 0.02


def _run_here(fn: Callable[[], T]) -> T:
    return fn()


class SinkError(Exception):
    """A failed send. `unreachable`: no answer at all, so the rest of the round skips the sink."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class Sink(Protocol):
    name: str

    def send(self, body: bytes, event: dict[str, Any]) -> None: ...

    def sync(self) -> None: ...

    def close(self) -> None: ...


def signature(secret: str, body: bytes) -> str:
    """The `X-Opencases-Signature` header value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSink:
    """POSTs over keep-alive connections, one per sending thread (the standard library's
    http.client: a quarter of the CPU time per request of the richer clients)."""

    def __init__(self, url: str, secret: str | None, timeout: float) -> None:
        parts = urlsplit(url)
        self.name = url
        self.secret = secret
        self.timeout = timeout
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[http.client.HTTPConnection] = []

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection, and whether it has been used before."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn, True
        if self.https:
            conn = http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        self._local.conn = conn
        with self._lock:
            self._open.append(conn)
        return conn, False

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        self._local.conn = None
        with self._lock:
            if conn in self._open:
                self._open.remove(conn)

    def send(self, body: bytes, event: dict[str, Any]) -> None:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"opencases/{__version__}",
            "X-Opencases-Event-Id": str(event.get("id", "")),
        }
        if self.secret:
            headers["X-Opencases-Signature"] = signature(self.secret, body)
        while True:
            conn, reused = self._connection()
            try:
                conn.request("POST", self.path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            except TimeoutError as exc:
                self._drop(conn)
                raise SinkError(f"timed out after {self.timeout}s", unreachable=True) from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop(conn)
                if reused:
                    # A kept-alive connection the receiver has since closed fails on first
                    # use; that says nothing about the receiver, so try a fresh one.
                    continue
                raise SinkError(f"{type(exc).__name__}: {exc}", unreachable=True) from exc
            if response.will_close:
                self._drop(conn)
            if not 200 <= response.status < 300:
                raise SinkError(f"HTTP {response.status}")
            return

    def sync(self) -> None:
        pass

    def close(self) -> None:
        with self._lock:
            conns, self._open = self._open, []
        for conn in conns:
            conn.close()


class FileSink:
    """JSON lines, appended; fsynced before the batch counts as delivered.

    Each line goes out in one write() on an O_APPEND descriptor, so server processes sharing
    the file (`--workers`) never interleave parts of lines.
    """

    def __init__(self, path: str) -> None:
        self.name = f"file:{path}"
        self.lock = threading.Lock()
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def send(self, body: bytes, event: dict[str, Any]) -> None:
        line = body + b"\n"
        try:
            with self.lock:
                written = os.write(self.fd, line)
                while written < len(line):  # only ever partial on a full disk or a signal
                    written += os.write(self.fd, line[written:])
        except OSError as exc:
            raise SinkError(f"write failed: {exc}", unreachable=True) from exc

    def sync(self) -> None:
        with self.lock:
            os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)


def make_sinks(settings: Settings) -> list[Sink]:
    sinks: list[Sink] = [
        WebhookSink(url, settings.event_webhook_secret, settings.event_timeout) for url in settings.event_webhooks
    ]
    if settings.event_log:
        sinks.append(FileSink(settings.event_log))
    return sinks


def backoff_seconds(settings: Settings, attempts: int) -> float:
    """The wait after the `attempts`-th failed attempt."""
    return float(min(settings.event_retry_max, settings.event_retry_base * 2 ** max(attempts - 1, 0)))


# A batch's outcome: (delivered seqs, failures, seqs given back untried).
Outcome = tuple[list[int], list[dict[str, Any]], list[int]]


def _now_ms() -> int:
    return int(time.time() * 1000)


class DeliveryWorker:
    def __init__(self, store: Store, settings: Settings, clock: Callable[[], int] = _now_ms) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:64]
        self.sinks = make_sinks(settings)
        # Which sinks already have an event that still failed elsewhere: its retry skips them.
        # Lost on a crash, which only means a duplicate (at least once).
        self._done: dict[int, set[str]] = {}
        self._unsettled: Outcome | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=max(1, settings.event_concurrency), thread_name_prefix="events")
        # Runs a function doing database work, and returns its result (see the module docstring).
        self.run_db: Callable[[Callable[[], Any]], Any] = _run_here

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> DeliveryWorker:
        event.listen(self.store.db.engine, "commit", self._on_commit)
        event.listen(self.store.db.engine, "rollback", self._on_rollback)
        self._thread = threading.Thread(target=self._run, name="opencases-events", daemon=True)
        self._thread.start()
        log.info("event delivery to %s", ", ".join(s.name for s in self.sinks))
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.event_timeout + 5)
        event.remove(self.store.db.engine, "commit", self._on_commit)
        event.remove(self.store.db.engine, "rollback", self._on_rollback)
        self._pool.shutdown(wait=False, cancel_futures=True)
        for sink in self.sinks:
            sink.close()

    def _on_commit(self, conn: Any) -> None:
        if conn.info.pop(OUTBOX_WRITTEN, False):
            self._wake.set()

    def _on_rollback(self, conn: Any) -> None:
        conn.info.pop(OUTBOX_WRITTEN, None)

    def _run(self) -> None:
        poll = max(self.settings.event_poll, 0.001)
        while not self._stop.is_set():
            self._wake.clear()
            try:
                claimed = self.run_once()
                if claimed > 0:
                    if claimed < self.settings.event_batch:
                        # A stream of events, not a backlog: let it gather for a moment, so
                        # that each round (a write transaction) carries several.
                        self._stop.wait(LINGER)
                    continue
                timeout = self._idle_timeout(poll)
            except Exception:
                log.exception("event delivery round failed")
                timeout = poll
            self._wake.wait(timeout)
        try:
            self.settle()
        except Exception:
            # The leases run out and the events are sent again: at least once.
            log.exception("could not record the last delivery round")

    def _idle_timeout(self, poll: float) -> float:
        """Sleep until the next retry falls due, or one poll interval."""
        due = self.run_db(self._next_due)
        if due is None:
            return poll
        wait = (due - self.clock()) / 1000
        # Due already but not claimable: leased by another worker, or behind an earlier
        # event of its case; wait for one poll.
        return poll if wait <= 0 else min(wait, poll)

    # -- one round ---------------------------------------------------------------------------
    def run_once(self) -> int:
        """Settle the previous batch and claim the next in one write transaction, then send
        it; the number of events claimed.

        One transaction instead of two: on SQLite every write waits for the single writer,
        behind the API's own writes, so each one saved is latency saved under load.
        """
        s = self.settings
        outcome, self._unsettled = self._unsettled, None

        def settle_and_claim() -> list[dict[str, Any]]:
            with self.store.write() as tx:
                if outcome is not None:
                    self._settle(tx, outcome)
                return list(tx.claim_outbox(
                    self.worker_id, self.clock(), int(s.event_lease * 1000), s.event_batch, s.event_batch * 5
                ))

        try:
            rows = self.run_db(settle_and_claim)
        except Exception:
            self._unsettled = outcome
            raise
        if outcome is not None:
            self._forget(outcome)
        if not rows:
            return 0
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            groups.setdefault(row["order_key"], []).append(row)
        unreachable: dict[str, str] = {}
        if len(groups) == 1:
            outcomes = [self._send_case(rows, unreachable)]
        else:
            outcomes = list(self._pool.map(lambda g: self._send_case(g, unreachable), groups.values()))
        delivered: list[int] = []
        failed: list[dict[str, Any]] = []
        released: list[int] = []
        now = self.clock()
        for ok, failure, rest in outcomes:
            delivered += ok
            released += rest
            if failure is not None:
                row, error = failure
                attempts = row["attempts"] + 1
                dead = attempts >= s.event_max_attempts
                failed.append({
                    "seq": row["seq"], "attempts": attempts, "dead": dead, "last_error": error,
                    "next_attempt_ms": now + int(backoff_seconds(s, attempts) * 1000),
                })
                if dead:
                    log.warning("event %s dead after %d attempts: %s", row["seq"], attempts, error)
        if delivered:
            # Durable in the file before the outbox forgets it.
            for sink in self.sinks:
                sink.sync()
        # Recorded with the next claim; until then the rows stay leased to this worker.
        self._unsettled = (delivered, failed, released)
        return len(rows)

    def settle(self) -> None:
        """Record the outcome of the last batch now (before stopping)."""
        outcome, self._unsettled = self._unsettled, None
        if outcome is not None:
            def settle() -> None:
                with self.store.write() as tx:
                    self._settle(tx, outcome)

            self.run_db(settle)
            self._forget(outcome)

    def _next_due(self) -> int | None:
        with self.store.read() as tx:
            return tx.next_outbox_due_ms()

    def _settle(self, tx: Any, outcome: Outcome) -> None:
        delivered, failed, released = outcome
        tx.outbox_delivered(delivered)
        tx.outbox_failed(self.worker_id, failed)
        tx.outbox_release(self.worker_id, released)

    def _forget(self, outcome: Outcome) -> None:
        delivered, failed, _ = outcome
        for seq in delivered:
            self._done.pop(seq, None)
        for f in failed:
            if f["dead"]:
                self._done.pop(f["seq"], None)

    def _send_case(
        self, rows: list[dict[str, Any]], unreachable: dict[str, str]
    ) -> tuple[list[int], tuple[dict[str, Any], str] | None, list[int]]:
        """One case's events in order: (delivered seqs, (failed row, error) or None, untried seqs)."""
        delivered: list[int] = []
        for i, row in enumerate(rows):
            error = self._send_event(row, unreachable)
            if error is not None:
                return delivered, (row, error), [r["seq"] for r in rows[i + 1:]]
            delivered.append(row["seq"])
        return delivered, None, []

    def _send_event(self, row: dict[str, Any], unreachable: dict[str, str]) -> str | None:
        payload = row["payload"]
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        done = self._done.setdefault(row["seq"], set())
        errors = []
        for sink in self.sinks:
            if sink.name in done:
                continue
            if sink.name in unreachable:
                # Already failed to answer in this round: do not wait for it once per event.
                errors.append(f"{sink.name}: {unreachable[sink.name]}")
                continue
            try:
                sink.send(body, payload)
            except SinkError as exc:
                errors.append(f"{sink.name}: {exc}")
                if exc.unreachable:
                    unreachable[sink.name] = str(exc)
                continue
            done.add(sink.name)
        return "; ".join(errors) if errors else None


def start_delivery(store: Store, settings: Settings) -> DeliveryWorker | None:
    """The running worker, or None when no sink is configured (events then stay pending)."""
    if not settings.event_webhooks and not settings.event_log:
        log.info("no event sink configured: case events stay in the outbox")
        return None
    return DeliveryWorker(store, settings).start()
