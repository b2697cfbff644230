"""Case event payloads as a webhook receives them: the EventBridge envelope, each event type,
and each includedData option (SPEC.md section 5), from a live server driven by boto3."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opencases.testing.webhook import WebhookReceiver
from tests.event_support import SECRET, enable, event_server, settle, wait_domain
from tests.services.case_support import fv, new_case, new_template
from tests.support import LiveServer, make_client

USER = "arn:aws:connect:us-east-1:111122223333:instance/i-1/agent/u-1"
CONTACT = "arn:aws:connect:us-east-1:111122223333:instance/i-1/contact/c-1"
SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture(scope="module")
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def events_server(
    database_url: str, hook: WebhookReceiver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    server = event_server(database_url, Path(tmp_path_factory.mktemp("events")), hook)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ec(events_server: LiveServer) -> Any:
    return make_client(events_server.endpoint)


@pytest.fixture
def dom(ec: Any) -> str:
    return str(ec.create_domain(name="events")["domainId"])


def account_of(client: Any) -> str:
    return str(client._request_signer._credentials.access_key)


def arn(client: Any, resource: str) -> str:
    return f"arn:aws:cases:us-east-1:{account_of(client)}:{resource}"


def detail_types(events: list[dict[str, Any]]) -> list[str]:
    return [e["detail"]["eventType"] for e in events]


def update(client: Any, domain_id: str, case_id: str, **vals: Any) -> None:
    client.update_case(domainId=domain_id, caseId=case_id, fields=[fv(k, v) for k, v in vals.items()])


# -- envelope and case events ---------------------------------------------------------------------
def test_case_created_envelope(ec: Any, dom: str, hook: WebhookReceiver) -> None:
    enable(ec, dom, "status", "title")
    template = new_template(ec, dom)
    case_id = new_case(ec, dom, template, "Printer on fire", performedBy={"userArn": USER})
    (event,) = settle(hook, dom, 1)
    assert {k: event[k] for k in ("version", "detail-type", "source", "account", "region")} == {
        "version": "0", "detail-type": "Amazon Connect Cases Change", "source": "aws.cases",
        "account": account_of(ec), "region": "us-east-1",
    }
    assert re.fullmatch(r"[0-9a-f-]{36}", event["id"])
    assert event["resources"] == [arn(ec, f"domain/{dom}"), arn(ec, f"domain/{dom}/case/{case_id}")]
    detail = event["detail"]
    assert detail["version"] == "0"
    assert detail["eventType"] == "CASE.CREATED"
    assert MILLIS.match(detail["approximateChangeTime"])
    assert SECONDS.match(event["time"]) and event["time"] == detail["approximateChangeTime"][:19] + "Z"
    assert {"title", "status", "case_id", "reference_number", "created_datetime", "last_updated_datetime",
            "created_by", "last_updated_user"} <= set(detail["changedFieldIds"])
    principal = f"arn:aws:iam::{account_of(ec)}:root"
    assert detail["performedBy"] == {"user": {"userArn": USER}, "iamPrincipalArn": principal}
    assert detail["case"] == {
        "caseId": case_id, "templateId": template, "createdDateTime": detail["approximateChangeTime"],
        "fields": {"status": {"value": {"stringValue": "open"}},
                   "title": {"value": {"stringValue": "Printer on fire"}}},
    }


def test_case_updated_carries_the_case_after_the_edit(ec: Any, dom: str, hook: WebhookReceiver) -> None:
    enable(ec, dom, "status", "summary")
    case_id = new_case(ec, dom, new_template(ec, dom))
    ec.update_case(domainId=dom, caseId=case_id, fields=[fv("status", "closed"), fv("summary", "done")],
                   performedBy={"customEntity": "nightly-bot"})
    created, updated = settle(hook, dom, 2)
    assert detail_types([created, updated]) == ["CASE.CREATED", "CASE.UPDATED"]
    detail = updated["detail"]
    assert set(detail["changedFieldIds"]) == {"status", "summary", "last_closed_datetime", "last_updated_datetime"}
    assert detail["performedBy"]["user"] == {"customEntity": "nightly-bot"}
    assert detail["case"]["fields"] == {"status": {"value": {"stringValue": "closed"}},
                                        "summary": {"value": {"stringValue": "done"}}}
    assert detail["case"]["createdDateTime"] == created["detail"]["case"]["createdDateTime"]


def test_batch_update_case_one_event_per_case(ec: Any, dom: str, hook: WebhookReceiver) -> None:
    enable(ec, dom, "status")
    template = new_template(ec, dom)
    cases = [new_case(ec, dom, template, f"c{i}") for i in range(3)]
    out = ec.batch_update_case(domainId=dom, cases=[{"caseIdentifier": {"caseId": c}} for c in cases[:2]]
                               + [{"caseIdentifier": {"caseId": "missing"}}],
                               fields=[], status="closed")
    assert len(out["successfulCases"]) == 2
    events = settle(hook, dom, 5)
    updated = [e for e in events if e["detail"]["eventType"] == "CASE.UPDATED"]
    assert sorted(e["detail"]["case"]["caseId"] for e in updated) == sorted(cases[:2])
    assert all(e["detail"]["case"]["fields"]["status"] == {"value": {"stringValue": "closed"}} for e in updated)


def test_delete_case_event_has_the_values_before_deletion(ec: Any, dom: str, hook: WebhookReceiver) -> None:
    enable(ec, dom, "title")
    template = new_template(ec, dom)
    case_id = new_case(ec, dom, template, "Going away")
    ec.delete_case(domainId=dom, caseId=case_id)
    created, deleted = settle(hook, dom, 2)
    assert deleted["detail"]["eventType"] == "CASE.DELETED"
    assert deleted["detail"]["changedFieldIds"] == []
    assert deleted["detail"]["performedBy"] == {"iamPrincipalArn": f"arn:aws:iam::{account_of(ec)}:root"}
    assert deleted["detail"]["case"] == created["detail"]["case"]
    assert deleted["resources"] == created["resources"]


def test_nothing_is_published_while_disabled(ec: Any, dom: str, hook: WebhookReceiver) -> None:
    case_id = new_case(ec, dom, new_template(ec, dom))  # no configuration yet
    enable(ec, dom)
    update(ec, dom, case_id, summary="one")
    ec.put_case_event_configuration(domainId=dom, eventBridge={"enabled": False})
    update(ec, dom, case_id, summary="two")
    enable(ec, dom)
    update(ec, dom, case_id, summary="three")
    events = settle(hook, dom, 2)
    assert detail_types(events) == ["CASE.UPDATED", "CASE.UPDATED"]
    assert [e["detail"]["case"]["fields"] for e in events] == [{}, {}]


# -- includedData.caseData ----------------------------------------------------------------------
@pytest.fixture
def world(ec: Any, dom: str) -> dict[str, Any]:
    f = {name: str(ec.create_field(domainId=dom, name=name, type=t)["fieldId"])
         for name, t in (("text", "Text"), ("number", "Number"), ("unset", "Boolean"), ("gone", "Text"))}
    case_id = new_case(ec, dom, new_template(ec, dom), "T",
                       values={f["text"]: "hello", f["number"]: 7, f["gone"]: "bye"})
    ec.delete_field(domainId=dom, fieldId=f["gone"])
    return {"f": f, "case": case_id}


def fields_with(ec: Any, dom: str, hook: WebhookReceiver, world: dict[str, Any], n: int, *ids: str,
                auto: str | None = None, case_data: bool = True) -> dict[str, Any]:
    """Configure, update the case, and return case.fields of the n-th event of the domain."""
    enable(ec, dom, *ids, auto=auto, case_data=case_data)
    update(ec, dom, world["case"], summary=f"update {n}")
    fields: dict[str, Any] = wait_domain(hook, dom, n)[n - 1]["detail"]["case"]["fields"]
    return fields


def test_included_fields_list_only(ec: Any, dom: str, hook: WebhookReceiver, world: dict[str, Any]) -> None:
    f = world["f"]
    got = fields_with(ec, dom, hook, world, 1, f["number"], "summary", f["unset"])
    # Empty fields are left out, not sent as emptyValue.
    assert got == {f["number"]: {"value": {"doubleValue": 7.0}}, "summary": {"value": {"stringValue": "update 1"}}}


def test_auto_include_all(ec: Any, dom: str, hook: WebhookReceiver, world: dict[str, Any]) -> None:
    f = world["f"]
    got = fields_with(ec, dom, hook, world, 1, auto="All")
    assert got[f["text"]] == {"value": {"stringValue": "hello"}}
    assert got[f["number"]] == {"value": {"doubleValue": 7.0}}
    assert {"title", "status", "summary", "case_id", "reference_number", "created_datetime",
            "last_updated_datetime"} <= set(got)
    # Deleted fields are never published; a field without a value has no entry.
    assert f["gone"] not in got and f["unset"] not in got


def test_auto_include_system_plus_listed(ec: Any, dom: str, hook: WebhookReceiver, world: dict[str, Any]) -> None:
    f = world["f"]
    got = fields_with(ec, dom, hook, world, 1, f["number"], auto="System")
    assert f["number"] in got and f["text"] not in got
    assert {"title", "status", "summary", "case_id"} <= set(got)


def test_auto_include_custom_plus_listed(ec: Any, dom: str, hook: WebhookReceiver, world: dict[str, Any]) -> None:
    f = world["f"]
    got = fields_with(ec, dom, hook, world, 1, "title", auto="Custom")
    assert set(got) == {f["text"], f["number"], "title"}


def test_no_case_data_means_metadata_only(ec: Any, dom: str, hook: WebhookReceiver, world: dict[str, Any]) -> None:
    got = fields_with(ec, dom, hook, world, 1, case_data=False)
    assert got == {}
    case = wait_domain(hook, dom, 1)[0]["detail"]["case"]
    assert set(case) == {"caseId", "templateId", "createdDateTime", "fields"}


def test_new_fields_are_picked_up_by_auto_include(
    ec: Any, dom: str, hook: WebhookReceiver, world: dict[str, Any]
) -> None:
    fields_with(ec, dom, hook, world, 1, auto="Custom")
    later = str(ec.create_field(domainId=dom, name="later", type="Text")["fieldId"])
    update(ec, dom, world["case"], **{later: "new"})
    got = wait_domain(hook, dom, 2)[1]["detail"]["case"]["fields"]
    assert got[later] == {"value": {"stringValue": "new"}}


# -- related items ----------------------------------------------------------------------------------
def test_comment_lifecycle_with_content(ec: Any, dom: str, hook: WebhookReceiver) -> None:
    case_id = new_case(ec, dom, new_template(ec, dom))
    enable(ec, dom, content=True)
    item = ec.create_related_item(domainId=dom, caseId=case_id, type="Comment",
                                  content={"comment": {"body": "first", "contentType": "Text/Plain"}},
                                  performedBy={"userArn": USER})["relatedItemId"]
    ec.update_related_item(domainId=dom, caseId=case_id, relatedItemId=item,
                           content={"comment": {"body": "second", "contentType": "Text/Plain"}})
    ec.delete_related_item(domainId=dom, caseId=case_id, relatedItemId=item)
    events = settle(hook, dom, 3)
    assert detail_types(events) == ["RELATED_ITEM.CREATED", "RELATED_ITEM.UPDATED", "RELATED_ITEM.DELETED"]
    item_arn = arn(ec, f"domain/{dom}/case/{case_id}/related-item/{item}")
    assert all(e["resources"] == [arn(ec, f"domain/{dom}"), item_arn] for e in events)
    created, updated, deleted = (e["detail"] for e in events)
    assert created["changedAttributes"] == ["comment.body", "comment.contentType"]
    assert updated["changedAttributes"] == ["comment.body"]
    assert created["performedBy"]["user"] == {"userArn": USER}
    assert created["relatedItem"] == {
        "relatedItemType": "Comment", "relatedItemId": item, "caseId": case_id,
        "createdDateTime": created["approximateChangeTime"],
        "comment": {"body": "first", "contentType": "Text/Plain"},
    }
    assert updated["relatedItem"]["comment"] == {"body": "second", "contentType": "Text/Plain"}
    assert updated["relatedItem"]["createdDateTime"] == created["approximateChangeTime"]
    assert deleted["relatedItem"]["comment"] == {"body": "second", "contentType": "Text/Plain"}
    assert "case" not in created and "changedFieldIds" not in created


def test_contact_content_and_include_content_false(ec: Any, dom: str, hook: WebhookReceiver) -> None:
    case_id = new_case(ec, dom, new_template(ec, dom))
    enable(ec, dom, content=True)
    ec.create_related_item(domainId=dom, caseId=case_id, type="Contact", content={"contact": {"contactArn": CONTACT}})
    (with_content,) = wait_domain(hook, dom, 1)
    contact = with_content["detail"]["relatedItem"]["contact"]
    assert contact["contactArn"] == CONTACT
    assert MILLIS.match(contact["connectedToSystemTime"]) and contact["channel"]
    enable(ec, dom, content=False)
    ec.create_related_item(domainId=dom, caseId=case_id, type="Comment",
                           content={"comment": {"body": "secret", "contentType": "Text/Plain"}})
    without = settle(hook, dom, 2)[1]["detail"]
    assert set(without["relatedItem"]) == {"relatedItemType", "relatedItemId", "caseId", "createdDateTime"}
    assert without["changedAttributes"] == ["comment.body", "comment.contentType"]


# -- merge ------------------------------------------------------------------------------------------------
def test_merge_events_carry_merge_metadata(ec: Any, dom: str, hook: WebhookReceiver) -> None:
    template = new_template(ec, dom)
    primary, secondary = new_case(ec, dom, template, "P"), new_case(ec, dom, template, "S")
    enable(ec, dom, "status")
    ec.start_merge_cases(domainId=dom, caseId=primary, secondaryCaseIds=[secondary])
    events = wait_domain(hook, dom, 4)
    for e in events:
        assert e["detail"]["mergeMetadata"]["primaryCaseId"] == primary
        assert e["detail"]["mergeMetadata"]["secondaryCaseId"] == secondary
    by_case: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        case = e["detail"].get("case") or e["detail"]["relatedItem"]
        by_case.setdefault(case["caseId"], []).append(e["detail"])
    # The secondary is closed by the merge, then the merge's summary event (no field changes).
    closing = [d for d in by_case[secondary] if d["eventType"] == "CASE.UPDATED"]
    assert "status" in closing[0]["changedFieldIds"]
    assert closing[-1]["changedFieldIds"] == []
    assert closing[-1]["case"]["fields"]["status"] == {"value": {"stringValue": "closed"}}
    assert any(d["eventType"] == "RELATED_ITEM.CREATED" for d in by_case[primary])


# -- signature ------------------------------------------------------------------------------------------
def test_webhook_bodies_are_signed(ec: Any, dom: str, hook: WebhookReceiver) -> None:
    enable(ec, dom)
    new_case(ec, dom, new_template(ec, dom))
    wait_domain(hook, dom, 1)
    mine = [d for d in hook.deliveries if f"domain/{dom}" in d.json()["resources"][0]]
    for d in mine:
        expected = "sha256=" + hmac.new(SECRET.encode(), d.body, hashlib.sha256).hexdigest()
        assert d.headers["x-opencases-signature"] == expected
        assert d.headers["content-type"] == "application/json"
        assert d.headers["x-opencases-event-id"] == d.json()["id"]
