"""Settings, built once from CLI flags and OPENCASES_* environment variables."""

from __future__ import annotations

import argparse
import math
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


class SettingsError(ValueError):
    """A setting that cannot work, worded for the operator (the CLI prints it and exits 2)."""


# `opencases import`: cases per write transaction. Few commits, each writing the index pages
# its cases touched (bench/search.py's cases, one run each: 10,000 a batch imported the first
# 200,000 at 2,469 cases/s, 1,000 a batch at 1,599). Here rather than in transfer.py, which
# takes half a second to import, so that the CLI's help can show it.
DEFAULT_BATCH = 10_000


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"OPENCASES_{name}", default)


def _env_number(name: str, kind: type[int] | type[float]) -> int | float | None:
    """OPENCASES_<name> as a number, None when unset or empty."""
    raw = _env(name)
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise SettingsError(f"OPENCASES_{name} must be {what}, not {raw!r}") from None


def positive_flag(text: str) -> int:
    """An argparse type for a count flag: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


# The numeric settings' bounds: attribute, its flag (or None), least value, whether the least
# value itself is refused (a timeout of 0 s), greatest value.
_BOUNDS: tuple[tuple[str, str | None, float, bool, float | None], ...] = (
    ("port", "--port", 1, False, 65535),
    ("workers", "--workers", 1, False, None),
    ("event_max_attempts", "--event-max-attempts", 1, False, None),
    ("event_retry_base", "--event-retry-base", 0, False, None),
    ("event_retry_max", "--event-retry-max", 0, False, None),
    ("event_timeout", "--event-timeout", 0, True, None),
    ("event_lease", None, 0, True, None),
    ("event_poll", None, 0, True, None),
    ("event_batch", None, 1, False, None),
    ("event_concurrency", None, 1, False, None),
)


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
        port = _env_number("PORT", int)
        s.port = s.port if port is None else int(port)
        s.database_url = _env("DATABASE_URL", s.database_url) or s.database_url
        s.auth = _env("AUTH", s.auth) or s.auth
        s.credentials_file = _env("CREDENTIALS") or None
        s.enforce_case_rules = (_env("ENFORCE_CASE_RULES", "") or "").lower() in ("1", "true", "yes")
        s.sqlite_synchronous = (_env("SQLITE_SYNCHRONOUS", s.sqlite_synchronous) or "NORMAL").upper()
        s.log_level = _env("LOG_LEVEL", s.log_level) or s.log_level
        s.log_format = (_env("LOG_FORMAT", s.log_format) or s.log_format).lower()
        workers = _env_number("WORKERS", int)
        s.workers = s.workers if workers is None else int(workers)
        s.rate_limits = (_env("RATE_LIMITS", s.rate_limits) or s.rate_limits).lower()
        s.event_webhooks = [u.strip() for u in (_env("EVENT_WEBHOOKS") or "").split(",") if u.strip()]
        s.event_webhook_secret = _env("EVENT_WEBHOOK_SECRET") or None
        s.event_log = _env("EVENT_LOG") or None
        for name in ("max_attempts", "retry_base", "retry_max", "timeout", "lease", "poll", "batch", "concurrency"):
            # Parsed as the default's type: a whole number where the default is an int.
            value = _env_number(f"EVENT_{name.upper()}", type(getattr(s, f"event_{name}")))
            if value is not None:
                setattr(s, f"event_{name}", value)
        for key in DEFAULT_QUOTAS:
            quota = _env_number(f"QUOTA_{key.upper()}", int)
            if quota is not None:
                s.quotas[key] = int(quota)
        for key, value in overrides.items():
            if value is not None:
                setattr(s, key, value)
        return s

    def problem(self) -> str | None:
        """The first numeric setting out of its bounds, worded for the operator, or None.
        (A worker count of 0 or a negative port would otherwise be accepted here and fail
        later, or silently not at all.)"""
        for name, flag, least, exclusive, most in _BOUNDS:
            value = getattr(self, name)
            where = f"{flag} (OPENCASES_{name.upper()})" if flag else f"OPENCASES_{name.upper()}"
            if not math.isfinite(value):  # float() reads "nan" and "inf", which compare as no bound
                return f"{where} must be a finite number, not {value}"
            if exclusive and value <= least:
                return f"{where} must be more than {least}, not {value}"
            if value < least:
                return f"{where} must be at least {least}, not {value}"
            if most is not None and value > most:
                return f"{where} must be at most {most}, not {value}"
        for key, quota in self.quotas.items():
            if quota < 0:
                return f"OPENCASES_QUOTA_{key.upper()} must be at least 0, not {quota}"
        return None
