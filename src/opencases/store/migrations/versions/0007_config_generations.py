"""A configuration generation per domain, raised by triggers, so readers may cache.

Every search and case write read the domain's row and all its fields (~20 rows; 55 us of
the ~450 us a request of bench/load.py's mix costs). The triggers raise the domain's number
in the transaction of any insert, update or delete of its `domains` or `fields` rows, whoever
writes them (the API, import, another server process), so a reader that finds the number it
cached under has the rows it cached.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("domains", "fields")


def _bump(row: str) -> str:
    return (
        f"INSERT INTO config_generations (domain_id, generation) VALUES ({row}.domain_id, 1) "
        "ON CONFLICT (domain_id) DO UPDATE SET generation = config_generations.generation + 1;"
    )


def upgrade() -> None:
    op.create_table(
        "config_generations",
        sa.Column("domain_id", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("domain_id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # search_path fixed at creation: the function runs in the schema it was made in.
        op.execute(
            "CREATE FUNCTION opencases_config_generation() RETURNS trigger LANGUAGE plpgsql "
            "SET search_path FROM CURRENT AS $$ BEGIN "
            f"IF TG_OP = 'DELETE' THEN {_bump('OLD')} ELSE {_bump('NEW')} END IF; "
            "IF TG_OP = 'UPDATE' AND OLD.domain_id <> NEW.domain_id THEN "
            f"{_bump('OLD')} END IF; RETURN NULL; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_config_generation AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION opencases_config_generation()"
            )
    else:
        for table in TABLES:
            for event, rows in (("INSERT", ("new",)), ("UPDATE", ("old", "new")), ("DELETE", ("old",))):
                op.execute(
                    f"CREATE TRIGGER {table}_config_generation_{event.lower()} AFTER {event} ON {table} "
                    f"BEGIN {' '.join(_bump(row) for row in rows)} END"
                )
    op.execute("INSERT INTO config_generations (domain_id, generation) SELECT domain_id, 1 FROM domains")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_config_generation ON {table}")
        op.execute("DROP FUNCTION IF EXISTS opencases_config_generation()")
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_config_generation_{event}")
    op.drop_table("config_generations")
