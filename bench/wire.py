"""GetTemplate (or GetCase) over HTTP against a no-op route of the same server (the floor).

Starts `opencases serve` on a temporary SQLite file, creates a domain, a layout and a
template (and, for GetCase, a case with ten field values), then drives each route with a
concurrent keep-alive HTTP/1.1 client for a fixed time, several rounds, and prints the median
requests per second and the ratio. GetCase asks for all ten fields.

    .venv/bin/python bench/wire.py [--operation GetTemplate|GetCase] [--seconds 5] [--rounds 3]
                                   [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support import LiveServer, make_client  # noqa: E402

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
    args = ap.parse_args()
    name = args.operation

    with tempfile.TemporaryDirectory() as tmp:
        live = LiveServer(f"sqlite:///{tmp}/bench.db", Path(tmp), ["--log-level", "warning"]).start()
        try:
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
                payload = get_case_request(client, live.port, domain_id, template_id, field_id)
            else:
                payload = request_bytes("POST", f"/domains/{domain_id}/templates/{template_id}", live.port)
            noop = request_bytes("POST", "/_opencases/noop", live.port)
            results: dict[str, list[float]] = {"noop": [], name: []}
            for _ in range(args.rounds):
                for label, request in (("noop", noop), (name, payload)):
                    rps, errors = asyncio.run(measure(live.port, request, args.seconds, args.connections))
                    if errors:
                        raise SystemExit(f"{label}: {errors} non-200 responses")
                    results[label].append(rps)
        finally:
            live.stop()

    floor = statistics.median(results["noop"])
    get = statistics.median(results[name])
    print(f"connections={args.connections} seconds={args.seconds} rounds={args.rounds}")
    print(f"no-op floor:  {floor:8.0f} req/s (median; rounds {[round(x) for x in results['noop']]})")
    print(f"{name + ':':13s} {get:8.0f} req/s (median; rounds {[round(x) for x in results[name]]})")
    print(f"ratio {name}/floor: {get / floor:.2f}")


def get_case_request(client: Any, port: int, domain_id: str, template_id: str, priority_id: str) -> bytes:
    """A case with ten values (the title, the template's required Number and eight Text
    fields) and the GetCase request for all ten."""
    field_ids = [
        client.create_field(domainId=domain_id, name=f"Detail {i}", type="Text")["fieldId"] for i in range(8)
    ]
    values = [
        {"id": "title", "value": {"stringValue": "Printer on fire"}},
        {"id": priority_id, "value": {"doubleValue": 2.0}},
    ] + [{"id": field_id, "value": {"stringValue": f"detail {i}"}} for i, field_id in enumerate(field_ids)]
    case_id = client.create_case(domainId=domain_id, templateId=template_id, fields=values)["caseId"]
    body = json.dumps({"fields": [{"id": v["id"]} for v in values]}).encode()
    return request_bytes("POST", f"/domains/{domain_id}/cases/{case_id}", port, body)


if __name__ == "__main__":
    main()
