"""Bulk writes for imports: many rows per table in one executemany."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, Connection, bindparam, select

from opencases.store import schema as s

_TABLES = {t.name: t for t in (s.cases, s.case_values, s.case_text, s.tags, s.audit_events)}
_REFERENCE = select(s.cases.c.case_id).where(
    s.cases.c.domain_id == bindparam("domain_id"), s.cases.c.reference_key == bindparam("key")
)


def _insert_sql(table: Any, columns: list[str], paramstyle: str) -> str:
    mark = "?" if paramstyle == "qmark" else "%s"
    names = ", ".join(columns)
    return f"INSERT INTO {table.name} ({names}) VALUES ({', '.join(mark for _ in columns)})"


class BulkRepo:
    conn: Connection

    def reference_taken(self, domain_id: str, reference_key: str) -> bool:
        return self.conn.execute(_REFERENCE, {"domain_id": domain_id, "key": reference_key}).first() is not None

    def insert_rows(self, rows_by_table: dict[str, list[dict[str, Any]]]) -> None:
        """Insert buffered rows, parents first (cases before their values, text and audit)."""
        paramstyle = self.conn.dialect.paramstyle
        for name in ("cases", "case_values", "case_text", "tags", "audit_events"):
            rows = rows_by_table.get(name)
            if not rows:
                continue
            table = _TABLES[name]
            # Straight to the driver's executemany: SQLAlchemy's per-row parameter processing
            # costs more than SQLite's insert itself. JSON columns are encoded here instead.
            columns = [c.name for c in table.columns if c.name in rows[0]]
            encode = [isinstance(table.c[c].type, JSON) for c in columns]
            params = [
                tuple(
                    json.dumps(r[c], separators=(",", ":")) if j and r[c] is not None else r[c]
                    for c, j in zip(columns, encode, strict=True)
                )
                for r in rows
            ]
            self.conn.exec_driver_sql(_insert_sql(table, columns, paramstyle), params)
