"""GetTemplate (or GetCase) over HTTP against a no-op route of the same server (the floor).

Starts `opencases serve` on a temporary SQLite file, creates a domain, a layout and a
template (and, for GetCase, a case with ten field values), then drives each route with a
concurrent keep-alive HTTP/1.1 client for a fixed time, several rounds, and prints the median
requests per second and the ratio. GetCase asks for all ten fields.

`--ceiling` (GetCase) also times bench/ceiling.py on the same database file: the same HTTP
stack answering GetCase with one SQLite statement and nothing else, against its own no-op
route. Its ratio is the most any Python handler reading the database per request gets here.

    .venv/bin/python bench/wire.py [--operation GetTemplate|GetCase] [--seconds 5] [--rounds 3]
                                   [--connections 16] [--ceiling]
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
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support import LiveServer, free_port, make_client  # noqa: E402

AUTH = (
    "AWS4-HMAC-SHA256 Credential=123456789012/20260101/us-east-1/cases/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0"
)


def request_bytes(method: str, path: str, port: int, body: bytes = b"") -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {AUTH}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def worker(port: int, payload: bytes, stop_at: float, counts: list[int], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = 0
    while time.perf_counter() < stop_at:
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
        if b" 200 " not in status_line:
            errors.append(1)
        done += 1
    counts.append(done)
    writer.close()


async def measure(port: int, payload: bytes, seconds: float, connections: int) -> tuple[float, int]:
    counts: list[int] = []
    errors: list[int] = []
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(*(worker(port, payload, stop_at, counts, errors) for _ in range(connections)))
    return sum(counts) / (time.perf_counter() - started), len(errors)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--operation", choices=("GetTemplate", "GetCase"), default="GetTemplate")
    ap.add_argument("--ceiling", action="store_true", help="GetCase: also time bench/ceiling.py")
    args = ap.parse_args()
    name = args.operation
    if args.ceiling and name != "GetCase":
        ap.error("--ceiling times GetCase only")

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        live = LiveServer(f"sqlite:///{tmp}/bench.db", Path(tmp), ["--log-level", "warning"]).start()
        stack.callback(live.stop)
        client = make_client(live.endpoint, "123456789012")
        domain_id = client.create_domain(name="bench")["domainId"]
        field_id = client.create_field(domainId=domain_id, name="Priority", type="Number")["fieldId"]
        layout_id = client.create_layout(
            domainId=domain_id,
            name="L",
            content={"basic": {"topPanel": {"sections": [{"fieldGroup": {"fields": [{"id": field_id}]}}]}}},
        )["layoutId"]
        template_id = client.create_template(
            domainId=domain_id, name="T", layoutConfiguration={"defaultLayout": layout_id},
            requiredFields=[{"fieldId": field_id}],
        )["templateId"]
        if name == "GetCase":
            path, body = get_case_request(client, domain_id, template_id, field_id)
        else:
            path, body = f"/domains/{domain_id}/templates/{template_id}", b""
        runs = {"noop": (live.port, request_bytes("POST", "/_opencases/noop", live.port)),
                name: (live.port, request_bytes("POST", path, live.port, body))}
        if args.ceiling:
            port = start_ceiling(stack, f"{tmp}/bench.db")
            same_fields(live.port, port, path, body)
            runs["ceiling no-op"] = (port, request_bytes("POST", "/_opencases/noop", port))
            runs["ceiling GetCase"] = (port, request_bytes("POST", path, port, body))
        results: dict[str, list[float]] = {label: [] for label in runs}
        for _ in range(args.rounds):
            for label, (port, request) in runs.items():
                rps, errors = asyncio.run(measure(port, request, args.seconds, args.connections))
                if errors:
                    raise SystemExit(f"{label}: {errors} non-200 responses")
                results[label].append(rps)

    medians = {label: statistics.median(rounds) for label, rounds in results.items()}
    print(f"connections={args.connections} seconds={args.seconds} rounds={args.rounds}")
    for label, rounds in results.items():
        print(f"{label + ':':17s} {medians[label]:8.0f} req/s (median; rounds {[round(x) for x in rounds]})")
    print(f"ratio {name}/floor: {medians[name] / medians['noop']:.2f}")
    if args.ceiling:
        ceiling = medians["ceiling GetCase"] / medians["ceiling no-op"]
        print(f"ratio of bench/ceiling.py's one-statement GetCase to its floor: {ceiling:.2f}")


def start_ceiling(stack: ExitStack, database: str) -> int:
    """bench/ceiling.py on a free port, stopped when `stack` closes; its port once it listens."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("ceiling.py")),
                             "--database", database, "--port", str(port)])
    stack.callback(proc.wait)
    stack.callback(proc.terminate)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return port
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"bench/ceiling.py exited with {proc.returncode}") from None
            time.sleep(0.05)
    raise SystemExit("bench/ceiling.py did not start listening")


def same_fields(port: int, ceiling_port: int, path: str, body: bytes) -> None:
    """Refuse to time a ceiling that does less than the server: both must answer the same fields."""
    answers = []
    for p in (port, ceiling_port):
        request = urllib.request.Request(f"http://127.0.0.1:{p}{path}", data=body, method="POST",
                                         headers={"Authorization": AUTH, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            answers.append(json.loads(response.read())["fields"])
    if answers[0] != answers[1]:
        raise SystemExit(f"bench/ceiling.py answered {answers[1]!r}, the server {answers[0]!r}")


def get_case_request(client: Any, domain_id: str, template_id: str, priority_id: str) -> tuple[str, bytes]:
    """A case with ten values (the title, the template's required Number and eight Text
    fields) and the path and body of the GetCase request for all ten."""
    field_ids = [
        client.create_field(domainId=domain_id, name=f"Detail {i}", type="Text")["fieldId"] for i in range(8)
    ]
    values = [
        {"id": "title", "value": {"stringValue": "Printer on fire"}},
        {"id": priority_id, "value": {"doubleValue": 2.0}},
    ] + [{"id": field_id, "value": {"stringValue": f"detail {i}"}} for i, field_id in enumerate(field_ids)]
    case_id = client.create_case(domainId=domain_id, templateId=template_id, fields=values)["caseId"]
    body = json.dumps({"fields": [{"id": v["id"]} for v in values]}).encode()
    return f"/domains/{domain_id}/cases/{case_id}", body


if __name__ == "__main__":
    main()
