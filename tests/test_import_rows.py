"""Bulk import stores exactly what CreateCase stores: the same cases, values, search text, tags
and audit events for the same input, and the same error for each bad case.

Two domains of one database get the same configuration; the records go through CreateCase
(api.invoke) into one and through import_cases into the other. Rows are compared after
mapping what differs by construction (domain, field, template and case ids, event ids,
sequence numbers) to names; the clock is fixed and reference numbers are drawn from the same
sequence on both sides.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from opencases import api, transfer
from opencases.config import Settings
from opencases.errors import ServiceError
from opencases.services import case_create
from opencases.services.context import RequestContext
from opencases.store import schema as s
from opencases.store.bulk_repo import chunk_lengths
from opencases.store.store import Store
from opencases.transfer import import_cases

NOW = 1_700_000_123_456
USER = "arn:aws:connect:us-east-1:123456789012:instance/i-1/agent/a1"
TYPES = {
    "Text": "Text",
    "Memo": "Text",
    "Amount": "Number",
    "Flag": "Boolean",
    "Due": "DateTime",
    "Pick": "SingleSelect",
    "Link": "Url",
    "Owner": "User",
}


@pytest.fixture
def ctx(database_url: str) -> Iterator[RequestContext]:
    store = Store(database_url)
    try:
        # An account of its own per test: a few domains each, and accounts hold at most five.
        account = f"{secrets.randbelow(10**12):012d}"
        yield RequestContext(store=store, settings=Settings(), account=account, clock=lambda: NOW)
    finally:
        store.close()


def _configure(ctx: RequestContext, name: str) -> tuple[str, dict[str, str]]:
    """A domain with a field of every type, options and a template; returns (domain, names ->
    ids, with "T" for the template)."""
    domain = api.invoke(ctx, "CreateDomain", {"name": name})["domainId"]
    ids = {
        n: api.invoke(ctx, "CreateField", {"domainId": domain, "name": n, "type": t})["fieldId"]
        for n, t in TYPES.items()
    }
    options = [{"name": f"o{i}", "value": f"o{i}", "active": i != 3} for i in range(5)]
    api.invoke(ctx, "BatchPutFieldOptions", {"domainId": domain, "fieldId": ids["Pick"], "options": options})
    ids["T"] = api.invoke(
        ctx,
        "CreateTemplate",
        {
            "domainId": domain,
            "name": "T",
            "requiredFields": [{"fieldId": ids["Memo"]}],
            "tagPropagationConfigurations": [{"resourceType": "Cases", "tagMap": {"team": "blue", "tier": "1"}}],
        },
    )["templateId"]
    ids["Off"] = api.invoke(ctx, "CreateTemplate", {"domainId": domain, "name": "Off", "status": "Inactive"})[
        "templateId"
    ]
    return domain, ids


def _records() -> list[dict[str, Any]]:
    """Cases in the export form, with field ids as names (<Text>), good and bad ones."""

    def case(title: str, *fields: tuple[str, dict[str, Any]], **extra: Any) -> dict[str, Any]:
        entries = [{"id": "title", "value": {"stringValue": title}}, {"id": "<Memo>", "value": {"stringValue": "m"}}]
        entries += [{"id": f, "value": v} for f, v in fields]
        return {"templateId": "<T>", "fields": entries, **extra}

    return [
        case(
            "every type",
            ("<Text>", {"stringValue": "refund for order 12"}),
            ("<Amount>", {"doubleValue": 12}),
            ("<Flag>", {"booleanValue": False}),
            ("<Due>", {"stringValue": "2025-03-04T05:06:07+02:00"}),
            ("<Pick>", {"stringValue": "o2"}),
            ("<Link>", {"stringValue": "https://example.com/x"}),
            ("<Owner>", {"userArnValue": USER}),
            ("status", {"stringValue": "closed"}),
            tags={"team": "red", "k": "v"},
            performedBy={"userArn": USER},
        ),
        case("only required"),
        case("empty values", ("<Text>", {"emptyValue": {}}), ("<Amount>", {"emptyValue": {}})),
        case("supplied reference", ("reference_number", {"stringValue": "ref-1"})),
        case("same reference", ("reference_number", {"stringValue": "REF-1"})),
        case("bad reference", ("reference_number", {"stringValue": "a b"})),
        case("unknown field", ("nope", {"stringValue": "x"})),
        case("inactive option", ("<Pick>", {"stringValue": "o3"})),
        case("no such option", ("<Pick>", {"stringValue": "zz"})),
        case("wrong member", ("<Text>", {"doubleValue": 1})),
        case("bad date", ("<Due>", {"stringValue": "2025-03-04"})),
        case("bad url", ("<Link>", {"stringValue": "ftp://x"})),
        case("read only", ("created_datetime", {"stringValue": "2025-03-04T05:06:07Z"})),
        case("twice", ("<Text>", {"stringValue": "a"}), ("<Text>", {"stringValue": "b"})),
        case("two members", ("<Text>", {"stringValue": "a", "doubleValue": 1})),
        case("too many tags", tags={f"t{i}": "v" for i in range(49)}),
        case("long text", ("<Text>", {"stringValue": "x" * 501})),
        {"templateId": "<T>", "fields": [{"id": "title", "value": {"stringValue": "memo missing"}}]},
        {"templateId": "<T>", "fields": [{"id": "<Memo>", "value": {"stringValue": "title missing"}}]},
        {"templateId": "<Off>", "fields": [{"id": "title", "value": {"stringValue": "inactive template"}}]},
        {"templateId": "no-such-template", "fields": [{"id": "title", "value": {"stringValue": "x"}}]},
        {"templateId": "<T>", "fields": "not a list"},
        {"fields": []},
        case("after the bad ones", ("status", {"stringValue": "open"}), ("<Amount>", {"doubleValue": -0.5})),
    ]


def _bind(record: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    text = json.dumps(record)
    for name, value in ids.items():
        text = text.replace(f"<{name}>", value)
    return json.loads(text)


def _names(text: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        text = text.replace(value, f"<{name}>")
    return text


def _stored(ctx: RequestContext, domain: str, ids: dict[str, str]) -> dict[str, Any]:
    """Every row the domain's cases have, ids replaced by names (a case's name is its title)."""
    with ctx.store.read() as tx:

        def rows(table: Any) -> list[dict[str, Any]]:
            return [dict(r._mapping) for r in tx.conn.execute(select(table).where(table.c.domain_id == domain))]

        cases, values, texts = rows(s.cases), rows(s.case_values), rows(s.case_text)
        tags = [dict(r._mapping) for r in tx.conn.execute(select(s.tags).where(s.tags.c.domain_id == domain))]
        audit = rows(s.audit_events)
    titles = {v["case_id"]: v["s_value"] for v in values if v["field_id"] == "title"}
    names = dict(ids) | {f"case {title}": case_id for case_id, title in titles.items()} | {"D": domain}

    def clean(row: dict[str, Any], drop: tuple[str, ...] = ()) -> str:
        kept = {k: v for k, v in row.items() if k not in drop}
        return _names(json.dumps(kept, sort_keys=True, default=str), names)

    return {
        "cases": sorted(clean(r) for r in cases),
        "case_values": sorted(clean(r) for r in values),
        # Lines in field id order, and field ids differ between the domains.
        "case_text": sorted(clean(r | {"body": sorted(r["body"].split("\n"))}, ("rowid_",)) for r in texts),
        "tags": sorted(clean(r) for r in tags),
        "audit_events": sorted(clean(r, ("seq", "event_id")) for r in audit),
    }


def _references(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = itertools.count()
    monkeypatch.setattr(case_create, "new_reference_number", lambda: f"R{next(counter):08d}")


@pytest.mark.parametrize("batch_size", [500, 4])
def test_import_stores_what_create_case_stores(
    ctx: RequestContext, monkeypatch: pytest.MonkeyPatch, batch_size: int
) -> None:
    records = _records()
    one, one_ids = _configure(ctx, f"via CreateCase {batch_size}")
    two, two_ids = _configure(ctx, f"via import {batch_size}")

    _references(monkeypatch)
    errors = []
    for number, record in enumerate(records, start=1):
        params = {"domainId": one} | {
            k: v for k, v in _bind(record, one_ids).items() if k in ("templateId", "fields", "tags", "performedBy")
        }
        try:
            api.invoke(ctx, "CreateCase", params)
        except ServiceError as exc:
            errors.append(_names(f"line {number}: {exc.code}: {exc.message}", one_ids))

    _references(monkeypatch)
    lines = [json.dumps(_bind(r, two_ids)) for r in records]
    report = import_cases(ctx, two, lines, batch_size=batch_size)

    assert [_names(e, two_ids) for e in report.errors] == errors
    assert report.cases == len(records) - len(errors) == 5
    assert _stored(ctx, two, two_ids) == _stored(ctx, one, one_ids)


def test_a_reference_number_taken_while_the_batch_is_written(
    ctx: RequestContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch is built on a read transaction and written by another thread; a reference
    number another writer takes in between fails the write, and the batch runs again inside
    the write transaction, where the case that supplied it is refused like CreateCase's."""
    domain, ids = _configure(ctx, "raced")
    records = [_bind(r, ids) for r in _records()[:4]]  # the 4th supplies REF-1, as does the 5th
    records[1]["fields"].append({"id": "reference_number", "value": {"stringValue": "race-1"}})
    original = transfer._write
    writes = []

    def racing_write(ctx: RequestContext, inserts: Any) -> None:
        if not writes:
            params = {"domainId": domain, "templateId": ids["T"], "fields": records[1]["fields"]}
            api.invoke(ctx, "CreateCase", params)
        writes.append(len(inserts))
        original(ctx, inserts)

    monkeypatch.setattr(transfer, "_write", racing_write)
    report = import_cases(ctx, domain, [json.dumps(r) for r in records], batch_size=2)
    assert report.errors == [
        "line 2: ConflictException: Reference number race-1 is already used by another case in this domain"
    ]
    assert report.cases == 3 and len(writes) == 2  # the first batch ran again in the writer
    stored = _stored(ctx, domain, ids)
    assert len(stored["cases"]) == len(stored["case_text"]) == len(stored["audit_events"]) == 4
    assert sum('"ref-1"' in r for r in stored["cases"]) == 1


