"""Case event delivery under a steady UpdateCase load: throughput and commit-to-receipt lag.

Starts `opencases serve` (SQLite in a temporary directory, or `--database-url`) sending events
to a webhook receiver on loopback (opencases.testing.webhook, in a process of its own),
enables events on a domain, then sends UpdateCase at a fixed rate (default 500/s for 20 s)
over keep-alive connections, round-robin over a set of cases. Prints the update rate achieved
and its latency, the delivery throughput, and each event's lag two ways: receipt minus its
`approximateChangeTime` (taken when the update starts, before its commit: an upper bound) and
receipt minus the client's receipt of the UpdateCase response (sent after the commit: a lower
bound). Then, unless `--drain 0`, the rate at which a backlog is delivered: updates made with
no sink configured, then a restart with the webhook. `--no-events` gives the update rate and
latency with events disabled (the floor).

    .venv/bin/python bench/events.py [--rate 500] [--seconds 20] [--cases 100] [--drain 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support import LiveServer, free_port, make_client  # noqa: E402

from opencases.testing.webhook import WebhookReceiver  # noqa: E402

AUTH = (
    "AWS4-HMAC-SHA256 Credential=123456789012/20260101/us-east-1/cases/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0"
)


def update_bytes(port: int, domain_id: str, case_id: str, n: int) -> bytes:
    body = json.dumps({"fields": [{"id": "summary", "value": {"stringValue": f"update {n}"}}]}).encode()
    head = (
        f"PUT /domains/{domain_id}/cases/{case_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: {AUTH}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def connection(
    port: int, requests: list[tuple[int, float, bytes]], answered: dict[int, float], latencies: list[float],
    errors: list[str],
) -> None:
    """Send each request at its scheduled time (or as soon as the previous one answered)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for n, at, payload in requests:
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        started = time.perf_counter()
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
        body = await reader.readexactly(length)
        answered[n] = time.time()
        latencies.append(time.perf_counter() - started)
        if b" 200 " not in status_line:
            errors.append(status_line.decode().strip() + " " + body.decode()[:200])
    writer.close()


async def drive(
    port: int, domain_id: str, cases: list[str], rate: float, seconds: float, connections: int, first: int = 0
) -> tuple[int, float, dict[int, float], list[float], list[str]]:
    """UpdateCase at `rate` per second (as fast as possible when rate is 0) for `seconds`."""
    total = int(rate * seconds) if rate else int(seconds)
    start = time.perf_counter() + 0.2
    schedule = [
        (n, start + i / rate if rate else 0.0, update_bytes(port, domain_id, cases[n % len(cases)], n))
        for i, n in enumerate(range(first, first + total))
    ]
    answered: dict[int, float] = {}
    latencies: list[float] = []
    errors: list[str] = []
    await asyncio.gather(*(
        connection(port, schedule[j::connections], answered, latencies, errors) for j in range(connections)
    ))
    return total, time.perf_counter() - start, answered, latencies, errors


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def change_time(event: dict) -> float:  # type: ignore[type-arg]
    stamp = event["detail"]["approximateChangeTime"].replace("Z", "+00:00")
    return datetime.fromisoformat(stamp).timestamp()


def summary_number(event: dict) -> int:  # type: ignore[type-arg]
    return int(event["detail"]["case"]["fields"]["summary"]["value"]["stringValue"].split()[-1])


class Receipt:
    def __init__(self, line: str) -> None:
        stamp, body = line.split("\t", 1)
        self.received = float(stamp)
        self.event = json.loads(body)

    def json(self) -> dict:  # type: ignore[type-arg]
        return self.event  # type: ignore[no-any-return]


