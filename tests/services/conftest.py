"""Fixtures for the configuration tests: a second live server with small quotas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import LiveServer, make_client

# Small enough that a test reaches each limit with a handful of calls.
SMALL_QUOTAS = {
    "layouts_per_domain": 3,
    "deleted_layouts_per_domain": 2,
    "fields_per_layout": 4,
    "templates_per_domain": 3,
    "deleted_templates_per_domain": 2,
    "case_rules_per_domain": 3,
    "tags_per_resource": 5,
}


@pytest.fixture(scope="session")
def quota_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server on the same database whose quotas come from OPENCASES_QUOTA_* variables."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in SMALL_QUOTAS.items():
            mp.setenv(f"OPENCASES_QUOTA_{name.upper()}", str(value))
        live = LiveServer(database_url, Path(tmp_path_factory.mktemp("quota-server"))).start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def quota_client(quota_server: LiveServer) -> Any:
    return make_client(quota_server.endpoint)


@pytest.fixture
def quota_domain_id(quota_client: Any) -> str:
    return str(quota_client.create_domain(name="quota-domain")["domainId"])
