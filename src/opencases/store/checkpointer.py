"""SQLite WAL checkpoints in a thread of their own, for the server.

By default SQLite checkpoints on the commit that takes the WAL past 1,000 pages: that commit
copies the WAL's pages into the database file and syncs it, on the committing connection. In
the server that connection is the writer, running on the event loop, so every sixtieth write
or so stalled every request for the copy (7 ms; a quarter of an UpdateCase's mean time). The
server turns the writer's automatic checkpoints off (`Database.serving`) and this thread
checkpoints after every COMMITS commits or INTERVAL seconds, in SQLite's C code with the GIL
released, on the other core. Reads go on meanwhile.

The WAL file starts over only when a write transaction begins with every frame already
copied: SQLite's own checkpoint, run by the writer right after its commit, leaves it so for
its next write, but a checkpoint racing the writer never does (the WAL grew to 2.6 GB in a
minute of bench/load.py). So the thread copies the bulk beside the writer (PASSIVE), then
holds the process's writer for the frames written meanwhile (RESTART: it also waits, up to
READER_WAIT_MS, for readers of older snapshots, which would pin those frames). Inline writes
wait for the writer on the event loop (server/app.py). One server process only: another
process's writer would race it, so `--workers N` keeps SQLite's default.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

log = logging.getLogger("opencases.store")

# A checkpoint after COMMITS commits or INTERVAL seconds, whichever comes first. Each one
# holds the writer for its last part and syncs the file, and copies a page once however often
# it changed since the last: five a second (every 50 commits, 0.2 s) took bench/load.py's
# open-loop p99 at 1,000 req/s to 270-330 ms in 40 s runs; once a second, 16-67 ms with the
# held part kept small (PASSES; README has every run). The WAL holds up to a second of writes
# (its file reached ~65 MB in those runs).
COMMITS = 500
INTERVAL = 1.0
# Copies beside the writer before the one holding it, until at most HELD_FRAMES remain.
PASSES = 4
HELD_FRAMES = 256
READER_WAIT_MS = 50


class Checkpointer:
    """A daemon thread checkpointing one SQLite file on a connection of its own."""

    def __init__(
        self,
        connect: Callable[[], Any],
        writer_held: Callable[[], AbstractContextManager[None]],
        interval: float = INTERVAL,
    ) -> None:
        self._connect = connect  # a DBAPI connection to the database file
        self._writer_held = writer_held  # holds the process's SQLite writer (Database.writer_held)
        self._interval = interval
        self._stop = threading.Event()
        self._due = threading.Event()
        self._commits = 0
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self.checkpoints = 0  # checkpoints that ran (for tests and curiosity)

    def start(self) -> Checkpointer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._due.set()
        self._thread.join()

    def committed(self) -> None:
        """The writer committed (called holding the write lock)."""
        self._commits += 1
        if self._commits >= COMMITS:
            self._due.set()

    def _run(self) -> None:
        conn = self._connect()
        # How long a checkpoint waits for readers of older snapshots (and so, holding the
        # write lock, delays writes); one that gives up copies what it could and the next
        # tries again.
        conn.execute(f"PRAGMA busy_timeout={READER_WAIT_MS}")
        try:
            while not self._stop.is_set():
                self._due.wait(self._interval)
                self._due.clear()
                if self._stop.is_set():
                    break
                try:
                    self._checkpoint(conn)
                except Exception:  # noqa: BLE001 - a failed checkpoint is retried next time
                    log.warning("WAL checkpoint failed", exc_info=True)
            # A last one, so a clean shutdown leaves little WAL to replay.
            self._checkpoint(conn)
        finally:
            conn.close()

    def _checkpoint(self, conn: Any) -> None:
        # The bulk of the copy beside the writer, again while the writes made meanwhile are
        # many, then the rest holding it: the held part copies and syncs little.
        for _ in range(PASSES):
            _busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if frames - copied <= HELD_FRAMES:
                break
        with self._writer_held():
            self._commits = 0
            conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
        self.checkpoints += 1
