"""Crash safety: mixed writes while the server is SIGKILLed; acknowledged writes survive whole.

On SQLite and, when configured, PostgreSQL. tests/reliability/crash_harness.py has the
workload and the checks; bench/crash.py runs it with 20 kills and more.
"""

from __future__ import annotations

from pathlib import Path

from tests.reliability.crash_harness import CrashRun, integrity_check
from tests.support import LiveServer


def test_acknowledged_writes_survive_sigkill(database_url: str, tmp_path: Path) -> None:
    live = LiveServer(database_url, tmp_path, ["--log-level", "warning"]).start()
    try:
        run = CrashRun(live, threads=4, seed=7)
        report = run.run(kills=3)
    finally:
        live.stop()
    print(f"crash: {report.kills} kills, {report.cases} cases, writes {report.writes}")
    assert report.kills == 3
    assert report.writes.get("create.acked", 0) > 0 and report.writes.get("update.acked", 0) > 0
    # Only the kill may cut a request short; the service itself refused nothing.
    assert not report.http_errors, report.http_errors[:10]
    assert not report.problems, "\n".join(report.problems[:30])
    assert integrity_check(database_url) in ("ok", "n/a")
