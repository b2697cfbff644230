"""The store: a database plus transactions that expose narrow per-aggregate methods."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.pool import PoolProxiedConnection

from opencases.store import migrate
from opencases.store.admin_repo import AdminRepo
from opencases.store.bulk_repo import BulkRepo
from opencases.store.case_repo import CaseRepo
from opencases.store.config_cache import ConfigEntry
from opencases.store.config_repo import ConfigRepo
from opencases.store.db import Database, begin_sqlite_read
from opencases.store.outbox_repo import OutboxRepo
from opencases.store.prepared import unique
from opencases.store.related_repo import RelatedRepo
from opencases.store.search_repo import SearchRepo


class Tx(ConfigRepo, CaseRepo, BulkRepo, RelatedRepo, SearchRepo, AdminRepo, OutboxRepo):
    """One database transaction; every method reads or writes within it.

    `conn` is the SQLAlchemy Connection; `dbapi_connection` and `sa_dialect` are what the
    prepared statements (prepared.py) run on.
    """

    def __init__(self, conn: Connection, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.dbapi_connection: Any = conn.connection.dbapi_connection
        self.sa_dialect: Dialect = conn.dialect


class _ReadTx(Tx):
    """Store.read()'s transaction, on a pooled DBAPI connection: most reads run only prepared
    statements, so the SQLAlchemy Connection (`conn`) is made on first use, on the same
    DBAPI connection and database transaction."""

    def __init__(self, db: Database, pooled: PoolProxiedConnection, keeper: str, engine: Engine) -> None:
        self.dialect = db.dialect
        self.dbapi_connection = pooled.dbapi_connection
        self.sa_dialect = engine.dialect
        self._db = db
        self._engine = engine
        self._pooled = pooled
        self._keeper = keeper  # who closes `pooled`: Database.reader() tells
        self._configs: dict[str, ConfigEntry | None] = {}  # _config's, for this transaction

    def __getattr__(self, name: str) -> Any:
        # Only reached while `conn` is not yet an instance attribute.
        if name != "conn":
            raise AttributeError(name)
        # "single": a checkout of its own, which a pool of one gives on the same connection.
        single = self._keeper == "single"
        conn = self._engine.connect() if single else Connection(self._engine, connection=self._pooled)
        self.conn = conn
        return conn

    # -- the domain's row and fields, from the process's cache (config_cache.py) --------------
    def get_domain(self, domain_id: str) -> dict[str, Any] | None:
        entry = self._config(domain_id)
        if entry is None:
            return ConfigRepo.get_domain(self, domain_id)
        return None if entry.domain is None else dict(entry.domain)

    def all_fields(self, domain_id: str) -> list[dict[str, Any]]:
        entry = self._config(domain_id)
        if entry is None:
            return ConfigRepo.all_fields(self, domain_id)
        return [dict(row) for row in entry.fields]

    def get_fields(self, domain_id: str, field_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        entry = self._config(domain_id)
        if entry is None:
            return ConfigRepo.get_fields(self, domain_id, field_ids)
        return {f: dict(entry.by_id[f]) for f in unique(field_ids) if f in entry.by_id}

    def _config(self, domain_id: str) -> ConfigEntry | None:
        """The cached entry this snapshot's generation of the domain allows (read again on a
        miss); None where there is no generation (a domain never created)."""
        memo = self._configs
        if domain_id in memo:
            return memo[domain_id]
        generation = self.config_generation(domain_id)
        entry = None
        if generation is not None:
            cache = self._db.config_cache
            entry = cache.peek(domain_id)
            if entry is None or entry.generation != generation:
                entry = ConfigEntry.of(
                    generation, ConfigRepo.get_domain(self, domain_id), ConfigRepo.all_fields(self, domain_id)
                )
                cache.put(domain_id, entry)
        memo[domain_id] = entry
        return entry

    def _release(self) -> None:
        if self._keeper == "reader":
            self._pooled.close()
        elif self._keeper == "thread":
            self._db.release_kept_reader()

    def end(self, commit: bool) -> None:
        conn = self.__dict__.get("conn")
        if conn is None:
            try:
                if commit:
                    self.dbapi_connection.commit()
                else:
                    self.dbapi_connection.rollback()
            finally:
                self._release()
            return
        # SQLAlchemy began a transaction of its own on the open one; it ends both.
        try:
            if conn.in_transaction():
                if commit:
                    conn.commit()
                else:
                    conn.rollback()
            elif commit:
                self.dbapi_connection.commit()
            else:
                self.dbapi_connection.rollback()
        finally:
            if self._keeper == "thread":
                # Not closed: that would return the kept connection to the pool.
                self._release()
            else:
                conn.close()


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

    def read(self) -> ReadTx:
        """`with store.read() as tx:` one read-only transaction (one snapshot, so multi-statement
        reads agree); commits on success, rolls back on any exception."""
        return ReadTx(self.db)

    def close(self) -> None:
        self.db.dispose()


class ReadTx:
    """Store.read()'s context manager. The transaction is begun and ended on the DBAPI
    connection (SQLite: `BEGIN`; PostgreSQL: the driver's implicit begin), which costs a
    fraction of SQLAlchemy's begin and commit. A class, not a generator: it runs for every
    read request."""

    __slots__ = ("_db", "_tx")

    def __init__(self, db: Database) -> None:
        self._db = db

    def __enter__(self) -> Tx:
        db = self._db
        pooled, keeper, engine = db.reader()
        tx = self._tx = _ReadTx(db, pooled, keeper, engine)
        try:
            if db.is_sqlite:
                begin_sqlite_read(pooled.dbapi_connection)
        except BaseException:
            tx._release()
            raise
        return tx

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        self._tx.end(commit=exc_type is None)
