"""`opencases backup PATH`: a consistent SQLite copy taken while the server writes."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from tests.reliability.crash_harness import _audit, integrity_check
from tests.reliability.seed import text
from tests.support import LiveServer, make_client, random_account


def _backup(path: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opencases", "backup", str(path), "--database-url", url],
                          capture_output=True, text=True, timeout=60)


def test_backup_while_serving(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    live = LiveServer(url, tmp_path, ["--log-level", "warning"]).start()
    account = random_account()
    stop = threading.Event()
    acked: list[str] = []
    try:
        client = make_client(live.endpoint, account)
        domain_id = client.create_domain(name="b")["domainId"]
        template_id = client.create_template(domainId=domain_id, name="T")["templateId"]

        def writer() -> None:
            own = make_client(live.endpoint, account)
            n = 0
            while not stop.is_set():
                n += 1
                acked.append(own.create_case(domainId=domain_id, templateId=template_id,
                                             fields=[text("title", f"case {n}")])["caseId"])

        thread = threading.Thread(target=writer)
        thread.start()
        while len(acked) < 20:
            stop.wait(0.05)
        before = list(acked)
        result = _backup(tmp_path / "copy.db", url)
        stop.set()
        thread.join()
    finally:
        stop.set()
        live.stop()
    assert result.returncode == 0, result.stderr
    assert "integrity ok" in result.stdout
    copy_url = f"sqlite:///{tmp_path / 'copy.db'}"
    assert integrity_check(copy_url) == "ok"
    restored = LiveServer(copy_url, tmp_path / "copy", ["--log-level", "warning"])
    (tmp_path / "copy").mkdir()
    restored.start()
    try:
        client = make_client(restored.endpoint, account)
        total = client.search_cases(domainId=domain_id, maxResults=1)["totalCount"]
        # Everything acknowledged before the backup began, nothing beyond what was acknowledged.
        assert len(before) <= total <= len(acked)
        for case_id in before[-3:]:
            assert client.get_case(domainId=domain_id, caseId=case_id, fields=[{"id": "title"}])["fields"]
            assert [e["type"] for e in _audit(client, domain_id, case_id)] == ["Case.Created"]
    finally:
        restored.stop()


def test_backup_refuses_postgresql(tmp_path: Path) -> None:
    result = _backup(tmp_path / "x.db", "postgresql://postgres@127.0.0.1:5432/test")
    assert result.returncode == 2
    assert "pg_dump" in result.stderr
    assert not (tmp_path / "x.db").exists()
