"""`opencases serve --workers N`: several processes on one port, writing one SQLite file."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from tests.reliability.seed import text
from tests.server.test_metrics import scrape
from tests.support import LiveServer, make_client, random_account


def _workers_of(pid: int) -> list[int]:
    """The uvicorn worker processes (spawned children) of a supervisor."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if ppid == pid and b"spawn_main" in cmdline:
            found.append(int(entry))
    return found


def test_two_workers_write_one_sqlite_file(tmp_path: Path) -> None:
    live = LiveServer(f"sqlite:///{tmp_path / 'w.db'}", tmp_path, ["--workers", "2", "--log-level", "warning"])
    live.start()
    try:
        assert live.proc is not None
        assert len(_workers_of(live.proc.pid)) == 2
        account = random_account()
        admin = make_client(live.endpoint, account)
        domain_id = admin.create_domain(name="w")["domainId"]
        template_id = admin.create_template(domainId=domain_id, name="T")["templateId"]
        shared = admin.create_case(domainId=domain_id, templateId=template_id, fields=[text("title", "s")])["caseId"]
        errors: list[str] = []
        done: list[int] = []

        def writer(i: int) -> None:
            # A client of its own per thread: its own connections, spread over the workers.
            client = make_client(live.endpoint, account, config=Config(retries={"total_max_attempts": 1}))
            for n in range(15):
                try:
                    client.create_case(domainId=domain_id, templateId=template_id, fields=[text("title", f"{i}-{n}")])
                    client.update_case(domainId=domain_id, caseId=shared, fields=[text("title", f"u{i}-{n}")])
                    done.append(2)
                except ClientError as exc:
                    errors.append(str(exc))

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[:5]  # "database is locked" would show here as a 500
        assert admin.search_cases(domainId=domain_id, maxResults=1)["totalCount"] == 1 + 8 * 15
        events = _updates(admin, domain_id, shared)
        assert events == 8 * 15
        # Every worker's counts add up in one scrape.
        metrics = scrape(live.endpoint)
        assert metrics["opencases_requests_total"][(("operation", "UpdateCase"), ("status", "200"))] == 8 * 15
    finally:
        live.stop()


def _updates(client: Any, domain_id: str, case_id: str) -> int:
    count, token = 0, None
    while True:
        page = client.get_case_audit_events(domainId=domain_id, caseId=case_id, maxResults=25,
                                            **({"nextToken": token} if token else {}))
        count += sum(1 for e in page["auditEvents"] if e["type"] == "Case.Updated")
        token = page.get("nextToken")
        if not token:
            return count
