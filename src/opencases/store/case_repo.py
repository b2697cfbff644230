"""Reads and writes of cases, their field values, search text, related items, audit events and
idempotency records.

Rows come back as plain dicts keyed by column name. Uniqueness (reference numbers, client
tokens) is enforced by the database: the insert methods raise UniqueViolation, so concurrent
requests are settled by a constraint rather than by read-then-write in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from opencases.store import schema as s
from opencases.store.errors import UniqueViolation

VALUE_COLUMNS = ("s_value", "n_value", "b_value", "u_value")


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

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: an exception inside undoes only what was written inside."""
        with self.conn.begin_nested():
            yield

    # -- cases -----------------------------------------------------------------------------
    def insert_case(self, row: dict[str, Any]) -> None:
        """Raises UniqueViolation("uq_cases_reference") if the reference number is taken."""
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(s.cases).values(**row))
        except IntegrityError as exc:
            raise UniqueViolation("uq_cases_reference") from exc

    def get_case(self, domain_id: str, case_id: str, for_update: bool = False) -> dict[str, Any] | None:
        """The case row; `for_update` takes a row lock on PostgreSQL (SQLite writers are serialized)."""
        t = s.cases
        q = select(t).where(t.c.domain_id == domain_id, t.c.case_id == case_id)
        if for_update:
            q = q.with_for_update()
        r = self.conn.execute(q).first()
        return dict(r._mapping) if r is not None else None

    def get_cases(self, domain_id: str, case_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(dict.fromkeys(case_ids))
        if not ids:
            return {}
        t = s.cases
        q = select(t).where(t.c.domain_id == domain_id, t.c.case_id.in_(ids))
        return {r.case_id: dict(r._mapping) for r in self.conn.execute(q)}

    def get_cases_by_reference(self, domain_id: str, reference_keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Cases keyed by reference_key (the upper-cased reference number)."""
        keys = list(dict.fromkeys(reference_keys))
        if not keys:
            return {}
        t = s.cases
        q = select(t).where(t.c.domain_id == domain_id, t.c.reference_key.in_(keys))
        return {r.reference_key: dict(r._mapping) for r in self.conn.execute(q)}

    def bump_case_version(self, domain_id: str, case_id: str, now_ms: int) -> None:
        """Record a write of the case's values: updated_ms and a version bump."""
        t = s.cases
        self.conn.execute(
            update(t)
            .where(t.c.domain_id == domain_id, t.c.case_id == case_id)
            .values(updated_ms=now_ms, version=t.c.version + 1)
        )

    def delete_case(self, domain_id: str, case_id: str) -> None:
        """A hard delete of the case and everything stored under it (tags are the caller's)."""
        for table in (s.case_values, s.case_text, s.related_items, s.audit_events, s.cases):
            self.conn.execute(delete(table).where(table.c.domain_id == domain_id, table.c.case_id == case_id))

    # -- field values ----------------------------------------------------------------------
    def get_case_value_rows(
        self, domain_id: str, case_id: str, field_ids: Iterable[str] | None = None
    ) -> list[dict[str, Any]]:
        """Value rows with the field's `type` (the type decides which column holds the value)."""
        v, f = s.case_values, s.fields
        q = (
            select(v.c.field_id, f.c.type, *(v.c[c] for c in VALUE_COLUMNS))
            .join(f, and_(f.c.domain_id == v.c.domain_id, f.c.field_id == v.c.field_id))
            .where(v.c.domain_id == domain_id, v.c.case_id == case_id)
        )
        if field_ids is not None:
            ids = list(dict.fromkeys(field_ids))
            if not ids:
                return []
            q = q.where(v.c.field_id.in_(ids))
        return [dict(r._mapping) for r in self.conn.execute(q.order_by(v.c.field_id))]

    def put_case_values(self, domain_id: str, case_id: str, columns: dict[str, dict[str, Any]]) -> None:
        """Set values: `columns` maps field id -> {s_value, n_value, b_value, u_value}."""
        if not columns:
            return
        self.delete_case_values(domain_id, case_id, list(columns))
        rows = [
            {"domain_id": domain_id, "case_id": case_id, "field_id": fid}
            | {c: cols.get(c) for c in VALUE_COLUMNS}
            for fid, cols in columns.items()
        ]
        self.conn.execute(insert(s.case_values), rows)

    def delete_case_values(self, domain_id: str, case_id: str, field_ids: list[str]) -> None:
        if not field_ids:
            return
        t = s.case_values
        self.conn.execute(
            delete(t).where(t.c.domain_id == domain_id, t.c.case_id == case_id, t.c.field_id.in_(field_ids))
        )

    def put_case_text(self, domain_id: str, case_id: str, body: str) -> None:
        """Insert or replace the case's search text (callers hold the case row, so no race)."""
        t = s.case_text
        done = self.conn.execute(
            update(t).where(t.c.domain_id == domain_id, t.c.case_id == case_id).values(body=body)
        )
        if done.rowcount == 0:
            self.conn.execute(insert(t).values(domain_id=domain_id, case_id=case_id, body=body))

    def get_case_text(self, domain_id: str, case_id: str) -> str | None:
        t = s.case_text
        r = self.conn.execute(select(t.c.body).where(t.c.domain_id == domain_id, t.c.case_id == case_id)).first()
        return r.body if r is not None else None

    # -- contacts --------------------------------------------------------------------------
    def list_cases_for_contact(
        self, domain_id: str, contact_arn: str, after: tuple[int, str] | None, limit: int
    ) -> list[dict[str, Any]]:
        """Cases with a Contact related item for `contact_arn`, oldest case first."""
        c, r = s.cases, s.related_items
        linked = select(r.c.case_id).where(
            r.c.domain_id == domain_id, r.c.type == "Contact", r.c.search_key == contact_arn
        )
        q = select(c.c.case_id, c.c.template_id, c.c.created_ms).where(
            c.c.domain_id == domain_id, c.c.case_id.in_(linked)
        )
        if after is not None:
            q = q.where(
                or_(c.c.created_ms > after[0], and_(c.c.created_ms == after[0], c.c.case_id > after[1]))
            )
        q = q.order_by(c.c.created_ms, c.c.case_id).limit(limit)
        return [dict(row._mapping) for row in self.conn.execute(q)]

    # -- idempotency -----------------------------------------------------------------------
    def insert_idempotency(self, row: dict[str, Any]) -> None:
        """Claim a client token. Raises UniqueViolation("idempotency") if it is already claimed.

        On PostgreSQL a concurrent claim of the same token waits for the first transaction
        and then fails, so exactly one request does the work.
        """
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(s.idempotency).values(**row))
        except IntegrityError as exc:
            raise UniqueViolation("idempotency") from exc

    def get_idempotency(self, domain_id: str, operation: str, token: str) -> dict[str, Any] | None:
        t = s.idempotency
        q = select(t).where(t.c.domain_id == domain_id, t.c.operation == operation, t.c.token == token)
        r = self.conn.execute(q).first()
        return dict(r._mapping) if r is not None else None

    def set_idempotency_response(self, domain_id: str, operation: str, token: str, response: Any) -> None:
        t = s.idempotency
        self.conn.execute(
            update(t)
            .where(t.c.domain_id == domain_id, t.c.operation == operation, t.c.token == token)
            .values(response=response)
        )

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
