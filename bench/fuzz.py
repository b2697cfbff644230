"""Hostile input, long: model-driven fuzzing (tests/fuzz_requests.py) for a fixed time.

Prints the requests sent by kind, the statuses answered, the server's RSS over time and
every problem (a 5xx, an unmodeled 4xx, a dropped connection); exits 1 when there is one.

    .venv/bin/python bench/fuzz.py [--seconds 300] [--seed 1] [--database-url URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import fuzz_requests as fz  # noqa: E402
from tests.reliability.seed import seed_known  # noqa: E402
from tests.support import LiveServer, PostgresSchema, make_client  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--database-url", help="default: a temporary SQLite file")
    args = ap.parse_args()
    account = "123456789012"
    schema = None
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/fuzz.db"
        if url.startswith("postgresql"):  # a private schema, dropped afterwards
            schema = PostgresSchema(url)
            url = schema.url
        live = LiveServer(url, Path(tmp), ["--log-level", "warning"]).start()
        try:
            assert live.proc is not None
            gen = fz.Generator(args.seed, account, seed_known(make_client(live.endpoint, account)))
            allowed = fz.allowed_codes()
            kinds: Counter[str] = Counter()
            statuses: Counter[int] = Counter()
            problems: list[str] = []
            rss = [fz.rss_kb(live.proc.pid)]
            started = time.perf_counter()
            next_sample = started + 30
            n = 0
            while time.perf_counter() - started < args.seconds:
                request = gen.request()
                response = fz.send(live.port, request)
                kinds[request.kind] += 1
                statuses[response.status] += 1
                found = fz.problem(request, response, allowed)
                if found:
                    problems.append(f"#{n} {request.kind} {request.operation} {request.method} "
                                    f"{request.target[:100]}: {found}")
                n += 1
                if time.perf_counter() >= next_sample:
                    rss.append(fz.rss_kb(live.proc.pid))
                    next_sample += 30
            rss.append(fz.rss_kb(live.proc.pid))
            alive = live.proc.poll() is None
        finally:
            live.stop()
            if schema is not None:
                schema.drop()
    elapsed = time.perf_counter() - started
    print(f"{n} requests in {elapsed:.0f}s (seed {args.seed}), server alive at the end: {alive}")
    print(f"kinds: {dict(kinds.most_common())}")
    print(f"statuses: {dict(sorted(statuses.items()))}")
    print(f"server RSS (MB, every 30 s): {[round(r / 1024) for r in rss]}")
    for problem in problems[:50]:
        print("PROBLEM", problem)
    print(f"{len(problems)} problems")
    return 0 if not problems and alive else 1


if __name__ == "__main__":
    sys.exit(main())
