"""Alembic revisions, applied in order at start and by `opencases migrate`."""
