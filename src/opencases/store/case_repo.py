"""Reads and writes of cases, their field values, related items, audit events, the event
outbox and idempotency records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from opencases.store import schema as s


class CaseRepo:
    conn: Connection

    def case_exists(self, domain_id: str, case_id: str) -> bool:
        t = s.cases
        q = select(t.c.case_id).where(t.c.domain_id == domain_id, t.c.case_id == case_id)
        return self.conn.execute(q).first() is not None

    def related_item_exists(self, domain_id: str, case_id: str, related_item_id: str) -> bool:
        t = s.related_items
        q = select(t.c.related_item_id).where(
            t.c.domain_id == domain_id, t.c.case_id == case_id, t.c.related_item_id == related_item_id
        )
        return self.conn.execute(q).first() is not None

    # -- audit -----------------------------------------------------------------------------
    def insert_audit_event(self, row: dict[str, Any]) -> None:
        self.conn.execute(insert(s.audit_events).values(**row))

    def list_audit_events(
        self, domain_id: str, case_id: str, after_seq: int | None, limit: int
    ) -> list[dict[str, Any]]:
        t = s.audit_events
        q = select(t).where(t.c.domain_id == domain_id, t.c.case_id == case_id)
        if after_seq is not None:
            q = q.where(t.c.seq > after_seq)
        return [dict(r._mapping) for r in self.conn.execute(q.order_by(t.c.seq).limit(limit))]
