"""SearchAllRelatedItems across a domain: filters (OR-ed), sorts, paging."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

CONTACT = "arn:aws:connect:us-east-1:123456789012:instance/i-1/contact/c-{}"
FILE = "arn:aws:connect:us-east-1:123456789012:instance/i-1/file/f-{}"


@pytest.fixture
def items(client: Any, domain_id: str) -> dict[str, Any]:
    template = client.create_template(domainId=domain_id, name="T")["templateId"]
    cases = [
        client.create_case(domainId=domain_id, templateId=template,
                           fields=[{"id": "title", "value": {"stringValue": f"c{i}"}}])["caseId"]
        for i in range(4)
    ]
    made: list[dict[str, Any]] = []

    def add(case_id: str, type_: str, content: dict[str, Any]) -> None:
        rid = client.create_related_item(domainId=domain_id, caseId=case_id, type=type_, content=content)
        made.append({"id": rid["relatedItemId"], "case": case_id, "type": type_, "content": content})

    for i, case_id in enumerate(cases):
        add(case_id, "Comment", {"comment": {"body": f"note {i}", "contentType": "Text/Plain"}})
        add(case_id, "Contact", {"contact": {"contactArn": CONTACT.format(i % 2)}})
        if i % 2:
            add(case_id, "File", {"file": {"fileArn": FILE.format(i)}})
    add(cases[0], "ConnectCase", {"connectCase": {"caseId": cases[3]}})
    return {"cases": cases, "items": made}


def _all(client: Any, domain_id: str, **kwargs: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    token = None
    while True:
        args = dict(kwargs, domainId=domain_id)
        if token:
            args["nextToken"] = token
        page = client.search_all_related_items(**args)
        assert len(page["relatedItems"]) <= args.get("maxResults", 25)
        out += page["relatedItems"]
        token = page.get("nextToken")
        if not token:
            return out


def test_all_items_every_page_once(client: Any, domain_id: str, items: dict[str, Any]) -> None:
    got = _all(client, domain_id, maxResults=3)
    assert sorted(i["relatedItemId"] for i in got) == sorted(i["id"] for i in items["items"])
    by_id = {i["id"]: i for i in items["items"]}
    for item in got:
        assert item["caseId"] == by_id[item["relatedItemId"]]["case"]
        assert item["type"] == by_id[item["relatedItemId"]]["type"]
    # Default order: newest association first.
    times = [i["associationTime"] for i in got]
    assert times == sorted(times, reverse=True)


def test_filters_are_ored(client: Any, domain_id: str, items: dict[str, Any]) -> None:
    got = _all(client, domain_id, filters=[{"comment": {}}, {"contact": {"contactArn": CONTACT.format(1)}}])
    expected = [i["id"] for i in items["items"] if i["type"] == "Comment"
                or (i["type"] == "Contact" and i["content"]["contact"]["contactArn"] == CONTACT.format(1))]
    assert sorted(i["relatedItemId"] for i in got) == sorted(expected)
    files = _all(client, domain_id, filters=[{"file": {"fileArn": FILE.format(3)}}])
    assert [i["caseId"] for i in files] == [items["cases"][3]]
    links = _all(client, domain_id, filters=[{"connectCase": {"caseId": items["cases"][3]}}])
    assert [i["caseId"] for i in links] == [items["cases"][0]]
    assert _all(client, domain_id, filters=[{"contact": {"channel": ["CHAT"]}}]) == []


def test_sorts(client: Any, domain_id: str, items: dict[str, Any]) -> None:
    got = _all(client, domain_id, maxResults=4,
               sorts=[{"sortProperty": "CaseId", "sortOrder": "Asc"},
                      {"sortProperty": "AssociationTime", "sortOrder": "Asc"}])
    keys = [(i["caseId"], i["associationTime"]) for i in got]
    assert keys == sorted(keys)
    assert len(got) == len(items["items"])


def test_errors(client: Any, domain_id: str) -> None:
    with pytest.raises(ClientError) as exc:
        client.search_all_related_items(domainId="missing")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        client.search_all_related_items(domainId=domain_id, nextToken="bogus")
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        client.search_all_related_items(domainId=domain_id, sorts=[
            {"sortProperty": "CaseId", "sortOrder": "Asc"}, {"sortProperty": "CaseId", "sortOrder": "Desc"}])
    assert exc.value.response["Error"]["Code"] == "ValidationException"
