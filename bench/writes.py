"""Hot writes in process: microseconds per call of UpdateCase, CreateCase and CreateRelatedItem.

Builds a Store on a temporary SQLite file, creates a domain, a template and a case with ten
field values (the title, a Number and eight Text fields), then times through api.invoke:
UpdateCase changing two fields (a Number and a Text) per call, CreateCase with the ten values,
and CreateRelatedItem of a comment. Prints the median over several rounds; `--events` enables
the domain's event configuration first (outbox rows are written with every change);
`--profile OPERATION` prints where one write's time goes instead (cProfile).

    .venv/bin/python bench/writes.py [--calls 1000] [--rounds 5] [--events] [--profile UpdateCase]
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import pstats
import statistics
import time
from collections.abc import Callable
from typing import Any

from inprocess import in_process

from opencases import api


def per_call(fn: Callable[[], Any], calls: int, rounds: int) -> float:
    for _ in range(min(calls, 100)):
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
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--events", action="store_true", help="enable the domain's events")
    ap.add_argument("--profile", metavar="OPERATION")
    args = ap.parse_args()

    with in_process("writes") as (_store, _pipeline, ctx):
        domain = api.invoke(ctx(), "CreateDomain", {"name": "bench"})["domainId"]
        number = api.invoke(ctx(), "CreateField", {"domainId": domain, "name": "Score", "type": "Number"})["fieldId"]
        texts = [
            api.invoke(ctx(), "CreateField", {"domainId": domain, "name": f"Detail {i}", "type": "Text"})["fieldId"]
            for i in range(8)
        ]
        template = api.invoke(ctx(), "CreateTemplate", {"domainId": domain, "name": "T",
                                                        "requiredFields": [{"fieldId": number}]})["templateId"]
        if args.events:
            api.invoke(ctx(), "PutCaseEventConfiguration", {
                "domainId": domain,
                "eventBridge": {"enabled": True, "includedData": {"caseData": {"fields": [{"id": number}]}}},
            })
        values = [{"id": "title", "value": {"stringValue": "Printer on fire"}},
                  {"id": number, "value": {"doubleValue": 2.0}}]
        values += [{"id": f, "value": {"stringValue": f"detail {i}"}} for i, f in enumerate(texts)]
        create = {"domainId": domain, "templateId": template, "fields": values}
        case = api.invoke(ctx(), "CreateCase", create)["caseId"]
        counter = itertools.count()
        # A case holds at most 200 related items: comments go to fresh cases in turn.
        targets = [api.invoke(ctx(), "CreateCase", create)["caseId"]
                   for _ in range((args.calls * args.rounds + 100) // 190 + 1)]
        commented = itertools.count()

        def update() -> None:
            i = next(counter)
            api.invoke(ctx(), "UpdateCase", {"domainId": domain, "caseId": case, "fields": [
                {"id": number, "value": {"doubleValue": float(i)}},
                {"id": texts[0], "value": {"stringValue": f"detail {i}"}},
            ]})

        def comment() -> None:
            target = targets[next(commented) // 190]
            api.invoke(ctx(), "CreateRelatedItem", {"domainId": domain, "caseId": target, "type": "Comment",
                                                    "content": {"comment": {"body": "a comment",
                                                                            "contentType": "Text/Plain"}}})

        writes: dict[str, Callable[[], Any]] = {
            "UpdateCase": update,
            "CreateCase": lambda: api.invoke(ctx(), "CreateCase", create),
            "CreateRelatedItem": comment,
        }
        if args.profile:
            call = writes[args.profile]
            profile = cProfile.Profile()
            profile.runcall(lambda: [call() for _ in range(args.calls)])
            pstats.Stats(profile).sort_stats("tottime").print_stats(30)
            return
        print(f"{args.rounds} rounds of {args.calls} calls; median per call (events {'on' if args.events else 'off'})")
        for operation, call in writes.items():
            print(f"  {operation:20s} api.invoke {per_call(call, args.calls, args.rounds) * 1e6:7.1f} us")


if __name__ == "__main__":
    main()
