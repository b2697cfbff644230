"""The transactional outbox of case events: written with the change, drained by the delivery
worker (server/delivery.py), inspected and re-queued by `opencases events`.

Row life: `pending` -> deleted once every sink has it (the outbox holds work, not history;
`--event-log` is the record of what was sent), or -> `dead` after the last allowed attempt,
and back to `pending` by `redeliver_outbox`.

Claiming keeps order per `order_key` (the case id): a row is handed out only when no earlier
pending row of its key is waiting (backing off, leased by another worker, or being claimed
by one right now). A claim is a lease (`claimed_by`, `claimed_until_ms`): a worker that dies
holding one leaves rows that become claimable again when the lease runs out, so an event is
sent at least once. On PostgreSQL concurrent claimers skip each other's rows with
`FOR UPDATE SKIP LOCKED`; on SQLite the single writer makes each claim atomic.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.engine import Dialect

from opencases.store import schema as s
from opencases.store.prepared import Prepared, insert_of

# Set on a connection that wrote outbox rows; the delivery worker's commit listener reads it
# to wake up at once instead of at its next poll.
OUTBOX_WRITTEN = "opencases_outbox_written"

PENDING, DEAD = "pending", "dead"


def _event_values(by_id: bool, by_namespace: bool) -> Select[Any]:
    v, f = s.case_values, s.fields
    wanted = []
    if by_id:
        wanted.append(v.c.field_id.in_(bindparam("ids", expanding=True)))
    if by_namespace:
        wanted.append(f.c.namespace.in_(bindparam("spaces", expanding=True)))
    return (
        select(v.c.field_id, f.c.type, v.c.s_value, v.c.n_value, v.c.b_value, v.c.u_value)
        .join(f, and_(f.c.domain_id == v.c.domain_id, f.c.field_id == v.c.field_id))
        .where(
            v.c.domain_id == bindparam("domain_id"),
            v.c.case_id == bindparam("case_id"),
            f.c.deleted.is_(False),
            or_(*wanted),
        )
        .order_by(v.c.field_id)
    )


# Built once and run on the DBAPI cursor (prepared.py): it runs for every event.
_EVENT_VALUES = {
    (i, n): Prepared(_event_values(i, n), expanding=(("ids",) if i else ()) + (("spaces",) if n else ()))
    for i in (False, True)
    for n in (False, True)
    if i or n
}


# The delivery worker's statements, built once (it runs them several times a second under
# load; building a Core statement per call cost more than running it).
_t = s.outbox
_WINDOW = (
    select(_t.c.seq, _t.c.order_key, _t.c.next_attempt_ms, _t.c.claimed_until_ms)
    .where(_t.c.state == bindparam("state"))
    .order_by(_t.c.seq)
    .limit(bindparam("window"))
)
_WINDOW_LOCKED = _WINDOW.with_for_update(skip_locked=True)
_LEASE = (
    update(_t)
    .where(_t.c.seq.in_(bindparam("seqs", expanding=True)))
    .values(claimed_by=bindparam("worker"), claimed_until_ms=bindparam("until"))
    .returning(*_t.c)
)
_DELIVERED = delete(_t).where(_t.c.seq.in_(bindparam("seqs", expanding=True)), _t.c.state == bindparam("state"))
_RELEASE = (
    update(_t)
    .where(_t.c.seq.in_(bindparam("seqs", expanding=True)), _t.c.claimed_by == bindparam("worker"))
    .values(claimed_by=None, claimed_until_ms=None)
)


class OutboxRepo:
    conn: Connection
    dialect: str
    dbapi_connection: Any
    sa_dialect: Dialect

    def insert_outbox(self, rows: list[dict[str, Any]]) -> None:
        """Queue events: each row has account, domain_id, order_key, payload, created_ms."""
        if not rows:
            return
        full = [r | {"state": PENDING, "attempts": 0, "next_attempt_ms": r["created_ms"]} for r in rows]
        insert_of(s.outbox, full[0]).run_many(self, full)
        self.conn.info[OUTBOX_WRITTEN] = True

    def event_case_values(
        self, domain_id: str, case_id: str, field_ids: list[str], namespaces: list[str]
    ) -> list[dict[str, Any]]:
        """A case's value rows (with the field `type`) for the fields an event publishes: those
        listed plus every field of the given namespaces ("System", "Custom"); never deleted ones."""
        if not field_ids and not namespaces:
            return []
        params: dict[str, Any] = {"domain_id": domain_id, "case_id": case_id}
        if field_ids:
            params["ids"] = field_ids
        if namespaces:
            params["spaces"] = namespaces
        return _EVENT_VALUES[(bool(field_ids), bool(namespaces))].rows(self, params)

    def claim_outbox(
        self, worker: str, now_ms: int, lease_ms: int, limit: int, window: int
    ) -> list[dict[str, Any]]:
        """Lease up to `limit` deliverable rows to `worker`, oldest first, in order per key.

        `window` is how many of the oldest pending rows are looked at: rows of a key that is
        blocked still take a place in it, so it should be a few times `limit`.
        """
        t = s.outbox
        # The window without payloads: most of its rows are only looked at.
        postgres = self.dialect == "postgresql"
        q = _WINDOW_LOCKED if postgres else _WINDOW
        rows = [dict(r._mapping) for r in self.conn.execute(q, {"state": PENDING, "window": window})]
        if not rows:
            return []
        blocked: set[str] = set()
        if postgres:
            # Rows locked by a concurrent claimer were skipped above: if one of them precedes
            # our first row of a key, that key is theirs for now (it is read here, unlocked).
            first: dict[str, int] = {}
            for r in rows:
                first.setdefault(r["order_key"], r["seq"])
            q2 = (
                select(t.c.order_key, func.min(t.c.seq))
                .where(t.c.state == PENDING, t.c.order_key.in_(list(first)))
                .group_by(t.c.order_key)
            )
            blocked = {key for key, low in self.conn.execute(q2) if low < first[key]}
        chosen: list[dict[str, Any]] = []
        for r in rows:
            key = r["order_key"]
            if key in blocked:
                continue
            leased = r["claimed_until_ms"] is not None and r["claimed_until_ms"] > now_ms
            if r["next_attempt_ms"] > now_ms or leased:
                # Nothing after it in the same case may overtake it.
                blocked.add(key)
                continue
            chosen.append(r)
            if len(chosen) >= limit:
                break
        if not chosen:
            return []
        leased = self.conn.execute(
            _LEASE, {"seqs": [r["seq"] for r in chosen], "worker": worker, "until": now_ms + lease_ms}
        )
        return sorted((dict(r._mapping) for r in leased), key=lambda r: r["seq"])

    def next_outbox_due_ms(self) -> int | None:
        """The earliest next_attempt_ms of a pending row (None when nothing is pending)."""
        t = s.outbox
        return self.conn.execute(select(func.min(t.c.next_attempt_ms)).where(t.c.state == PENDING)).scalar()

    def outbox_delivered(self, seqs: Iterable[int]) -> None:
        ids = list(seqs)
        if ids:
            self.conn.execute(_DELIVERED, {"seqs": ids, "state": PENDING})

    def outbox_failed(self, worker: str, failures: list[dict[str, Any]]) -> None:
        """Record failed attempts: each {seq, attempts, next_attempt_ms, last_error, dead}.

        Only rows still leased to `worker` change: if the lease ran out and another worker
        took the row over, its bookkeeping wins.
        """
        t = s.outbox
        for f in failures:
            self.conn.execute(
                update(t)
                .where(t.c.seq == f["seq"], t.c.claimed_by == worker, t.c.state == PENDING)
                .values(
                    state=DEAD if f["dead"] else PENDING,
                    attempts=f["attempts"],
                    next_attempt_ms=f["next_attempt_ms"],
                    last_error=f["last_error"][:2000],
                    claimed_by=None,
                    claimed_until_ms=None,
                )
            )

    def outbox_release(self, worker: str, seqs: Iterable[int]) -> None:
        """Give back leased rows that were not attempted (an earlier event of the case failed)."""
        ids = list(seqs)
        if ids:
            self.conn.execute(_RELEASE, {"seqs": ids, "worker": worker})

    def list_outbox(self, state: str, after_seq: int | None, limit: int) -> list[dict[str, Any]]:
        t = s.outbox
        q = select(t).where(t.c.state == state)
        if after_seq is not None:
            q = q.where(t.c.seq > after_seq)
        return [dict(r._mapping) for r in self.conn.execute(q.order_by(t.c.seq).limit(limit))]

    def redeliver_outbox(self, seqs: Iterable[int] | None, now_ms: int) -> list[int]:
        """Re-queue dead rows (all of them when `seqs` is None); the seqs re-queued."""
        t = s.outbox
        q = select(t.c.seq).where(t.c.state == DEAD)
        if seqs is not None:
            q = q.where(t.c.seq.in_(list(seqs)))
        ids = [r.seq for r in self.conn.execute(q.order_by(t.c.seq))]
        if ids:
            self.conn.execute(
                update(t)
                .where(t.c.seq.in_(ids))
                .values(state=PENDING, attempts=0, next_attempt_ms=now_ms, claimed_by=None, claimed_until_ms=None)
            )
        return ids

    def count_outbox(self) -> dict[str, int]:
        t = s.outbox
        return {state: int(n) for state, n in self.conn.execute(select(t.c.state, func.count()).group_by(t.c.state))}