def test_chunk_lengths_cover_the_rows_in_few_statement_lengths() -> None:
    assert list(chunk_lengths(0, 1024)) == []
    assert list(chunk_lengths(2500, 1024)) == [1024, 1024, 256, 128, 64, 4]
    assert list(chunk_lengths(7, 5)) == [5, 2]
    lengths = {n for total in range(1, 3000) for n in chunk_lengths(total, 1024)}
    assert lengths == {1 << i for i in range(11)}
    assert all(sum(chunk_lengths(total, 1000)) == total for total in range(3000))


def test_import_into_a_domain_with_an_event_stream(ctx: RequestContext) -> None:
    """Case events go to the outbox with the case: such batches run in the write transaction."""
    domain, ids = _configure(ctx, "streamed")
    api.invoke(ctx, "PutCaseEventConfiguration", {"domainId": domain, "eventBridge": {"enabled": True}})
    records = [_bind(r, ids) for r in _records()[:3]]
    report = import_cases(ctx, domain, [json.dumps(r) for r in records], batch_size=2)
    assert (report.cases, report.errors) == (3, [])
    with ctx.store.read() as tx:
        outbox = tx.conn.execute(select(s.outbox.c.payload).where(s.outbox.c.domain_id == domain)).all()
    assert len(outbox) == 3
