"""Fixtures of the server tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import LiveServer


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server on a SQLite file of its own, for the tests of one module."""
    workdir = Path(tmp_path_factory.mktemp("server"))
    live = LiveServer(f"sqlite:///{workdir / 'server.db'}", workdir).start()
    yield live
    live.stop()
