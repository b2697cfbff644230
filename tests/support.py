"""Test support: a live opencases server in a subprocess, and boto3 clients bound to it."""

from __future__ import annotations

import os
import uuid

from sqlalchemy import create_engine, text

# The live server and client helpers ship in the package (opencases.testing.server) so that
# users' test suites get them too; they are re-exported here under their old names.
from opencases.testing.server import LiveServer, free_port, make_client, random_account

__all__ = ["LiveServer", "PostgresSchema", "free_port", "make_client", "postgres_url", "random_account"]

PG_ENV = "OPENCASES_TEST_DATABASE_URL"


class PostgresSchema:
    """A private schema in the test PostgreSQL database, dropped afterwards."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.name = "t_" + uuid.uuid4().hex[:12]
        url = base_url.replace("postgresql://", "postgresql+psycopg://", 1)
        self.engine = create_engine(url)
        with self.engine.begin() as conn:
            # pg_trgm lives in public so that dropping test schemas never drops it.
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))

    @property
    def url(self) -> str:
        sep = "&" if "?" in self.base_url else "?"
        # Only the private schema: with public on the path, Alembic would find (and use) any
        # tables left in public instead of creating its own.
        return f"{self.base_url}{sep}options=-csearch_path%3D{self.name}"

    def drop(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        self.engine.dispose()


def postgres_url() -> str | None:
    return os.environ.get(PG_ENV) or None
