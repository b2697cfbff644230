"""Trigram index over text values (SQLite), so SearchCases `contains` reads an index.

PostgreSQL already has it: migration 0001 creates a pg_trgm GIN index on case_values.s_value,
which ILIKE uses. On SQLite an external-content FTS5 table with the trigram tokenizer (case
folded) indexes every s_value, kept in step by triggers; a `contains` of three or more
characters asks it for candidate rows, then checks them exactly.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE VIRTUAL TABLE value_trgm USING fts5(s_value, content='case_values', "
        "content_rowid='rowid', tokenize='trigram case_sensitive 0')"
    )
    op.execute(
        "CREATE TRIGGER case_values_trgm_ai AFTER INSERT ON case_values WHEN new.s_value IS NOT NULL BEGIN "
        "INSERT INTO value_trgm(rowid, s_value) VALUES (new.rowid, new.s_value); END"
    )
    op.execute(
        "CREATE TRIGGER case_values_trgm_ad AFTER DELETE ON case_values WHEN old.s_value IS NOT NULL BEGIN "
        "INSERT INTO value_trgm(value_trgm, rowid, s_value) VALUES ('delete', old.rowid, old.s_value); END"
    )
    op.execute(
        "CREATE TRIGGER case_values_trgm_ud AFTER UPDATE ON case_values WHEN old.s_value IS NOT NULL BEGIN "
        "INSERT INTO value_trgm(value_trgm, rowid, s_value) VALUES ('delete', old.rowid, old.s_value); END"
    )
    op.execute(
        "CREATE TRIGGER case_values_trgm_ui AFTER UPDATE ON case_values WHEN new.s_value IS NOT NULL BEGIN "
        "INSERT INTO value_trgm(rowid, s_value) VALUES (new.rowid, new.s_value); END"
    )
    # Databases migrated from 0001 with cases in them: index what is there.
    op.execute("INSERT INTO value_trgm(value_trgm) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in ("ai", "ad", "ud", "ui"):
        op.execute(f"DROP TRIGGER IF EXISTS case_values_trgm_{trigger}")
    op.execute("DROP TABLE IF EXISTS value_trgm")
