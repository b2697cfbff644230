"""Bulk import and export of cases as JSON lines (`opencases import` / `opencases export`).

An exported line is one case in CreateCase form, plus its related items in CreateRelatedItem
form: {"caseId", "templateId", "fields": [{id, value}], "tags", "relatedItems": [{"type",
"content", "performedBy"?}]}. Import runs every case through CreateCase's own code (the same
validation, system fields and Case.Created audit) but many cases per transaction, with the
domain's field, option and template rows read once per batch, and the rows written with a
few multi-row statements per table (import_cases tells how batches overlap). A line that
fails is reported and skipped; the others commit. ConnectCase links between cases of the
same file are re-pointed at the new case ids.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TextIO, cast

from sqlalchemy.exc import IntegrityError

from opencases.config import DEFAULT_BATCH
from opencases.errors import ServiceError, ValidationException
from opencases.services import related_content as rc
from opencases.services.case_create import create_in_tx
from opencases.services.case_values import from_row
from opencases.services.common import require_domain
from opencases.services.context import RequestContext, new_time_ordered_id
from opencases.services.related_items import check_item_quotas, insert_item, writable_case
from opencases.services.system_fields import READ_ONLY_FIELDS
from opencases.store.bulk_repo import TABLES, BulkInsert, encode_json, json_columns
from opencases.store.errors import UniqueViolation
from opencases.store.store import Tx
from opencases.wire.model import operation_model
from opencases.wire.validate import validate

# Not written back on import: the service sets them (reference_number is kept: CreateCase
# accepts one, so references survive a round trip).
NOT_EXPORTED = READ_ONLY_FIELDS | {"case_id"}
_VALUE_ROW = ("domain_id", "case_id", "field_id", "s_value", "n_value", "b_value", "u_value")


@dataclass
class ImportReport:
    cases: int = 0
    related_items: int = 0
    errors: list[str] = field(default_factory=list)
    id_map: dict[str, str] = field(default_factory=dict)


class _NeedsWriter(Exception):
    """Raised while building a batch outside the write transaction when a case's code asks
    for more than the buffer gives (an outbox row of an enabled event stream, say): the batch
    is then run inside the write transaction instead."""


class _BatchTx:
    """The import's view of a transaction, for one batch of cases.

    Configuration reads are memoized (every case of a batch asks for the same fields,
    options and template), and the rows CreateCase's code writes for a new case are
    buffered and written with a few multi-row statements per table at the end of the batch.

    On the write transaction (`building` false), any other call first flushes the buffer, so
    nothing ever reads around it. On a read transaction (`building` true: the batch is built
    while the previous one is being written), any other call raises _NeedsWriter.
    """

    # Reads that cannot see the buffered rows of new cases, so need no flush.
    _SAFE = frozenset({"get_domain", "get_event_config", "all_fields", "get_configs"})

    def __init__(self, tx: Tx, taken: set[tuple[str, str]], *, building: bool) -> None:
        self._tx = tx
        self._building = building
        # Reference keys of the import's earlier batches, which may not be committed yet.
        self._taken = taken
        self._fields: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._options: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self._configs: dict[tuple[str, str, str], dict[str, Any] | None] = {}
        self._references: set[tuple[str, str]] = set()
        self._case_keys: list[tuple[str, str]] = []  # the current case's reference keys
        self._shapes: dict[tuple[str, tuple[str, ...]], tuple[tuple[str, ...], list[bool]]] = {}
        self.pending: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = {}
        self.case_pending: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = {}

    def __getattr__(self, name: str) -> Any:
        if name not in self._SAFE:
            if self._building:
                raise _NeedsWriter(name)
            self.flush()
        return getattr(self._tx, name)

    @property
    def references(self) -> set[tuple[str, str]]:
        return self._references

    # -- memoized reads --------------------------------------------------------------------
    def get_fields(self, domain_id: str, field_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(dict.fromkeys(field_ids))
        missing = [f for f in ids if (domain_id, f) not in self._fields]
        if missing:
            found = self._tx.get_fields(domain_id, missing)
            for f in missing:
                self._fields[(domain_id, f)] = found.get(f)
        return {f: row for f in ids if (row := self._fields[(domain_id, f)]) is not None}

    def get_field(self, domain_id: str, field_id: str) -> dict[str, Any] | None:
        return self.get_fields(domain_id, [field_id]).get(field_id)

    def get_options(self, domain_id: str, field_id: str) -> dict[str, dict[str, Any]]:
        key = (domain_id, field_id)
        if key not in self._options:
            self._options[key] = self._tx.get_options(domain_id, field_id)
        return self._options[key]

    def get_config(self, kind: str, domain_id: str, item_id: str) -> dict[str, Any] | None:
        key = (kind, domain_id, item_id)
        if key not in self._configs:
            self._configs[key] = self._tx.get_config(kind, domain_id, item_id)
        return self._configs[key]

    # -- buffered writes of a new case -----------------------------------------------------
    # Rows are kept as tuples of driver values (JSON encoded), grouped by table and columns:
    # what the bulk insert sends, without a dict per row in between.
    def _add(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        self.case_pending.setdefault((table, columns), []).extend(rows)

    def _add_row(self, table: str, row: dict[str, Any]) -> None:
        names = tuple(row)
        shape = self._shapes.get((table, names))
        if shape is None:
            columns = tuple(c.name for c in TABLES[table].columns if c.name in row)
            shape = self._shapes[(table, names)] = (columns, json_columns(TABLES[table], columns))
        columns, encode = shape
        values = tuple(
            encode_json(row[c]) if j and row[c] is not None else row[c] for c, j in zip(columns, encode, strict=True)
        )
        self._add(table, columns, [values])

    def insert_case(self, row: dict[str, Any]) -> None:
        key = (row["domain_id"], row["reference_key"])
        if key in self._references or key in self._taken or self._tx.reference_taken(*key):
            raise UniqueViolation("uq_cases_reference")
        self._references.add(key)
        self._case_keys.append(key)
        self._add_row("cases", row)

    def put_case_values(self, domain_id: str, case_id: str, columns: dict[str, dict[str, Any]]) -> None:
        self._add(
            "case_values",
            _VALUE_ROW,
            [
                (domain_id, case_id, fid, c.get("s_value"), c.get("n_value"), c.get("b_value"), c.get("u_value"))
                for fid, c in columns.items()
            ],
        )

    def put_case_text(self, domain_id: str, case_id: str, body: str) -> None:
        self._add("case_text", ("domain_id", "case_id", "body"), [(domain_id, case_id, body)])

    def put_tags(self, arn: str, domain_id: str, tags: dict[str, str]) -> None:
        self._add("tags", ("arn", "key", "value", "domain_id"), [(arn, k, v, domain_id) for k, v in tags.items()])

    def insert_audit_event(self, row: dict[str, Any]) -> None:
        self._add_row("audit_events", row)

    def keep_case(self) -> None:
        """The case's code finished without error: its rows join the batch."""
        self._join_batch()
        self._case_keys = []

    def _join_batch(self) -> None:
        for key, rows in self.case_pending.items():
            self.pending.setdefault(key, []).extend(rows)
        self.case_pending = {}

    def drop_case(self) -> None:
        for key in self._case_keys:
            self._references.discard(key)
        self.case_pending = {}
        self._case_keys = []

    def flush_batch(self) -> None:
        """Write the rows of the cases already kept (not the current case's)."""
        if self.pending:
            self._tx.run_inserts(_inserts(self._tx, self.pending))
            self.pending = {}

    def flush(self) -> None:
        """Write every buffered row. The current case's reference numbers stay its own, so that
        drop_case() frees them if a savepoint around this is rolled back."""
        self._join_batch()
        self.flush_batch()


