"""A webhook receiver on loopback for tests of case event delivery (`--event-webhook`).

    with WebhookReceiver() as hook:
        server = LiveServer(db, workdir, ["--event-webhook", hook.url]).start()
        ...
        events = hook.wait_for(3)          # parsed JSON bodies, in arrival order

It records every request (time of receipt, headers, raw body), answers `status` (set it to
500 to fail deliveries), can wait `delay` seconds before answering (timeouts), and can be
stopped and started again on the same port (a receiver that is down refuses connections,
including ones the sender kept alive).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


class Delivery:
    """One received request."""

    def __init__(self, received: float, headers: dict[str, str], body: bytes) -> None:
        self.received = received
        self.headers = headers
        self.body = body

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: WebhookReceiver, port: int) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would allow
    # Headers and body go out in two writes: without TCP_NODELAY the body waits for the
    # sender's delayed ACK (about 40 ms on Linux), which would swamp any latency measured.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        owner = self.server.owner
        if owner.delay:
            time.sleep(owner.delay)
        status = owner.status
        if 200 <= status < 300:
            # Only accepted deliveries count: a refused one will be sent again.
            owner._record(Delivery(time.time(), {k.lower(): v for k, v in self.headers.items()}, body))
        else:
            owner._record_refused()
        reply = b"{}"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass


class WebhookReceiver:
    def __init__(self, port: int = 0, status: int = 200, delay: float = 0.0) -> None:
        self.port = port
        self.status = status
        self.delay = delay
        self.deliveries: list[Delivery] = []
        self.refused = 0
        self._cond = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    def start(self) -> WebhookReceiver:
        self._server = _Server(self, self.port)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering: the port refuses connections, and kept-alive ones are cut."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with server.lock:
            connections = list(server.connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _record(self, delivery: Delivery) -> None:
        with self._cond:
            self.deliveries.append(delivery)
            self._cond.notify_all()

    def _record_refused(self) -> None:
        with self._cond:
            self.refused += 1
            self._cond.notify_all()

    def events(self) -> list[dict[str, Any]]:
        with self._cond:
            return [d.json() for d in self.deliveries]

    def wait_for(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """The first `count` events received; AssertionError if they do not arrive in time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.deliveries) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"received {len(self.deliveries)} of {count} events in {timeout}s")
                self._cond.wait(left)
            return [d.json() for d in self.deliveries[:count]]

    def wait_refused(self, count: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.refused < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"refused {self.refused} of {count} deliveries in {timeout}s")
                self._cond.wait(left)

    def __enter__(self) -> WebhookReceiver:
        return self.start() if self._server is None else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
