"""Event sinks and the process that sends to them.

Sinks: webhooks (`--event-webhook URL`, repeatable: each event POSTed as JSON, signed with
`X-Opencases-Signature: sha256=<hex HMAC-SHA256 of the body>` when a secret is set; anything
but a 2xx answer, or no answer in time, is a failure) and a JSON-lines file (`--event-log`).

A `Sender` sends one delivery round: the events of each case in order (different cases in
parallel threads), stopping a case at its first failure. A sink that does not answer at all
(refused, timed out) is not tried again in the same round: the round's other events fail
with it, so an outage costs one timeout per round rather than one per event.

`SenderProcess` runs a Sender in a child process of the server, so that encoding events and
talking HTTP (about a tenth of the server's time per update, all of it holding the GIL) use
the machine's other cores; the server hands it a round and gets the outcome back. This
module imports only the standard library, so the child starts quickly.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from typing import Any, Protocol
from urllib.parse import urlsplit

from opencases import __version__
from opencases.config import Settings

# One event to send: (outbox seq, event id, payload, names of the sinks that already have it).
Item = tuple[int, str, dict[str, Any], frozenset[str]]
# One case's outcome: (delivered seqs, (failed seq, error) or None, seqs left untried).
CaseOutcome = tuple[list[int], tuple[int, str] | None, list[int]]
# A round's outcome: per case, and {seq: names of the sinks that took it in this round}.
RoundOutcome = tuple[list[CaseOutcome], dict[int, list[str]]]


class SinkError(Exception):
    """A failed send. `unreachable`: no answer at all, so the rest of the round skips the sink."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class Sink(Protocol):
    name: str

    def send(self, body: bytes, event_id: str) -> None: ...

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

    def send(self, body: bytes, event_id: str) -> None:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"opencases/{__version__}",
            "X-Opencases-Event-Id": event_id,
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
        self.name = file_sink_name(path)
        self.lock = threading.Lock()
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def send(self, body: bytes, event_id: str) -> None:
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


def file_sink_name(path: str) -> str:
    return f"file:{path}"


def sink_names(settings: Settings) -> list[str]:
    """The names of the sinks make_sinks() makes, in its order, without opening them."""
    return [*settings.event_webhooks, *([file_sink_name(settings.event_log)] if settings.event_log else [])]


def make_sinks(settings: Settings) -> list[Sink]:
    sinks: list[Sink] = [
        WebhookSink(url, settings.event_webhook_secret, settings.event_timeout) for url in settings.event_webhooks
    ]
    if settings.event_log:
        sinks.append(FileSink(settings.event_log))
    return sinks


class Sender:
    """Sends delivery rounds to the configured sinks (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.sinks = make_sinks(settings)
        self._pool = ThreadPoolExecutor(max_workers=max(1, settings.event_concurrency), thread_name_prefix="events")

    def send_round(self, cases: list[list[Item]]) -> RoundOutcome:
        unreachable: dict[str, str] = {}
        took: dict[int, list[str]] = {}
        if len(cases) == 1:
            outcomes = [self._send_case(cases[0], unreachable, took)]
        else:
            outcomes = list(self._pool.map(lambda items: self._send_case(items, unreachable, took), cases))
        if any(delivered for delivered, _, _ in outcomes):
            # Durable in the file before the outbox forgets it.
            for sink in self.sinks:
                sink.sync()
        return outcomes, took

    def _send_case(self, items: list[Item], unreachable: dict[str, str], took: dict[int, list[str]]) -> CaseOutcome:
        delivered: list[int] = []
        for i, (seq, event_id, payload, done) in enumerate(items):
            body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
            errors = []
            for sink in self.sinks:
                if sink.name in done:
                    continue
                if sink.name in unreachable:
                    # Already failed to answer in this round: do not wait for it once per event.
                    errors.append(f"{sink.name}: {unreachable[sink.name]}")
                    continue
                try:
                    sink.send(body, event_id)
                except SinkError as exc:
                    errors.append(f"{sink.name}: {exc}")
                    if exc.unreachable:
                        unreachable[sink.name] = str(exc)
                    continue
                took.setdefault(seq, []).append(sink.name)
            if errors:
                return delivered, (seq, "; ".join(errors)), [s for s, _, _, _ in items[i + 1:]]
            delivered.append(seq)
        return delivered, None, []

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        for sink in self.sinks:
            sink.close()


# -- the sender process ----------------------------------------------------------------------
_child: Sender | None = None


def _start_child(settings: Settings) -> None:
    global _child
    _child = Sender(settings)


def _child_round(cases: list[list[Item]]) -> RoundOutcome:
    assert _child is not None
    return _child.send_round(cases)


class SenderProcess:
    """A Sender in a child process; `send_round` blocks until the child has sent the round.

    If the child dies, the round fails (each case's first event counts an attempt, as for an
    unreachable sink) and the next round starts a new child.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                # spawn: the server has threads and an event loop that a fork would copy.
                self._executor = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_child, initargs=(self.settings,),
                )
            return self._executor

    def send_round(self, cases: list[list[Item]]) -> RoundOutcome:
        try:
            return self._pool().submit(_child_round, cases).result()
        except BrokenProcessPool:
            with self._lock:
                self._executor = None
            failed: list[CaseOutcome] = [
                ([], (items[0][0], "the event sender process died"), [s for s, _, _, _ in items[1:]])
                for items in cases
            ]
            return failed, {}

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

