"""Hostile input: requests generated from the service model, valid and spoiled, never get a 5xx.

Every 4xx names a model error shape or a protocol code in `x-amzn-ErrorType`, the server's
memory stays bounded, and bodies past the 8 MiB limit are refused (with a content-length or
chunked) without the server holding them in memory. bench/fuzz.py runs the same for minutes.
"""

from __future__ import annotations

from typing import Any

from tests import fuzz_requests as fz
from tests.reliability.seed import seed_known
from tests.support import LiveServer, make_client, random_account

REQUESTS = 300


def _pid(server: LiveServer) -> int:
    assert server.proc is not None
    return server.proc.pid


def test_generated_requests_get_modeled_answers(server: LiveServer) -> None:
    account = random_account()
    known = seed_known(make_client(server.endpoint, account))
    # Big bodies have a test of their own below; here they would only cost time.
    gen = fz.Generator(seed=20260101, account=account, known=known, big_bodies=False)
    allowed = fz.allowed_codes()
    before = fz.rss_kb(_pid(server))
    problems: list[str] = []
    kinds: dict[str, int] = {}
    for i in range(REQUESTS):
        request = gen.request()
        kinds[request.kind] = kinds.get(request.kind, 0) + 1
        found = fz.problem(request, fz.send(server.port, request), allowed)
        if found:
            problems.append(f"#{i} {request.kind} {request.operation} {request.method} {request.target[:100]}: {found}")
    after = fz.rss_kb(_pid(server))
    print(f"fuzz: {REQUESTS} requests {kinds}; server RSS {before // 1024} MiB -> {after // 1024} MiB")
    assert not problems, "\n".join(problems[:20])
    # Generous: catches a leak that grows with requests, not allocator noise.
    assert after < 2 * before + 100 * 1024


def _big(chunked: bool, size: int) -> fz.FuzzRequest:
    body = b'{"name": "' + b"a" * size + b'"}'
    return fz.FuzzRequest("big", "CreateDomain", "POST", "/domains", [
        ("Authorization", fz.auth_header(random_account())), ("Content-Type", "application/json")], body, chunked)


def test_bodies_past_the_limit_are_refused(server: LiveServer) -> None:
    for chunked in (False, True):
        response = fz.send(server.port, _big(chunked, 10 * 1024 * 1024))
        assert response.status == 400, response
        assert response.headers["x-amzn-errortype"] == "ValidationException"
        assert b"limit is 8388608 bytes" in response.body


def test_a_huge_chunked_body_is_not_held_in_memory(server: LiveServer) -> None:
    """64 MiB without a content-length: the server reads it through, keeping at most the limit."""
    fz.send(server.port, _big(True, 9 * 1024 * 1024))  # the first big body sizes the buffers
    before = fz.rss_kb(_pid(server))
    response = fz.send(server.port, _big(True, 64 * 1024 * 1024))
    after = fz.rss_kb(_pid(server))
    assert response.status == 400 and response.headers["x-amzn-errortype"] == "ValidationException"
    print(f"64 MiB chunked body: server RSS {before // 1024} MiB -> {after // 1024} MiB")
    assert after - before < 40 * 1024


def test_a_head_past_the_http_limit_leaves_the_server_well(server: LiveServer, client: Any) -> None:
    """h11 refuses heads over 16 KiB itself (400, no error type); nothing breaks."""
    request = fz.FuzzRequest("long", "-", "POST", "/domains/" + "a" * 40_000, [
        ("Authorization", fz.auth_header(random_account()))])
    response = fz.send(server.port, request)
    assert response.status in (0, 400, 431)
    assert client.list_domains()["domains"] == []