class ReceiverProcess:
    """The webhook receiver in a process of its own, so that it competes with neither the
    load generator nor the server for a GIL; it appends "<receipt time>\t<body>" lines."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.path = workdir / "received.txt"
        self.path.touch()
        self.proc = subprocess.Popen([sys.executable, __file__, "--receiver", str(self.port), str(self.path)])
        self._lines: list[Receipt] = []
        self._offset = 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("receiver did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    @property
    def deliveries(self) -> list[Receipt]:
        with open(self.path, encoding="utf-8") as f:
            f.seek(self._offset)
            chunk = f.read()
        complete = chunk[: chunk.rfind("\n") + 1]
        self._offset += len(complete.encode())
        self._lines += [Receipt(line) for line in complete.splitlines()]
        return self._lines

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def run_receiver(port: int, path: str) -> None:
    written = 0
    with WebhookReceiver(port=port) as hook, open(path, "a", encoding="utf-8") as out:
        while True:
            time.sleep(0.02)
            fresh = hook.deliveries[written:]
            for d in fresh:
                out.write(f"{d.received}\t{d.body.decode()}\n")
            written += len(fresh)
            out.flush()


def wait_count(hook: ReceiverProcess, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(hook.deliveries) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def stats(values: list[float]) -> str:
    return (f"p50 {statistics.median(values):.1f} ms, p95 {pct(values, 95):.1f} ms, "
            f"p99 {pct(values, 99):.1f} ms, max {max(values):.1f} ms")


def main() -> None:
    if sys.argv[1:2] == ["--receiver"]:
        run_receiver(int(sys.argv[2]), sys.argv[3])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=500.0, help="UpdateCase requests per second")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--cases", type=int, default=100, help="cases updated round-robin")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--drain", type=int, default=5000,
                    help="then: this many updates while the receiver is down, timed as it catches up (0: skip)")
    ap.add_argument("--database-url", help="default: SQLite in a temporary directory")
    ap.add_argument("--no-events", action="store_true", help="events disabled: the update rate alone")
    ap.add_argument("--workers", type=int, default=1, help="server processes (opencases serve --workers)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        hook = ReceiverProcess(Path(tmp))
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        serve_args = ["--log-level", "warning", "--workers", str(args.workers)]
        live = LiveServer(url, Path(tmp), [*serve_args, "--event-webhook", hook.url]).start()
        try:
            client = make_client(live.endpoint, "123456789012")
            domain_id = client.create_domain(name=f"bench-{time.time():.0f}")["domainId"]
            client.put_case_event_configuration(domainId=domain_id, eventBridge={
                "enabled": not args.no_events,
                "includedData": {"caseData": {"fields": [{"id": "summary"}, {"id": "status"}]},
                                 "relatedItemData": {"includeContent": True}},
            })
            template_id = client.create_template(domainId=domain_id, name="T")["templateId"]
            cases = [
                client.create_case(domainId=domain_id, templateId=template_id,
                                   fields=[{"id": "title", "value": {"stringValue": f"case {i}"}}])["caseId"]
                for i in range(args.cases)
            ]
            wait_count(hook, 0 if args.no_events else len(cases), 60)
            skip = len(hook.deliveries)
            total, elapsed, answered, latencies, errors = asyncio.run(
                drive(live.port, domain_id, cases, args.rate, args.seconds, args.connections)
            )
            if errors:
                raise SystemExit(f"{len(errors)} failed updates, e.g. {errors[0]}")
            lat = [x * 1000 for x in latencies]
            print(f"database={'sqlite' if not args.database_url else url.split('://')[0]} rate={args.rate:.0f}/s "
                  f"seconds={args.seconds:.0f} cases={args.cases} connections={args.connections} "
                  f"workers={args.workers}")
            print(f"updates:   {total} in {elapsed:.1f}s = {total / elapsed:.0f}/s achieved; "
                  f"UpdateCase latency p50 {statistics.median(lat):.1f} ms, p95 {pct(lat, 95):.1f} ms")
            if args.no_events:
                return
            wait_count(hook, skip + total, 60)
            got = hook.deliveries[skip:]
            span = got[-1].received - got[0].received
            print(f"delivered: {len(got)} of {total} events, {len(got) / span:.0f} events/s "
                  f"(first to last receipt, {span:.1f}s)")
            # Upper bound of the commit-to-receipt lag: the change time is taken before the commit.
            print("lag receipt - approximateChangeTime: " + stats(
                [(d.received - change_time(d.json())) * 1000 for d in got]))
            # Lower bound: the response is sent after the commit (negative: the event won).
            print("lag receipt - UpdateCase response:   " + stats(
                [(d.received - answered[summary_number(d.json())]) * 1000 for d in got]))

            if args.drain:
                # A backlog: the same database served without a sink, then with one again.
                live.stop()
                live = LiveServer(url, Path(tmp), ["--log-level", "warning"]).start()
                asyncio.run(drive(live.port, domain_id, cases, 0, args.drain, args.connections, first=total))
                live.stop()
                start = len(hook.deliveries)
                live = LiveServer(url, Path(tmp), ["--log-level", "warning", "--event-webhook", hook.url]).start()
                wait_count(hook, start + args.drain, 120)
                backlog = hook.deliveries[start:]
                took = backlog[-1].received - backlog[0].received
                print(f"drain:     a backlog of {len(backlog)} events delivered at {len(backlog) / took:.0f} events/s "
                      f"(first to last receipt, {took:.1f}s; no API load)")
        finally:
            live.stop()
            hook.stop()


if __name__ == "__main__":
    main()
