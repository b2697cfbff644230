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


# -- where requests run: on the event loop (SQLite, bounded operations) or in a worker thread --

class _Recorded:
    """The app's pipeline.handle, recording the thread each request ran on."""

    def __init__(self, app: Any) -> None:
        self.handle = app.pipeline.handle
        self.threads: list[str] = []
        app.pipeline.handle = self

    def __call__(self, *args: Any) -> Any:
        import threading

        self.threads.append(threading.current_thread().name)
        return self.handle(*args)


def _asgi_update(app: Any, domain_id: str, case_id: str, title: str, hold: float = 0.0) -> int:
    """UpdateCase through the ASGI app while another thread holds SQLite's writer `hold` s."""
    import asyncio
    import threading

    from tests.fuzz_requests import auth_header

    release = threading.Event()
    holding = threading.Event()

    def holder() -> None:
        with app.store.db.write():
            holding.set()
            release.wait(hold)

    async def run() -> int:
        thread = threading.Thread(target=holder)
        if hold:
            thread.start()
            assert holding.wait(10)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            r = await client.put(
                f"/domains/{domain_id}/cases/{case_id}",
                json={"fields": [{"id": "title", "value": {"stringValue": title}}]},
                headers={"Authorization": auth_header("123456789012")},
            )
        if hold:
            thread.join()
        return r.status_code

    return asyncio.run(run())


@pytest.fixture
def inline_app(tmp_path: Path) -> Any:
    from opencases import api
    from opencases.config import Settings
    from opencases.server.app import create_app
    from opencases.services.context import RequestContext

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'inline.db'}")
    app = create_app(settings)
    ctx = RequestContext(store=app.store, settings=settings, account="123456789012")
    domain_id = api.invoke(ctx, "CreateDomain", {"name": "d"})["domainId"]
    template_id = api.invoke(ctx, "CreateTemplate", {"domainId": domain_id, "name": "t"})["templateId"]
    case_id = api.invoke(ctx, "CreateCase", {
        "domainId": domain_id, "templateId": template_id,
        "fields": [{"id": "title", "value": {"stringValue": "first"}}],
    })["caseId"]

    def title() -> str:
        got = api.invoke(ctx, "GetCase", {"domainId": domain_id, "caseId": case_id, "fields": [{"id": "title"}]})
        return str(got["fields"][0]["value"]["stringValue"])

    yield app, domain_id, case_id, title
    app.store.close()


def test_bounded_writes_run_on_the_event_loop(inline_app: Any) -> None:
    app, domain_id, case_id, title = inline_app
    recorded = _Recorded(app)
    assert _asgi_update(app, domain_id, case_id, "second") == 200
    assert recorded.threads == ["MainThread"]  # asyncio.run's loop runs on this thread
    assert title() == "second"


def test_a_busy_writer_is_waited_for_without_blocking_the_loop(inline_app: Any) -> None:
    app, domain_id, case_id, title = inline_app
    recorded = _Recorded(app)
    # Held for 20 ms, under INLINE_WAIT: the request polls, then runs on the loop, once.
    assert _asgi_update(app, domain_id, case_id, "third", hold=0.02) == 200
    assert recorded.threads.count("MainThread") >= 2 and len(set(recorded.threads)) == 1
    assert title() == "third"


def test_a_writer_busy_for_long_sends_the_request_to_a_thread(
    inline_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opencases.server import app as app_module

    app, domain_id, case_id, title = inline_app
    monkeypatch.setattr(app_module, "INLINE_WAIT", 0.01)
    recorded = _Recorded(app)
    assert _asgi_update(app, domain_id, case_id, "fourth", hold=0.3) == 200
    assert recorded.threads[0] == "MainThread" and recorded.threads[-1] != "MainThread"
    assert title() == "fourth"
    with app.store.read() as tx:  # applied once: one audit event per update
        assert len(tx.list_audit_events(domain_id, case_id, None, 100)) == 2


def _asgi_searches(app: Any, domain_id: str, n: int) -> list[int]:
    import asyncio

    from tests.fuzz_requests import auth_header

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [
                (await client.post(f"/domains/{domain_id}/cases-search", json={"searchTerm": "first"},
                                   headers={"Authorization": auth_header("123456789012")})).status_code
                for _ in range(n)
            ]

    return asyncio.run(run())


def test_searches_of_a_domain_run_on_the_loop_while_they_stay_cheap(
    inline_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opencases.server import pipeline as pipeline_module

    app, domain_id, _, _ = inline_app
    recorded = _Recorded(app)
    streak = pipeline_module.INLINE_SEARCH_STREAK
    monkeypatch.setattr(pipeline_module, "INLINE_SEARCH_CPU_MS", 1e9)  # every search cheap
    assert _asgi_searches(app, domain_id, streak + 2) == [200] * (streak + 2)
    # A domain not yet seen searches in a thread until `streak` searches were cheap.
    assert all(t != "MainThread" for t in recorded.threads[:streak])
    assert recorded.threads[streak:] == ["MainThread", "MainThread"]
    # One costly search (every search, with no CPU allowed) sends the domain back to threads.
    monkeypatch.setattr(pipeline_module, "INLINE_SEARCH_CPU_MS", 0.0)
    recorded.threads.clear()
    assert _asgi_searches(app, domain_id, 3) == [200] * 3
    assert recorded.threads[0] == "MainThread" and all(t != "MainThread" for t in recorded.threads[1:])
