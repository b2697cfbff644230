"""Bulk writes for imports: many rows per table in few statements.

SQLite gets multi-row `INSERT ... VALUES (...), (...)` statements: the triggers that feed the
FTS5 indexes (case_fts, value_trgm) cost far more per statement than per row, so one
statement per row (executemany) spent most of an import in them. PostgreSQL gets psycopg's
executemany, which pipelines the rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import JSON, Connection, Table, bindparam, select
from sqlalchemy.engine import Dialect

from opencases.store import schema as s
from opencases.store.prepared import Prepared

# The tables an import writes, parents first (cases before their values, text and audit).
TABLES = {t.name: t for t in (s.cases, s.case_values, s.case_text, s.tags, s.audit_events)}
_REFERENCE = Prepared(
    select(s.cases.c.case_id).where(
        s.cases.c.domain_id == bindparam("domain_id"), s.cases.c.reference_key == bindparam("key")
    ),
    custom_plan=True,
)
# Rows per multi-row statement at most (SQLite's limit on parameters may make it fewer): few
# statements per batch, as each one makes an import's writer thread wait for the GIL once.
# Shorter statements come in power-of-two lengths, so a handful of SQL texts serve every
# batch from sqlite3's statement cache.
MAX_ROWS_PER_STATEMENT = 32768


def json_columns(table: Table, columns: Iterable[str]) -> list[bool]:
    """Which of `columns` hold JSON, which the caller encodes (json.dumps) for the driver."""
    return [isinstance(table.c[c].type, JSON) for c in columns]


def encode_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@lru_cache(maxsize=256)
def _insert_sql(table: Table, columns: tuple[str, ...], paramstyle: str, rows: int = 1) -> str:
    mark = "?" if paramstyle == "qmark" else "%s"
    names = ", ".join(columns)
    row = f"({', '.join(mark for _ in columns)})"
    return f"INSERT INTO {table.name} ({names}) VALUES {', '.join(row for _ in range(rows))}"


def chunk_lengths(total: int, largest: int) -> Iterable[int]:
    """`total` split into statements of `largest` rows, the rest in powers of two."""
    full, rest = divmod(total, largest)
    yield from (largest for _ in range(full))
    size = 1 << max(0, largest.bit_length() - 1)
    while rest:
        if rest >= size:
            yield size
            rest -= size
        size >>= 1


class BulkInsert(NamedTuple):
    """One statement of a bulk insert, ready for the driver."""

    sql: str
    params: list[Any]  # SQLite: the values of all its rows in one list; else one tuple per row
    many: bool  # executemany (PostgreSQL) rather than one multi-row statement


class BulkRepo:
    conn: Connection
    dbapi_connection: Any
    sa_dialect: Dialect

    def reference_taken(self, domain_id: str, reference_key: str) -> bool:
        return _REFERENCE.first(self, {"domain_id": domain_id, "key": reference_key}) is not None

    def bulk_inserts(self, name: str, columns: tuple[str, ...], params: list[tuple[Any, ...]]) -> list[BulkInsert]:
        """The statements that insert rows of table `name`, given as tuples of driver values
        (JSON already encoded) in the order of `columns`. They go straight to the driver:
        SQLAlchemy's per-row parameter processing costs more than the insert itself. Made
        apart from run_inserts, so that an import prepares them while another batch is
        being written."""
        table = TABLES[name]
        paramstyle = self.sa_dialect.paramstyle
        if self.sa_dialect.name != "sqlite":
            return [BulkInsert(_insert_sql(table, columns, paramstyle), params, True)]
        limit = self.dbapi_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(columns)
        out, start = [], 0
        for length in chunk_lengths(len(params), max(1, min(MAX_ROWS_PER_STATEMENT, limit))):
            flat = [v for row in params[start : start + length] for v in row]
            out.append(BulkInsert(_insert_sql(table, columns, paramstyle, length), flat, False))
            start += length
        return out

    def run_inserts(self, inserts: Iterable[BulkInsert]) -> None:
        for insert in inserts:
            if insert.many:
                self.conn.exec_driver_sql(insert.sql, insert.params)
            else:
                self.dbapi_connection.execute(insert.sql, insert.params)
