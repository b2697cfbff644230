"""Prepared statements give the rows SQLAlchemy gives, and Store.read() is one snapshot."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from opencases import api
from opencases.config import Settings
from opencases.services.context import RequestContext
from opencases.store import case_repo, config_repo, related_repo
from opencases.store.prepared import MAX_EXPANDED, Prepared
from opencases.store.store import Store

ACCOUNT = "123456789012"


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = Store(database_url)
    try:
        yield s
    finally:
        s.close()


def invoke(store: Store, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    ctx = RequestContext(store=store, settings=Settings(database_url="sqlite://"), account=ACCOUNT)
    return api.invoke(ctx, operation, params)


@pytest.fixture
def data(store: Store) -> dict[str, Any]:
    # Unique per test: on PostgreSQL every test of the session shares one schema.
    domain = invoke(store, "CreateDomain", {"name": f"d-{uuid.uuid4().hex}"})["domainId"]
    fields = {
        kind: invoke(store, "CreateField", {"domainId": domain, "name": kind, "type": kind})["fieldId"]
        for kind in ("Text", "Number", "Boolean", "DateTime", "SingleSelect")
    }
    invoke(store, "BatchPutFieldOptions", {"domainId": domain, "fieldId": fields["SingleSelect"], "options": [
        {"name": "A", "value": "a", "active": True}, {"name": "B", "value": "b", "active": False}]})
    template = invoke(store, "CreateTemplate", {"domainId": domain, "name": "T"})["templateId"]
    case = invoke(store, "CreateCase", {"domainId": domain, "templateId": template, "fields": [
        {"id": "title", "value": {"stringValue": "t"}},
        {"id": fields["Text"], "value": {"stringValue": "x"}},
        {"id": fields["Number"], "value": {"doubleValue": 1.5}},
        {"id": fields["Boolean"], "value": {"booleanValue": False}},
        {"id": fields["DateTime"], "value": {"stringValue": "2024-01-02T03:04:05.678Z"}},
        {"id": fields["SingleSelect"], "value": {"stringValue": "a"}},
    ]})["caseId"]
    for body in ("one", "two", "three"):
        invoke(store, "CreateRelatedItem", {"domainId": domain, "caseId": case, "type": "Comment",
                                            "content": {"comment": {"body": body, "contentType": "Text/Plain"}}})
    return {"domain": domain, "case": case, "template": template, "fields": fields}


def same_as_sqlalchemy(tx: Any, statement: Prepared, params: dict[str, Any]) -> list[dict[str, Any]]:
    mine = statement.rows(tx, params)
    theirs = [dict(r._mapping) for r in tx.conn.execute(statement.statement, params)]
    assert mine == theirs
    assert [{k: type(v) for k, v in r.items()} for r in mine] == [{k: type(v) for k, v in r.items()} for r in theirs]
    return mine


def test_rows_equal_sqlalchemys(store: Store, data: dict[str, Any]) -> None:
    d, c, f = data["domain"], data["case"], data["fields"]
    ids = ["title", *f.values(), "no-such-field"]
    with store.read() as tx:
        assert same_as_sqlalchemy(tx, config_repo._GET_DOMAIN, {"domain_id": d})[0]["account"] == ACCOUNT
        assert same_as_sqlalchemy(tx, case_repo._GET_CASE, {"domain_id": d, "case_id": c})
        assert same_as_sqlalchemy(tx, config_repo._GET_FIELDS, {"domain_id": d, "ids": ids})
        assert same_as_sqlalchemy(tx, config_repo._ALL_FIELDS, {"domain_id": d})
        assert same_as_sqlalchemy(tx, config_repo._GET_OPTIONS, {"domain_id": d, "field_id": f["SingleSelect"]})
        template = {"domain_id": d, "item_id": data["template"]}
        assert same_as_sqlalchemy(tx, config_repo._GET_CONFIG["template"], template)
        values = same_as_sqlalchemy(tx, case_repo._CASE_VALUE_ROWS, {"domain_id": d, "case_id": c})
        assert {r["field_id"]: r["b_value"] for r in values}[f["Boolean"]] is False
        assert same_as_sqlalchemy(tx, case_repo._CASE_VALUE_ROWS_OF, {"domain_id": d, "case_id": c, "ids": ids[:3]})
        assert same_as_sqlalchemy(tx, case_repo._CASE_WITH_VALUES, {"domain_id": d, "case_id": c, "ids": ids})
        assert same_as_sqlalchemy(tx, case_repo._CASE_WITH_VALUES, {"domain_id": d, "case_id": "x", "ids": ["a"]})
        events = same_as_sqlalchemy(tx, case_repo._LIST_AUDIT_EVENTS, {"domain_id": d, "case_id": c, "limit": 2})
        assert len(events) == 2
        after = {"domain_id": d, "case_id": c, "limit": 5, "after_seq": events[0]["seq"]}
        assert same_as_sqlalchemy(tx, case_repo._LIST_AUDIT_EVENTS_AFTER, after)[0] == events[1]
        items = same_as_sqlalchemy(tx, related_repo._CASE_RELATED_ITEMS, {"domain_id": d, "case_id": c})
        assert len(items) == 3 and items == sorted(items, key=lambda i: (i["association_ms"], i["related_item_id"]),
                                                   reverse=True)
        assert not same_as_sqlalchemy(tx, config_repo._GET_TAGS, {"arn": "arn:none"})


def test_repository_reads(store: Store, data: dict[str, Any]) -> None:
    d, c, f = data["domain"], data["case"], data["fields"]
    with store.read() as tx:
        many = [f"x{i}" for i in range(MAX_EXPANDED + 5)] + [f["Text"]]
        assert list(tx.get_fields(d, many)) == [f["Text"]]  # a long list: SQLAlchemy's own path
        assert tx.get_fields(d, []) == {}
        domain, case, rows = tx.get_case_with_values(d, c, ["title", f["Number"], "title"])
        assert domain == {"domain_id": d, "account": ACCOUNT, "region": "us-east-1"}
        assert case == {"case_id": c, "template_id": data["template"]}
        assert [(r["field_id"], r["type"]) for r in rows] == sorted([("title", "Text"), (f["Number"], "Number")])
        assert tx.get_case_with_values(d, "nope", ["title"]) == (domain, None, [])
        assert tx.get_case_with_values("nope", c, ["title"]) == (None, None, [])
        plenty = tx.get_case_with_values(d, c, [*many, "title"])
        assert plenty[1] == case and [r["field_id"] for r in plenty[2]] == sorted(["title", f["Text"]])
        assert tx.case_related_items(d, c, types=[]) == []
        assert len(tx.case_related_items(d, c, types=["Comment", "File"])) == 3


def test_read_is_one_snapshot_and_sqlalchemy_joins_it(tmp_path: Any) -> None:
    store = Store(f"sqlite:///{tmp_path / 'snap.db'}")
    try:
        domain = invoke(store, "CreateDomain", {"name": "before"})["domainId"]
        with store.read() as tx:
            assert tx.get_domain(domain)["name"] == "before"  # prepared, on the DBAPI cursor
            with store.write() as w:  # another connection commits meanwhile (WAL)
                w.conn.execute(config_repo.update(config_repo.s.domains).values(name="after"))
            assert tx.get_domain(domain)["name"] == "before"
            # A Core statement runs in the same transaction, so it sees the same snapshot.
            assert [r["name"] for r in tx.list_domains(ACCOUNT, "us-east-1", None, 10)] == ["before"]
        with store.read() as tx:
            assert tx.get_domain(domain)["name"] == "after"
        with pytest.raises(RuntimeError), store.read() as tx:
            tx.list_domains(ACCOUNT, "us-east-1", None, 10)
            raise RuntimeError("rolled back, connection returned")
        with store.read() as tx:
            assert tx.get_domain(domain)["name"] == "after"
    finally:
        store.close()


def test_custom_plan_statements_are_never_prepared_on_postgresql(store: Store) -> None:
    """psycopg prepares a statement on its fifth run; one marked custom_plan never is, so
    PostgreSQL plans it for its values every time (see Prepared)."""
    from sqlalchemy import bindparam, select

    from opencases.store import schema as s

    where = s.domains.c.domain_id == bindparam("domain_id")
    planned = Prepared(select(s.domains.c.account, s.domains.c.region).where(where), custom_plan=True)
    prepared = Prepared(select(s.domains.c.region, s.domains.c.account).where(where))
    with store.read() as tx:
        for _ in range(8):
            assert planned.first(tx, {"domain_id": "none"}) is None
            assert prepared.first(tx, {"domain_id": "none"}) is None
        if store.dialect == "postgresql":
            statements = [r[0] for r in tx.dbapi_connection.execute("SELECT statement FROM pg_prepared_statements")]
            assert any("SELECT domains.region, domains.account" in text for text in statements)
            assert not any("SELECT domains.account, domains.region" in text for text in statements)