def _records(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, None, f"line {number}: not JSON: {exc.msg}"
            continue
        if not isinstance(record, dict):
            yield number, None, f"line {number}: expected a JSON object"
            continue
        yield number, record, None


def _create_params(domain_id: str, record: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"domainId": domain_id}
    for key in ("templateId", "fields", "tags", "performedBy"):
        if key in record:
            params[key] = record[key]
    validate(operation_model("CreateCase").input_shape, params)
    return params


def _add_item(tx: Any, ctx: RequestContext, domain_id: str, case_id: str, item: dict[str, Any], now: int) -> None:
    params: dict[str, Any] = {
        "domainId": domain_id, "caseId": case_id, "type": item.get("type"), "content": item.get("content")
    }
    if item.get("performedBy"):
        params["performedBy"] = item["performedBy"]
    validate(operation_model("CreateRelatedItem").input_shape, params)
    writable_case(tx, ctx, domain_id, case_id)
    stored, key = rc.build(tx, ctx, domain_id, case_id, params["type"], params["content"], now)
    check_item_quotas(ctx, tx.count_related_items_by_type(domain_id, case_id), params["type"])
    insert_item(
        tx,
        ctx,
        domain_id=domain_id,
        case_id=case_id,
        type_=params["type"],
        stored=stored,
        search_key=key,
        user=params.get("performedBy"),
        now_ms=now,
    )


@dataclass
class _Batch:
    """Consecutive lines of the file and what became of them."""

    records: list[tuple[int, dict[str, Any]]]
    problems: list[str]  # the lines that are not JSON objects
    errors: list[str] = field(default_factory=list)  # the cases refused
    cases: int = 0
    related_items: int = 0
    id_map: dict[str, str] = field(default_factory=dict)
    links: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    references: set[tuple[str, str]] = field(default_factory=set)
    inserts: list[BulkInsert] = field(default_factory=list)

    def add_to(self, report: ImportReport, links: list[tuple[int, str, dict[str, Any]]]) -> None:
        report.cases += self.cases
        report.related_items += self.related_items
        report.errors.extend(self.problems + self.errors)
        report.id_map.update(self.id_map)
        links.extend(self.links)


def _batches(lines: Iterable[str], batch_size: int) -> Iterator[_Batch]:
    batch = _Batch([], [])
    for number, record, problem in _records(lines):
        if problem is not None or record is None:
            batch.problems.append(problem or f"line {number}: empty")
            continue
        batch.records.append((number, record))
        if len(batch.records) >= batch_size:
            yield batch
            batch = _Batch([], [])
    if batch.records or batch.problems:
        yield batch


def _item_list(record: dict[str, Any]) -> list[Any]:
    items = record.get("relatedItems") or []
    return items if isinstance(items, list) else [items]


def _needs_items(items: list[Any]) -> bool:
    """Whether some item is added with its case (ConnectCase links wait for every case)."""
    return any(not isinstance(i, dict) or i.get("type") != "ConnectCase" for i in items)


def _run_cases(
    ctx: RequestContext, domain_id: str, batch: _Batch, buffered: _BatchTx, raw: Tx | None
) -> None:
    """CreateCase's code for each case of the batch, on `buffered`; `raw` is the write
    transaction the related items are added in (None while building: see _NeedsWriter)."""
    tx = cast(Tx, buffered)
    for number, record in batch.records:
        now = ctx.now_ms()
        case_id = new_time_ordered_id(now)
        items = _item_list(record)
        try:
            create_in_tx(tx, ctx, _create_params(domain_id, record), case_id=case_id, now=now)
        except ServiceError as exc:
            buffered.drop_case()
            batch.errors.append(f"line {number}: {exc.code}: {exc.message}")
            continue
        if _needs_items(items):
            if raw is None:
                raise _NeedsWriter("relatedItems")
            # The case and its items stand or fall together.
            buffered.flush_batch()
            try:
                with raw.savepoint():
                    buffered.flush()
                    for item in items:
                        if not isinstance(item, dict):
                            raise ValidationException("relatedItems entries must be objects")
                        if item.get("type") != "ConnectCase":
                            _add_item(raw, ctx, domain_id, case_id, item, now)
            except ServiceError as exc:
                buffered.drop_case()
                batch.errors.append(f"line {number}: {exc.code}: {exc.message}")
                continue
        buffered.keep_case()
        batch.cases += 1
        batch.related_items += sum(1 for i in items if isinstance(i, dict) and i.get("type") != "ConnectCase")
        if isinstance(record.get("caseId"), str):
            batch.id_map[record["caseId"]] = case_id
        batch.links.extend(
            (number, case_id, i) for i in items if isinstance(i, dict) and i.get("type") == "ConnectCase"
        )


def _fresh(batch: _Batch) -> _Batch:
    """The batch as read from the file, before any case ran."""
    return _Batch(batch.records, batch.problems)


def _build(ctx: RequestContext, domain_id: str, batch: _Batch, taken: set[tuple[str, str]]) -> _Batch | None:
    """Run the batch's cases on a read transaction, keeping their rows for _write; None if
    it has to run in the write transaction (related items, event streams)."""
    if any(_needs_items(_item_list(record)) for _, record in batch.records):
        return None
    with ctx.store.read() as tx:
        buffered = _BatchTx(tx, taken, building=True)
        try:
            _run_cases(ctx, domain_id, batch, buffered, None)
        except _NeedsWriter:
            return None
        buffered.keep_case()
        batch.inserts = _inserts(tx, buffered.pending)
    batch.references = buffered.references
    return batch


def _write(ctx: RequestContext, inserts: list[BulkInsert]) -> None:
    with ctx.store.write() as tx:
        tx.run_inserts(inserts)


def _inserts(tx: Tx, rows: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]]) -> list[BulkInsert]:
    """The statements inserting buffered rows, parents first (cases before their values)."""
    return [
        insert
        for table in TABLES
        for (name, columns), values in rows.items()
        if name == table and values
        for insert in tx.bulk_inserts(name, columns, values)
    ]


