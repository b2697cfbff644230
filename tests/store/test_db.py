"""store/db.py: SQLite's single writer and the no-wait mode the server's event loop uses."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from opencases.store.db import Database, WriterBusy


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'w.db'}")
    with database.write() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield database
    database.dispose()


def hold_writer(db: Database, release: threading.Event) -> threading.Thread:
    """A thread that holds the writer until `release` is set."""
    holding = threading.Event()

    def run() -> None:
        with db.write():
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=run)
    thread.start()
    assert holding.wait(10)
    return thread


def rows(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(text("SELECT count(*) FROM t")).scalar_one())


def test_no_wait_write_raises_writer_busy_instead_of_waiting(db: Database) -> None:
    release = threading.Event()
    thread = hold_writer(db, release)
    try:
        with pytest.raises(WriterBusy), db.no_wait(), db.write() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        release.set()
        thread.join()
    assert rows(db) == 0  # nothing of the refused write was applied
    with db.no_wait(), db.write() as conn:  # a free writer: no error
        conn.execute(text("INSERT INTO t VALUES (1)"))
    assert rows(db) == 1


def test_only_the_first_write_of_a_no_wait_block_may_give_up(db: Database) -> None:
    release = threading.Event()
    with db.no_wait():
        with db.write() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
        # Another thread takes the writer for a moment: the second write waits for it, since
        # giving up now would make the caller run the request again and apply the first twice.
        thread = hold_writer(db, release)
        threading.Timer(0.05, release.set).start()
        with db.write() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))
    thread.join()
    assert rows(db) == 2


def test_no_wait_is_per_thread_and_ends_with_its_block(db: Database) -> None:
    release = threading.Event()
    with db.no_wait():
        pass
    thread = hold_writer(db, release)
    threading.Timer(0.05, release.set).start()
    with db.write() as conn:  # outside the block: waits, as before
        conn.execute(text("INSERT INTO t VALUES (1)"))
    thread.join()
    assert rows(db) == 1


def test_a_kept_reader_serves_this_thread_and_nested_reads_get_their_own(tmp_path: Path) -> None:
    from opencases.store.store import Store

    store = Store(f"sqlite:///{tmp_path / 'k.db'}")
    store.db.keep_reader()
    kept = store.db._kept[threading.get_ident()][0]
    try:
        with store.read() as outer:
            assert outer.dbapi_connection is kept.dbapi_connection
            with store.read() as inner:  # the kept one is in use: a pooled one
                assert inner.dbapi_connection is not kept.dbapi_connection
            # The SQLAlchemy Connection of a kept reader is on the same connection and snapshot.
            assert outer.conn.connection.dbapi_connection is kept.dbapi_connection
            assert outer.conn.execute(text("SELECT 1")).scalar_one() == 1
        for _ in range(3):  # given back each time, never to the pool
            with store.read() as again:
                assert again.dbapi_connection is kept.dbapi_connection
                assert again.conn.execute(text("SELECT count(*) FROM cases")).scalar_one() == 0
        assert not kept.dbapi_connection.in_transaction  # every read ended its transaction
        seen: list[object] = []

        def other_thread() -> None:
            with store.read() as tx:
                seen.append(tx.dbapi_connection)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert seen and seen[0] is not kept.dbapi_connection  # kept for its own thread only
    finally:
        store.close()


def test_the_writer_and_kept_readers_are_hot_connections_and_commits_reach_listeners(tmp_path: Path) -> None:
    from sqlalchemy import event

    db = Database(f"sqlite:///{tmp_path / 'h.db'}")
    commits: list[object] = []
    for engine in db.engines:
        event.listen(engine, "commit", lambda conn: commits.append(conn))
    try:
        assert db.hot_engine is not db.engine and db.engines == (db.engine, db.hot_engine)
        with db.write() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        assert db._writer is not None and db._writer.engine is db.hot_engine
        assert len(commits) == 1  # the writer's commit, seen through db.engines
        db.keep_reader()
        pooled, keeper, engine = db.reader()
        assert keeper == "thread" and engine is db.hot_engine
        # The writer and the kept reader; none from the pool of the other reads.
        assert db.hot_engine.pool.checkedout() == 2 and db.engine.pool.checkedout() == 0
        db.release_kept_reader()
    finally:
        db.dispose()
    memory = Database("sqlite://")
    try:
        assert memory.hot_engine is memory.engine and memory.engines == (memory.engine,)
    finally:
        memory.dispose()
