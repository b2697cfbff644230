"""The case event delivery worker: a background thread of the server process that drains the
outbox (store/outbox_repo.py) into the configured sinks (server/sinks.py), at least once and
in order per case. An event is delivered when every sink has it. With no sink the worker does
not run and events stay pending in the outbox until a server with sinks starts.

One round: claim a batch (a lease), have the sender process send it (server/sinks.py), and
record the outcome in the transaction of the next claim: delivered rows are deleted; a failed
one is retried after `retry_base * 2**(attempts-1)` seconds (at most `retry_max`) and is dead
after `max_attempts` attempts (`opencases events list --dead`, `opencases events redeliver`).
A dead event no longer holds back the later events of its case.

A commit that wrote outbox rows in this process wakes the worker at once; work written by
other processes is found by polling every `event_poll` seconds.

The worker's database transactions go through `run_db`, which the server points at its event
loop on SQLite (server/app.py): the loop then is SQLite's only writer in the process, and a
claim never waits for the GIL between its statements while the loop runs requests.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import event

from opencases.config import Settings
from opencases.server.sinks import Item, SenderProcess, sink_names
from opencases.store.outbox_repo import OUTBOX_WRITTEN
from opencases.store.store import Store

log = logging.getLogger("opencases.events")

T = TypeVar("T")

# Seconds the worker waits after a round that did not fill a batch: at 500 events/s, rounds
# of about ten events instead of one or two, at the cost of that much added lag.
LINGER = 0.02


def _run_here(fn: Callable[[], T]) -> T:
    return fn()


def backoff_seconds(settings: Settings, attempts: int) -> float:
    """The wait after the `attempts`-th failed attempt."""
    return float(min(settings.event_retry_max, settings.event_retry_base * 2 ** max(attempts - 1, 0)))


# A batch's outcome: (delivered seqs, failures, seqs given back untried).
Outcome = tuple[list[int], list[dict[str, Any]], list[int]]


def _now_ms() -> int:
    return int(time.time() * 1000)


class DeliveryWorker:
    def __init__(self, store: Store, settings: Settings, clock: Callable[[], int] = _now_ms) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:64]
        self.sender = SenderProcess(settings)
        self.sink_names = sink_names(settings)
        # Which sinks already have an event that still failed elsewhere: its retry skips them.
        # Lost on a crash, which only means a duplicate (at least once).
        self._done: dict[int, set[str]] = {}
        self._unsettled: Outcome | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Runs a function doing database work, and returns its result (see the module docstring).
        self.run_db: Callable[[Callable[[], Any]], Any] = _run_here

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> DeliveryWorker:
        for engine in self.store.db.engines:
            event.listen(engine, "commit", self._on_commit)
            event.listen(engine, "rollback", self._on_rollback)
        self._thread = threading.Thread(target=self._run, name="opencases-events", daemon=True)
        self._thread.start()
        log.info("event delivery to %s", ", ".join(self.sink_names))
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.event_timeout + 5)
        for engine in self.store.db.engines:
            event.remove(engine, "commit", self._on_commit)
            event.remove(engine, "rollback", self._on_rollback)
        self.sender.close()

    def _on_commit(self, conn: Any) -> None:
        if conn.info.pop(OUTBOX_WRITTEN, False):
            self._wake.set()

    def _on_rollback(self, conn: Any) -> None:
        conn.info.pop(OUTBOX_WRITTEN, None)

    def _run(self) -> None:
        poll = max(self.settings.event_poll, 0.001)
        while not self._stop.is_set():
            self._wake.clear()
            try:
                claimed = self.run_once()
                if claimed > 0:
                    if claimed < self.settings.event_batch:
                        # A stream of events, not a backlog: let it gather for a moment, so
                        # that each round (a write transaction) carries several.
                        self._stop.wait(LINGER)
                    continue
                timeout = self._idle_timeout(poll)
            except Exception:
                log.exception("event delivery round failed")
                timeout = poll
            self._wake.wait(timeout)
        try:
            self.settle()
        except Exception:
            # The leases run out and the events are sent again: at least once.
            log.exception("could not record the last delivery round")

    def _idle_timeout(self, poll: float) -> float:
        """Sleep until the next retry falls due, or one poll interval."""
        due = self.run_db(self._next_due)
        if due is None:
            return poll
        wait = (due - self.clock()) / 1000
        # Due already but not claimable: leased by another worker, or behind an earlier
        # event of its case; wait for one poll.
        return poll if wait <= 0 else min(wait, poll)

    # -- one round ---------------------------------------------------------------------------
    def run_once(self) -> int:
        """Settle the previous batch and claim the next in one write transaction, then send
        it; the number of events claimed.

        One transaction instead of two: on SQLite every write waits for the single writer,
        behind the API's own writes, so each one saved is latency saved under load.
        """
        s = self.settings
        outcome, self._unsettled = self._unsettled, None

        def settle_and_claim() -> list[dict[str, Any]]:
            with self.store.write() as tx:
                if outcome is not None:
                    self._settle(tx, outcome)
                return list(tx.claim_outbox(
                    self.worker_id, self.clock(), int(s.event_lease * 1000), s.event_batch, s.event_batch * 5
                ))

        try:
            rows = self.run_db(settle_and_claim)
        except Exception:
            self._unsettled = outcome
            raise
        if outcome is not None:
            self._forget(outcome)
        if not rows:
            return 0
        groups: dict[str, list[Item]] = {}
        by_seq = {}
        for row in rows:
            by_seq[row["seq"]] = row
            event_id = str(row["payload"].get("id", ""))
            item = (row["seq"], event_id, row["payload"], frozenset(self._done.get(row["seq"], ())))
            groups.setdefault(row["order_key"], []).append(item)
        outcomes, took = self.sender.send_round(list(groups.values()))
        for seq, names in took.items():
            self._done.setdefault(seq, set()).update(names)
        delivered: list[int] = []
        failed: list[dict[str, Any]] = []
        released: list[int] = []
        now = self.clock()
        for ok, failure, rest in outcomes:
            delivered += ok
            released += rest
            if failure is not None:
                seq, error = failure
                row = by_seq[seq]
                attempts = row["attempts"] + 1
                dead = attempts >= s.event_max_attempts
                failed.append({
                    "seq": row["seq"], "attempts": attempts, "dead": dead, "last_error": error,
                    "next_attempt_ms": now + int(backoff_seconds(s, attempts) * 1000),
                })
                if dead:
                    log.warning("event %s dead after %d attempts: %s", row["seq"], attempts, error)
        # Recorded with the next claim; until then the rows stay leased to this worker.
        self._unsettled = (delivered, failed, released)
        return len(rows)

    def settle(self) -> None:
        """Record the outcome of the last batch now (before stopping)."""
        outcome, self._unsettled = self._unsettled, None
        if outcome is not None:
            def settle() -> None:
                with self.store.write() as tx:
                    self._settle(tx, outcome)

            self.run_db(settle)
            self._forget(outcome)

    def _next_due(self) -> int | None:
        with self.store.read() as tx:
            return tx.next_outbox_due_ms()

    def _settle(self, tx: Any, outcome: Outcome) -> None:
        delivered, failed, released = outcome
        tx.outbox_delivered(delivered)
        tx.outbox_failed(self.worker_id, failed)
        tx.outbox_release(self.worker_id, released)

    def _forget(self, outcome: Outcome) -> None:
        delivered, failed, _ = outcome
        for seq in delivered:
            self._done.pop(seq, None)
        for f in failed:
            if f["dead"]:
                self._done.pop(f["seq"], None)


def start_delivery(store: Store, settings: Settings) -> DeliveryWorker | None:
    """The running worker, or None when no sink is configured (events then stay pending)."""
    if not settings.event_webhooks and not settings.event_log:
        log.info("no event sink configured: case events stay in the outbox")
        return None
    return DeliveryWorker(store, settings).start()
