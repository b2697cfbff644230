"""Sustained mixed load: throughput, p50/p99 latency and server memory; GetCase vs the no-op floor.

Starts `opencases serve` (a temporary SQLite file unless --database-url), seeds a domain with
cases, then drives it from raw asyncio HTTP/1.1 keep-alive connections with valid
connectcases requests (an Authorization header whose 12-digit access key fixes the account):
70% reads (GetCase, SearchCases, GetCaseAuditEvents) and 30% writes (UpdateCase, CreateCase,
CreateRelatedItem). Two runs of the mix, each on a freshly seeded server: a closed loop (each
connection sends its next request on a reply: the most the server serves) and an open loop
(requests offered on a fixed schedule of --rate per second: the latency at that throughput).
Prints requests/s, p50 and p99 latency and errors of each, the server's CPU over the run (all
its processes), the open loop's seconds whose p99 passed 50 ms, and the server's RSS at start and
end; then GetCase alone against `/_opencases/noop` (the floor of
bench/wire.py).

    .venv/bin/python bench/load.py [--seconds 60] [--connections 32] [--rate 1000] [--cases 500] [--workers 1]

Targets on the 2-core reference machine: >= 1,000 mixed req/s with p99 <= 50 ms; GetCase
>= 40% of the floor; server RSS <= 150 MB after the run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fuzz_requests import auth_header, rss_kb  # noqa: E402
from tests.support import LiveServer, PostgresSchema, make_client  # noqa: E402

from opencases.wire.model import operation_model  # noqa: E402

ACCOUNT = "123456789012"
MIX = [  # (operation, weight %)
    ("GetCase", 35), ("SearchCases", 20), ("GetCaseAuditEvents", 15),
    ("UpdateCase", 15), ("CreateCase", 8), ("CreateRelatedItem", 7),
]
WORDS = ["printer", "billing", "login", "refund", "outage", "laptop", "network", "invoice", "password", "delivery"]


class Workload:
    def __init__(self, port: int, domain_id: str, template_id: str, fields: list[str], cases: list[str]) -> None:
        self.port = port
        self.domain_id = domain_id
        self.template_id = template_id
        self.fields = fields  # custom field ids: Text, Number
        self.cases = cases
        self.rng = random.Random(1)
        self.auth = auth_header(ACCOUNT)

    def _request(self, operation: str, labels: dict[str, str], body: dict[str, Any]) -> bytes:
        http = operation_model(operation).http
        path = http["requestUri"]
        for key, value in labels.items():
            path = path.replace("{" + key + "}", value)
        payload = json.dumps(body).encode()
        head = (f"{http['method']} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAuthorization: {self.auth}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n")
        return head.encode() + payload

    def next(self, only: str | None = None) -> tuple[str, bytes]:
        rng = self.rng
        op = only or MIX[-1][0]
        if only is None:
            pick = rng.uniform(0, 100)
            for name, weight in MIX:
                pick -= weight
                if pick <= 0:
                    op = name
                    break
        d = {"domainId": self.domain_id}
        case = {"domainId": self.domain_id, "caseId": rng.choice(self.cases)}
        text_field, number_field = self.fields
        if op == "GetCase":
            body: dict[str, Any] = {"fields": [{"id": f} for f in ("title", "status", "summary", *self.fields)]}
            return op, self._request(op, case, body)
        if op == "SearchCases":
            body = {"maxResults": 10, "fields": [{"id": "title"}, {"id": "status"}]}
            if rng.random() < 0.5:
                body["searchTerm"] = rng.choice(WORDS)
            else:
                body["filter"] = {"field": {"equalTo": {"id": "status", "value": {"stringValue": "open"}}}}
            return op, self._request(op, d, body)
        if op == "GetCaseAuditEvents":
            return op, self._request(op, case, {"maxResults": 25})
        if op == "UpdateCase":
            body = {"fields": [{"id": number_field, "value": {"doubleValue": rng.randint(0, 10**6)}},
                               {"id": text_field, "value": {"stringValue": " ".join(rng.sample(WORDS, 2))}}]}
            return op, self._request(op, case, body)
        if op == "CreateCase":
            body = {"templateId": self.template_id, "clientToken": uuid.uuid4().hex, "fields": [
                {"id": "title", "value": {"stringValue": " ".join(rng.sample(WORDS, 3))}},
                {"id": number_field, "value": {"doubleValue": rng.randint(0, 100)}}]}
            return op, self._request(op, d, body)
        body = {"type": "Comment", "content": {"comment": {"body": " ".join(rng.sample(WORDS, 4)),
                                                           "contentType": "Text/Plain"}}}
        return "CreateRelatedItem", self._request("CreateRelatedItem", case, body)


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes) -> int:
    writer.write(payload)
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return int(status_line.split(b" ", 2)[1])


class _Tally:
    """Latencies by operation and the statuses of one run."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.per_op: dict[str, list[float]] = {}
        self.statuses: dict[int, int] = {}
        self.seconds: dict[int, list[float]] = {}  # latencies by the second of the run they were due in

    def add(self, op: str, ms: float, status: int, second: int = 0) -> None:
        self.latencies.append(ms)
        self.seconds.setdefault(second, []).append(ms)
        self.per_op.setdefault(op, []).append(ms)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def result(self, elapsed: float) -> dict[str, Any]:
        return {"rps": len(self.latencies) / elapsed, "latencies": self.latencies, "per_op": self.per_op,
                "statuses": self.statuses, "seconds": self.seconds}


