"""Case event delivery end to end: a live server, a webhook receiver on loopback, outages,
crashes (SIGKILL), dead letters and the `opencases events` CLI, and two servers sharing one
PostgreSQL database. Each test has a database of its own (a SQLite file, or a PostgreSQL
database), so the outbox holds only its events."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opencases.testing.webhook import WebhookReceiver
from tests.event_support import PostgresDatabase, enable, event_server, running
from tests.services.case_support import fv, new_case, new_template
from tests.support import make_client, postgres_url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'events.db'}"
        return
    base = postgres_url()
    if base is None:
        pytest.skip("OPENCASES_TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    db = PostgresDatabase(base)
    try:
        yield db.url
    finally:
        db.drop()


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def events_cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opencases", "events", *args, "--database-url", db_url],
                          capture_output=True, text=True, timeout=60)


def outbox(db_url: str, dead: bool = False) -> list[dict[str, Any]]:
    out = events_cli(db_url, "list", "--json", *(["--dead"] if dead else []))
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def wait_until(check: Any, timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Workload:
    """A domain publishing events, and cases whose `summary` counts their updates."""

    def __init__(self, client: Any, cases: int = 3) -> None:
        self.client = client
        self.domain = str(client.create_domain(name="events")["domainId"])
        enable(client, self.domain, "summary")
        template = new_template(client, self.domain)
        self.cases = [new_case(client, self.domain, template, f"case {i}") for i in range(cases)]
        self.updates = {c: 0 for c in self.cases}

    def update(self, case_id: str, client: Any | None = None) -> None:
        self.updates[case_id] += 1
        (client or self.client).update_case(domainId=self.domain, caseId=case_id,
                                            fields=[fv("summary", str(self.updates[case_id]))])

    def update_all(self, rounds: int) -> None:
        for _ in range(rounds):
            for c in self.cases:
                self.update(c)

    @property
    def expected(self) -> int:
        return len(self.cases) + sum(self.updates.values())

    def check(self, events: list[dict[str, Any]], exactly_once: bool = True) -> None:
        """Every event arrived, each case's in the order made (a repeat may follow a crash)."""
        ids = [e["id"] for e in events]
        if exactly_once:
            assert len(ids) == len(set(ids)) == self.expected
        else:
            assert len(set(ids)) == self.expected
        for c in self.cases:
            mine = [e["detail"] for e in events if e["detail"]["case"]["caseId"] == c]
            firsts = list(dict.fromkeys(json.dumps(d, sort_keys=True) for d in mine))
            kinds = [json.loads(d)["eventType"] for d in firsts]
            assert kinds == ["CASE.CREATED"] + ["CASE.UPDATED"] * self.updates[c]
            summaries = [json.loads(d)["case"]["fields"].get("summary", {}).get("value") for d in firsts[1:]]
            assert summaries == [{"stringValue": str(n)} for n in range(1, self.updates[c] + 1)]


def test_events_made_while_the_receiver_is_down_arrive_when_it_returns(
    db_url: str, tmp_path: Path, hook: WebhookReceiver
) -> None:
    with running(event_server(db_url, tmp_path, hook)) as server:
        work = Workload(server.client())
        # Stopping the receiver while it takes a request would make a legitimate duplicate:
        # wait until the sender has its answers too (the delivered rows are gone).
        hook.wait_for(len(work.cases))
        wait_until(lambda: outbox(db_url) == [], what="the creations settled")
        hook.stop()
        work.update_all(3)
        time.sleep(0.5)  # several failed rounds
        assert len(hook.events()) < work.expected
        hook.start()
        hook.wait_for(work.expected)
        work.check(_quiet(hook))
        assert outbox(db_url) == []


def _quiet(hook: WebhookReceiver, seconds: float = 0.3) -> list[dict[str, Any]]:
    time.sleep(seconds)
    return hook.events()


def test_sigkill_after_commit_delivers_after_restart(db_url: str, tmp_path: Path, hook: WebhookReceiver) -> None:
    server = event_server(db_url, tmp_path, hook)
    try:
        work = Workload(server.client())
        created = hook.wait_for(len(work.cases))
        hook.stop()
        work.update_all(4)
        server.stop(signal.SIGKILL)
        assert server.proc is not None and server.proc.returncode == -signal.SIGKILL
        hook.start()
        time.sleep(0.3)
        assert hook.events() == created  # nobody is left to send them
        server.start()
        hook.wait_for(work.expected)
        work.check(_quiet(hook), exactly_once=False)
    finally:
        server.stop()


