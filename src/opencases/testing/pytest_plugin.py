"""pytest plugin (entry point `opencases`), loaded by pytest wherever opencases is installed.

Fixtures:
  connectcases_mock            an active mock_connectcases, fresh per test
  connectcases_client          a boto3 connectcases client served by that mock (skips without boto3)
  connectcases_server          a live `opencases serve` on a free port (.endpoint, .client(),
                               .reset(), .summary()); one per session, reset before each test
  connectcases_server_session  the same server without the reset, for session-wide data

Importing opencases.testing here, at plugin load, installs the mock's botocore hook before
any test module creates a session or client.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from opencases.testing import mock_connectcases
from opencases.testing.mock import DEFAULT_ACCOUNT, DEFAULT_REGION
from opencases.testing.server import LiveServer


@pytest.fixture
def connectcases_mock() -> Iterator[mock_connectcases]:
    with mock_connectcases() as mock:
        yield mock


@pytest.fixture
def connectcases_client(connectcases_mock: mock_connectcases) -> Any:
    boto3 = pytest.importorskip(
        "boto3", reason="the connectcases_client fixture needs boto3 (pip install boto3)"
    )
    return boto3.client(
        "connectcases",
        region_name=DEFAULT_REGION,
        aws_access_key_id=DEFAULT_ACCOUNT,
        aws_secret_access_key="opencases-mock",
    )


@pytest.fixture(scope="session")
def connectcases_server_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("opencases-server")
    with LiveServer(f"sqlite:///{workdir / 'opencases.db'}", workdir) as live:
        yield live


@pytest.fixture
def connectcases_server(connectcases_server_session: LiveServer) -> LiveServer:
    connectcases_server_session.reset()
    return connectcases_server_session
