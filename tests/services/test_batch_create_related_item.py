"""BatchCreateRelatedItem through boto3: whole-request failures, per-case failures, case
identifiers, client tokens and quotas."""

from __future__ import annotations

from typing import Any

import pytest

from tests.services.case_support import audit_events, new_case, new_template, values
from tests.services.config_support import expect_error, expect_not_found
from tests.services.related_support import (
    USER,
    add_item,
    comment,
    related_quota_server,  # noqa: F401  (a fixture)
    search_all,
)
from tests.support import LiveServer, make_client


@pytest.fixture
def cases(client: Any, domain_id: str) -> list[str]:
    template_id = new_template(client, domain_id)
    return [new_case(client, domain_id, template_id, f"Case {i}") for i in range(3)]


def ref(client: Any, domain_id: str, case_id: str) -> str:
    return str(values(client, domain_id, case_id, ["reference_number"])["reference_number"]["stringValue"])


def by_id(case_id: str) -> dict[str, Any]:
    return {"caseIdentifier": {"caseId": case_id}}


def by_ref(reference: str) -> dict[str, Any]:
    return {"caseIdentifier": {"referenceId": reference}}


def comments(client: Any, domain_id: str, case_id: str) -> list[dict[str, Any]]:
    return search_all(client, domain_id, case_id, filters=[{"comment": {}}])


def test_adds_the_comment_to_every_case(client: Any, domain_id: str, cases: list[str]) -> None:
    refs = [ref(client, domain_id, c) for c in cases]
    out = client.batch_create_related_item(
        domainId=domain_id, content=comment("all hands"), performedBy={"userArn": USER},
        cases=[by_id(cases[0]), by_ref(refs[1]), by_ref(refs[2].lower())],  # reference ids ignore case
    )
    assert out["failedItems"] == []
    assert [s["caseIdentifier"] for s in out["successfulItems"]] == [
        {"caseId": c, "referenceId": r} for c, r in zip(cases, refs, strict=True)
    ]
    for case_id, success in zip(cases, out["successfulItems"], strict=True):
        [item] = comments(client, domain_id, case_id)
        assert item["relatedItemId"] == success["relatedItemId"]
        assert success["relatedItemArn"].endswith(f"domain/{domain_id}/case/{case_id}/related-item/"
                                                  f"{success['relatedItemId']}")
        assert item["content"] == comment("all hands") and item["performedBy"] == {"userArn": USER}
        event = audit_events(client, domain_id, case_id)[-1]
        assert event["type"] == "RelatedItem.Created" and event["relatedItemType"] == "Comment"


def test_unknown_case_id_fails_only_that_case(client: Any, domain_id: str, cases: list[str]) -> None:
    out = client.batch_create_related_item(
        domainId=domain_id, content=comment(), cases=[by_id(cases[0]), by_id("no-such-case")]
    )
    assert [s["caseIdentifier"]["caseId"] for s in out["successfulItems"]] == [cases[0]]
    assert out["failedItems"] == [{
        "caseIdentifier": {"caseId": "no-such-case"}, "errorCode": "CASE_NOT_FOUND",
        "errorMessage": out["failedItems"][0]["errorMessage"],
    }]
    assert len(comments(client, domain_id, cases[0])) == 1


@pytest.mark.parametrize(
    "why", ["unknown reference", "duplicate ids", "same case twice", "not a comment", "unknown domain"]
)
def test_whole_request_failures_create_nothing(client: Any, domain_id: str, cases: list[str], why: str) -> None:
    kwargs: dict[str, Any] = {"domainId": domain_id, "content": comment(), "cases": [by_id(cases[0])]}
    if why == "unknown reference":
        kwargs["cases"].append(by_ref("NOSUCHREF"))
        expect_not_found(client.batch_create_related_item, "NOSUCHREF", "Case", **kwargs)
    elif why == "unknown domain":
        expect_not_found(client.batch_create_related_item, "nodomain", "Domain", **(kwargs | {"domainId": "nodomain"}))
    else:
        if why == "duplicate ids":
            kwargs["cases"].append(by_id(cases[0]))
        elif why == "same case twice":
            kwargs["cases"].append(by_ref(ref(client, domain_id, cases[0])))
        else:
            kwargs["content"] = {"file": {"fileArn": "arn:aws:connect:us-east-1:1:instance/i/file/f"}}
        expect_error(client.batch_create_related_item, "ValidationException", 400, **kwargs)
    for case_id in cases:
        assert search_all(client, domain_id, case_id) == []


def test_client_token(client: Any, domain_id: str, cases: list[str]) -> None:
    kwargs = {"domainId": domain_id, "content": comment(), "cases": [by_id(cases[0])], "clientToken": "tok-1"}
    first = client.batch_create_related_item(**kwargs)
    again = client.batch_create_related_item(**kwargs)
    assert {k: again[k] for k in ("successfulItems", "failedItems")} == {
        k: first[k] for k in ("successfulItems", "failedItems")
    }
    assert len(comments(client, domain_id, cases[0])) == 1
    expect_error(client.batch_create_related_item, "ConflictException", 409,
                 **(kwargs | {"content": comment("different")}))
    assert len(comments(client, domain_id, cases[0])) == 1
    # A token whose request failed as a whole stays free.
    bad = kwargs | {"clientToken": "tok-2", "cases": [by_ref("NOSUCHREF")]}
    expect_error(client.batch_create_related_item, "ResourceNotFoundException", 404, **bad)
    ok = client.batch_create_related_item(**(bad | {"cases": [by_id(cases[1])]}))
    assert len(ok["successfulItems"]) == 1
    # Without a token (the SDK fills one in) every call creates.
    client.batch_create_related_item(domainId=domain_id, content=comment(), cases=[by_id(cases[2])])
    client.batch_create_related_item(domainId=domain_id, content=comment(), cases=[by_id(cases[2])])
    assert len(comments(client, domain_id, cases[2])) == 2


def test_per_case_quota(related_quota_server: LiveServer) -> None:  # noqa: F811
    client = make_client(related_quota_server.endpoint)
    domain_id = client.create_domain(name="d")["domainId"]
    template_id = new_template(client, domain_id)
    full, empty = new_case(client, domain_id, template_id), new_case(client, domain_id, template_id)
    for _ in range(5):
        add_item(client, domain_id, full, "Comment")
    out = client.batch_create_related_item(domainId=domain_id, content=comment(),
                                           cases=[by_id(full), by_id(empty)])
    assert [f["errorCode"] for f in out["failedItems"]] == ["SERVICE_QUOTA_EXCEEDED"]
    assert out["failedItems"][0]["caseIdentifier"]["caseId"] == full
    assert [s["caseIdentifier"]["caseId"] for s in out["successfulItems"]] == [empty]
    assert len(search_all(client, domain_id, full)) == 5
