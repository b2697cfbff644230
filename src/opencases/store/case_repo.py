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

from sqlalchemy import Connection, and_, bindparam, delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError

from opencases.store import schema as s
from opencases.store.errors import UniqueViolation
from opencases.store.prepared import Prepared, PreparedWrite, insert_of, unique

VALUE_COLUMNS = ("s_value", "n_value", "b_value", "u_value")

# Hot reads, built once (see prepared.py).
_c, _v, _f, _r, _a = s.cases, s.case_values, s.fields, s.related_items, s.audit_events
_IN_CASE = (_c.c.domain_id == bindparam("domain_id"), _c.c.case_id == bindparam("case_id"))
_CASE_EXISTS = Prepared(select(_c.c.case_id).where(*_IN_CASE))
_GET_CASE = Prepared(select(_c).where(*_IN_CASE))
_GET_CASE_FOR_UPDATE = Prepared(select(_c).where(*_IN_CASE).with_for_update())
_d = s.domains
_CASE_IN_DOMAIN = Prepared(
    select(_d.c.account, _d.c.region, _c.c.case_id, _c.c.template_id)
    .select_from(_d.outerjoin(_c, and_(_c.c.domain_id == _d.c.domain_id, _c.c.case_id == bindparam("case_id"))))
    .where(_d.c.domain_id == bindparam("domain_id"))
)
_GET_CASES = Prepared(
    select(_c).where(_c.c.domain_id == bindparam("domain_id"), _c.c.case_id.in_(bindparam("ids", expanding=True))),
    expanding=("ids",),
)
_RELATED_ITEM_EXISTS = Prepared(
    select(_r.c.related_item_id).where(
        _r.c.domain_id == bindparam("domain_id"),
        _r.c.case_id == bindparam("case_id"),
        _r.c.related_item_id == bindparam("related_item_id"),
    )
)
# Values of a case with their field's type (the type decides which column holds the value).
_VALUE_ROWS = (
    select(_v.c.field_id, _f.c.type, *(_v.c[c] for c in VALUE_COLUMNS))
    .join(_f, and_(_f.c.domain_id == _v.c.domain_id, _f.c.field_id == _v.c.field_id))
    .where(_v.c.domain_id == bindparam("domain_id"), _v.c.case_id == bindparam("case_id"))
    .order_by(_v.c.field_id)
)
_CASE_VALUE_ROWS = Prepared(_VALUE_ROWS)
_CASE_VALUE_ROWS_OF = Prepared(
    _VALUE_ROWS.where(_v.c.field_id.in_(bindparam("ids", expanding=True))), expanding=("ids",)
)
# Up to this many fields are looked up by id; for more, all of the case's values are read
# and filtered (a case holds one row per field that has a value).
_FEW_FIELDS = 16
# GetCase's read in one statement: the domain's owner, the case's template and the values of
# some fields; one row per value found, or one row of NULLs past the domain's columns.
_CASE_WITH_VALUES = Prepared(
    select(
        _d.c.account, _d.c.region, _c.c.case_id, _c.c.template_id,
        _v.c.field_id, _f.c.type, *(_v.c[c] for c in VALUE_COLUMNS),
    )
    .select_from(
        _d.outerjoin(_c, and_(_c.c.domain_id == _d.c.domain_id, _c.c.case_id == bindparam("case_id")))
        .outerjoin(
            _v,
            and_(
                _v.c.domain_id == _c.c.domain_id,
                _v.c.case_id == _c.c.case_id,
                _v.c.field_id.in_(bindparam("ids", expanding=True)),
            ),
        )
        .outerjoin(_f, and_(_f.c.domain_id == _v.c.domain_id, _f.c.field_id == _v.c.field_id))
    )
    .where(_d.c.domain_id == bindparam("domain_id"))
    .order_by(_v.c.field_id),
    expanding=("ids",),
)
_GET_CASE_TEXT = Prepared(
    select(s.case_text.c.body).where(
        s.case_text.c.domain_id == bindparam("domain_id"), s.case_text.c.case_id == bindparam("case_id")
    )
)
_GET_IDEMPOTENCY = Prepared(
    select(s.idempotency).where(
        s.idempotency.c.domain_id == bindparam("domain_id"),
        s.idempotency.c.operation == bindparam("operation"),
        s.idempotency.c.token == bindparam("token"),
    )
)
_AUDIT_PAGE = select(_a).where(_a.c.domain_id == bindparam("domain_id"), _a.c.case_id == bindparam("case_id"))
_LIST_AUDIT_EVENTS = Prepared(_AUDIT_PAGE.order_by(_a.c.seq).limit(bindparam("limit")))
_LIST_AUDIT_EVENTS_AFTER = Prepared(
    _AUDIT_PAGE.where(_a.c.seq > bindparam("after_seq")).order_by(_a.c.seq).limit(bindparam("limit"))
)


