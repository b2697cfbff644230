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
    # "off", or "aws" for AWS's documented per-account request rates (server/throttle.py).
    rate_limits: str = "off"
    quotas: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_QUOTAS))

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
        s.rate_limits = (_env("RATE_LIMITS", s.rate_limits) or s.rate_limits).lower()
        for key in DEFAULT_QUOTAS:
            value = _env(f"QUOTA_{key.upper()}")
            if value is not None:
                s.quotas[key] = int(value)
        for key, value in overrides.items():
            if value is not None:
                setattr(s, key, value)
        return s
