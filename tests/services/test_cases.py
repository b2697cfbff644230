"""CreateCase, GetCase, DeleteCase and ListCasesForContact through boto3 against a live server."""

from __future__ import annotations

import re
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.services.case_support import (
    USER,
    audit_events,
    error_of,
    fv,
    in_process,
    inproc_case,
    new_case,
    new_template,
    same_account_clients,
    values,
)
from tests.services.config_support import expect_error, expect_not_found
from tests.support import LiveServer

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture
def template_id(client: Any, domain_id: str) -> str:
    return new_template(client, domain_id)


def test_create_case_sets_system_fields(client: Any, domain_id: str, template_id: str) -> None:
    created = client.create_case(
        domainId=domain_id, templateId=template_id, fields=[fv("title", "Printer on fire")],
        performedBy={"userArn": USER},
    )
    case_id = created["caseId"]
    assert uuid.UUID(case_id)
    assert created["caseArn"].endswith(f":domain/{domain_id}/case/{case_id}")
    assert created["caseArn"].startswith("arn:aws:cases:us-east-1:")
    got = values(client, domain_id, case_id)
    assert got["title"] == {"stringValue": "Printer on fire"}
    assert got["case_id"] == {"stringValue": case_id}
    assert got["status"] == {"stringValue": "open"}
    assert re.fullmatch(r"[0-9A-Z]{9}", got["reference_number"]["stringValue"])
    assert ISO_MS.match(got["created_datetime"]["stringValue"])
    assert got["last_updated_datetime"] == got["created_datetime"]
    assert got["created_by"] == got["last_updated_user"] == {"userArnValue": USER}
    for absent in ("last_closed_datetime", "last_reopened_datetime", "summary", "customer_id"):
        assert absent not in got


def test_custom_entity_sets_no_user_fields(client: Any, domain_id: str, template_id: str) -> None:
    case_id = new_case(client, domain_id, template_id, performedBy={"customEntity": "bot-7"})
    got = values(client, domain_id, case_id)
    assert "created_by" not in got and "last_updated_user" not in got
    created = audit_events(client, domain_id, case_id)[0]
    assert created["performedBy"]["user"] == {"customEntity": "bot-7"}


def test_status_may_be_given_at_create(client: Any, domain_id: str, template_id: str) -> None:
    case_id = new_case(client, domain_id, template_id, values={"status": "closed"})
    got = values(client, domain_id, case_id)
    assert got["status"] == {"stringValue": "closed"}
    assert got["last_closed_datetime"] == got["created_datetime"]


def test_template_must_exist_be_active_and_not_deleted(client: Any, domain_id: str) -> None:
    fields = [fv("title", "x")]
    expect_not_found(client.create_case, "nope", "Template", domainId=domain_id, templateId="nope", fields=fields)
    inactive = new_template(client, domain_id, "Inactive", status="Inactive")
    expect_error(client.create_case, "ValidationException", 400, domainId=domain_id, templateId=inactive,
                 fields=fields)
    deleted = new_template(client, domain_id, "Deleted")
    client.delete_template(domainId=domain_id, templateId=deleted)
    expect_error(client.create_case, "ValidationException", 400, domainId=domain_id, templateId=deleted,
                 fields=fields)
    expect_not_found(client.create_case, "no-domain", "Domain", domainId="no-domain", templateId=deleted,
                     fields=fields)


def test_title_and_template_required_fields(client: Any, domain_id: str) -> None:
    plain = new_template(client, domain_id, "Plain")
    for fields in ([], [fv("title", "")], [fv("title", None)]):
        resp = expect_error(client.create_case, "ValidationException", 400, domainId=domain_id,
                            templateId=plain, fields=fields)
        assert "title" in resp["Error"]["Message"]
    # customer_id is required only when the template lists it.
    new_case(client, domain_id, plain)
    strict = new_template(client, domain_id, "Strict", requiredFields=[{"fieldId": "customer_id"}])
    resp = expect_error(client.create_case, "ValidationException", 400, domainId=domain_id, templateId=strict,
                        fields=[fv("title", "x")])
    assert "customer_id" in resp["Error"]["Message"]
    profile = "arn:aws:profile:us-east-1:111122223333:domains/p/profiles/abc"
    case_id = new_case(client, domain_id, strict, values={"customer_id": profile})
    assert values(client, domain_id, case_id)["customer_id"] == {"stringValue": profile}