# Hot writes, built once (PreparedWrite): every case mutation runs several of them.
def _upsert(ins: Any, table: Any, keys: tuple[str, ...], conflict: tuple[str, ...]) -> Any:
    stmt = ins(table).values({k: bindparam(k) for k in keys})
    return stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in conflict],
        set_={k: stmt.excluded[k] for k in keys if k not in conflict},
    )


_VALUE_KEYS = ("domain_id", "case_id", "field_id", *VALUE_COLUMNS)
_TEXT_KEYS = ("domain_id", "case_id", "body")
_INSERTERS = {"sqlite": sqlite_insert, "postgresql": pg_insert}
# A value replaces the stored one in place (the UPDATE triggers keep SQLite's trigram index).
_PUT_VALUES = {
    name: PreparedWrite(_upsert(ins, _v, _VALUE_KEYS, ("domain_id", "case_id", "field_id")))
    for name, ins in _INSERTERS.items()
}
_PUT_TEXT = {
    name: PreparedWrite(_upsert(ins, s.case_text, _TEXT_KEYS, ("domain_id", "case_id")))
    for name, ins in _INSERTERS.items()
}
_DELETE_VALUES = PreparedWrite(
    delete(_v).where(
        _v.c.domain_id == bindparam("domain_id"),
        _v.c.case_id == bindparam("case_id"),
        _v.c.field_id.in_(bindparam("ids", expanding=True)),
    ),
    expanding=("ids",),
)
_BUMP_VERSION = PreparedWrite(
    _c.update().where(*_IN_CASE).values(updated_ms=bindparam("now_ms"), version=_c.c.version + 1)
)
_i = s.idempotency
_SET_IDEMPOTENCY_RESPONSE = PreparedWrite(
    _i.update()
    .where(
        _i.c.domain_id == bindparam("domain_id"),
        _i.c.operation == bindparam("operation"),
        _i.c.token == bindparam("token"),
    )
    .values(response=bindparam("new_response"))
)