def _run_in_writer(ctx: RequestContext, domain_id: str, batch: _Batch, taken: set[tuple[str, str]]) -> _Batch:
    """Run and write the batch inside one write transaction (reads see the database as it is
    written, reference numbers included)."""
    with ctx.store.write() as raw:
        buffered = _BatchTx(raw, taken, building=False)
        _run_cases(ctx, domain_id, batch, buffered, raw)
        buffered.flush()
    batch.references = buffered.references
    return batch


def import_cases(
    ctx: RequestContext, domain_id: str, lines: Iterable[str], batch_size: int = DEFAULT_BATCH
) -> ImportReport:
    """Import the cases of `lines` in transactions of `batch_size` cases.

    Two batches are in hand at a time: while a thread writes one (the database's work runs
    without the GIL), the next one's cases run CreateCase's code on a read transaction of
    their own. A reference number taken meanwhile by another writer makes the write fail as
    a whole; that batch is then run again inside the write transaction, as are batches with
    related items to add.
    """
    report = ImportReport()
    with ctx.store.read() as tx:
        require_domain(ctx, tx, domain_id)
    links: list[tuple[int, str, dict[str, Any]]] = []  # ConnectCase items, added once every case exists
    taken: set[tuple[str, str]] = set()  # reference keys of the cases built so far
    in_flight: tuple[_Batch, Future[None]] | None = None

    def settle() -> bool:
        """Wait for the batch being written; False if it had to be run again."""
        nonlocal in_flight
        if in_flight is None:
            return True
        batch, future = in_flight
        in_flight = None
        try:
            future.result()
            ok = True
        except (IntegrityError, sqlite3.IntegrityError):
            taken.difference_update(batch.references)
            batch = _run_in_writer(ctx, domain_id, _fresh(batch), taken)
            ok = False
        taken.update(batch.references)
        batch.add_to(report, links)
        return ok

    # Leaving the block waits for the write in flight, also when an exception ends the loop.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="opencases-import") as writer:
        for read in _batches(lines, batch_size):
            built = _build(ctx, domain_id, read, taken)
            if not settle() and built is not None:
                # Built beside a batch that was run again: build it again after that one.
                taken.difference_update(built.references)
                built = _build(ctx, domain_id, _fresh(built), taken)
            if built is None:
                batch = _run_in_writer(ctx, domain_id, _fresh(read), taken)
                taken.update(batch.references)
                batch.add_to(report, links)
                continue
            taken.update(built.references)
            in_flight = (built, writer.submit(_write, ctx, built.inserts))
        settle()
    _import_links(ctx, domain_id, links, report)
    return report


