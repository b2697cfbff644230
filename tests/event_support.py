"""Helpers for the case event tests: fast delivery settings, a server with a webhook receiver,
and waiting for one domain's events."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from opencases.testing.webhook import WebhookReceiver
from tests.support import LiveServer

# Retries in tens of milliseconds and a short lease, so outages and crashes heal within a test.
FAST = {
    "OPENCASES_EVENT_RETRY_BASE": "0.05",
    "OPENCASES_EVENT_RETRY_MAX": "0.2",
    "OPENCASES_EVENT_POLL": "0.05",
    "OPENCASES_EVENT_LEASE": "2",
    "OPENCASES_EVENT_TIMEOUT": "2",
}

SECRET = "s3cret"


class PostgresDatabase:
    """A database of its own on the test PostgreSQL server, dropped afterwards.

    Not a schema (tests.support.PostgresSchema): the outbox tests count and re-queue every
    row of the outbox, and a schema whose search path ends in `public` reads public's tables
    whenever those exist (Alembic then finds public's version table and creates nothing).
    """

    def __init__(self, base_url: str) -> None:
        self.name = "ev_" + uuid.uuid4().hex[:12]
        base = make_url(base_url.replace("postgresql://", "postgresql+psycopg://", 1))
        self.admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = base.set(database=self.name).render_as_string(hide_password=False).replace(
            "postgresql+psycopg://", "postgresql://", 1
        )
        mine = create_engine(base.set(database=self.name))
        with mine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        mine.dispose()

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def event_server(
    database_url: str, workdir: Path, hook: WebhookReceiver | None, *args: str, env: dict[str, str] | None = None
) -> LiveServer:
    """A started server sending to `hook` (no sink when None), with FAST settings plus `env`."""
    extra = ["--event-webhook", hook.url, "--event-webhook-secret", SECRET] if hook is not None else []
    with pytest.MonkeyPatch.context() as mp:
        for name, value in (FAST | (env or {})).items():
            mp.setenv(name, value)
        return LiveServer(database_url, workdir, [*extra, *args]).start()


@contextlib.contextmanager
def running(server: LiveServer) -> Iterator[LiveServer]:
    try:
        yield server
    finally:
        server.stop()


def enable(client: Any, domain_id: str, *fields: str, auto: str | None = None, content: bool = True,
           case_data: bool = True) -> None:
    included: dict[str, Any] = {"relatedItemData": {"includeContent": content}}
    if case_data:
        included["caseData"] = {"fields": [{"id": f} for f in fields]}
        if auto is not None:
            included["caseData"]["autoIncludeFields"] = auto
    client.put_case_event_configuration(domainId=domain_id, eventBridge={"enabled": True, "includedData": included})


def of_domain(hook: WebhookReceiver, domain_id: str) -> list[dict[str, Any]]:
    return [e for e in hook.events() if e["resources"][0].endswith(f"domain/{domain_id}")]


def wait_domain(hook: WebhookReceiver, domain_id: str, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    """The events of one domain once there are at least `count` (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        got = of_domain(hook, domain_id)
        if len(got) >= count:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(got)} of {count} events for domain {domain_id} arrived: {got}")
        time.sleep(0.02)


def settle(hook: WebhookReceiver, domain_id: str, count: int, quiet: float = 0.3) -> list[dict[str, Any]]:
    """Exactly `count` events of the domain: waits for them, then checks no more come."""
    got = wait_domain(hook, domain_id, count)
    time.sleep(quiet)
    got = of_domain(hook, domain_id)
    assert len(got) == count, [e["detail"]["eventType"] for e in got]
    return got