def test_unknown_deleted_and_read_only_fields_are_refused(client: Any, domain_id: str, template_id: str) -> None:
    def refused(*extra: dict[str, Any]) -> str:
        resp = expect_error(client.create_case, "ValidationException", 400, domainId=domain_id,
                            templateId=template_id, fields=[fv("title", "x"), *extra])
        return str(resp["Error"]["Message"])

    assert "nope" in refused(fv("nope", "v"))
    gone = client.create_field(domainId=domain_id, name="Gone", type="Text")["fieldId"]
    client.delete_field(domainId=domain_id, fieldId=gone)
    assert gone in refused(fv(gone, "v"))
    for field_id, value in [
        ("case_id", "x"), ("created_datetime", "2024-01-01T00:00:00.000Z"), ("created_by", {"userArnValue": USER}),
        ("last_updated_datetime", "2024-01-01T00:00:00.000Z"), ("last_updated_user", {"userArnValue": USER}),
        ("last_closed_datetime", "2024-01-01T00:00:00.000Z"), ("last_reopened_datetime", "2024-01-01T00:00:00Z"),
        ("next_sla_breach_datetime", "2024-01-01T00:00:00.000Z"),
    ]:
        assert field_id in refused(fv(field_id, value))
    assert "summary" in refused(fv("summary", "a"), fv("summary", "b"))  # the same field twice


def test_tags_merge_with_template_propagation(client: Any, domain_id: str) -> None:
    template_id = new_template(
        client, domain_id, "Tagged",
        tagPropagationConfigurations=[{"resourceType": "Cases", "tagMap": {"Department": "Fraud", "Tier": "1"}}],
    )
    case_id = new_case(client, domain_id, template_id, tags={"Department": "Finance", "Own": "yes"})
    got = client.get_case(domainId=domain_id, caseId=case_id, fields=[{"id": "title"}])
    assert got["tags"] == {"Department": "Finance", "Tier": "1", "Own": "yes"}
    assert got["templateId"] == template_id


def test_reference_number_supplied_and_unique(client: Any, domain_id: str, template_id: str) -> None:
    case_id = new_case(client, domain_id, template_id, values={"reference_number": "abc123XYZ"})
    assert values(client, domain_id, case_id)["reference_number"] == {"stringValue": "abc123XYZ"}
    # Reference numbers are unique per domain and compared case-insensitively.
    with pytest.raises(ClientError) as exc:
        new_case(client, domain_id, template_id, values={"reference_number": "ABC123xyz"})
    assert error_of(exc.value) == ("ConflictException", 409)
    expect_error(client.create_case, "ValidationException", 400, domainId=domain_id, templateId=template_id,
                 fields=[fv("title", "x"), fv("reference_number", "has space")])
    # Another domain may reuse it.
    other = client.create_domain(name="other")["domainId"]
    new_case(client, other, new_template(client, other), values={"reference_number": "ABC123XYZ"})


def test_client_token_idempotency(client: Any, domain_id: str, template_id: str) -> None:
    kwargs = {"domainId": domain_id, "templateId": template_id, "fields": [fv("title", "once")], "clientToken": "t-1"}
    first = client.create_case(**kwargs)
    again = client.create_case(**kwargs)
    assert again["caseId"] == first["caseId"] and again["caseArn"] == first["caseArn"]
    expect_error(client.create_case, "ConflictException", 409, **(kwargs | {"fields": [fv("title", "other")]}))
    # A rejected request does not use up its token.
    bad = kwargs | {"clientToken": "t-2", "fields": [fv("nope", "x")]}
    expect_error(client.create_case, "ValidationException", 400, **bad)
    good = client.create_case(**(kwargs | {"clientToken": "t-2"}))
    assert good["caseId"] != first["caseId"]


