"""An index on case_values by case, field and number (SQLite), so a number or date condition
checked case by case reads one index.

A SearchCases filter whose cases come from other conditions (an andAll: the narrowest
condition's index, or equalities intersected) checks each remaining condition per case. For
a range on a Number or DateTime that was a seek of the primary key (domain, case, field),
then of the row for its n_value: two seeks per case. With n_value in an index beside the key
it is one (bench/search.py's andAll: its count 110 -> 70-77 ms at 330,000 cases, 313-333 ->
222-262 ms at a million; imports ~3% slower). Partial, as the value indexes are: a row sets
one typed column, a third of them n_value. PostgreSQL: nothing (at 200,000 cases its andAll
was no faster with it, and the database 8% larger).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEX = "ix_case_values_case_n"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.create_index(
        INDEX,
        "case_values",
        ["domain_id", "case_id", "field_id", "n_value"],
        sqlite_where=sa.text("n_value IS NOT NULL"),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.drop_index(INDEX, table_name="case_values")
