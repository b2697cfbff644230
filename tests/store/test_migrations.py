"""Migrations: `opencases migrate` builds exactly the schema that schema.py declares."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from opencases.store import migrate
from opencases.store.db import Database
from opencases.store.schema import NUMBER_PROBE_INDEX, metadata


def test_migrate_command_reaches_head_and_is_idempotent(database_url: str) -> None:
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-m", "opencases", "migrate", "--database-url", database_url],
            capture_output=True, text=True, check=True,
        )
        assert "database at revision" in out.stdout
    db = Database(database_url)
    try:
        head = migrate.alembic_config(db.url)
        from alembic.script import ScriptDirectory

        assert migrate.current_revision(db) == ScriptDirectory.from_config(head).get_current_head()
    finally:
        db.dispose()


# The full-text objects and SQLite's number probe index are dialect-specific DDL in the
# migrations, not in schema.py.
DIALECT_INDEXES = {"ix_case_text_tsv", "ix_case_text_trgm", "ix_case_values_s_trgm", NUMBER_PROBE_INDEX}


def _dialect_specific(diff: tuple) -> bool:  # type: ignore[type-arg]
    kind, obj = diff[0], diff[1]
    if kind == "remove_table":
        return str(obj.name).startswith(("case_fts", "value_trgm"))
    if kind == "remove_index":
        return obj.name in DIALECT_INDEXES
    return False


def test_migrated_schema_matches_declared_tables(database_url: str) -> None:
    db = Database(database_url)
    try:
        migrate.upgrade(db)
        with db.engine.connect() as conn:
            declared = compare_metadata(MigrationContext.configure(conn), metadata)
            diffs = [d for d in declared if not _dialect_specific(d)]
            tables = set(inspect(conn).get_table_names())
            indexes = {i["name"] for i in inspect(conn).get_indexes("case_values")}
        assert diffs == []
        assert {t.name for t in metadata.sorted_tables} <= tables
        if db.is_sqlite:
            assert "case_fts" in tables
        assert (NUMBER_PROBE_INDEX in indexes) == db.is_sqlite
    finally:
        db.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        migrate.upgrade(db)
        with db.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    finally:
        db.dispose()