async def drive(port: int, make: Any, seconds: float, connections: int) -> dict[str, Any]:
    """Run `make()` -> (operation, request bytes) on `connections` keep-alive connections."""
    tally = _Tally()

    async def conn_loop(stop_at: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < stop_at:
            op, payload = make()
            t0 = time.perf_counter()
            status = await _exchange(reader, writer, payload)
            ms = (time.perf_counter() - t0) * 1000
            tally.add(op, ms, status)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(conn_loop(started + seconds) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return tally.result(elapsed)


async def paced(port: int, make: Any, seconds: float, rate: float, connections: int) -> dict[str, Any]:
    """Open loop: requests start on a fixed schedule of `rate` per second, whatever the
    server's pace, on whichever of `connections` keep-alive connections is free. Latency runs
    from the scheduled start, so a stall also counts for the requests it held back (a closed
    loop would just send fewer; with N connections its mean latency is N / throughput)."""
    free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        free.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    tally = _Tally()

    async def one(due: float, op: str, payload: bytes) -> None:
        reader, writer = await free.get()
        try:
            status = await _exchange(reader, writer, payload)
        finally:
            free.put_nowait((reader, writer))
        ms = (time.perf_counter() - due) * 1000
        tally.add(op, ms, status, int(due - started))

    running: set[asyncio.Task[None]] = set()
    started = time.perf_counter()
    for k in range(int(seconds * rate)):
        due = started + k / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        op, payload = make()
        task = asyncio.create_task(one(due, op, payload))
        running.add(task)
        task.add_done_callback(running.discard)
    await asyncio.gather(*running)
    elapsed = time.perf_counter() - started
    while not free.empty():
        free.get_nowait()[1].close()
    return tally.result(elapsed)


def report(title: str, run: dict[str, Any], targets: str) -> None:
    lat = run["latencies"]
    errors = {s: n for s, n in run["statuses"].items() if s >= 400}
    print(title)
    print(f"  throughput {run['rps']:8.0f} req/s   {targets}")
    print(f"  latency    p50 {pct(lat, 0.5):6.1f} ms   p99 {pct(lat, 0.99):6.1f} ms   "
          f"mean {statistics.fmean(lat):.1f} ms")
    print(f"  statuses   {dict(sorted(run['statuses'].items()))}   errors {errors or 'none'}")
    if "cpu" in run:
        # With one worker every request runs on one thread: near 1.0 core, that thread is the bottleneck.
        print(f"  server CPU {run['cpu']:.2f} cores (mean over the run)")
    seconds = run.get("seconds", {})
    if len(seconds) > 1:
        # Whether a p99 miss is a few bursts of queueing or the whole run.
        over = sorted(k for k, values in seconds.items() if pct(values, 0.99) > 50)
        worst = max(seconds, key=lambda k: pct(seconds[k], 0.99))
        print(f"  seconds with p99 > 50 ms: {len(over)} of {len(seconds)}{' ' + str(over) if over else ''}; "
              f"worst second {worst}: p99 {pct(seconds[worst], 0.99):.1f} ms")
    for op, values in sorted(run["per_op"].items()):
        print(f"    {op:20s} n={len(values):7d}  p50 {pct(values, 0.5):6.1f} ms  p99 {pct(values, 0.99):6.1f} ms")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


def seed(live: LiveServer, cases: int) -> Workload:
    client = make_client(live.endpoint, ACCOUNT)
    domain_id = client.create_domain(name="load")["domainId"]
    text_id = client.create_field(domainId=domain_id, name="Notes", type="Text")["fieldId"]
    number_id = client.create_field(domainId=domain_id, name="Score", type="Number")["fieldId"]
    template_id = client.create_template(domainId=domain_id, name="T")["templateId"]
    rng = random.Random(2)
    ids = []
    for i in range(cases):
        ids.append(client.create_case(domainId=domain_id, templateId=template_id, fields=[
            {"id": "title", "value": {"stringValue": f"{' '.join(rng.sample(WORDS, 3))} {i}"}},
            {"id": number_id, "value": {"doubleValue": float(i)}}])["caseId"])
    return Workload(live.port, domain_id, template_id, [text_id, number_id], ids)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0, help="mixed load duration")
    ap.add_argument("--floor-seconds", type=float, default=5.0, help="each of GetCase-only and no-op")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rate", type=float, default=1000.0,
                    help="then the same mix offered at this many requests/s (0: skip)")
    ap.add_argument("--cases", type=int, default=500, help="cases seeded before the run")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--database-url", help="default: a temporary SQLite file")
    args = ap.parse_args()

    where = f"{args.cases} seeded cases, workers={args.workers}"
    # Each run starts from the same state, a freshly seeded server: the seeded cases gather
    # history as the mix updates and comments on them, and a run's cost grows with it.
    closed = _one_run(args, lambda port, work: drive(port, work.next, args.seconds, args.connections), floors=True)
    report(f"mixed load, closed loop: {args.seconds:.0f}s, {args.connections} connections each sending its next "
           f"request on a reply, {where}, {closed['backend']}", closed["run"], "(the most it serves)")
    _report_memory(args, closed)
    if args.rate:
        opened = _one_run(args, lambda port, work: paced(port, work.next, args.seconds, args.rate, args.connections))
        report(f"mixed load, open loop: {args.rate:.0f} req/s offered for {args.seconds:.0f}s on up to "
               f"{args.connections} connections (a fresh server), latency from each request's scheduled start",
               opened["run"], "(target >= 1000 with p99 <= 50 ms)")
        _report_memory(args, opened)
    floor, get = closed["floor"], closed["get"]
    print(f"GetCase alone {get['rps']:8.0f} req/s, no-op floor {floor['rps']:8.0f} req/s: "
          f"ratio {get['rps'] / floor['rps']:.2f}   (target >= 0.40)")


