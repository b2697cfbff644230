"""BatchUpdateCase through boto3 against a live server: whole-request failures, per-case
failures with their error codes, identification by reference id and field name, client tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.services.case_support import (
    USER,
    audit_events,
    fv,
    in_process,
    inproc_case,
    new_case,
    new_template,
    values,
)
from tests.services.config_support import expect_error, expect_not_found


@pytest.fixture
def setup(client: Any, domain_id: str) -> dict[str, Any]:
    template_id = new_template(client, domain_id)
    notes = client.create_field(domainId=domain_id, name="Notes", type="Text")["fieldId"]
    cases = [new_case(client, domain_id, template_id, title=f"c{i}") for i in range(3)]
    refs = [values(client, domain_id, c, ["reference_number"])["reference_number"]["stringValue"] for c in cases]
    return {"domain": domain_id, "template": template_id, "notes": notes, "cases": cases, "refs": refs}


def by_id(case_id: str) -> dict[str, Any]:
    return {"caseIdentifier": {"caseId": case_id}}


def by_ref(ref: str) -> dict[str, Any]:
    return {"caseIdentifier": {"referenceId": ref}}


def entry(value: Any, *, field_id: str | None = None, name: str | None = None) -> dict[str, Any]:
    ident = {"id": field_id} if field_id is not None else {"name": name}
    return {"fieldIdentifier": ident, "value": fv("x", value)["value"]}


def test_updates_every_case(client: Any, setup: dict[str, Any]) -> None:
    d, cases, refs = setup["domain"], setup["cases"], setup["refs"]
    out = client.batch_update_case(
        domainId=d, cases=[by_id(cases[0]), by_ref(refs[1].lower())],
        fields=[entry("by id", field_id=setup["notes"]), entry("sum", name="Summary")],
        title="New title", status="closed", customerId="arn:aws:profile:us-east-1:1:domains/d/profiles/p",
        performedBy={"userArn": USER},
    )
    assert out["failedCases"] == []
    # Identifiers carry caseId and referenceId, never referenceNumber.
    assert out["successfulCases"] == [
        {"caseIdentifier": {"caseId": cases[0], "referenceId": refs[0]}},
        {"caseIdentifier": {"caseId": cases[1], "referenceId": refs[1]}},
    ]
    for case_id in cases[:2]:
        got = values(client, d, case_id, ["title", "status", "customer_id", "summary", setup["notes"],
                                          "last_updated_user", "last_closed_datetime"])
        assert got["title"] == {"stringValue": "New title"} and got["status"] == {"stringValue": "closed"}
        assert got["summary"] == {"stringValue": "sum"} and got[setup["notes"]] == {"stringValue": "by id"}
        assert got["last_updated_user"] == {"userArnValue": USER} and "last_closed_datetime" in got
        updated = audit_events(client, d, case_id)[-1]
        assert updated["type"] == "Case.Updated"
        assert {"title", "status", "summary", "customer_id", setup["notes"]} <= {
            f["eventFieldId"] for f in updated["fields"]}
    assert values(client, d, cases[2], ["title"]) == {"title": {"stringValue": "c2"}}


def test_whole_request_failures_change_nothing(client: Any, setup: dict[str, Any]) -> None:
    d, cases = setup["domain"], setup["cases"]
    ok = [entry("x", field_id=setup["notes"])]
    bad_requests: list[tuple[str, dict[str, Any]]] = [
        ("ValidationException", {"cases": [by_id(cases[0]), by_id(cases[0])], "fields": ok}),
        ("ValidationException", {"cases": [by_id(cases[0]), by_ref(setup["refs"][0])], "fields": ok}),
        ("ValidationException", {"cases": [by_id(cases[0])], "fields": []}),
        ("ValidationException", {"cases": [by_id(cases[0])], "fields": ok + [entry("x", name="No such")]}),
        ("ValidationException", {"cases": [by_id(cases[0])], "fields": ok + [entry("x", field_id="nope")]}),
        ("ValidationException", {"cases": [by_id(cases[0])], "fields": ok + [entry("x", name="a|b")]}),
        ("ValidationException", {"cases": [by_id(cases[0])], "fields": ok + [entry("x", name="a,b")]}),
        ("ValidationException", {"cases": [by_id(cases[0])], "fields": ok + [entry("x", field_id="title")]}),
        ("ValidationException", {"cases": [by_id(cases[0])], "fields": ok + [entry("open", name="Status")]}),
        ("ValidationException", {"cases": [by_id(cases[0])], "fields": ok + [entry("p", field_id="customer_id")]}),
        ("ValidationException", {"cases": [by_id(cases[0])], "fields": ok + ok}),
    ]
    for code, kwargs in bad_requests:
        expect_error(client.batch_update_case, code, 400, domainId=d, **kwargs)
    expect_not_found(client.batch_update_case, "NOSUCHREF", "Case", domainId=d,
                     cases=[by_id(cases[0]), by_ref("NOSUCHREF")], fields=ok)
    expect_not_found(client.batch_update_case, "nodomain", "Domain", domainId="nodomain",
                     cases=[by_id(cases[0])], fields=ok)
    assert values(client, d, cases[0], [setup["notes"]]) == {}
    assert [e["type"] for e in audit_events(client, d, cases[0])] == ["Case.Created"]


def test_per_case_failures(client: Any, setup: dict[str, Any]) -> None:
    d, cases = setup["domain"], setup["cases"]
    gone = client.create_field(domainId=d, name="Gone", type="Text")["fieldId"]
    client.update_case(domainId=d, caseId=cases[1], fields=[fv(gone, "had")])
    client.delete_field(domainId=d, fieldId=gone)
    out = client.batch_update_case(domainId=d, cases=[by_id(cases[0]), by_id("missing"), by_id(cases[1])],
                                   fields=[entry("new", field_id=gone)])
    # A deleted field may be written only where the case already has a value for it.
    assert out["successfulCases"] == [{"caseIdentifier": {"caseId": cases[1], "referenceId": setup["refs"][1]}}]
    failed = {f["caseIdentifier"]["caseId"]: f for f in out["failedCases"]}
    assert failed["missing"]["errorCode"] == "CASE_NOT_FOUND"
    assert failed["missing"]["caseIdentifier"] == {"caseId": "missing"}
    assert failed[cases[0]]["errorCode"] == "VALIDATION_ERROR" and gone in failed[cases[0]]["errorMessage"]
    assert values(client, d, cases[1], [gone]) == {gone: {"stringValue": "new"}}
    assert values(client, d, cases[0], [gone]) == {}
    assert [e["type"] for e in audit_events(client, d, cases[0])] == ["Case.Created"]


def test_value_errors_fail_every_case(client: Any, setup: dict[str, Any]) -> None:
    d, cases = setup["domain"], setup["cases"]
    out = client.batch_update_case(domainId=d, cases=[by_id(cases[0]), by_id(cases[1])],
                                   fields=[entry(3.0, field_id=setup["notes"])], status="nonsense")
    assert out["successfulCases"] == []
    assert [f["errorCode"] for f in out["failedCases"]] == ["VALIDATION_ERROR"] * 2
    assert values(client, d, cases[0], ["status"]) == {"status": {"stringValue": "open"}}


def test_client_token(client: Any, setup: dict[str, Any]) -> None:
    d, cases = setup["domain"], setup["cases"]
    kwargs = {"domainId": d, "cases": [by_id(cases[0]), by_id("missing")], "fields": [], "title": "tokened",
              "clientToken": "batch-1"}
    first = client.batch_update_case(**kwargs)
    again = client.batch_update_case(**kwargs)
    assert {k: v for k, v in again.items() if k != "ResponseMetadata"} == {
        k: v for k, v in first.items() if k != "ResponseMetadata"}
    # The retry did not update again.
    assert [e["type"] for e in audit_events(client, d, cases[0])] == ["Case.Created", "Case.Updated"]
    expect_error(client.batch_update_case, "ConflictException", 409, **(kwargs | {"title": "other"}))


def test_running_merge_gives_conflict(tmp_path: Path) -> None:
    with in_process(tmp_path / "db.sqlite") as box:
        domain_id, template_id, merging = inproc_case(box)
        other = box("CreateCase", domainId=domain_id, templateId=template_id,
                    fields=[fv("title", "other")])["caseId"]
        with box.store.write() as tx:
            tx.set_merge_state(domain_id, merging, {"role": "secondary", "status": "IN_PROGRESS"})
        out = box("BatchUpdateCase", domainId=domain_id, cases=[by_id(merging), by_id(other)], fields=[],
                  title="renamed")
        assert [f["caseIdentifier"]["caseId"] for f in out["successfulCases"]] == [other]
        assert [(f["caseIdentifier"]["caseId"], f["errorCode"]) for f in out["failedCases"]] == [
            (merging, "CONFLICT")]
