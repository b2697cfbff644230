"""Alembic migrations of the opencases schema."""