class CaseRepo:
    conn: Connection
    dbapi_connection: Any
    sa_dialect: Dialect

    def case_exists(self, domain_id: str, case_id: str) -> bool:
        return _CASE_EXISTS.first(self, {"domain_id": domain_id, "case_id": case_id}) is not None

    def related_item_exists(self, domain_id: str, case_id: str, related_item_id: str) -> bool:
        params = {"domain_id": domain_id, "case_id": case_id, "related_item_id": related_item_id}
        return _RELATED_ITEM_EXISTS.first(self, params) is not None

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: an exception inside undoes only what was written inside."""
        with self.conn.begin_nested():
            yield

    # -- cases -----------------------------------------------------------------------------
    def insert_case(self, row: dict[str, Any]) -> None:
        """Raises UniqueViolation("uq_cases_reference") if the reference number is taken."""
        self._insert_unique(s.cases, row, "uq_cases_reference")

    def _insert_unique(self, table: Any, row: dict[str, Any], name: str) -> None:
        """Insert a row; UniqueViolation(name) if a unique constraint refuses it. SQLite undoes
        only the failed statement; PostgreSQL aborts the transaction, so there a savepoint
        keeps the failure from spoiling the rest."""
        statement = insert_of(table, row)
        errors = (IntegrityError, self.sa_dialect.loaded_dbapi.IntegrityError)
        try:
            if self.sa_dialect.name == "sqlite":
                statement.run(self, row)
            else:
                with self.conn.begin_nested():
                    statement.run(self, row)
        except errors as exc:
            raise UniqueViolation(name) from exc

    def get_case(self, domain_id: str, case_id: str, for_update: bool = False) -> dict[str, Any] | None:
        """The case row; `for_update` takes a row lock on PostgreSQL (SQLite writers are serialized)."""
        q = _GET_CASE_FOR_UPDATE if for_update else _GET_CASE
        return q.first(self, {"domain_id": domain_id, "case_id": case_id})

    def get_case_in_domain(
        self, domain_id: str, case_id: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(domain, case) in one query, for reads that check the domain and then need a case's
        template at most: the domain as {domain_id, account, region} (None if there is none),
        the case as {case_id, template_id} (None if the domain holds no such case)."""
        r = _CASE_IN_DOMAIN.first(self, {"domain_id": domain_id, "case_id": case_id})
        if r is None:
            return None, None
        domain = {"domain_id": domain_id, "account": r["account"], "region": r["region"]}
        if r["case_id"] is None:
            return domain, None
        return domain, {"case_id": r["case_id"], "template_id": r["template_id"]}

    def get_case_with_values(
        self, domain_id: str, case_id: str, field_ids: list[str]
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, list[dict[str, Any]]]:
        """get_case_in_domain() and get_case_value_rows(field_ids) together (in one statement
        when the fields are few): (domain, case, value rows)."""
        ids = unique(field_ids)
        if not ids or len(ids) > _FEW_FIELDS:
            domain, case = self.get_case_in_domain(domain_id, case_id)
            rows = self.get_case_value_rows(domain_id, case_id, ids) if case is not None else []
            return domain, case, rows
        found = _CASE_WITH_VALUES.rows(self, {"domain_id": domain_id, "case_id": case_id, "ids": ids})
        if not found:
            return None, None, []
        first = found[0]
        domain = {"domain_id": domain_id, "account": first["account"], "region": first["region"]}
        if first["case_id"] is None:
            return domain, None, []
        case = {"case_id": first["case_id"], "template_id": first["template_id"]}
        # A value whose field row is missing is not returned (get_case_value_rows joins).
        return domain, case, [r for r in found if r["type"] is not None]

    def get_cases(self, domain_id: str, case_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = unique(case_ids)
        if not ids:
            return {}
        return {r["case_id"]: r for r in _GET_CASES.rows(self, {"domain_id": domain_id, "ids": ids})}

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
        _BUMP_VERSION.run(self, {"domain_id": domain_id, "case_id": case_id, "now_ms": now_ms})

    def delete_case(self, domain_id: str, case_id: str) -> None:
        """A hard delete of the case and everything stored under it (tags are the caller's)."""
        for table in (s.case_values, s.case_text, s.related_items, s.audit_events, s.cases):
            self.conn.execute(delete(table).where(table.c.domain_id == domain_id, table.c.case_id == case_id))

    # -- field values ----------------------------------------------------------------------
    def get_case_value_rows(
        self, domain_id: str, case_id: str, field_ids: Iterable[str] | None = None
    ) -> list[dict[str, Any]]:
        """Value rows with the field's `type` (the type decides which column holds the value),
        in field id order; all of the case's, or those of `field_ids`."""
        params: dict[str, Any] = {"domain_id": domain_id, "case_id": case_id}
        if field_ids is None:
            return _CASE_VALUE_ROWS.rows(self, params)
        ids = unique(field_ids)
        if not ids:
            return []
        if len(ids) <= _FEW_FIELDS:
            return _CASE_VALUE_ROWS_OF.rows(self, params | {"ids": ids})
        wanted = set(ids)
        return [r for r in _CASE_VALUE_ROWS.rows(self, params) if r["field_id"] in wanted]

    def put_case_values(self, domain_id: str, case_id: str, columns: dict[str, dict[str, Any]]) -> None:
        """Set values: `columns` maps field id -> {s_value, n_value, b_value, u_value}."""
        if not columns:
            return
        rows = [
            {
                "domain_id": domain_id, "case_id": case_id, "field_id": fid,
                "s_value": cols.get("s_value"), "n_value": cols.get("n_value"),
                "b_value": cols.get("b_value"), "u_value": cols.get("u_value"),
            }
            for fid, cols in columns.items()
        ]
        _PUT_VALUES[self.sa_dialect.name].run_many(self, rows)

    def delete_case_values(self, domain_id: str, case_id: str, field_ids: list[str]) -> None:
        if not field_ids:
            return
        _DELETE_VALUES.run(self, {"domain_id": domain_id, "case_id": case_id, "ids": unique(field_ids)})

    def put_case_text(self, domain_id: str, case_id: str, body: str) -> None:
        """Insert or replace the case's search text (callers hold the case row, so no race)."""
        _PUT_TEXT[self.sa_dialect.name].run(self, {"domain_id": domain_id, "case_id": case_id, "body": body})

    def get_case_text(self, domain_id: str, case_id: str) -> str | None:
        r = _GET_CASE_TEXT.first(self, {"domain_id": domain_id, "case_id": case_id})
        return r["body"] if r is not None else None

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
        self._insert_unique(s.idempotency, row, "idempotency")

    def get_idempotency(self, domain_id: str, operation: str, token: str) -> dict[str, Any] | None:
        return _GET_IDEMPOTENCY.first(self, {"domain_id": domain_id, "operation": operation, "token": token})

    def set_idempotency_response(self, domain_id: str, operation: str, token: str, response: Any) -> None:
        params = {"domain_id": domain_id, "operation": operation, "token": token, "new_response": response}
        _SET_IDEMPOTENCY_RESPONSE.run(self, params)

    # -- audit -----------------------------------------------------------------------------
    def insert_audit_event(self, row: dict[str, Any]) -> None:
        insert_of(s.audit_events, row).run(self, row)

    def list_audit_events(
        self, domain_id: str, case_id: str, after_seq: int | None, limit: int
    ) -> list[dict[str, Any]]:
        params = {"domain_id": domain_id, "case_id": case_id, "limit": limit}
        if after_seq is None:
            return _LIST_AUDIT_EVENTS.rows(self, params)
        return _LIST_AUDIT_EVENTS_AFTER.rows(self, params | {"after_seq": after_seq})