def _import_links(
    ctx: RequestContext, domain_id: str, links: list[tuple[int, str, dict[str, Any]]], report: ImportReport
) -> None:
    if not links:
        return
    with ctx.store.write() as tx:
        for number, case_id, item in links:
            content = dict(item.get("content") or {})
            target = (content.get("connectCase") or {}).get("caseId")
            if target in report.id_map:
                content = {"connectCase": {"caseId": report.id_map[target]}}
            try:
                with tx.savepoint():
                    _add_item(tx, ctx, domain_id, case_id, item | {"content": content}, ctx.now_ms())
                report.related_items += 1
            except ServiceError as exc:
                report.errors.append(f"line {number}: ConnectCase item: {exc.code}: {exc.message}")


def _input_content(type_: str, stored: dict[str, Any]) -> dict[str, Any]:
    """Stored related-item content back in CreateRelatedItem's input form."""
    if type_ == "Contact":
        return {"contact": {"contactArn": stored["contactArn"]}}
    if type_ == "Comment":
        return {"comment": {"body": stored["body"], "contentType": stored["contentType"]}}
    if type_ == "File":
        return {"file": {"fileArn": stored["fileArn"]}}
    if type_ == "Sla":
        keys = ("name", "type", "fieldId", "targetFieldValues", "targetSlaMinutes")
        return {"sla": {"slaInputConfiguration": {k: stored[k] for k in keys if k in stored}}}
    if type_ == "ConnectCase":
        return {"connectCase": {"caseId": stored["caseId"]}}
    return {"custom": {"fields": stored["fields"]}}


