"""Shared fixtures: storage backends (SQLite always, PostgreSQL when configured) and live servers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import LiveServer, PostgresSchema, make_client, postgres_url

BACKENDS = ["sqlite", "postgres"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`@pytest.mark.slow` checks run only with OPENCASES_SLOW=1 (bench/ runs them long anyway)."""
    if os.environ.get("OPENCASES_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set OPENCASES_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database: a SQLite file, or a private schema of OPENCASES_TEST_DATABASE_URL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'opencases.db'}"
        return
    base = postgres_url()
    if base is None:
        pytest.skip("OPENCASES_TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    schema = PostgresSchema(base)
    try:
        yield schema.url
    finally:
        schema.drop()


@pytest.fixture(scope="session")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with pytest.MonkeyPatch.context() as mp:
        # Low, so that small test corpora exercise both search plans (index-driven and probed).
        mp.setenv("OPENCASES_SEARCH_SELECTIVE_ROWS", "30")
        live = LiveServer(database_url, Path(tmp_path_factory.mktemp("server"))).start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def client(server: LiveServer) -> Any:
    """A boto3 client in an account of its own, so tests never see each other's data."""
    return make_client(server.endpoint)


@pytest.fixture
def domain_id(client: Any) -> str:
    return str(client.create_domain(name="test-domain")["domainId"])
