"""Hot reads in process: microseconds per call of GetCase, GetTemplate and GetCaseAuditEvents.

Builds a Store on a temporary SQLite file, creates a case with ten field values (the title,
a Number and eight Text fields) and an audit history of three events, then times each read
through the server's Pipeline.handle (route, parse, validate, run, serialize: everything but
HTTP) and through api.invoke (the handler and its reads only). Prints the median over several
rounds; `--profile OPERATION` prints where one read's time goes instead (cProfile).

    .venv/bin/python bench/reads.py [--calls 2000] [--rounds 7] [--profile GetCase]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import time
from collections.abc import Callable
from typing import Any

from inprocess import ACCOUNT, in_process

from opencases import api

AUTH = (
    f"AWS4-HMAC-SHA256 Credential={ACCOUNT}/20260101/us-east-1/cases/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0"
)


def per_call(fn: Callable[[], Any], calls: int, rounds: int) -> float:
    for _ in range(min(calls, 200)):
        fn()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - started) / calls)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--profile", metavar="OPERATION")
    args = ap.parse_args()

    with in_process("reads") as (_store, pipeline, ctx):
        domain = api.invoke(ctx(), "CreateDomain", {"name": "bench"})["domainId"]
        number = api.invoke(ctx(), "CreateField", {"domainId": domain, "name": "Score", "type": "Number"})["fieldId"]
        texts = [
            api.invoke(ctx(), "CreateField", {"domainId": domain, "name": f"Detail {i}", "type": "Text"})["fieldId"]
            for i in range(8)
        ]
        template = api.invoke(ctx(), "CreateTemplate", {"domainId": domain, "name": "T",
                                                        "requiredFields": [{"fieldId": number}]})["templateId"]
        values = [{"id": "title", "value": {"stringValue": "Printer on fire"}},
                  {"id": number, "value": {"doubleValue": 2.0}}]
        values += [{"id": f, "value": {"stringValue": f"detail {i}"}} for i, f in enumerate(texts)]
        case = api.invoke(ctx(), "CreateCase", {"domainId": domain, "templateId": template, "fields": values})["caseId"]
        for i in range(2):
            api.invoke(ctx(), "UpdateCase", {"domainId": domain, "caseId": case,
                                             "fields": [{"id": number, "value": {"doubleValue": float(i)}}]})

        wanted = [{"id": v["id"]} for v in values]
        reads: dict[str, tuple[str, dict[str, Any]]] = {
            "GetCase": (f"/domains/{domain}/cases/{case}", {"domainId": domain, "caseId": case, "fields": wanted}),
            "GetTemplate": (f"/domains/{domain}/templates/{template}", {"domainId": domain, "templateId": template}),
            "GetCaseAuditEvents": (f"/domains/{domain}/cases/{case}/audit-history",
                                   {"domainId": domain, "caseId": case}),
        }
        headers = {"authorization": AUTH, "content-type": "application/json"}

        def over_pipeline(operation: str) -> Callable[[], Any]:
            path, params = reads[operation]
            body = json.dumps({k: v for k, v in params.items() if k not in ("domainId", "caseId", "templateId")})
            data = body.encode() if body != "{}" else b""

            def call() -> None:
                response = pipeline.handle("POST", path, "", headers, data)
                if response.status != 200:
                    raise SystemExit(f"{operation}: {response.status} {response.body!r}")

            return call

        def over_invoke(operation: str) -> Callable[[], Any]:
            params = reads[operation][1]
            return lambda: api.invoke(ctx(), operation, params)

        if args.profile:
            call = over_pipeline(args.profile)
            profile = cProfile.Profile()
            profile.runcall(lambda: [call() for _ in range(args.calls)])
            pstats.Stats(profile).sort_stats("tottime").print_stats(30)
            return
        print(f"{args.rounds} rounds of {args.calls} calls; median per call")
        for operation in reads:
            handle = per_call(over_pipeline(operation), args.calls, args.rounds)
            invoke = per_call(over_invoke(operation), args.calls, args.rounds)
            print(f"  {operation:20s} Pipeline.handle {handle * 1e6:7.1f} us   api.invoke {invoke * 1e6:7.1f} us")


if __name__ == "__main__":
    main()
