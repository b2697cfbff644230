"""store/related_repo.py: the per-case lookups read the case's own index entries."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.dialects import sqlite

from opencases.store.related_repo import _COUNT_BY_TYPE
from opencases.store.store import Store


def test_counts_by_type_read_one_cases_entries(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'plan.db'}")
    try:
        sql = str(_COUNT_BY_TYPE.statement.compile(dialect=sqlite.dialect()))
        with store.read() as tx:
            plan = tx.dbapi_connection.execute("EXPLAIN QUERY PLAN " + sql, ("d", "c")).fetchall()
        details = " ".join(str(row[-1]) for row in plan)
        # Not the (domain, type, key) index, which reads the whole domain's items.
        assert "ix_related_case_type (domain_id=? AND case_id=?)" in details, details
    finally:
        store.close()
