"""What SQLite itself takes for bench/search.py's cases: the ceiling of the import and of the
three-way `andAll` count, in opencases' layout and in a sketch with integer keys.

    .venv/bin/python bench/storage_ceiling.py [--cases 200000] [--layout both|opencases|integer]
    .venv/bin/python bench/storage_ceiling.py --layout integer --no-trigram   # what `contains` costs
    .venv/bin/python bench/storage_ceiling.py --layout integer --bitmaps      # counts from bitmaps

The same cases (bench/search.py's generator, seed 1) go into a fresh SQLite file per layout:

- `opencases`: the migrations' schema. Each batch is built by the import's own code
  (transfer.py, not timed) and then its statements are timed alone, so the figure is the
  import's rate if building the cases cost nothing and the writer had the machine to itself.
- `integer`: a redesign's sketch, not opencases code: cases, fields and the domain as
  integers; a value's rowid is its case's number and its field's together, so the values need
  no second key index and the trigram index keys on that rowid; the typed indexes end in the
  case number. Rows are made before the timer starts and inserted with plain executemany.
  With `--bitmaps` it also keeps, per field value and 65,536 cases, a bitmap of the cases
  that have it (SingleSelect, Boolean and User values; Numbers by whole number, DateTimes by
  day), updated with each batch inside the timed write, and counts the `andAll` from them.

Prints the writer's cases per second for each stretch of 100,000 and overall, the database's
size, and the p50 of the `andAll` of three's count (the totalCount SearchCases computes; the
opencases layout counts with the store's own code). Both layouts must count the same cases.
After the count the integer layout writes 1,000 more cases one a transaction and prints what
one took: the writes of a CreateCase there, its bitmaps' upkeep included.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import Any

from search import count_only, lines, queries, setup, timed

from opencases import transfer
from opencases.config import DEFAULT_BATCH, Settings
from opencases.services.context import RequestContext
from opencases.store.db import READER_CACHE_KIB
from opencases.store.store import Store

STRETCH = 100_000
SINGLE_WRITES = 1_000
# The integer layout: a value's rowid is (case number << FIELD_BITS) | field number.
FIELD_BITS = 10
INTEGER_SCHEMA = """
CREATE TABLE cases (id INTEGER PRIMARY KEY, domain INTEGER NOT NULL, case_id TEXT NOT NULL UNIQUE,
  template INTEGER NOT NULL, reference TEXT NOT NULL, created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL, version INTEGER NOT NULL);
CREATE UNIQUE INDEX ix_cases_reference ON cases (domain, reference);
CREATE INDEX ix_cases_created ON cases (domain, created_ms);
CREATE INDEX ix_cases_updated ON cases (domain, updated_ms);
CREATE TABLE case_values (id INTEGER PRIMARY KEY, case_no INTEGER NOT NULL, field INTEGER NOT NULL,
  s_value TEXT, n_value REAL, b_value INTEGER, u_value TEXT);
