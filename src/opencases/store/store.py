"""The store: a database plus transactions that expose narrow per-aggregate methods."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from opencases.store import migrate
from opencases.store.admin_repo import AdminRepo
from opencases.store.bulk_repo import BulkRepo
from opencases.store.case_repo import CaseRepo
from opencases.store.config_repo import ConfigRepo
from opencases.store.db import Database
from opencases.store.outbox_repo import OutboxRepo
from opencases.store.related_repo import RelatedRepo
from opencases.store.search_repo import SearchRepo


class Tx(ConfigRepo, CaseRepo, BulkRepo, RelatedRepo, SearchRepo, AdminRepo, OutboxRepo):
    """One database transaction; every method reads or writes within it."""

    def __init__(self, conn: Connection, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect


class Store:
    def __init__(self, url: str, sqlite_synchronous: str = "NORMAL", migrate_schema: bool = True) -> None:
        self.db = Database(url, sqlite_synchronous)
        if migrate_schema:
            migrate.upgrade(self.db)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """All changes of one API mutation (with its audit and outbox rows) commit together."""
        with self.db.write() as conn:
            yield Tx(conn, self.db.dialect)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        with self.db.read() as conn:
            yield Tx(conn, self.db.dialect)

    def close(self) -> None:
        self.db.dispose()