def export_cases(ctx: RequestContext, domain_id: str, out: TextIO, page: int = 500) -> int:
    """Write every case of the domain as JSON lines, oldest first; returns the count."""
    written = 0
    after: tuple[int, str] | None = None
    with ctx.store.read() as tx:
        require_domain(ctx, tx, domain_id)
        types = {f["field_id"]: f["type"] for f in tx.all_fields(domain_id)}
        prefix = ctx.arn(f"domain/{domain_id}/case/")
        while True:
            cases = tx.list_cases_page(domain_id, after, page)
            if not cases:
                return written
            ids = [c["case_id"] for c in cases]
            values = tx.values_for_cases(domain_id, ids, [f for f in types if f not in NOT_EXPORTED])
            tags = tx.tags_for_arns([prefix + i for i in ids])
            for c in cases:
                items = tx.case_related_items(domain_id, c["case_id"])
                record = {
                    "caseId": c["case_id"],
                    "templateId": c["template_id"],
                    "fields": [
                        {"id": fid, "value": from_row(types[fid], row)}
                        for fid, row in sorted(values.get(c["case_id"], {}).items())
                    ],
                    "tags": tags.get(prefix + c["case_id"], {}),
                    "relatedItems": [
                        {"type": i["type"], "content": _input_content(i["type"], i["content"])}
                        | ({"performedBy": i["created_by"]} if i.get("created_by") else {})
                        for i in reversed(items)  # oldest first, the order they were added
                    ],
                }
                out.write(json.dumps(record, separators=(",", ":")) + "\n")
                written += 1
            after = (cases[-1]["created_ms"], cases[-1]["case_id"])


def import_file(ctx: RequestContext, domain_id: str, path: str, batch_size: int = DEFAULT_BATCH) -> ImportReport:
    try:
        with open(path, encoding="utf-8") as fh:
            return import_cases(ctx, domain_id, fh, batch_size)
    except OSError as exc:
        raise ValidationException(f"cannot read {path}: {exc.strerror}") from exc