CREATE INDEX ix_values_s ON case_values (field, s_value, case_no) WHERE s_value IS NOT NULL;
CREATE INDEX ix_values_n ON case_values (field, n_value, case_no) WHERE n_value IS NOT NULL;
CREATE INDEX ix_values_b ON case_values (field, b_value, case_no) WHERE b_value IS NOT NULL;
CREATE INDEX ix_values_u ON case_values (field, u_value, case_no) WHERE u_value IS NOT NULL;
CREATE TABLE case_text (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE VIRTUAL TABLE case_fts USING fts5(body, content='case_text', content_rowid='id',
  tokenize='unicode61 remove_diacritics 2', prefix='2 3');
CREATE TABLE audit_events (seq INTEGER PRIMARY KEY, case_no INTEGER NOT NULL, type TEXT NOT NULL,
  performed_ms INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX ix_audit_case ON audit_events (case_no, seq);
CREATE INDEX ix_audit_case_time ON audit_events (case_no, performed_ms);
"""
TRIGRAM_INDEX = """CREATE VIRTUAL TABLE value_trgm USING fts5(s_value, content='case_values', content_rowid='id',
  tokenize='trigram case_sensitive 0')"""
# --bitmaps: bit (case number % 2**CHUNK_BITS) of a chunk's blob is set when the case has the value.
CHUNK_BITS = 16
CHUNK_BYTES = (1 << CHUNK_BITS) // 8
CHUNK_MASK = (1 << CHUNK_BITS) - 1
BITMAP_SCHEMA = """CREATE TABLE value_bitmaps (field INTEGER NOT NULL, value NOT NULL, chunk INTEGER NOT NULL,
  bits BLOB NOT NULL, PRIMARY KEY (field, value, chunk)) WITHOUT ROWID"""
DAY_MS = 86_400_000
# The andAll of three (bench/search.py) on the integer layout, as the store counts it on its
# own: the two equalities' index ranges merged in case order, the range probed per case.
INTEGER_ANDALL = f"""
SELECT count(*) FROM (
  SELECT case_no FROM case_values WHERE field = :status AND s_value = 'pending'
  INTERSECT SELECT case_no FROM case_values WHERE field = :sel1 AND s_value = 'o3' ORDER BY 1) AS d
WHERE EXISTS (SELECT 1 FROM case_values v WHERE v.id = (d.case_no << {FIELD_BITS}) | :num2 AND v.n_value > 50)
"""


class Writer:
    """Times the writer's part of each batch and reports by stretch."""

    def __init__(self) -> None:
        self.busy = 0.0
        self.done = 0
        self._stretch_busy = 0.0

    def timed(self, cases: int, write: Callable[[], None]) -> None:
        started = time.perf_counter()
        write()
        took = time.perf_counter() - started
        self.busy += took
        self._stretch_busy += took
        before, self.done = self.done, self.done + cases
        if before // STRETCH != self.done // STRETCH:
            print(
                f"  {self.done:>9} cases: {STRETCH / self._stretch_busy:7.0f} cases/s in the last "
                f"{STRETCH:,}, {self.done / self.busy:7.0f} overall",
                flush=True,
            )
            self._stretch_busy = 0.0


def run_opencases(path: str, cases: int, batch_size: int) -> tuple[Writer, list[float], int]:
    store = Store(f"sqlite:///{path}")
    store.db.sole_writer = True  # the import's only writer, as bench/search.py runs it
    ctx = RequestContext(store=store, settings=Settings(), account="123456789012")
    writer = Writer()
    try:
        d, ids, template = setup(ctx)
        taken: set[tuple[str, str]] = set()
        for batch in transfer._batches(lines(cases, ids, template, random.Random(1)), batch_size):
            built = transfer._build(ctx, d, batch, taken)
            assert built is not None and not built.errors, built and built.errors[:3]
            taken.update(built.references)
            writer.timed(len(built.records), lambda b=built: transfer._write(ctx, b.inserts))
        with store.db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        params = {"domainId": d, **queries(d, ids)["andAll of three"]}
        matches = count_only(ctx, params)
        times = [timed(lambda: count_only(ctx, params)) for _ in range(9)]
    finally:
        store.close()
    return writer, times, matches


def integer_rows(
    cases: int, batch_size: int, number: dict[str, int], types: dict[str, str], first: int = 1, seed: int = 1
) -> Iterator[tuple[list[Any], ...]]:
    """The generator's cases as rows of the integer layout, one batch at a time, numbered from
    `first`; `number` gives each field's number by its id (here, its name)."""
    # The ids clients see stay UUIDs (36 characters): the cases' own column and the audit's.
    public = {fid: fid if fid in ("title", "status") else str(uuid.UUID(int=n)) for fid, n in number.items()}
    batch: tuple[list[Any], ...] = ([], [], [], [])
    for i, line in enumerate(lines(cases, {f: f for f in number}, "t", random.Random(seed)), start=first):
        record = json.loads(line)
        now = int(time.time() * 1000)
        case_rows, value_rows, text_rows, audit_rows = batch
        reference = f"R{i:08d}"
        case_id = str(uuid.UUID(int=i))
        case_rows.append((i, 1, case_id, 1, reference, now, now, 1))
        body = [reference]
        for f in record["fields"]:
            (kind, value), fid = next(iter(f["value"].items())), f["id"]
            row = [(i << FIELD_BITS) | number[fid], i, number[fid], None, None, None, None]
            if types[fid] == "DateTime":
                row[4] = datetime.fromisoformat(value).timestamp() * 1000
            elif kind == "stringValue":
                row[3] = value
                body.append(value)
            else:
                row[{"doubleValue": 4, "booleanValue": 5, "userArnValue": 6}[kind]] = value
            value_rows.append(tuple(row))
        text_rows.append((i, " ".join(body)))
        # As long as opencases' Case.Created event: the system fields' values and who did it too.
        at = {"stringValue": datetime.fromtimestamp(now / 1000).isoformat()}
        system = [("reference_number", {"stringValue": reference}), ("case_id", {"stringValue": case_id})]
        system += [(name, at) for name in ("created_datetime", "last_updated_datetime", "last_closed_datetime")]
        changed = [(public[f["id"]], f["value"]) for f in record["fields"]] + system
        doc = {
            "fields": [{"eventFieldId": fid, "newValue": value} for fid, value in changed],
            "performedBy": {"iamPrincipalArn": "arn:aws:iam::000000000000:root"},
        }
        audit_rows.append((i, "Case.Created", now, json.dumps(doc, separators=(",", ":"))))
        if len(case_rows) == batch_size:
            yield batch
            batch = ([], [], [], [])
    if batch[0]:
        yield batch


def bitmap_key(ftype: str, row: tuple[Any, ...]) -> Any:
    """The value a case_values row is counted under in value_bitmaps; None for none."""
    s_value, n_value, b_value, u_value = row[3:]
    if ftype == "Number":
        return math.floor(n_value)
    if ftype == "DateTime":
        return int(n_value // DAY_MS)
    return {"SingleSelect": s_value, "Boolean": b_value, "User": u_value}.get(ftype)


def update_bitmaps(conn: sqlite3.Connection, value_rows: list[tuple[Any, ...]], types: dict[int, str]) -> None:
    """Set the batch's cases in the bitmaps of their values (read, OR, write back)."""
    marks: dict[tuple[int, Any, int], int] = {}
    for row in value_rows:
        key = bitmap_key(types[row[2]], row)
        if key is not None:
            at = (row[2], key, row[1] >> CHUNK_BITS)
            marks[at] = marks.get(at, 0) | 1 << (row[1] & CHUNK_MASK)
    out = []
    for at, bits in marks.items():
        old = conn.execute("SELECT bits FROM value_bitmaps WHERE field = ? AND value = ? AND chunk = ?", at).fetchone()
        if old is not None:
            bits |= int.from_bytes(old[0], "little")
        out.append((*at, bits.to_bytes(CHUNK_BYTES, "little")))
    conn.executemany("INSERT OR REPLACE INTO value_bitmaps VALUES (?, ?, ?, ?)", out)


def bitmaps(conn: sqlite3.Connection, where: str, params: tuple[Any, ...]) -> dict[int, int]:
    """The union of the bitmaps `where` selects, by chunk."""
    chunks: dict[int, int] = {}
    for chunk, bits in conn.execute(f"SELECT chunk, bits FROM value_bitmaps WHERE {where}", params):
        chunks[chunk] = chunks.get(chunk, 0) | int.from_bytes(bits, "little")
    return chunks


def bitmap_count(conn: sqlite3.Connection, status: int, sel1: int, num2: int) -> int:
    """The andAll of three from the bitmaps: status and sel1 by value, num2 > 50 as the whole
    numbers above 50 plus the cases of 50 itself above it (read from the value index)."""
    a = bitmaps(conn, "field = ? AND value = ?", (status, "pending"))
    b = bitmaps(conn, "field = ? AND value = ?", (sel1, "o3"))
    c = bitmaps(conn, "field = ? AND value > ?", (num2, 50))
    edge = "SELECT case_no FROM case_values WHERE field = ? AND n_value > 50 AND n_value < 51"
    for (case_no,) in conn.execute(edge, (num2,)):
        chunk = case_no >> CHUNK_BITS
        c[chunk] = c.get(chunk, 0) | 1 << (case_no & CHUNK_MASK)
    return sum((bits & b.get(chunk, 0) & c.get(chunk, 0)).bit_count() for chunk, bits in a.items())


def run_integer(
    path: str, cases: int, batch_size: int, trigram: bool = True, with_bitmaps: bool = False
) -> tuple[Writer, list[float], int]:
    types = dict(_field_types())
    number = {name: n for n, name in enumerate(types)}
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    # The page cache opencases' connections have, which the import writes with.
    conn.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
    conn.executescript(INTEGER_SCHEMA)
    if trigram:
        conn.execute(TRIGRAM_INDEX)
    if with_bitmaps:
        conn.execute(BITMAP_SCHEMA)
    by_number = {number[name]: ftype for name, ftype in types.items()}
    writer = Writer()

    def write(rows: tuple[list[Any], ...]) -> None:
        case_rows, value_rows, text_rows, audit_rows = rows
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO cases VALUES (?, ?, ?, ?, ?, ?, ?, ?)", case_rows)
        conn.executemany("INSERT INTO case_values VALUES (?, ?, ?, ?, ?, ?, ?)", value_rows)
        if trigram:
            texts = [(r[0], r[3]) for r in value_rows if r[3] is not None]
            conn.executemany("INSERT INTO value_trgm (rowid, s_value) VALUES (?, ?)", texts)
        conn.executemany("INSERT INTO case_text VALUES (?, ?)", text_rows)
        conn.executemany("INSERT INTO case_fts (rowid, body) VALUES (?, ?)", text_rows)
        conn.executemany("INSERT INTO audit_events (case_no, type, performed_ms, doc) VALUES (?, ?, ?, ?)", audit_rows)
        if with_bitmaps:
            update_bitmaps(conn, value_rows, by_number)
        conn.execute("COMMIT")

    try:
        for rows in integer_rows(cases, batch_size, number, types):
            writer.timed(len(rows[0]), lambda r=rows: write(r))
        conn.execute("ANALYZE")
        params = {"status": number["status"], "sel1": number["sel1"], "num2": number["num2"]}
        matches = conn.execute(INTEGER_ANDALL, params).fetchone()[0]
        times = [timed(lambda: conn.execute(INTEGER_ANDALL, params).fetchone()) for _ in range(9)]
        if with_bitmaps:
            # The bitmaps must count what the indexes count.
            by_bitmaps = bitmap_count(conn, **params)
            if by_bitmaps != matches:
                raise SystemExit(f"the bitmaps counted {by_bitmaps} cases, the indexes {matches}")
            times = [timed(lambda: bitmap_count(conn, **params)) for _ in range(9)]
        # What a write of one case costs now (CreateCase's share of the writer), after the count.
        single = Writer()
        for rows in integer_rows(SINGLE_WRITES, 1, number, types, first=cases + 1, seed=2):
            single.timed(1, lambda r=rows: write(r))
        print(f"  one case a transaction after the load: {single.busy / SINGLE_WRITES * 1000:.2f} ms a case")
    finally:
        conn.close()
    return writer, times, matches


def _field_types() -> list[tuple[str, str]]:
    """bench/search.py's fields (and title and status) by name and type, read from its setup on a
    scratch store."""
    store = Store("sqlite://")
    try:
        ctx = RequestContext(store=store, settings=Settings(), account="123456789012")
        d, custom, _ = setup(ctx)
        ids = {"title": "title", "status": "status", **custom}
        with store.read() as tx:
            by_id = {f["field_id"]: f["type"] for f in tx.all_fields(d)}
        return [(name, by_id[fid]) for name, fid in ids.items()]
    finally:
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=200_000)
    ap.add_argument("--layout", choices=("both", "opencases", "integer"), default="both")
    ap.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
    ap.add_argument("--no-trigram", action="store_true", help="the integer layout without its trigram index")
    ap.add_argument("--bitmaps", action="store_true", help="the integer layout keeps value bitmaps and counts by them")
    args = ap.parse_args()
    integer = partial(run_integer, trigram=not args.no_trigram, with_bitmaps=args.bitmaps)
    layouts = {"opencases": run_opencases, "integer": integer}
    counted = {}
    for name, run in layouts.items():
        if args.layout not in ("both", name):
            continue
        with tempfile.TemporaryDirectory(prefix="opencases-bench-") as tmp:
            path = os.path.join(tmp, "ceiling.db")
            bare = " without its trigram index" if name == "integer" and args.no_trigram else ""
            bare += " with value bitmaps" if name == "integer" and args.bitmaps else ""
            print(f"{name} layout{bare}, {args.cases:,} cases, {args.batch_size:,} a transaction:", flush=True)
            writer, times, counted[name] = run(path, args.cases, args.batch_size)
            size = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
            rate = writer.done / writer.busy
            print(f"  writer: {rate:.0f} cases/s ({writer.busy:.1f} s); database {size / 1e6:.0f} MB")
            print(f"  andAll of three, count: p50 {statistics.median(times):.1f} ms ({counted[name]} cases)")
    if len(set(counted.values())) > 1:
        raise SystemExit(f"the layouts counted different cases: {counted}")


if __name__ == "__main__":
    main()
