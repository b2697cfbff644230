"""Shared fixtures: storage backends (SQLite always, PostgreSQL when configured) and live servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import LiveServer, PostgresSchema, make_client, postgres_url

BACKENDS = ["sqlite", "postgres"]


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
