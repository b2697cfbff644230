"""The HTTP server: health, request ids, protocol errors botocore can parse, logging, shutdown."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.support import LiveServer


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    workdir = Path(tmp_path_factory.mktemp("app"))
    live = LiveServer(f"sqlite:///{workdir / 'app.db'}", workdir).start()
    yield live
    live.stop()


def test_health(sqlite_server: LiveServer) -> None:
    r = httpx.get(sqlite_server.endpoint + "/_opencases/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_healthy_in_under_a_second(tmp_path: Path) -> None:
    live = LiveServer(f"sqlite:///{tmp_path / 'fast.db'}", tmp_path)
    started = time.monotonic()
    live.start()
    elapsed = time.monotonic() - started
    live.stop()
    # Not a timing assertion on the code under test: a generous bound that only catches a hang.
    assert elapsed < 30
    print(f"healthy after {elapsed:.2f}s")


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/no/such/route", b"{}", 404, "UnknownOperationException"),
        ("GET", "/domains", b"", 405, "MethodNotAllowedException"),
        ("POST", "/domains", b"{not json", 400, "ValidationException"),
        ("POST", "/domains", b"[1, 2]", 400, "ValidationException"),
        ("POST", "/domains", b"\xff\xfe", 400, "ValidationException"),
        ("POST", "/domains", b'{"name": 5}', 400, "ValidationException"),
        ("POST", "/domains-list?maxResults=abc", b"", 400, "ValidationException"),
        ("POST", "/domains", b"{}", 400, "ValidationException"),
    ],
)
def test_bad_requests_get_json_4xx(
    sqlite_server: LiveServer, method: str, path: str, body: bytes, status: int, code: str
) -> None:
    r = httpx.request(method, sqlite_server.endpoint + path, content=body)
    assert r.status_code == status
    assert r.headers["x-amzn-ErrorType"] == code
    assert r.headers["x-amzn-RequestId"]
    assert r.headers["content-type"].startswith("application/json")
    assert "message" in r.json()


def test_oversized_body_is_a_validation_error(sqlite_server: LiveServer) -> None:
    payload = json.dumps({"name": "x" * (9 * 1024 * 1024)}).encode()
    r = httpx.post(sqlite_server.endpoint + "/domains", content=payload)
    assert r.status_code == 400
    assert r.headers["x-amzn-ErrorType"] == "ValidationException"
    assert "limit" in r.json()["message"]


def test_every_response_has_a_request_id(sqlite_server: LiveServer) -> None:
    r = httpx.post(sqlite_server.endpoint + "/domains-list")
    assert r.status_code == 200
    assert len(r.headers["x-amzn-RequestId"]) == 36


def test_botocore_parses_protocol_errors(sqlite_server: LiveServer) -> None:
    from tests.support import make_client

    client = make_client(sqlite_server.endpoint)
    with pytest.raises(ClientError) as exc:
        client.get_domain(domainId="missing")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert exc.value.response["ResponseMetadata"]["RequestId"]


def test_one_log_line_per_request(sqlite_server: LiveServer) -> None:
    r = httpx.post(sqlite_server.endpoint + "/domains-list")
    request_id = r.headers["x-amzn-RequestId"]
    deadline = time.monotonic() + 5
    while request_id not in sqlite_server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    (line,) = [ln for ln in sqlite_server.log().splitlines() if request_id in ln]
    assert "POST" in line and "ListDomains" in line and " 200 " in line and "ms" in line


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_clean_shutdown(tmp_path: Path, sig: int) -> None:
    live = LiveServer(f"sqlite:///{tmp_path / 'stop.db'}", tmp_path).start()
    assert live.proc is not None
    live.proc.send_signal(sig)
    assert live.proc.wait(timeout=15) == 0
    live.stop()
