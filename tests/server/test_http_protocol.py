"""server/http_protocol.py: httptools with a bounded head, modeled refusals and one send per response."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from typing import Any

import pytest

from opencases.server.http_protocol import HEAD_LIMIT, OneSendPerTurn
from tests.support import LiveServer


def exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        with contextlib.suppress(OSError):  # refused and closed while we were still sending
            sock.sendall(raw)
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


def request(header_bytes: int, method: str = "POST") -> bytes:
    return (f"{method} /domains-list HTTP/1.1\r\nHost: x\r\nX-Pad: {'a' * header_bytes}\r\n"
            "Content-Length: 2\r\n\r\n{}").encode()


def test_a_head_under_the_limit_is_served(sqlite_server: LiveServer) -> None:
    status, _, body = exchange(sqlite_server.port, request(HEAD_LIMIT - 1024))
    assert status == 200 and json.loads(body) == {"domains": []}


@pytest.mark.parametrize("size", [HEAD_LIMIT + 1024, 4 * 1024 * 1024])
def test_a_head_over_the_limit_is_a_validation_error(sqlite_server: LiveServer, size: int) -> None:
    status, headers, body = exchange(sqlite_server.port, request(size))
    assert status == 400
    assert headers["x-amzn-errortype"] == "ValidationException"
    assert "16 KiB" in json.loads(body)["message"]


def test_what_is_not_http_gets_a_modeled_error(sqlite_server: LiveServer) -> None:
    status, headers, body = exchange(sqlite_server.port, request(10, method="FOO"))
    assert status == 400
    assert headers["x-amzn-errortype"] == "ValidationException"
    assert json.loads(body)["message"]


def test_a_large_body_is_not_counted_as_head(sqlite_server: LiveServer) -> None:
    # Unknown members are ignored, as AWS does; the 200 KB body arrives with the head.
    body = json.dumps({"maxResults": 5, "pad": "x" * 200_000}).encode()
    raw = (b"POST /domains-list HTTP/1.1\r\nHost: x\r\nContent-Length: " + str(len(body)).encode()
           + b"\r\n\r\n" + body)
    status, _, answer = exchange(sqlite_server.port, raw)
    assert status == 200, answer


class _Transport:
    """What OneSendPerTurn wraps: records sends, closes and aborts."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.events: list[str] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.sent.append(data)
        self.events.append("write")

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True
        self.events.append("close")

    def abort(self) -> None:
        self.closing = True
        self.events.append("abort")

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else None


def test_writes_of_one_turn_leave_in_one_send() -> None:
    async def run() -> _Transport:
        inner = _Transport()
        transport = OneSendPerTurn(inner)
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        transport.write(b"{}")
        assert inner.sent == [] and transport.get_write_buffer_size() == 40
        await asyncio.sleep(0)
        assert inner.sent == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
        transport.write(b"next")  # a later turn: a send of its own
        await asyncio.sleep(0)
        assert transport.get_extra_info("peername") == ("127.0.0.1", 1)  # the rest is the transport's
        return inner

    assert asyncio.run(run()).sent[1:] == [b"next"]


def test_close_sends_first_and_abort_drops() -> None:
    async def run() -> tuple[_Transport, _Transport]:
        closed, aborted = _Transport(), _Transport()
        to_close, to_abort = OneSendPerTurn(closed), OneSendPerTurn(aborted)
        to_close.write(b"last")
        to_close.close()
        to_abort.write(b"lost")
        to_abort.abort()
        await asyncio.sleep(0)  # the flushes scheduled above find nothing left to send
        return closed, aborted

    closed, aborted = asyncio.run(run())
    assert closed.events == ["write", "close"] and closed.sent == [b"last"]
    assert aborted.events == ["abort"] and aborted.sent == []


def test_an_expected_continue_is_sent_alone(sqlite_server: LiveServer) -> None:
    # The interim 100 response has no write after it in its turn: it must not wait for one.
    body = b"{}"
    head = (f"POST /domains-list HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", sqlite_server.port), timeout=10) as sock:
        sock.sendall(head)
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            data += sock.recv(65536)
    assert data.startswith(b"HTTP/1.1 200 ") and json.loads(data.split(b"\r\n\r\n", 1)[1]) == {"domains": []}


def test_keep_alive_requests_each_get_their_whole_response(sqlite_server: LiveServer) -> None:
    one = b"POST /domains-list HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    with socket.create_connection(("127.0.0.1", sqlite_server.port), timeout=10) as sock:
        for _ in range(3):
            sock.sendall(one)
            data = b""
            while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
                data += sock.recv(65536)
            assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b'{"domains":[]}')