def test_order_per_case_is_kept_through_failures(db_url: str, tmp_path: Path, hook: WebhookReceiver) -> None:
    with running(event_server(db_url, tmp_path, hook)) as server:
        work = Workload(server.client(), cases=4)
        stop = threading.Event()

        def flap() -> None:
            # Refuse until a delivery has been refused, then flap: a fast server could
            # otherwise deliver every event within the accepting windows.
            hook.status = 500
            deadline = time.monotonic() + 10
            while hook.refused == 0 and time.monotonic() < deadline:
                time.sleep(0.005)
            while not stop.is_set():
                hook.status = 500 if hook.status == 200 else 200
                time.sleep(0.03)
            hook.status = 200

        flapper = threading.Thread(target=flap)
        flapper.start()
        clients = [make_client(server.endpoint, account=work.client._request_signer._credentials.access_key)
                   for _ in work.cases]

        def hammer(case_id: str, client: Any) -> None:
            for _ in range(15):
                work.update(case_id, client)

        threads = [threading.Thread(target=hammer, args=pair) for pair in zip(work.cases, clients, strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stop.set()
        flapper.join()
        assert hook.refused > 0
        hook.wait_for(work.expected, timeout=30)
        work.check(_quiet(hook))


def test_dead_letters_are_listed_and_redelivered(db_url: str, tmp_path: Path, hook: WebhookReceiver) -> None:
    hook.status = 500
    with running(event_server(db_url, tmp_path, hook, "--event-max-attempts", "3")) as server:
        work = Workload(server.client(), cases=2)
        work.update_all(1)
        dead = wait_until(lambda: len(outbox(db_url, dead=True)) == work.expected and outbox(db_url, dead=True),
                          what="dead letters")
        assert {d["attempts"] for d in dead} == {3}
        assert all("HTTP 500" in d["last_error"] for d in dead)
        assert {d["event"]["detail"]["eventType"] for d in dead} == {"CASE.CREATED", "CASE.UPDATED"}
        assert outbox(db_url) == []
        assert hook.events() == []

        hook.status = 200
        first = dead[0]["seq"]
        out = events_cli(db_url, "redeliver", str(first))
        assert out.returncode == 0 and f"re-queued 1 event(s): {first}" in out.stdout
        assert hook.wait_for(1)[0]["id"] == dead[0]["event"]["id"]

        missing = events_cli(db_url, "redeliver", str(first))  # delivered, so no longer dead
        assert missing.returncode == 1 and str(first) in missing.stderr
        assert events_cli(db_url, "redeliver").returncode == 2

        out = events_cli(db_url, "redeliver", "--all")
        assert out.returncode == 0 and f"re-queued {work.expected - 1} event(s)" in out.stdout
        hook.wait_for(work.expected)
        work.check(_quiet(hook))
        assert outbox(db_url, dead=True) == []
        text = events_cli(db_url, "list", "--dead")
        assert text.returncode == 0 and "0 pending, 0 dead" in text.stderr


def test_a_timeout_is_a_failure(db_url: str, tmp_path: Path, hook: WebhookReceiver) -> None:
    hook.delay = 1.5
    env = {"OPENCASES_EVENT_TIMEOUT": "0.3"}
    with running(event_server(db_url, tmp_path, hook, "--event-max-attempts", "1", env=env)) as server:
        Workload(server.client(), cases=1)
        (dead,) = wait_until(lambda: outbox(db_url, dead=True), what="a dead letter")
        assert "timed out" in dead["last_error"]


def test_without_a_sink_events_wait_in_the_outbox(db_url: str, tmp_path: Path, hook: WebhookReceiver) -> None:
    with running(event_server(db_url, tmp_path, None)) as server:
        work = Workload(server.client())
        work.update_all(2)
    pending = outbox(db_url)
    assert len(pending) == work.expected
    assert all(p["attempts"] == 0 and p["state"] == "pending" for p in pending)
    log = tmp_path / "events.jsonl"
    with running(event_server(db_url, tmp_path, hook, "--event-log", str(log))):
        hook.wait_for(work.expected)
        work.check(_quiet(hook))
        # Both sinks get every event, in the same order per case.
        logged = [json.loads(line) for line in log.read_text().splitlines()]
        assert sorted(e["id"] for e in logged) == sorted(e["id"] for e in hook.events())
        work.check(logged)


def test_delete_domain_keeps_its_undelivered_events(db_url: str, tmp_path: Path, hook: WebhookReceiver) -> None:
    with running(event_server(db_url, tmp_path, hook)) as server:
        hook.stop()
        work = Workload(server.client(), cases=2)
        work.client.delete_domain(domainId=work.domain)
        hook.start()
        assert len(hook.wait_for(work.expected)) == work.expected


def test_two_servers_on_postgres_deliver_each_event_once(tmp_path: Path, hook: WebhookReceiver) -> None:
    base = postgres_url()
    if base is None:
        pytest.skip("OPENCASES_TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    db = PostgresDatabase(base)
    a = b = None
    try:
        # Fast polling: each process keeps looking for the other's events too, so both try to
        # claim the same rows all the time.
        env = {"OPENCASES_EVENT_POLL": "0.01"}
        a = event_server(db.url, tmp_path, hook, env=env)
        b = event_server(db.url, tmp_path, hook, env=env)
        work = Workload(a.client(), cases=8)
        account = work.client._request_signer._credentials.access_key
        clients = [make_client(s.endpoint, account=account) for s in (a, b) for _ in range(4)]

        def hammer(case_id: str, client: Any) -> None:
            for _ in range(25):
                work.update(case_id, client)

        threads = [threading.Thread(target=hammer, args=pair) for pair in zip(work.cases, clients, strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        hook.wait_for(work.expected, timeout=30)
        work.check(_quiet(hook, 1.0))
    finally:
        for s in (a, b):
            if s is not None:
                s.stop()
        db.drop()