def _one_run(args: Any, load: Any, floors: bool = False) -> dict[str, Any]:
    """Seed a fresh server, warm it up, run `load(port, workload)`; memory, and the floors."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/load.db"
        schema = PostgresSchema(url) if url.startswith("postgresql") else None  # private, dropped afterwards
        if schema is not None:
            url = schema.url
        out["backend"] = url.split(":", 1)[0]
        extra = ["--log-level", "warning", "--workers", str(args.workers)]
        live = LiveServer(url, Path(tmp), extra).start()
        try:
            assert live.proc is not None
            work = seed(live, args.cases)
            # A short warm-up: imports, caches and the thread pool, out of the figures.
            asyncio.run(drive(live.port, work.next, 2.0, args.connections))
            out["rss_start"] = _tree_rss_kb(live.proc.pid)
            cpu_start, started = _tree_cpu_s(live.proc.pid), time.perf_counter()
            out["run"] = asyncio.run(load(live.port, work))
            out["run"]["cpu"] = (_tree_cpu_s(live.proc.pid) - cpu_start) / (time.perf_counter() - started)
            out["rss_end"] = _tree_rss_kb(live.proc.pid)
            out["rss_parts"] = " + ".join(_rss_parts(pid) for pid in _tree(live.proc.pid))
            out["db_mb"] = sum(f.stat().st_size for f in Path(tmp).glob("load.db*")) / 2**20
            if floors:
                out["floor"] = asyncio.run(drive(live.port, lambda: ("noop", _noop(live.port)), args.floor_seconds,
                                                 args.connections))
                out["get"] = asyncio.run(drive(live.port, lambda: work.next("GetCase"), args.floor_seconds,
                                               args.connections))
        finally:
            live.stop()
            if schema is not None:
                schema.drop()
    return out


def _report_memory(args: Any, run: dict[str, Any]) -> None:
    print(f"  server RSS {run['rss_start'] / 1024:.0f} MB at start, {run['rss_end'] / 1024:.0f} MB at end   "
          "(target <= 150)" + (f"   (the supervisor and its {args.workers} workers)" if args.workers > 1 else ""))
    print(f"  at the end: {run['rss_parts']}" + (f"; database files {run['db_mb']:.0f} MB" if run["db_mb"] else ""))


def _tree(pid: int) -> list[int]:
    """The process and its descendants (uvicorn's worker processes), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # The parent pid is the second field after the ")" closing the command name.
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def _tree_rss_kb(pid: int) -> int:
    total = 0
    for member in _tree(pid):
        with contextlib.suppress(OSError, RuntimeError):  # gone meanwhile
            total += rss_kb(member)
    return total


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds (user and system) the process and its descendants have used, from /proc."""
    total = 0
    for member in _tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):  # gone meanwhile
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (proc(5): fields 14, 15)
    return total / os.sysconf("SC_CLK_TCK")


def _rss_parts(pid: int) -> str:
    """RssAnon (heap, SQLite's page caches) and RssFile (mapped code and files), from /proc."""
    parts = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(("RssAnon:", "RssFile:")):
                parts[line.split(":")[0]] = int(line.split()[1]) // 1024
    return ", ".join(f"{k} {v} MB" for k, v in parts.items())


def _noop(port: int) -> bytes:
    return (f"POST /_opencases/noop HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {auth_header(ACCOUNT)}\r\n"
            "Content-Type: application/json\r\nContent-Length: 0\r\n\r\n").encode()


if __name__ == "__main__":
    main()
