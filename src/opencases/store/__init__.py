"""Persistence: SQLAlchemy Core on SQLite or PostgreSQL; no botocore, no HTTP."""
