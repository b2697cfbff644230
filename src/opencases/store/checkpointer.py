"""SQLite WAL checkpoints in a thread of their own, for the server.

By default SQLite checkpoints on the commit that takes the WAL past 1,000 pages: that commit
copies the WAL's pages into the database file and syncs it, on the committing connection. In
the server that connection is the writer, running on the event loop, so every sixtieth
write or so stalled every request for the copy and the sync (a third of an UpdateCase's
time on average, in bench/load.py). The server turns the writer's automatic checkpoints off
(`Database.checkpoint_in_background`) and this thread runs a PASSIVE checkpoint every
INTERVAL seconds instead: it copies what no reader still needs, blocks neither writers nor
readers, and runs in SQLite's C code with the GIL released, on the other core. Processes
without one (the CLI's import, export and backup) keep SQLite's default.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("opencases.store")

INTERVAL = 0.2


class Checkpointer:
    """A daemon thread checkpointing one SQLite file on a connection of its own."""

    def __init__(self, connect: Any, interval: float = INTERVAL) -> None:
        self._connect = connect  # () -> a DBAPI connection to the database file
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self.checkpoints = 0  # PASSIVE checkpoints that ran (for tests and curiosity)

    def start(self) -> Checkpointer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        conn = self._connect()
        try:
            while not self._stop.wait(self._interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except Exception:  # noqa: BLE001 - a failed checkpoint is retried next time
                    log.warning("WAL checkpoint failed", exc_info=True)
            # A last one, so a clean shutdown leaves little WAL to replay.
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()
