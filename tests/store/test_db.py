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
