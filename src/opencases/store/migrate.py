"""Apply the Alembic migrations to a database (at server start and by `opencases migrate`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from opencases.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # configparser treats % as interpolation; URLs carry percent-escapes.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(db: Database) -> None:
    cfg = alembic_config(db.url)
    if db.is_sqlite:
        # Serialize with our own writers; BEGIN IMMEDIATE also keeps two starting
        # processes from migrating the same file at once.
        with db.write() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    else:
        with db.engine.begin() as conn:
            # Two servers starting together must not both run the DDL.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
