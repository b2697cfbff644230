"""Settings, built once from CLI flags and OPENCASES_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

# AWS default quotas (SPEC.md section 2.1); each is overridable in settings.
DEFAULT_QUOTAS: dict[str, int] = {
    "domains_per_account": 5,
    "fields_per_domain": 500,
    "deleted_fields_per_domain": 100,
    "options_per_field": 500,
    "layouts_per_domain": 100,
    "deleted_layouts_per_domain": 100,
    "templates_per_domain": 100,
    "deleted_templates_per_domain": 100,
    "case_rules_per_domain": 100,
    "fields_per_layout": 100,
    "related_items_per_case": 200,
    "files_per_case": 50,
    "slas_per_case": 10,
    "fields_per_custom_related_item": 5,
    "tags_per_resource": 50,
}


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"OPENCASES_{name}", default)


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = "sqlite:///opencases.db"
    auth: str = "open"
    # auth "strict": the JSON credentials file (server/credentials.py describes it).
    credentials_file: str | None = None
    enforce_case_rules: bool = False
    # "NORMAL" survives a killed process; "FULL" also survives power loss.
    sqlite_synchronous: str = "NORMAL"
    log_level: str = "info"
    log_format: str = "text"  # "text" or "json" (one JSON object per line)
    workers: int = 1  # server processes; more than one needs no sticky state (all is in the database)
    # "off", or "aws" for AWS's documented per-account request rates (server/throttle.py).
    rate_limits: str = "off"
    quotas: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_QUOTAS))
    # Case event delivery (server/delivery.py). No sink: events wait in the outbox.
    event_webhooks: list[str] = field(default_factory=list)
    event_webhook_secret: str | None = None
    event_log: str | None = None
    event_max_attempts: int = 10
    event_retry_base: float = 1.0  # seconds before the first retry; doubles per attempt
    event_retry_max: float = 300.0  # the longest wait between two attempts
    event_timeout: float = 10.0  # seconds for one webhook POST
    event_lease: float = 60.0  # seconds a claimed batch is a worker's before others may take it
    event_poll: float = 1.0  # seconds between looks for work written by other processes
    event_batch: int = 100
    event_concurrency: int = 4  # cases sent in parallel (each case's events stay in order)

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        s = cls()
        s.host = _env("HOST", s.host) or s.host
        s.port = int(_env("PORT", str(s.port)) or s.port)
        s.database_url = _env("DATABASE_URL", s.database_url) or s.database_url
        s.auth = _env("AUTH", s.auth) or s.auth
        s.credentials_file = _env("CREDENTIALS") or None
        s.enforce_case_rules = (_env("ENFORCE_CASE_RULES", "") or "").lower() in ("1", "true", "yes")
        s.sqlite_synchronous = (_env("SQLITE_SYNCHRONOUS", s.sqlite_synchronous) or "NORMAL").upper()
        s.log_level = _env("LOG_LEVEL", s.log_level) or s.log_level
        s.log_format = (_env("LOG_FORMAT", s.log_format) or s.log_format).lower()
        s.workers = int(_env("WORKERS") or s.workers)
        s.rate_limits = (_env("RATE_LIMITS", s.rate_limits) or s.rate_limits).lower()
        s.event_webhooks = [u.strip() for u in (_env("EVENT_WEBHOOKS") or "").split(",") if u.strip()]
        s.event_webhook_secret = _env("EVENT_WEBHOOK_SECRET") or None
        s.event_log = _env("EVENT_LOG") or None
        s.event_max_attempts = int(_env("EVENT_MAX_ATTEMPTS") or s.event_max_attempts)
        for name in ("retry_base", "retry_max", "timeout", "lease", "poll"):
            value = _env(f"EVENT_{name.upper()}")
            if value:
                setattr(s, f"event_{name}", float(value))
        s.event_batch = int(_env("EVENT_BATCH") or s.event_batch)
        s.event_concurrency = int(_env("EVENT_CONCURRENCY") or s.event_concurrency)
        for key in DEFAULT_QUOTAS:
            value = _env(f"QUOTA_{key.upper()}")
            if value is not None:
                s.quotas[key] = int(value)
        for key, value in overrides.items():
            if value is not None:
                setattr(s, key, value)
        return s
