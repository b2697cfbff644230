"""Engines and transactions for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with one writer at a time: writes take an in-process lock and
`BEGIN IMMEDIATE`, so concurrent writers queue instead of failing with SQLITE_BUSY half-way
through a transaction; readers use the pool and never block the writer. A caller that must
not wait for that lock (the server's event loop, `Database.no_wait`) gets WriterBusy instead.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import PoolProxiedConnection, StaticPool

from opencases.store.bounded import Bounded
from opencases.store.checkpointer import Checkpointer
from opencases.store.config_cache import MAX_DOMAINS
from opencases.store.search import word_prefixes


class WriterBusy(Exception):
    """SQLite's writer is taken and the caller asked not to wait (`Database.no_wait`). Raised
    before the transaction begins, so nothing was written: the caller runs the request again
    where it may wait."""


_local = threading.local()


def normalize_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here; a bare path means a SQLite file."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if "://" not in url and url != ":memory:":
        return f"sqlite:///{url}"
    if url == ":memory:":
        return "sqlite://"
    return url


# sqlite3 keeps each connection's compiled statements (128 by default), and a search's
# statements are many and large: 40 pooled connections with full caches held ~100 MB in a
# server under mixed load. Pooled connections keep a few; the two that run most statements
# (the writer and the event loop's reader) are hot connections with the default cache.
POOLED_STATEMENTS = 16
HOT_STATEMENTS = 128
# Page cache per connection, KiB: readers keep the index pages of a large domain hot.
READER_CACHE_KIB = 65536
WRITER_CACHE_KIB = 16384


def make_engine(url: str, sqlite_synchronous: str = "NORMAL", hot: bool = False) -> Engine:
    """An engine; `hot` (SQLite files): the small pool of the writer and kept readers.

    JSON columns are read with orjson: every case and audit read parses some (an audit page
    parses one document per event), and orjson takes half json.loads's time. What it reads is
    what json.dumps wrote from validated input: no NaN, no unpaired surrogates.
    """
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        memory = parsed.database in (None, "", ":memory:")
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if memory:
            # One shared connection, or every checkout would see its own empty database.
            kwargs["poolclass"] = StaticPool
        elif hot:
            kwargs["connect_args"]["cached_statements"] = HOT_STATEMENTS
            kwargs["pool_size"] = 2
            kwargs["max_overflow"] = 2
        else:
            kwargs["connect_args"]["cached_statements"] = POOLED_STATEMENTS
            kwargs["pool_size"] = 32
            kwargs["max_overflow"] = 8
        engine = create_engine(url, json_deserializer=orjson.loads, **kwargs)
        _configure_sqlite(engine, memory, sqlite_synchronous)
        return engine
    return create_engine(url, json_deserializer=orjson.loads, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _configure_sqlite(engine: Engine, memory: bool, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module, so BEGIN is ours.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        # 64 MiB of page cache per reader: index pages of a million-case domain stay hot.
        cur.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
        cur.close()
        dbapi_conn.create_function("opencases_word_prefixes", 2, word_prefixes, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        dbapi_conn = conn.connection.dbapi_connection
        assert dbapi_conn is not None
        immediate = conn.get_execution_options().get("opencases_write", False)
        if not immediate and dbapi_conn.in_transaction:
            return  # the read transaction Store.read() began on this connection
        _execute(dbapi_conn, "BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_sqlite_read(dbapi_conn: Any) -> None:
    """BEGIN a read transaction on a SQLite DBAPI connection (Store.read())."""
    dbapi_conn.execute("BEGIN")  # sqlite3's shortcut: a cursor of its own


def _execute(dbapi_conn: Any, sql: str) -> None:
    # Straight on the DBAPI connection: through exec_driver_sql a BEGIN cost as much as the
    # reads of a GetCase together.
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


class Database:
    """An engine plus the transaction discipline of its dialect."""

    def __init__(self, url: str, sqlite_synchronous: str = "NORMAL") -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, sqlite_synchronous)
        self.dialect = self.engine.dialect.name
        # SQLite files: the writer's and kept readers' connections come from an engine of
        # their own, whose connections keep more compiled statements (POOLED_STATEMENTS).
        hot = self.dialect == "sqlite" and not isinstance(self.engine.pool, StaticPool)
        self.hot_engine = make_engine(self.url, sqlite_synchronous, hot=True) if hot else self.engine
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else None
        # An in-memory database is one connection (StaticPool): reads use it without checking
        # it in and out of that pool of one every time.
        self._single = isinstance(self.engine.pool, StaticPool)
        self._held: PoolProxiedConnection | None = None
        self._held_lock = threading.Lock()
        # keep_reader: thread id -> [connection, in use]
        self._kept: dict[int, list[Any]] = {}
        self._writer: Connection | None = None  # SQLite's, used under _write_lock
        self._checkpointer: Checkpointer | None = None
        # Called whenever the SQLite writer is given back, from the thread giving it back.
        self.on_writer_released: Callable[[], None] | None = None
        # PRAGMAs the writer's connection runs before its next write (serving()), and how
        # many of them it has run.
        self._writer_pragmas: list[str] = []
        self._writer_pragmas_done = 0
        # Whether no other process writes to this SQLite file (writer_idle).
        self.sole_writer = False
        # Domain id -> ConfigEntry, for read transactions (store.py, config_cache.py).
        self.config_cache = Bounded(MAX_DOMAINS)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def engines(self) -> tuple[Engine, ...]:
        """Every engine whose connections run transactions (for event listeners)."""
        return (self.engine,) if self.hot_engine is self.engine else (self.engine, self.hot_engine)

    def reader(self) -> tuple[PoolProxiedConnection, str, Engine]:
        """A pooled DBAPI connection for Store.read(), who closes it, and its engine. Who
        closes it: "reader" (the reader, when done), "single" (the in-memory database's one
        connection, kept here) or "thread" (kept for this thread by keep_reader; the reader
        gives it back with release_kept_reader)."""
        if not self._single:
            kept = self._kept.get(threading.get_ident())
            if kept is not None and not kept[1]:
                kept[1] = True  # in use: a read nested in this one gets a connection of its own
                return kept[0], "thread", self.hot_engine
            return self.engine.raw_connection(), "reader", self.engine
        held = self._held
        if held is None:
            with self._held_lock:
                if self._held is None:
                    self._held = self.engine.raw_connection()
                held = self._held
        return held, "single", self.engine

    def keep_reader(self) -> None:
        """Keep one pooled connection for this thread's reads (the server's event loop, which
        runs most reads): a checkout and check-in of the pool cost as much as a GetCase's
        queries."""
        if not self._single and threading.get_ident() not in self._kept:
            self._kept[threading.get_ident()] = [self.hot_engine.raw_connection(), False]

    def release_kept_reader(self) -> None:
        self._kept[threading.get_ident()][1] = False

    @contextmanager
    def no_wait(self) -> Iterator[None]:
        """Within this block, on this thread, a write finding the SQLite writer taken raises
        WriterBusy instead of waiting."""
        _local.no_wait = True
        try:
            yield
        finally:
            _local.no_wait = False

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A read-write transaction: commits on success, rolls back on any exception."""
        lock = self._write_lock
        if lock is not None:
            if getattr(_local, "no_wait", False):
                if not lock.acquire(blocking=False):
                    raise WriterBusy
                # Only the first write may give up: once one has committed, running the
                # request again would apply it twice, so any later one waits.
                _local.no_wait = False
            else:
                lock.acquire()
            try:
                conn = self._writer
                if conn is None or conn.closed or conn.invalidated:
                    # SQLite has one writer at a time, so one connection serves every write
                    # (taking one from the pool and giving it back cost as much as a small
                    # write's statements).
                    conn = self._writer = self.hot_engine.connect().execution_options(opencases_write=True)
                    self._writer_pragmas_done = 0
                if self._writer_pragmas_done < len(self._writer_pragmas):
                    dbapi_conn = conn.connection.dbapi_connection
                    assert dbapi_conn is not None
                    for pragma in self._writer_pragmas[self._writer_pragmas_done:]:
                        dbapi_conn.execute(pragma)
                    self._writer_pragmas_done = len(self._writer_pragmas)
                with conn.begin():
                    yield conn
                if self._checkpointer is not None:
                    self._checkpointer.committed()
            finally:
                self._give_back_writer()
        else:
            with self.engine.begin() as conn:
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only snapshot (one transaction, so multi-statement reads agree). Store.read()
        has a leaner one of its own."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def writer_taken(self) -> bool:
        return self._write_lock is not None and self._write_lock.locked()

    def writer_idle(self) -> bool:
        """Whether no write to this SQLite database is in progress: this process is its only
        writer (`sole_writer`: a server of one process, serving()) and holds no write."""
        return self.is_sqlite and self.sole_writer and not self.writer_taken()

    @contextmanager
    def writer_held(self) -> Iterator[None]:
        """Hold SQLite's writer without a transaction (the checkpointer)."""
        assert self._write_lock is not None
        self._write_lock.acquire()
        try:
            yield
        finally:
            self._give_back_writer()

    def _give_back_writer(self) -> None:
        assert self._write_lock is not None
        self._write_lock.release()
        if self.on_writer_released is not None:
            self.on_writer_released()

    def serving(self, one_process: bool) -> None:
        """SQLite files, in the server: a writer's page cache of WRITER_CACHE_KIB and, for a
        server of one process, WAL checkpoints in a thread instead of on the writer's commits
        (store/checkpointer.py), stopped by dispose(). The CLI's bulk writers (import) keep a
        reader's cache and SQLite's own checkpoints."""
        if not self.is_sqlite or self._single or self._writer_pragmas:
            return
        # A server's write touches the right edges of the indexes and a few rows: 16 MiB of
        # cache holds them, where a reader's 64 MiB held as much of the database again in
        # its memory (RSS 157 MB after bench/load.py).
        self._writer_pragmas.append(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
        if not one_process:
            return
        self._writer_pragmas.append("PRAGMA wal_autocheckpoint=0")
        self.sole_writer = True
        path = make_url(self.url).database
        self._checkpointer = Checkpointer(
            lambda: sqlite3.connect(path or "", check_same_thread=False), self.writer_held
        ).start()

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        with self._held_lock:
            if self._held is not None:
                self._held.close()
                self._held = None
            kept, self._kept = self._kept, {}
            for conn, _ in kept.values():
                conn.close()
        if self._write_lock is not None:
            with self._write_lock:
                if self._writer is not None:
                    self._writer.close()
                    self._writer = None
        for engine in self.engines:
            engine.dispose()
