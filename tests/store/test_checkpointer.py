"""store/checkpointer.py and Database.serving: the server's WAL checkpoints run in a thread, not on
its commits, and its writer keeps a smaller page cache."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from opencases import api
from opencases.config import Settings
from opencases.services.context import RequestContext
from opencases.store import checkpointer
from opencases.store.db import WRITER_CACHE_KIB
from opencases.store.store import Store


def test_writes_leave_checkpoints_to_the_thread(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.db"
    store = Store(f"sqlite:///{path}")
    store.db.serving(one_process=True)
    ctx = RequestContext(store=store, settings=Settings(), account="123456789012")
    try:
        domain_id = api.invoke(ctx, "CreateDomain", {"name": "d"})["domainId"]
        template_id = api.invoke(ctx, "CreateTemplate", {"domainId": domain_id, "name": "t"})["templateId"]
        with store.db.write() as conn:
            dbapi_conn = conn.connection.dbapi_connection
            assert dbapi_conn is not None
            assert dbapi_conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
            assert dbapi_conn.execute("PRAGMA cache_size").fetchone()[0] == -WRITER_CACHE_KIB
        checkpointer = store.db._checkpointer
        assert checkpointer is not None
        time.sleep(0.5)  # the thread has copied the setup's pages
        before, size = checkpointer.checkpoints, path.stat().st_size
        for i in range(200):  # well past 1,000 WAL pages: the writer would have checkpointed
            api.invoke(ctx, "CreateCase", {"domainId": domain_id, "templateId": template_id,
                                           "fields": [{"id": "title", "value": {"stringValue": f"case {i} " * 50}}]})
        deadline = time.monotonic() + 10
        while checkpointer.checkpoints < before + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert checkpointer.checkpoints >= before + 2
        # The writer no longer checkpoints: only the thread can have copied the new cases'
        # pages from the WAL into the database file.
        assert path.stat().st_size > size
        found = api.invoke(ctx, "SearchCases", {"domainId": domain_id, "searchTerm": "case"})
        assert found["totalCount"] == 200
    finally:
        store.close()
    # Stopped with the store; the file is whole.
    import sqlite3

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_the_wal_starts_over_while_readers_keep_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint that raced the writer never left the WAL wholly copied when a write began,
    so it never started over: it grew with every write."""
    import threading

    # A checkpoint every 50 commits (~5 MB of frames here), so that a WAL that never starts
    # over shows against the bound below within 1,500 writes.
    monkeypatch.setattr(checkpointer, "COMMITS", 50)
    path = tmp_path / "bounded.db"
    store = Store(f"sqlite:///{path}")
    store.db.serving(one_process=True)
    ctx = RequestContext(store=store, settings=Settings(), account="123456789012")
    stop = threading.Event()
    try:
        domain_id = api.invoke(ctx, "CreateDomain", {"name": "d"})["domainId"]
        template_id = api.invoke(ctx, "CreateTemplate", {"domainId": domain_id, "name": "t"})["templateId"]

        def read() -> None:
            while not stop.is_set():
                api.invoke(ctx, "SearchCases", {"domainId": domain_id, "searchTerm": "case"})

        readers = [threading.Thread(target=read) for _ in range(2)]
        for reader in readers:
            reader.start()
        wal = Path(f"{path}-wal")
        largest = 0
        for i in range(1500):
            api.invoke(ctx, "CreateCase", {"domainId": domain_id, "templateId": template_id,
                                           "fields": [{"id": "title", "value": {"stringValue": f"case {i} " * 20}}]})
            largest = max(largest, wal.stat().st_size)
        stop.set()
        for reader in readers:
            reader.join()
        # 1,500 cases write over 150 MB of WAL frames. A checkpoint every 50 commits that waits
        # briefly for older readers keeps the WAL at 6-18 MB, with the machine's load (SQLite's
        # own reached 63 MB here, starved by the readers; a thread racing the writer, 163 MB).
        assert largest < 48 * 2**20, f"the WAL grew to {largest / 2**20:.0f} MB"
    finally:
        stop.set()
        store.close()


class _ScriptedConnection:
    """A DBAPI connection whose PASSIVE checkpoints report scripted (busy, frames, copied)."""

    def __init__(self, passive: list[tuple[int, int, int]], log: list[str]) -> None:
        self.passive = passive
        self.log = log

    def execute(self, sql: str) -> Any:
        self.log.append(sql.split("(")[1].rstrip(")") if "wal_checkpoint" in sql else sql)
        rows = [self.passive.pop(0)] if "PASSIVE" in sql else [(0, 0, 0)]
        return type("Cursor", (), {"fetchone": lambda _self: rows[0], "fetchall": lambda _self: rows})()


def _held(log: list[str]) -> Any:
    from contextlib import contextmanager

    @contextmanager
    def held() -> Any:
        log.append("hold")
        yield
        log.append("release")

    return held


@pytest.mark.parametrize(
    ("passive", "expected"),
    [
        # Little left after the first copy: hold the writer for the rest at once.
        ([(0, 1000, 900)], ["PASSIVE", "hold", "RESTART", "release"]),
        # Many frames written meanwhile: copy again beside the writer first.
        ([(0, 5000, 1000), (0, 5600, 5000), (0, 5700, 5600)],
         ["PASSIVE", "PASSIVE", "PASSIVE", "hold", "RESTART", "release"]),
        # Never little (a reader pins the frames): PASSES copies, then the held one anyway.
        ([(0, 9000, 0)] * checkpointer.PASSES, [*["PASSIVE"] * checkpointer.PASSES, "hold", "RESTART", "release"]),
    ],
)
def test_a_checkpoint_holds_the_writer_only_for_what_is_left(passive: list[Any], expected: list[str]) -> None:
    log: list[str] = []
    point = checkpointer.Checkpointer(lambda: None, _held(log))
    point._checkpoint(_ScriptedConnection(list(passive), log))
    assert log == expected
    assert point.checkpoints == 1
