"""server/http_protocol.py: httptools with a bounded head and modeled refusals."""

from __future__ import annotations

import contextlib
import json
import socket

import pytest

from opencases.server.http_protocol import HEAD_LIMIT
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
