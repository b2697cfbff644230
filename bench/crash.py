"""Crash safety, long: mixed writes while the server is SIGKILLed again and again.

Runs tests/reliability/crash_harness.py (the checks are described there) against a temporary
SQLite file, or a database of your choice, and prints what was written, what survived and
every problem found; exits 1 when there is one.

    .venv/bin/python bench/crash.py [--kills 20] [--threads 4] [--database-url URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.reliability.crash_harness import CrashRun, integrity_check  # noqa: E402
from tests.support import LiveServer, PostgresSchema  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-gap", type=float, default=0.3, help="seconds of writes before a kill, at least")
    ap.add_argument("--max-gap", type=float, default=2.0, help="and at most")
    ap.add_argument("--database-url", help="default: a temporary SQLite file; a PostgreSQL URL gets a private "
                    "schema, dropped afterwards")
    args = ap.parse_args()
    schema = None
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/crash.db"
        if url.startswith("postgresql"):
            schema = PostgresSchema(url)
            url = schema.url
        live = LiveServer(url, Path(tmp), ["--log-level", "warning"]).start()
        started = time.perf_counter()
        try:
            report = CrashRun(live, threads=args.threads, seed=args.seed).run(args.kills, args.min_gap, args.max_gap)
        finally:
            live.stop()
            if schema is not None:
                schema.drop()
        integrity = integrity_check(url)
    elapsed = time.perf_counter() - started
    writes = {k: v for k, v in sorted(report.writes.items()) if k.count(".") == 1}
    print(f"{report.kills} SIGKILLs in {elapsed:.0f}s on {url.split(':', 1)[0]}, {args.threads} writer threads")
    print(f"writes: {writes}")
    print(f"cases present afterwards: {report.cases}; integrity_check: {integrity}")
    print(f"modeled errors answered: {len(report.http_errors)} {report.http_errors[:5]}")
    for problem in report.problems:
        print("PROBLEM", problem)
    ok = not report.problems and not report.http_errors and integrity in ("ok", "n/a")
    print("OK: every acknowledged write survived whole; nothing half-applied" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