def test_concurrent_create_with_one_token_creates_one_case(
    client: Any, server: LiveServer, domain_id: str, template_id: str
) -> None:
    clients = same_account_clients(client, server.endpoint, 20)
    token = str(uuid.uuid4())
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(clients))

    def run(c: Any) -> None:
        try:
            barrier.wait()
            out = c.create_case(domainId=domain_id, templateId=template_id, fields=[fv("title", "race")],
                                clientToken=token)
            results.append(out["caseId"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 20 and len(set(results)) == 1
    # Exactly one case exists: the one every caller got.
    events = audit_events(client, domain_id, results[0])
    assert [e["type"] for e in events] == ["Case.Created"]
    found = client.search_cases(domainId=domain_id)["cases"]
    assert [c["caseId"] for c in found] == [results[0]]


def test_get_case_returns_requested_fields_in_order(client: Any, domain_id: str, template_id: str) -> None:
    case_id = new_case(client, domain_id, template_id, values={"summary": "S"})
    got = client.get_case(
        domainId=domain_id, caseId=case_id,
        fields=[{"id": "summary"}, {"id": "nope"}, {"id": "customer_id"}, {"id": "title"}, {"id": "summary"}],
    )
    assert got["fields"] == [fv("summary", "S"), fv("title", "A case")]
    assert "nextToken" not in got
    expect_error(client.get_case, "ValidationException", 400, domainId=domain_id, caseId=case_id,
                 fields=[{"id": "title"}], nextToken="bogus")
    expect_not_found(client.get_case, "nope", "Case", domainId=domain_id, caseId="nope", fields=[{"id": "title"}])
    expect_not_found(client.get_case, "nodomain", "Domain", domainId="nodomain", caseId=case_id,
                     fields=[{"id": "title"}])


def test_get_case_returns_values_of_deleted_fields(client: Any, domain_id: str, template_id: str) -> None:
    field_id = client.create_field(domainId=domain_id, name="Legacy", type="Text")["fieldId"]
    case_id = new_case(client, domain_id, template_id, values={field_id: "old"})
    client.delete_field(domainId=domain_id, fieldId=field_id)
    assert values(client, domain_id, case_id, [field_id]) == {field_id: {"stringValue": "old"}}


def test_cases_are_isolated_per_account(client: Any, server: LiveServer, domain_id: str, template_id: str) -> None:
    from tests.support import make_client

    case_id = new_case(client, domain_id, template_id)
    stranger = make_client(server.endpoint)
    expect_not_found(stranger.get_case, domain_id, "Domain", domainId=domain_id, caseId=case_id,
                     fields=[{"id": "title"}])


def test_delete_case_removes_everything(client: Any, domain_id: str, template_id: str) -> None:
    case_id = new_case(client, domain_id, template_id, tags={"k": "v"})
    keep = new_case(client, domain_id, template_id, title="keep")
    client.update_case(domainId=domain_id, caseId=case_id, fields=[fv("summary", "s")])
    assert client.delete_case(domainId=domain_id, caseId=case_id)["ResponseMetadata"]["HTTPStatusCode"] == 200
    expect_not_found(client.get_case, case_id, "Case", domainId=domain_id, caseId=case_id, fields=[{"id": "title"}])
    expect_not_found(client.get_case_audit_events, case_id, "Case", domainId=domain_id, caseId=case_id)
    expect_not_found(client.update_case, case_id, "Case", domainId=domain_id, caseId=case_id,
                     fields=[fv("summary", "x")])
    expect_not_found(client.delete_case, case_id, "Case", domainId=domain_id, caseId=case_id)
    assert values(client, domain_id, keep)["title"] == {"stringValue": "keep"}


def test_delete_case_removes_related_items_text_and_tags(tmp_path: Path) -> None:
    with in_process(tmp_path / "db.sqlite") as box:
        domain_id, _, case_id = inproc_case(box)
        arn = f"arn:aws:cases:us-east-1:000000000000:domain/{domain_id}/case/{case_id}"
        with box.store.write() as tx:
            tx.put_tags(arn, domain_id, {"a": "b"})
            tx.put_tags(arn + "/related-item/r1", domain_id, {"a": "b"})
            tx.insert_related_item({
                "domain_id": domain_id, "related_item_id": "r1", "case_id": case_id, "type": "Comment",
                "content": {"body": "x"}, "search_key": None, "association_ms": 1, "modified_ms": 1,
            })
        box("DeleteCase", domainId=domain_id, caseId=case_id)
        with box.store.read() as tx:
            assert tx.get_case_text(domain_id, case_id) is None
            assert tx.get_tags(arn) == {} and tx.get_tags(arn + "/related-item/r1") == {}
            assert not tx.related_item_exists(domain_id, case_id, "r1")
            assert tx.list_audit_events(domain_id, case_id, None, 10) == []
            assert tx.get_case_value_rows(domain_id, case_id) == []


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_delete_case_in_running_merge_conflicts(tmp_path: Path, role: str) -> None:
    from opencases.errors import ConflictException

    with in_process(tmp_path / "db.sqlite") as box:
        domain_id, _, case_id = inproc_case(box)
        with box.store.write() as tx:
            tx.set_merge_state(domain_id, case_id, {"role": role, "status": "IN_PROGRESS"})
        with pytest.raises(ConflictException):
            box("DeleteCase", domainId=domain_id, caseId=case_id)
        with box.store.read() as tx:
            assert tx.case_exists(domain_id, case_id)


def test_case_text_tracks_text_values(tmp_path: Path) -> None:
    with in_process(tmp_path / "db.sqlite") as box:
        domain_id, _, case_id = inproc_case(box, summary="needle one")
        url = box("CreateField", domainId=domain_id, name="Link", type="Url")["fieldId"]
        count = box("CreateField", domainId=domain_id, name="Count", type="Number")["fieldId"]
        box("UpdateCase", domainId=domain_id, caseId=case_id,
            fields=[fv(url, "https://example.com/x"), fv(count, 42), fv("summary", None)])
        with box.store.read() as tx:
            body = tx.get_case_text(domain_id, case_id)
            reference = tx.get_case(domain_id, case_id)["reference_number"]
        assert body is not None
        lines = body.split("\n")
        assert "T" in lines and "open" in lines and reference in lines and "https://example.com/x" in lines
        assert "needle one" not in body and "42" not in lines and "42.0" not in lines


def _contact(n: int) -> str:
    return f"arn:aws:connect:us-east-1:111122223333:instance/i-1/contact/c-{n}"


def test_list_cases_for_contact(client: Any, domain_id: str, template_id: str) -> None:
    cases = [new_case(client, domain_id, template_id, title=f"c{i}") for i in range(3)]
    try:
        for case_id in cases:
            client.create_related_item(domainId=domain_id, caseId=case_id, type="Contact",
                                       content={"contact": {"contactArn": _contact(1)}})
    except ClientError as exc:
        if "not implemented" in str(exc):
            pytest.skip("CreateRelatedItem is not implemented yet")
        raise
    client.create_related_item(domainId=domain_id, caseId=cases[0], type="Contact",
                               content={"contact": {"contactArn": _contact(2)}})
    seen: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"maxResults": 2}
    while True:
        page = client.list_cases_for_contact(domainId=domain_id, contactArn=_contact(1), **kwargs)
        assert len(page["cases"]) <= 2
        seen += page["cases"]
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    assert sorted(c["caseId"] for c in seen) == sorted(cases)
    assert {c["templateId"] for c in seen} == {template_id}
    only = client.list_cases_for_contact(domainId=domain_id, contactArn=_contact(2))["cases"]
    assert [c["caseId"] for c in only] == [cases[0]]
    assert client.list_cases_for_contact(domainId=domain_id, contactArn=_contact(9))["cases"] == []
    expect_not_found(client.list_cases_for_contact, "nodomain", "Domain", domainId="nodomain",
                     contactArn=_contact(1))
