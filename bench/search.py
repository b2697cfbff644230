"""SearchCases at scale: import N cases with 15 fields of mixed types, then time a query mix.

    .venv/bin/python bench/search.py [--cases 100000] [--database-url URL] [--repeat 15]
    .venv/bin/python bench/search.py --cases 1000000 --keep      # prints the URL it kept
    .venv/bin/python bench/search.py --reuse URL                  # the query mix again, no import

Runs in process (the store plus `opencases.api.invoke`, no HTTP), on a fresh SQLite file by
default or on a private schema of a PostgreSQL database. Prints the import rate, the
database size, and p50/p95 per query, with the share of that time spent on totalCount.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support import PostgresSchema  # noqa: E402

from opencases import api  # noqa: E402
from opencases.config import DEFAULT_BATCH, Settings  # noqa: E402
from opencases.services.context import RequestContext  # noqa: E402
from opencases.store.store import Store  # noqa: E402
from opencases.transfer import import_cases  # noqa: E402

WORDS = [
    "refund",
    "billing",
    "outage",
    "login",
    "password",
    "invoice",
    "delivery",
    "damaged",
    "late",
    "crash",
    "upgrade",
    "cancel",
    "account",
    "shipping",
    "warranty",
    "router",
    "printer",
    "screen",
    "battery",
    "charger",
]
USERS = [f"arn:aws:connect:us-east-1:123456789012:instance/i-1/agent/a{i}" for i in range(50)]


def setup(ctx: RequestContext) -> tuple[str, dict[str, str], str]:
    d = api.invoke(ctx, "CreateDomain", {"name": "bench"})["domainId"]
    spec = [
        ("text1", "Text"),
        ("text2", "Text"),
        ("text3", "Text"),
        ("num1", "Number"),
        ("num2", "Number"),
        ("num3", "Number"),
        ("bool1", "Boolean"),
        ("bool2", "Boolean"),
        ("date1", "DateTime"),
        ("date2", "DateTime"),
        ("sel1", "SingleSelect"),
        ("sel2", "SingleSelect"),
        ("user1", "User"),
        ("url1", "Url"),
    ]
    ids = {}
    for name, ftype in spec:
        ids[name] = api.invoke(ctx, "CreateField", {"domainId": d, "name": name, "type": ftype})["fieldId"]
    for sel in ("sel1", "sel2"):
        api.invoke(
            ctx,
            "BatchPutFieldOptions",
            {
                "domainId": d,
                "fieldId": ids[sel],
                "options": [{"name": f"o{i}", "value": f"o{i}", "active": True} for i in range(8)],
            },
        )
    api.invoke(
        ctx,
        "BatchPutFieldOptions",
        {"domainId": d, "fieldId": "status", "options": [{"name": "Pending", "value": "pending", "active": True}]},
    )
    template = api.invoke(ctx, "CreateTemplate", {"domainId": d, "name": "T"})["templateId"]
    return d, ids, template


def lines(n: int, ids: dict[str, str], template: str, rng: random.Random) -> Any:
    for i in range(n):

        def words(k: int) -> str:
            return " ".join(rng.choice(WORDS) for _ in range(k))

        fields = [
            {"id": "title", "value": {"stringValue": f"{words(3)} #{i}"}},
            {"id": "status", "value": {"stringValue": rng.choice(["open", "closed", "pending"])}},
            {"id": ids["text1"], "value": {"stringValue": words(6)}},
            {"id": ids["text2"], "value": {"stringValue": words(2)}},
            {"id": ids["text3"], "value": {"stringValue": f"SKU-{rng.randint(0, 99999):05d}"}},
            {"id": ids["num1"], "value": {"doubleValue": rng.randint(0, 1000)}},
            {"id": ids["num2"], "value": {"doubleValue": round(rng.random() * 100, 2)}},
            {"id": ids["num3"], "value": {"doubleValue": rng.randint(0, 5)}},
            {"id": ids["bool1"], "value": {"booleanValue": rng.random() < 0.5}},
            {"id": ids["bool2"], "value": {"booleanValue": rng.random() < 0.1}},
            {
                "id": ids["date1"],
                "value": {"stringValue": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00Z"},
            },
            {"id": ids["date2"], "value": {"stringValue": f"2024-06-{rng.randint(1, 28):02d}T08:30:00Z"}},
            {"id": ids["sel1"], "value": {"stringValue": f"o{rng.randint(0, 7)}"}},
            {"id": ids["sel2"], "value": {"stringValue": f"o{rng.randint(0, 7)}"}},
            {"id": ids["user1"], "value": {"userArnValue": rng.choice(USERS)}},
        ]
        if rng.random() < 0.3:
            fields.append({"id": ids["url1"], "value": {"stringValue": f"https://example.com/t/{i}"}})
        yield json.dumps({"templateId": template, "fields": fields})


def queries(d: str, ids: dict[str, str]) -> dict[str, dict[str, Any]]:
    def fv(op: str, fid: str, value: dict[str, Any]) -> dict[str, Any]:
        return {"field": {op: {"id": fid, "value": value}}}

    return {
        "status=open, sort created": {
            "filter": fv("equalTo", "status", {"stringValue": "open"}),
            "sorts": [{"fieldId": "created_datetime", "sortOrder": "Desc"}],
        },
        "range on Number": {
            "filter": {
                "andAll": [
                    fv("greaterThanOrEqualTo", ids["num1"], {"doubleValue": 100}),
                    fv("lessThan", ids["num1"], {"doubleValue": 120}),
                ]
            }
        },
        "contains on Text": {"filter": fv("contains", ids["text3"], {"stringValue": "SKU-1234"})},
        "searchTerm one word": {"searchTerm": "warranty"},
        "andAll of three": {
            "filter": {
                "andAll": [
                    fv("equalTo", "status", {"stringValue": "pending"}),
                    fv("equalTo", ids["sel1"], {"stringValue": "o3"}),
                    fv("greaterThan", ids["num2"], {"doubleValue": 50}),
                ]
            }
        },
    }


def timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--database-url", help="default: a fresh SQLite file; postgresql://... uses a private schema")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
    ap.add_argument("--keep", action="store_true", help="keep the database and print its URL for --reuse")
    ap.add_argument("--reuse", metavar="URL", help="time the query mix on a database kept by --keep")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="opencases-bench-")
    schema = None
    if args.reuse:
        url = args.reuse
    elif args.database_url and args.database_url.startswith("postgres"):
        schema = PostgresSchema(args.database_url)
        url = schema.url
    else:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
    store = Store(url)
    # This process is the database's only writer, as a server of one process is (serving()).
    store.db.sole_writer = True
    ctx = RequestContext(store=store, settings=Settings(), account="123456789012")
    try:
        if args.reuse:
            d, ids = kept_domain(ctx)
            import_s = 0.0
        else:
            d, ids, template = setup(ctx)
            # The cases as `opencases import` reads them: a JSON-lines file, written first.
            jsonl = Path(tmp) / "cases.jsonl"
            with jsonl.open("w") as out:
                out.writelines(line + "\n" for line in lines(args.cases, ids, template, random.Random(1)))
            started = time.perf_counter()
            with jsonl.open() as source:
                report = import_cases(ctx, d, source, batch_size=args.batch_size)
            import_s = time.perf_counter() - started
            jsonl.unlink()
            assert report.cases == args.cases, report.errors[:3]
        if args.reuse:
            with store.read() as tx:
                args.cases = tx.count_matches(d, None, "", "arn:")
        if args.reuse and store.dialect == "postgresql":
            size = 0
        elif store.dialect == "postgresql":
            # What autovacuum does after a bulk load: statistics for the planner, and the
            # visibility map that lets index-only scans skip the heap. Outside a transaction
            # (VACUUM requires it; an ANALYZE inside one rolled back is lost).
            with store.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                tables = conn.exec_driver_sql(
                    "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables WHERE schemaname = current_schema()"
                ).scalar()
                conn.exec_driver_sql(f"VACUUM ANALYZE {tables}")
                size = conn.exec_driver_sql(
                    "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
                ).scalar()
        else:
            if not args.reuse:
                with store.db.engine.connect() as conn:
                    conn.exec_driver_sql("ANALYZE")
                    conn.commit()
            path = url.removeprefix("sqlite:///")
            size = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
        print(f"database: {store.dialect}, {args.cases} cases, {int(size or 0) / 1e6:.0f} MB")
        if import_s:
            # ru_maxrss is in KiB on Linux: the process's peak, which the import sets.
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"import: {args.cases / import_s:.0f} cases/s ({import_s:.1f} s), peak RSS {peak:.0f} MB")
        # first: the query's first run in this process, before the sizes of its conditions
        # are known (store/selectivity.py) and its statements built (store/shapes.py).
        print(f"{'query':28} {'p50 ms':>8} {'p95 ms':>8} {'first ms':>9} {'matches':>9} {'count p50':>10}")
        mix = queries(d, ids)
        for name, extra in mix.items():
            params = {"domainId": d, **extra}
            started = time.perf_counter()
            total = api.invoke(ctx, "SearchCases", params)["totalCount"]
            first = (time.perf_counter() - started) * 1000
            times = [timed(lambda p=params: api.invoke(ctx, "SearchCases", p)) for _ in range(args.repeat)]
            count = [timed(lambda p=params: count_only(ctx, p)) for _ in range(args.repeat)]
            print(
                f"{name:28} {statistics.median(times):8.1f} {_p95(times):8.1f} {first:9.1f} {total:9d} "
                f"{statistics.median(count):10.1f}"
            )
        # The 40th page of a sorted query: page there with nextToken, time the last request.
        params = {"domainId": d, "sorts": [{"fieldId": ids["num2"], "sortOrder": "Asc"}], "maxResults": 25}
        times = []
        for _ in range(max(3, args.repeat // 3)):
            page = dict(params)
            for _ in range(39):
                page["nextToken"] = api.invoke(ctx, "SearchCases", page)["nextToken"]
            times.append(timed(lambda p=page: api.invoke(ctx, "SearchCases", p)))
        print(f"{'40th page, sort on Number':28} {statistics.median(times):8.1f} {_p95(times):8.1f}")
    finally:
        store.close()
        if args.keep and not args.reuse:
            print(f"kept: --reuse '{url}'")
        elif schema is not None:
            schema.drop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def kept_domain(ctx: RequestContext) -> tuple[str, dict[str, str]]:
    """The domain of a kept database and its field ids by name."""
    d = api.invoke(ctx, "ListDomains", {})["domains"][0]["domainId"]
    listed = api.invoke(ctx, "ListFields", {"domainId": d, "maxResults": 100})["fields"]
    return d, {f["name"]: f["fieldId"] for f in listed}


def count_only(ctx: RequestContext, params: dict[str, Any]) -> int:
    """The totalCount part alone: the same filter, counted the way SearchCases counts it."""
    from opencases.services.search import typed_tree

    with ctx.store.read() as tx:
        fields = {f["field_id"]: f for f in tx.all_fields(params["domainId"])}
        tree = typed_tree(fields, params["filter"]) if params.get("filter") else None
        return tx.count_matches(params["domainId"], tree, params.get("searchTerm") or "", "arn:")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


if __name__ == "__main__":
    main()
