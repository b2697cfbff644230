"""Concurrency: 8 clients x 40 mixed operations on overlapping cases, through two server
processes on the same database. PostgreSQL (the multi-process backend) when configured; the
same on one SQLite file, where the processes share nothing but the file's locks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.concurrency_harness import ConcurrencyRun
from tests.support import LiveServer


@pytest.fixture(scope="module")
def two_servers(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[LiveServer]]:
    servers = [LiveServer(database_url, Path(tmp_path_factory.mktemp("twin")), ["--log-level", "warning"])
               for _ in range(2)]
    try:
        for live in servers:
            live.start()
        yield servers
    finally:
        for live in servers:
            live.stop()


def test_two_processes_lose_nothing(two_servers: list[LiveServer]) -> None:
    report = ConcurrencyRun(two_servers, clients=8, ops=40, seed=3).run()
    print(f"concurrency: {sum(report.ops.values())} acknowledged operations {dict(report.ops)}")
    assert not report.errors, "\n".join(report.errors[:20])
    assert not report.problems, "\n".join(report.problems[:20])
