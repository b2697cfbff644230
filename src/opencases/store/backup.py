"""`opencases backup PATH`: a consistent copy of a SQLite database, safe while it is served.

sqlite3's online backup API (`Connection.backup`) copies the pages inside one read
transaction when asked for all pages in one step, so the copy is the database as of one
commit: a write acknowledged before the backup started is in it, one still running is not
half in it. In WAL mode that read transaction does not block the server's writers. The copy
goes to a temporary file beside PATH, is checked with `PRAGMA integrity_check`, switched to
the rollback journal (a single self-contained file) and renamed over PATH only then, so PATH
is never a partial copy.

PostgreSQL has its own tools for this (pg_dump, or base backups with WAL archiving); the
command refuses it and says so.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from opencases.store.db import normalize_url


class BackupError(Exception):
    """The backup cannot be made; the message says why, for the operator."""


@dataclass
class BackupReport:
    source: str
    target: str
    pages: int
    bytes: int
    integrity: str


def sqlite_path(database_url: str) -> str:
    """The file of a SQLite URL; BackupError for PostgreSQL, memory databases and the rest."""
    url = make_url(normalize_url(database_url))
    backend = url.get_backend_name()
    if backend == "postgresql":
        raise BackupError(
            "backup copies SQLite databases only; for PostgreSQL use pg_dump "
            "(e.g. `pg_dump --format=custom --file=opencases.dump DBNAME`) or your base-backup tooling"
        )
    if backend != "sqlite":
        raise BackupError(f"backup does not support {backend} databases")
    if url.database in (None, "", ":memory:"):
        raise BackupError("an in-memory database has nothing on disk to back up")
    return str(url.database)


def backup_sqlite(database_url: str, target: str | os.PathLike[str]) -> BackupReport:
    source_path = sqlite_path(database_url)
    if not Path(source_path).exists():
        raise BackupError(f"no database at {source_path}")
    target_path = Path(target)
    if target_path.resolve() == Path(source_path).resolve():
        raise BackupError("the backup must not overwrite the database itself")
    tmp = target_path.with_name(f".{target_path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    # Not `mode=ro`: a read-only connection cannot open a WAL database whose -shm file is
    # missing (a server that is not running). The backup only reads either way.
    src = sqlite3.connect(source_path, timeout=30)
    try:
        dst = sqlite3.connect(tmp)
        try:
            # pages=-1: every page in one step, i.e. inside one read transaction (one commit's view).
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")
            integrity = str(dst.execute("PRAGMA integrity_check").fetchone()[0])
            pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
        finally:
            dst.close()
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    os.replace(tmp, target_path)
    return BackupReport(source_path, str(target_path), pages, target_path.stat().st_size, integrity)
