"""CreateRelatedItem, UpdateRelatedItem, DeleteRelatedItem and SearchRelatedItems through boto3
against a live server: all six types, their errors, quotas, audit, tags and paging."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from tests.services.case_support import audit_events, fv, new_case, new_template, values
from tests.services.config_support import expect_error, expect_not_found
from tests.services.related_support import (
    CONTACT,
    FILE,
    USER,
    add_item,
    comment,
    items_by_id,
    related_quota_server,  # noqa: F401  (a fixture)
    search_all,
)
from tests.support import LiveServer, make_client

OTHER_CONTACT = CONTACT.replace("c-1", "c-2")


@pytest.fixture
def template_id(client: Any, domain_id: str) -> str:
    return new_template(client, domain_id)


@pytest.fixture
def case(client: Any, domain_id: str, template_id: str) -> str:
    return new_case(client, domain_id, template_id)


@pytest.fixture
def custom_fields(client: Any, domain_id: str) -> dict[str, str]:
    """name -> id of custom fields of several types."""
    out = {}
    for name, type_ in (("text", "Text"), ("number", "Number"), ("flag", "Boolean"), ("when", "DateTime"),
                        ("who", "User"), ("link", "Url")):
        out[name] = str(client.create_field(domainId=domain_id, name=name, type=type_)["fieldId"])
    return out


def last_event(client: Any, domain_id: str, case_id: str) -> dict[str, Any]:
    return audit_events(client, domain_id, case_id)[-1]


# -- create, all six types ----------------------------------------------------------------------
def test_create_each_type_and_read_it_back(
    client: Any, domain_id: str, template_id: str, case: str, custom_fields: dict[str, str]
) -> None:
    other = new_case(client, domain_id, template_id, "Other")
    created = client.create_related_item(
        domainId=domain_id, caseId=case, type="Comment", content=comment("hello"), performedBy={"userArn": USER}
    )
    item_id = created["relatedItemId"]
    assert uuid.UUID(item_id)
    assert created["relatedItemArn"] == (
        f"arn:aws:cases:us-east-1:{created['relatedItemArn'].split(':')[4]}:domain/{domain_id}/case/{case}"
        f"/related-item/{item_id}"
    )
    ids = {
        "Comment": item_id,
        "Contact": add_item(client, domain_id, case, "Contact"),
        "File": add_item(client, domain_id, case, "File"),
        "Sla": add_item(client, domain_id, case, "Sla"),
        "ConnectCase": add_item(client, domain_id, case, "ConnectCase", {"connectCase": {"caseId": other}}),
        "Custom": add_item(client, domain_id, case, "Custom", {"custom": {"fields": [
            fv(custom_fields["text"], "abc"), fv(custom_fields["number"], 3),
            fv(custom_fields["when"], "2024-03-16T23:16:57+01:00"),
        ]}}, performedBy={"customEntity": "bot-7"}),
    }
    items = items_by_id(client, domain_id, case)
    assert {i["type"]: i["relatedItemId"] for i in items.values()} == ids
    got = {t: items[i] for t, i in ids.items()}
    assert got["Comment"]["content"] == {"comment": {"body": "hello", "contentType": "Text/Plain"}}
    assert got["Comment"]["performedBy"] == {"userArn": USER}
    assert got["Custom"]["performedBy"] == {"customEntity": "bot-7"}
    assert "performedBy" not in got["File"]
    contact = got["Contact"]["content"]["contact"]
    # The channel would come from Amazon Connect; with no Connect behind us every contact is VOICE.
    assert contact["contactArn"] == CONTACT and contact["channel"] == "VOICE"
    assert contact["connectedToSystemTime"] == got["Contact"]["associationTime"]
    assert got["File"]["content"] == {"file": {"fileArn": FILE}}
    assert got["ConnectCase"]["content"] == {"connectCase": {"caseId": other}}
    assert got["Custom"]["content"]["custom"]["fields"] == [
        fv(custom_fields["text"], "abc"), fv(custom_fields["number"], 3.0),
        fv(custom_fields["when"], "2024-03-16T22:16:57.000Z"),  # stored like a DateTime case value
    ]
    assert got["Sla"]["content"]["sla"]["slaConfiguration"]["status"] == "Active"
    for item in items.values():
        assert item["tags"] == {}


def test_content_must_match_the_type(client: Any, domain_id: str, case: str) -> None:
    expect_error(client.create_related_item, "ValidationException", 400,
                 domainId=domain_id, caseId=case, type="Contact", content=comment())
    expect_error(client.create_related_item, "ValidationException", 400,
                 domainId=domain_id, caseId=case, type="Custom", content={"file": {"fileArn": FILE}})
    assert search_all(client, domain_id, case) == []


def test_unknown_case_and_domain(client: Any, domain_id: str) -> None:
    expect_not_found(client.create_related_item, "nope", "Case",
                     domainId=domain_id, caseId="nope", type="Comment", content=comment())
    expect_not_found(client.create_related_item, "nodomain", "Domain",
                     domainId="nodomain", caseId="nope", type="Comment", content=comment())
    expect_not_found(client.search_related_items, "nope", "Case", domainId=domain_id, caseId="nope")


def test_connect_case_must_name_another_existing_case(client: Any, domain_id: str, case: str) -> None:
    for linked in ("no-such-case", case):
        expect_error(client.create_related_item, "ValidationException", 400, domainId=domain_id, caseId=case,
                     type="ConnectCase", content={"connectCase": {"caseId": linked}})
    assert search_all(client, domain_id, case) == []


@pytest.mark.parametrize(
    "bad",
    [
        lambda f: [fv("title", "system fields are refused")],
        lambda f: [fv("no-such-field", "x")],
        lambda f: [fv(f["number"], "not a number")],
        lambda f: [fv(f["when"], "yesterday")],
        lambda f: [fv(f["link"], "not a url")],
        lambda f: [fv(f["text"], "a"), fv(f["text"], "b")],
    ],
    ids=["system", "unknown", "type", "datetime", "url", "duplicate"],
)
def test_custom_fields_are_validated_like_case_fields(
    client: Any, domain_id: str, case: str, custom_fields: dict[str, str], bad: Any
) -> None:
    expect_error(client.create_related_item, "ValidationException", 400, domainId=domain_id, caseId=case,
                 type="Custom", content={"custom": {"fields": bad(custom_fields)}})
    assert search_all(client, domain_id, case) == []


def test_custom_item_field_quota_is_five(client: Any, domain_id: str, case: str) -> None:
    ids = [str(client.create_field(domainId=domain_id, name=f"f{i}", type="Text")["fieldId"]) for i in range(6)]
    add_item(client, domain_id, case, "Custom", {"custom": {"fields": [fv(i, "x") for i in ids[:5]]}})
    expect_error(client.create_related_item, "ServiceQuotaExceededException", 402, domainId=domain_id,
                 caseId=case, type="Custom", content={"custom": {"fields": [fv(i, "x") for i in ids]}})
    assert len(search_all(client, domain_id, case)) == 1


# -- quotas per case (a server with small quotas) ----------------------------------------------
@pytest.fixture
def small(related_quota_server: LiveServer) -> tuple[Any, str, str]:  # noqa: F811
    client = make_client(related_quota_server.endpoint)
    domain_id = client.create_domain(name="d")["domainId"]
    return client, domain_id, new_case(client, domain_id, new_template(client, domain_id))


def test_files_slas_and_items_per_case_quotas(small: tuple[Any, str, str]) -> None:
    client, domain_id, case = small
    for type_ in ("File", "File", "Sla", "Sla"):
        add_item(client, domain_id, case, type_)
    for type_ in ("File", "Sla"):
        expect_error(client.create_related_item, "ServiceQuotaExceededException", 402,
                     domainId=domain_id, caseId=case, type=type_, content=add_content(type_))
    add_item(client, domain_id, case, "Comment")  # the fifth item
    expect_error(client.create_related_item, "ServiceQuotaExceededException", 402,
                 domainId=domain_id, caseId=case, type="Comment", content=comment())
    assert len(search_all(client, domain_id, case)) == 5


def add_content(type_: str) -> dict[str, Any]:
    from tests.services.related_support import CONTENT_OF

    return dict(CONTENT_OF[type_]())


# -- update ---------------------------------------------------------------------------------------
def test_update_comment(client: Any, domain_id: str, case: str) -> None:
    item = add_item(client, domain_id, case, "Comment", comment("before"), performedBy={"userArn": USER})
    arn = items_arn(client, domain_id, case, item)
    client.tag_resource(arn=arn, tags={"team": "blue"})
    other = {"customEntity": "editor"}
    out = client.update_related_item(domainId=domain_id, caseId=case, relatedItemId=item,
                                     content=comment("after"), performedBy=other)
    assert out["relatedItemId"] == item and out["relatedItemArn"] == arn and out["type"] == "Comment"
    assert out["content"] == comment("after")
    assert out["tags"] == {"team": "blue"}
    assert out["createdBy"] == {"userArn": USER} and out["lastUpdatedUser"] == other
    assert out["associationTime"] == items_by_id(client, domain_id, case)[item]["associationTime"]
    assert items_by_id(client, domain_id, case)[item]["content"] == comment("after")
    event = last_event(client, domain_id, case)
    assert event["type"] == "RelatedItem.Updated" and event["relatedItemType"] == "Comment"
    assert event["performedBy"]["user"] == other
    assert event["fields"] == [
        {"eventFieldId": "relatedItemId", "newValue": {"stringValue": item}},
        {"eventFieldId": "comment.body", "oldValue": {"stringValue": "before"}, "newValue": {"stringValue": "after"}},
    ]


def items_arn(client: Any, domain_id: str, case: str, item: str) -> str:
    account = client._request_signer._credentials.access_key
    return f"arn:aws:cases:us-east-1:{account}:domain/{domain_id}/case/{case}/related-item/{item}"


def test_update_custom_replaces_all_fields(
    client: Any, domain_id: str, case: str, custom_fields: dict[str, str]
) -> None:
    text, number, flag = custom_fields["text"], custom_fields["number"], custom_fields["flag"]
    item = add_item(client, domain_id, case, "Custom", {"custom": {"fields": [fv(text, "a"), fv(number, 1)]}})
    out = client.update_related_item(domainId=domain_id, caseId=case, relatedItemId=item,
                                     content={"custom": {"fields": [fv(number, 2), fv(flag, True)]}})
    assert out["content"]["custom"]["fields"] == [fv(number, 2.0), fv(flag, True)]
    assert items_by_id(client, domain_id, case)[item]["content"] == out["content"]
    entries = {e["eventFieldId"]: e for e in last_event(client, domain_id, case)["fields"]}
    assert entries[f"custom.fields.{text}"] == {
        "eventFieldId": f"custom.fields.{text}", "oldValue": {"stringValue": "a"}, "newValue": {"emptyValue": {}}
    }
    assert entries[f"custom.fields.{number}"]["newValue"] == {"doubleValue": 2.0}
    assert "oldValue" not in entries[f"custom.fields.{flag}"]
    # Over the quota or invalid: nothing changes.
    ids = [str(client.create_field(domainId=domain_id, name=f"g{i}", type="Text")["fieldId"]) for i in range(6)]
    expect_error(client.update_related_item, "ServiceQuotaExceededException", 402, domainId=domain_id,
                 caseId=case, relatedItemId=item, content={"custom": {"fields": [fv(i, "x") for i in ids]}})
    expect_error(client.update_related_item, "ValidationException", 400, domainId=domain_id,
                 caseId=case, relatedItemId=item, content={"custom": {"fields": [fv("summary", "x")]}})
    assert items_by_id(client, domain_id, case)[item]["content"] == out["content"]


def test_only_comment_custom_and_sla_can_be_updated(client: Any, domain_id: str, template_id: str,
                                                    case: str) -> None:
    other = new_case(client, domain_id, template_id, "Other")
    for type_, content in (("Contact", None), ("File", None),
                           ("ConnectCase", {"connectCase": {"caseId": other}})):
        item = add_item(client, domain_id, case, type_, content)
        expect_error(client.update_related_item, "ValidationException", 400,
                     domainId=domain_id, caseId=case, relatedItemId=item, content=comment())
    # A content member that does not match the item's type.
    item = add_item(client, domain_id, case, "Comment")
    expect_error(client.update_related_item, "ValidationException", 400, domainId=domain_id, caseId=case,
                 relatedItemId=item, content={"sla": {"slaUpdateConfiguration": {"targetSlaMinutes": 5}}})
    assert items_by_id(client, domain_id, case)[item]["content"] == comment()


def test_update_unknown_item_or_item_of_another_case(client: Any, domain_id: str, template_id: str,
                                                     case: str) -> None:
    expect_not_found(client.update_related_item, "nope", "RelatedItem",
                     domainId=domain_id, caseId=case, relatedItemId="nope", content=comment())
    other = new_case(client, domain_id, template_id, "Other")
    item = add_item(client, domain_id, other, "Comment")
    expect_not_found(client.update_related_item, item, "RelatedItem",
                     domainId=domain_id, caseId=case, relatedItemId=item, content=comment())
    expect_not_found(client.delete_related_item, item, "RelatedItem",
                     domainId=domain_id, caseId=case, relatedItemId=item)


# -- delete ---------------------------------------------------------------------------------------
def test_delete(client: Any, domain_id: str, case: str) -> None:
    item = add_item(client, domain_id, case, "Contact")
    arn = items_arn(client, domain_id, case, item)
    client.tag_resource(arn=arn, tags={"k": "v"})
    client.delete_related_item(domainId=domain_id, caseId=case, relatedItemId=item)
    assert search_all(client, domain_id, case) == []
    assert client.list_cases_for_contact(domainId=domain_id, contactArn=CONTACT)["cases"] == []
    with pytest.raises(ClientError) as info:
        client.list_tags_for_resource(arn=arn)
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    event = last_event(client, domain_id, case)
    assert event["type"] == "RelatedItem.Deleted" and event["relatedItemType"] == "Contact"
    entries = {e["eventFieldId"]: e for e in event["fields"]}
    assert entries["contact.contactArn"] == {
        "eventFieldId": "contact.contactArn", "oldValue": {"stringValue": CONTACT}, "newValue": {"emptyValue": {}}
    }
    expect_not_found(client.delete_related_item, item, "RelatedItem",
                     domainId=domain_id, caseId=case, relatedItemId=item)


def test_file_items_cannot_be_deleted(client: Any, domain_id: str, case: str) -> None:
    item = add_item(client, domain_id, case, "File")
    before = len(audit_events(client, domain_id, case))
    expect_error(client.delete_related_item, "ValidationException", 400,
                 domainId=domain_id, caseId=case, relatedItemId=item)
    assert list(items_by_id(client, domain_id, case)) == [item]
    assert len(audit_events(client, domain_id, case)) == before


# -- audit and the case's last-updated fields ------------------------------------------------------
def test_create_audit_and_case_last_updated(client: Any, domain_id: str, case: str) -> None:
    before = values(client, domain_id, case)
    item = add_item(client, domain_id, case, "File", performedBy={"userArn": USER})
    event = last_event(client, domain_id, case)
    assert event["type"] == "RelatedItem.Created" and event["relatedItemType"] == "File"
    assert event["performedBy"]["user"] == {"userArn": USER}
    assert event["performedBy"]["iamPrincipalArn"].startswith("arn:aws:iam::")
    assert event["fields"] == [
        {"eventFieldId": "relatedItemId", "newValue": {"stringValue": item}},
        {"eventFieldId": "file.fileArn", "newValue": {"stringValue": FILE}},
    ]
    after = values(client, domain_id, case)
    assert after["last_updated_datetime"]["stringValue"] >= before["last_updated_datetime"]["stringValue"]
    assert after["last_updated_user"] == {"userArnValue": USER}
    # Only the RelatedItem event: the case's own audit trail records no Case.Updated for it.
    assert [e["type"] for e in audit_events(client, domain_id, case)] == ["Case.Created", "RelatedItem.Created"]


def test_long_comment_is_capped_in_audit(client: Any, domain_id: str, case: str) -> None:
    body = "x" * 15000
    item = add_item(client, domain_id, case, "Comment", comment(body))
    assert items_by_id(client, domain_id, case)[item]["content"]["comment"]["body"] == body
    entries = {e["eventFieldId"]: e for e in last_event(client, domain_id, case)["fields"]}
    assert entries["comment.body"]["newValue"] == {"stringValue": "x" * 4100}


# -- search ---------------------------------------------------------------------------------------
def test_search_orders_newest_first_and_pages(client: Any, domain_id: str, case: str) -> None:
    ids = [add_item(client, domain_id, case, "Comment", comment(f"c{i}")) for i in range(7)]
    found = search_all(client, domain_id, case, page_size=3)
    assert [i["relatedItemId"] for i in found] == ids[::-1]
    times = [i["associationTime"] for i in found]
    assert times == sorted(times, reverse=True)
    first = client.search_related_items(domainId=domain_id, caseId=case, maxResults=3)
    assert len(first["relatedItems"]) == 3 and first["nextToken"]
    # A token is bound to the query that produced it.
    expect_error(client.search_related_items, "ValidationException", 400, domainId=domain_id, caseId=case,
                 nextToken=first["nextToken"], filters=[{"comment": {}}])
    last = client.search_related_items(domainId=domain_id, caseId=case, maxResults=7)
    assert "nextToken" not in last


def test_search_max_results_range(client: Any, domain_id: str, case: str) -> None:
    for bad in (0, 26):
        with pytest.raises((ClientError, ParamValidationError)) as info:
            client.search_related_items(domainId=domain_id, caseId=case, maxResults=bad)
        if isinstance(info.value, ClientError):
            assert info.value.response["Error"]["Code"] == "ValidationException"


def test_search_filters(client: Any, domain_id: str, template_id: str, case: str,
                        custom_fields: dict[str, str]) -> None:
    other = new_case(client, domain_id, template_id, "Other")
    third = new_case(client, domain_id, template_id, "Third")
    text, number = custom_fields["text"], custom_fields["number"]
    ids = {
        "comment": add_item(client, domain_id, case, "Comment"),
        "contact": add_item(client, domain_id, case, "Contact"),
        "contact2": add_item(client, domain_id, case, "Contact", {"contact": {"contactArn": OTHER_CONTACT}}),
        "file": add_item(client, domain_id, case, "File"),
        "file2": add_item(client, domain_id, case, "File", {"file": {"fileArn": FILE + "x"}}),
        "link": add_item(client, domain_id, case, "ConnectCase", {"connectCase": {"caseId": other}}),
        "link2": add_item(client, domain_id, case, "ConnectCase", {"connectCase": {"caseId": third}}),
        "custom": add_item(client, domain_id, case, "Custom",
                           {"custom": {"fields": [fv(text, "Blue Widget"), fv(number, 5)]}}),
        "custom2": add_item(client, domain_id, case, "Custom", {"custom": {"fields": [fv(number, 50)]}}),
    }
    name = {v: k for k, v in ids.items()}

    def found(*filters: dict[str, Any]) -> set[str]:
        return {name[i] for i in items_by_id(client, domain_id, case, filters=list(filters))}

    assert found() == set(ids)
    assert found({"comment": {}}) == {"comment"}
    assert found({"contact": {}}) == {"contact", "contact2"}
    assert found({"contact": {"contactArn": CONTACT}}) == {"contact"}
    assert found({"contact": {"channel": ["VOICE"]}}) == {"contact", "contact2"}
    assert found({"contact": {"channel": ["CHAT", "EMAIL"]}}) == set()
    assert found({"file": {"fileArn": FILE}}) == {"file"}
    assert found({"connectCase": {"caseId": third}}) == {"link2"}
    # Filters are OR-ed.
    assert found({"comment": {}}, {"file": {"fileArn": FILE}}, {"connectCase": {}}) == {
        "comment", "file", "link", "link2"
    }
    assert found({"custom": {}}) == {"custom", "custom2"}

    def custom(node: dict[str, Any]) -> set[str]:
        return found({"custom": {"fields": node}})

    def field(op: str, fid: str, value: Any) -> dict[str, Any]:
        return {"field": {op: fv(fid, value)}}

    assert custom(field("equalTo", text, "Blue Widget")) == {"custom"}
    assert custom(field("contains", text, "widget")) == {"custom"}
    assert custom(field("equalTo", text, None)) == {"custom2"}  # emptyValue: no value
    assert custom(field("greaterThan", number, 5)) == {"custom2"}
    assert custom(field("greaterThanOrEqualTo", number, 5)) == {"custom", "custom2"}
    assert custom(field("lessThan", number, 50)) == {"custom"}
    assert custom(field("lessThanOrEqualTo", number, 4)) == set()
    assert custom({"not": field("contains", text, "widget")}) == {"custom2"}
    assert custom({"andAll": [field("greaterThan", number, 1), field("contains", text, "blue")]}) == {"custom"}
    assert custom({"orAll": [field("equalTo", number, 50), field("contains", text, "blue")]}) == {
        "custom", "custom2"
    }


def test_custom_datetime_filters_compare_chronologically(
    client: Any, domain_id: str, case: str, custom_fields: dict[str, str]
) -> None:
    when = custom_fields["when"]
    early = add_item(client, domain_id, case, "Custom", {"custom": {"fields": [fv(when, "2024-01-01T00:00:00Z")]}})
    add_item(client, domain_id, case, "Custom", {"custom": {"fields": [fv(when, "2024-06-01T00:00:00Z")]}})
    node = {"field": {"lessThan": fv(when, "2024-03-01T00:00:00.000+00:00")}}
    assert list(items_by_id(client, domain_id, case, filters=[{"custom": {"fields": node}}])) == [early]
    node = {"field": {"equalTo": fv(when, "2024-01-01T01:00:00+01:00")}}
    assert list(items_by_id(client, domain_id, case, filters=[{"custom": {"fields": node}}])) == [early]


def test_item_ids_and_times_are_well_formed(client: Any, domain_id: str, case: str) -> None:
    add_item(client, domain_id, case, "Comment")
    raw = client.search_related_items(domainId=domain_id, caseId=case)["ResponseMetadata"]
    assert raw["HTTPStatusCode"] == 200
    item = search_all(client, domain_id, case)[0]
    assert re.fullmatch(r"[0-9a-f-]{36}", item["relatedItemId"])
