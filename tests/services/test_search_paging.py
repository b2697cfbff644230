"""SearchCases paging returns every match exactly once while cases are being written."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest

from opencases import api
from opencases.config import Settings
from opencases.services.context import RequestContext
from opencases.store.store import Store
from tests.support import LiveServer, make_client

N = 40
SORTS: list[list[dict[str, str]] | None] = [
    None,  # default: last_updated_datetime descending
    [{"fieldId": "RANK", "sortOrder": "Asc"}],
    [{"fieldId": "RANK", "sortOrder": "Desc"}, {"fieldId": "created_datetime", "sortOrder": "Asc"}],
    [{"fieldId": "created_datetime", "sortOrder": "Desc"}],
    [{"fieldId": "title", "sortOrder": "Asc"}],
]


@pytest.fixture
def domain(server: LiveServer) -> dict[str, Any]:
    client = make_client(server.endpoint)
    domain_id = client.create_domain(name="paging")["domainId"]
    rank = client.create_field(domainId=domain_id, name="Rank", type="Number")["fieldId"]
    group = client.create_field(domainId=domain_id, name="Group", type="Text")["fieldId"]
    template = client.create_template(domainId=domain_id, name="T")["templateId"]
    rng = random.Random(3)
    ids = []
    for i in range(N):
        fields = [
            {"id": "title", "value": {"stringValue": f"case {rng.randint(0, 9)}"}},
            {"id": group, "value": {"stringValue": "g"}},
        ]
        if i % 5:
            fields.append({"id": rank, "value": {"doubleValue": float(rng.randint(0, 6))}})
        ids.append(client.create_case(domainId=domain_id, templateId=template, fields=fields)["caseId"])
    return {"client": client, "id": domain_id, "rank": rank, "group": group, "template": template, "cases": ids,
            "endpoint": server.endpoint}


def _write_some(d: dict[str, Any], rng: random.Random) -> None:
    """Updates that move cases in every sort order, a new matching case and a comment."""
    client = d["client"]
    for case_id in rng.sample(d["cases"], 4):
        client.update_case(domainId=d["id"], caseId=case_id, fields=[
            {"id": d["rank"], "value": {"doubleValue": float(rng.randint(-3, 9))}},
            {"id": "title", "value": {"stringValue": f"moved {rng.randint(0, 99)}"}},
        ])
    client.create_case(domainId=d["id"], templateId=d["template"], fields=[
        {"id": "title", "value": {"stringValue": "newcomer"}}, {"id": d["group"], "value": {"stringValue": "g"}}])
    client.create_related_item(domainId=d["id"], caseId=rng.choice(d["cases"]), type="Comment",
                               content={"comment": {"body": "touch", "contentType": "Text/Plain"}})


def _sorts(d: dict[str, Any], sorts: list[dict[str, str]] | None) -> list[dict[str, str]] | None:
    if sorts is None:
        return None
    return [dict(s, fieldId=d["rank"] if s["fieldId"] == "RANK" else s["fieldId"]) for s in sorts]


@pytest.mark.parametrize("sorts", SORTS, ids=["default", "rank", "rank-created", "created", "title"])
def test_pages_interleaved_with_writes(domain: dict[str, Any], sorts: list[dict[str, str]] | None) -> None:
    client, rng = domain["client"], random.Random(11)
    args: dict[str, Any] = {"domainId": domain["id"], "maxResults": 6,
                            "filter": {"field": {"equalTo": {"id": domain["group"], "value": {"stringValue": "g"}}}}}
    if sorts:
        args["sorts"] = _sorts(domain, sorts)
    seen: list[str] = []
    while True:
        page = client.search_cases(**args)
        seen += [c["caseId"] for c in page["cases"]]
        if "nextToken" not in page:
            break
        args["nextToken"] = page["nextToken"]
        _write_some(domain, rng)
    assert len(seen) == len(set(seen)), "a case was returned twice"
    assert set(seen) == set(domain["cases"])


def test_pages_with_a_concurrent_writer(domain: dict[str, Any]) -> None:
    stop = threading.Event()
    writer = make_client(domain["endpoint"], domain["client"]._request_signer._credentials.access_key)
    errors: list[BaseException] = []

    def write() -> None:
        rng = random.Random(5)
        try:
            while not stop.is_set():
                case_id = rng.choice(domain["cases"])
                writer.update_case(domainId=domain["id"], caseId=case_id, fields=[
                    {"id": domain["rank"], "value": {"doubleValue": float(rng.randint(0, 9))}}])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        for sorts in SORTS:
            args: dict[str, Any] = {"domainId": domain["id"], "maxResults": 5}
            if sorts:
                args["sorts"] = _sorts(domain, sorts)
            seen: list[str] = []
            while True:
                page = domain["client"].search_cases(**args)
                seen += [c["caseId"] for c in page["cases"]]
                if "nextToken" not in page:
                    break
                args["nextToken"] = page["nextToken"]
            assert len(seen) == len(set(seen)), (sorts, "a case was returned twice")
            assert set(seen) == set(domain["cases"]), sorts
    finally:
        stop.set()
        thread.join()
    assert not errors


@pytest.mark.parametrize("sole_writer", [False, True], ids=["any-writers", "sole-writer"])
@pytest.mark.parametrize("move", ["last to first", "first to last"])
def test_a_write_in_flight_during_the_first_page(database_url: str, move: str, sole_writer: bool) -> None:
    """An update stamped before the first page reads but committed after it: later pages
    place the case by its value before the update, so it is neither skipped nor repeated.
    (As a server's only writer, the search sees the write in progress and does not take
    its own start as the settled time.)"""
    store = Store(database_url)
    store.db.sole_writer = sole_writer
    ctx = RequestContext(store=store, settings=Settings(), account=f"{random.randrange(10**12):012d}")
    try:
        domain_id = api.invoke(ctx, "CreateDomain", {"name": "inflight"})["domainId"]
        rank = api.invoke(ctx, "CreateField", {"domainId": domain_id, "name": "Rank", "type": "Number"})["fieldId"]
        template = api.invoke(ctx, "CreateTemplate", {"domainId": domain_id, "name": "T"})["templateId"]
        ids = []
        for i in range(20):
            fields = [{"id": "title", "value": {"stringValue": f"c{i}"}}, {"id": rank, "value": {"doubleValue": i}}]
            created = api.invoke(ctx, "CreateCase", {"domainId": domain_id, "templateId": template, "fields": fields})
            ids.append(created["caseId"])
        moved, to = (ids[-1], -1.0) if move == "last to first" else (ids[0], 100.0)
        stamped, released = threading.Event(), threading.Event()

        def held_clock() -> int:
            # UpdateCase stamps holding its case (and on SQLite the writer): hold it there.
            stamp = int(time.time() * 1000)
            stamped.set()
            released.wait(10)
            return stamp

        slow = RequestContext(store=store, settings=Settings(), account=ctx.account, clock=held_clock)
        update = threading.Thread(target=api.invoke, args=(slow, "UpdateCase", {
            "domainId": domain_id, "caseId": moved, "fields": [{"id": rank, "value": {"doubleValue": to}}]}))
        update.start()
        assert stamped.wait(10)
        time.sleep(0.005)  # the first page's time comes strictly after the update's stamp
        args: dict[str, Any] = {"domainId": domain_id, "maxResults": 5,
                                "sorts": [{"fieldId": rank, "sortOrder": "Asc"}]}
        page = api.invoke(ctx, "SearchCases", args)
        released.set()
        update.join()
        seen = [c["caseId"] for c in page["cases"]]
        assert seen == ids[:5]
        while "nextToken" in page:
            page = api.invoke(ctx, "SearchCases", args | {"nextToken": page["nextToken"]})
            seen += [c["caseId"] for c in page["cases"]]
        assert seen == ids, "each case once, in its order as of the first page"
    finally:
        store.close()
