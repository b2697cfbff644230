"""The CPU each operation of bench/load.py's mix costs, in process, and how it grows.

Builds a Store on a temporary SQLite file, seeds a domain as bench/load.py does (500 cases),
then sends the same mix of requests (70% reads, 30% writes) through the server's
Pipeline.handle one after another, timing each with the process's CPU clock: no HTTP, no
client sharing the cores, so two versions compare within a few percent on a noisy machine
where bench/load.py's throughput swings by a third. Prints per operation the median and mean
microseconds, the median in each fifth of the run (the seeded cases gather audit history and
the domain grows as the mix runs), and the mix's medians weighted by share.

    .venv/bin/python bench/mix.py [--requests 6000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from inprocess import in_process
from load import WORDS, Workload

from opencases import api


def split_request(raw: bytes) -> tuple[str, str, dict[str, str], bytes]:
    """Workload's raw HTTP/1.1 request -> method, path, lower-case headers, body."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return method, path, headers, body


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=6000)
    ap.add_argument("--cases", type=int, default=500, help="cases seeded before the run")
    args = ap.parse_args()

    with in_process("mix") as (_store, pipeline, ctx):
        domain = api.invoke(ctx(), "CreateDomain", {"name": "mix"})["domainId"]
        text = api.invoke(ctx(), "CreateField", {"domainId": domain, "name": "Notes", "type": "Text"})["fieldId"]
        number = api.invoke(ctx(), "CreateField", {"domainId": domain, "name": "Score", "type": "Number"})["fieldId"]
        template = api.invoke(ctx(), "CreateTemplate", {"domainId": domain, "name": "T"})["templateId"]
        rng = random.Random(2)
        cases = [
            api.invoke(ctx(), "CreateCase", {"domainId": domain, "templateId": template, "fields": [
                {"id": "title", "value": {"stringValue": f"{' '.join(rng.sample(WORDS, 3))} {i}"}},
                {"id": number, "value": {"doubleValue": float(i)}}]})["caseId"]
            for i in range(args.cases)
        ]
        work = Workload(0, domain, template, [text, number], cases)
        costs: dict[str, list[float]] = {}
        for _ in range(args.requests):
            op, raw = work.next()
            method, path, headers, body = split_request(raw)
            started = time.process_time_ns()
            response = pipeline.handle(method, path, "", headers, body)
            costs.setdefault(op, []).append((time.process_time_ns() - started) / 1000)
            if response.status != 200:
                raise SystemExit(f"{op}: {response.status} {response.body!r}")

    print(f"{args.requests} requests of bench/load.py's mix in process, {args.cases} seeded cases; "
          "CPU microseconds per request")
    for op, values in sorted(costs.items()):
        fifth = max(1, len(values) // 5)
        fifths = [round(statistics.median(values[i * fifth:(i + 1) * fifth])) for i in range(5)]
        print(f"  {op:20s} n={len(values):6d}  median {statistics.median(values):7.1f}  "
              f"mean {statistics.fmean(values):7.1f}  by fifths {fifths}")
    # Each operation's median weighted by its share: steadier than the mean, which a
    # checkpoint or a collection in one request moves by several percent.
    count = sum(len(values) for values in costs.values())
    weighted = sum(statistics.median(values) * len(values) for values in costs.values()) / count
    print(f"  over the mix: {weighted:.1f} us (medians weighted by share), "
          f"mean {statistics.fmean(v for values in costs.values() for v in values):.1f} us")


if __name__ == "__main__":
    main()
