"""store/config_cache.py with store.py's read transactions: a domain's row and fields kept per
process, exact whoever changes them (migration 0007's triggers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from opencases import api
from opencases.config import Settings
from opencases.services.context import RequestContext
from opencases.store import config_repo
from opencases.store import schema as s
from opencases.store.store import Store

# The database is the session's: an account of this module's own keeps its domains out of
# other tests' quota (5 domains per account).
ACCOUNT = "600000000007"


def _ctx(store: Store) -> RequestContext:
    return RequestContext(store=store, settings=Settings(), account=ACCOUNT)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A Store on the session's database; the module's domains are deleted afterwards."""
    store = Store(database_url)
    try:
        yield store
        for domain in api.invoke(_ctx(store), "ListDomains", {}).get("domains", []):
            api.invoke(_ctx(store), "DeleteDomain", {"domainId": domain["domainId"]})
    finally:
        store.close()


def _names(store: Store, domain_id: str) -> dict[str, str]:
    with store.read() as tx:
        return {f["field_id"]: f["name"] for f in tx.all_fields(domain_id)}


def test_changes_made_through_another_store_are_read(store: Store, database_url: str) -> None:
    # Two Stores on one database stand for two server processes (or a server and an import).
    reader, writer = store, Store(database_url)
    try:
        domain_id = api.invoke(_ctx(writer), "CreateDomain", {"name": "cached-a"})["domainId"]
        before = _names(reader, domain_id)  # cached from here on
        field_id = api.invoke(_ctx(writer), "CreateField", {"domainId": domain_id, "name": "Mood", "type": "Text"})[
            "fieldId"
        ]
        assert _names(reader, domain_id) == {**before, field_id: "Mood"}
        api.invoke(_ctx(writer), "UpdateField", {"domainId": domain_id, "fieldId": field_id, "name": "Temper"})
        assert _names(reader, domain_id)[field_id] == "Temper"
        api.invoke(_ctx(writer), "DeleteField", {"domainId": domain_id, "fieldId": field_id})
        with reader.read() as tx:
            assert tx.get_fields(domain_id, [field_id])[field_id]["deleted"]
            assert tx.get_domain(domain_id) is not None
        api.invoke(_ctx(writer), "DeleteDomain", {"domainId": domain_id})
        with reader.read() as tx:
            assert tx.get_domain(domain_id) is None and tx.all_fields(domain_id) == []
            # The number stays (raised by the delete): it never starts again for an id.
            generation = select(s.config_generations.c.generation).where(
                s.config_generations.c.domain_id == domain_id
            )
            assert tx.conn.execute(generation).scalar_one() > 1
    finally:
        writer.close()


class _Counting:
    """A Prepared statement that counts its runs."""

    def __init__(self, prepared: Any) -> None:
        self.prepared = prepared
        self.runs = 0

    def rows(self, tx: Any, params: Any) -> Any:
        self.runs += 1
        return self.prepared.rows(tx, params)

    def first(self, tx: Any, params: Any) -> Any:
        self.runs += 1
        return self.prepared.first(tx, params)


def test_a_cached_domain_is_not_read_again(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    domain_id = api.invoke(_ctx(store), "CreateDomain", {"name": "cached-b"})["domainId"]
    fields, domain = _Counting(config_repo._ALL_FIELDS), _Counting(config_repo._GET_DOMAIN)
    monkeypatch.setattr(config_repo, "_ALL_FIELDS", fields)
    monkeypatch.setattr(config_repo, "_GET_DOMAIN", domain)
    for _ in range(3):
        with store.read() as tx:
            assert tx.get_domain(domain_id) is not None
            assert len(tx.all_fields(domain_id)) > 10  # the system fields
            assert "title" in tx.get_fields(domain_id, ["title", "nope"])
    assert (fields.runs, domain.runs) == (1, 1)
    api.invoke(_ctx(store), "CreateField", {"domainId": domain_id, "name": "Mood", "type": "Text"})
    runs = fields.runs, domain.runs  # the write's own reads do not go through the cache
    for _ in range(3):
        with store.read() as tx:
            assert "Mood" in [f["name"] for f in tx.all_fields(domain_id)]
            assert tx.get_domain(domain_id) is not None
    assert (fields.runs, domain.runs) == (runs[0] + 1, runs[1] + 1)  # read again once


def test_a_rolled_back_write_leaves_nothing_cached(store: Store) -> None:
    domain_id = api.invoke(_ctx(store), "CreateDomain", {"name": "cached-c"})["domainId"]
    before = _names(store, domain_id)
    row = {"domain_id": domain_id, "field_id": "f-rolled-back", "name": "Ghost", "type": "Text",
           "namespace": "Custom", "deleted": False, "created_ms": 1, "modified_ms": 1, "position": 999}
    with pytest.raises(RuntimeError), store.write() as tx:
        tx.insert_field(row)
        assert "f-rolled-back" in {f["field_id"] for f in tx.all_fields(domain_id)}
        raise RuntimeError("roll back")
    assert _names(store, domain_id) == before


def test_callers_get_copies(store: Store) -> None:
    domain_id = api.invoke(_ctx(store), "CreateDomain", {"name": "cached-d"})["domainId"]
    with store.read() as tx:
        tx.get_domain(domain_id)["name"] = "changed"  # type: ignore[index]
        tx.all_fields(domain_id)[0]["name"] = "changed"
        tx.get_fields(domain_id, ["title"])["title"]["name"] = "changed"
    with store.read() as tx:
        assert tx.get_domain(domain_id)["name"] == "cached-d"  # type: ignore[index]
        assert "changed" not in [f["name"] for f in tx.all_fields(domain_id)]
