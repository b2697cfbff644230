"""GetCaseAuditEvents and the audit trail of case mutations: Case.Created and Case.Updated
entries, paging, replaying the history, and atomicity of a change with its audit event."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from opencases.errors import InternalServerException
from opencases.services import audit
from tests.services.case_support import (
    SYSTEM_IDS,
    USER,
    audit_events,
    fv,
    in_process,
    inproc_case,
    new_case,
    new_template,
    replay,
    values,
)
from tests.services.config_support import expect_error, expect_not_found


@pytest.fixture
def template_id(client: Any, domain_id: str) -> str:
    return new_template(client, domain_id)


def test_case_created_event(client: Any, domain_id: str, template_id: str) -> None:
    case_id = new_case(client, domain_id, template_id, values={"summary": "s"}, performedBy={"userArn": USER})
    [event] = audit_events(client, domain_id, case_id)
    assert event["type"] == "Case.Created"
    assert event["eventId"] and isinstance(event["performedTime"], dt.datetime)
    account = client._request_signer._credentials.access_key
    assert event["performedBy"] == {"iamPrincipalArn": f"arn:aws:iam::{account}:root", "user": {"userArn": USER}}
    assert "relatedItemType" not in event and "mergeMetadata" not in event
    entries = {f["eventFieldId"]: f for f in event["fields"]}
    assert all("oldValue" not in f for f in event["fields"])
    # One entry per initial value, the service-set system fields included.
    assert set(entries) == {"title", "summary", "status", "case_id", "reference_number", "created_datetime",
                            "last_updated_datetime", "created_by", "last_updated_user"}
    assert {k: e["newValue"] for k, e in entries.items()} == values(client, domain_id, case_id)


def test_case_updated_event(client: Any, domain_id: str, template_id: str) -> None:
    case_id = new_case(client, domain_id, template_id, values={"summary": "old"})
    client.update_case(domainId=domain_id, caseId=case_id, performedBy={"customEntity": "importer"},
                       fields=[fv("summary", None), fv("title", "A case"), fv("status", "closed")])
    event = audit_events(client, domain_id, case_id)[-1]
    assert event["type"] == "Case.Updated"
    assert event["performedBy"]["user"] == {"customEntity": "importer"}
    entries = {f["eventFieldId"]: f for f in event["fields"]}
    # title was written with its current value: no entry for it.
    assert set(entries) == {"summary", "status", "last_closed_datetime", "last_updated_datetime"}
    assert entries["summary"]["oldValue"] == {"stringValue": "old"}
    assert entries["summary"]["newValue"] == {"emptyValue": {}}
    assert entries["status"]["oldValue"] == {"stringValue": "open"}
    assert entries["last_closed_datetime"]["oldValue"] == {"emptyValue": {}}


def test_history_replays_to_the_current_values(client: Any, domain_id: str, template_id: str) -> None:
    number = client.create_field(domainId=domain_id, name="Count", type="Number")["fieldId"]
    flag = client.create_field(domainId=domain_id, name="Flag", type="Boolean")["fieldId"]
    when = client.create_field(domainId=domain_id, name="When", type="DateTime")["fieldId"]
    case_id = new_case(client, domain_id, template_id, values={number: 1, flag: True},
                       performedBy={"userArn": USER})
    steps = [
        [fv("summary", "one"), fv(number, 2)],
        [fv("status", "closed"), fv(when, "2024-05-01T10:00:00+02:00")],
        [fv("summary", None), fv(flag, False)],
        [fv("status", "open"), fv("assigned_user", {"userArnValue": USER})],
        [fv(number, None), fv("title", "renamed")],
    ]
    for i, fields in enumerate(steps):
        performed = {"userArn": USER} if i % 2 else {"customEntity": "bot"}
        client.update_case(domainId=domain_id, caseId=case_id, fields=fields, performedBy=performed)
    client.batch_update_case(domainId=domain_id, cases=[{"caseIdentifier": {"caseId": case_id}}], fields=[],
                             title="batch title")
    ids = SYSTEM_IDS + [number, flag, when]
    assert replay(audit_events(client, domain_id, case_id, page_size=2)) == values(client, domain_id, case_id, ids)


def test_paging_is_oldest_first_and_stable(client: Any, domain_id: str, template_id: str) -> None:
    case_id = new_case(client, domain_id, template_id)
    for i in range(5):
        client.update_case(domainId=domain_id, caseId=case_id, fields=[fv("summary", f"s{i}")])
    first = client.get_case_audit_events(domainId=domain_id, caseId=case_id, maxResults=2)
    assert [e["type"] for e in first["auditEvents"]] == ["Case.Created", "Case.Updated"]
    everything = audit_events(client, domain_id, case_id, page_size=2)
    assert len(everything) == 6 and len({e["eventId"] for e in everything}) == 6
    summaries = [f["newValue"].get("stringValue") for e in everything[1:] for f in e["fields"]
                 if f["eventFieldId"] == "summary"]
    assert summaries == [f"s{i}" for i in range(5)]
    default = client.get_case_audit_events(domainId=domain_id, caseId=case_id)
    assert len(default["auditEvents"]) == 6 and "nextToken" not in default
    # A new event appends after the last page: paging on from an old token still works.
    client.update_case(domainId=domain_id, caseId=case_id, fields=[fv("summary", "late")])
    rest = client.get_case_audit_events(domainId=domain_id, caseId=case_id, maxResults=2,
                                        nextToken=first["nextToken"])
    assert rest["auditEvents"][0]["eventId"] == everything[2]["eventId"]
    expect_error(client.get_case_audit_events, "ValidationException", 400, domainId=domain_id, caseId=case_id,
                 nextToken="garbage")


def test_audit_errors(client: Any, domain_id: str) -> None:
    expect_not_found(client.get_case_audit_events, "nope", "Case", domainId=domain_id, caseId="nope")
    expect_not_found(client.get_case_audit_events, "nodomain", "Domain", domainId="nodomain", caseId="nope")


def test_max_results_range(tmp_path: Path) -> None:
    from opencases.errors import ValidationException

    with in_process(tmp_path / "db.sqlite") as box:
        domain_id, _, case_id = inproc_case(box)
        for bad in (0, 26):
            with pytest.raises(ValidationException):
                box("GetCaseAuditEvents", domainId=domain_id, caseId=case_id, maxResults=bad)
        assert len(box("GetCaseAuditEvents", domainId=domain_id, caseId=case_id, maxResults=25)["auditEvents"]) == 1


def test_no_change_commits_without_its_audit_event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with in_process(tmp_path / "db.sqlite") as box:
        domain_id, template_id, case_id = inproc_case(box, summary="before")
        fields = [{"id": f} for f in SYSTEM_IDS]
        before = box("GetCase", domainId=domain_id, caseId=case_id, fields=fields)

        def broken(*args: Any, **kwargs: Any) -> str:
            raise RuntimeError("audit store unavailable")

        monkeypatch.setattr(audit, "record", broken)
        with pytest.raises(InternalServerException):
            box("UpdateCase", domainId=domain_id, caseId=case_id,
                fields=[fv("summary", "after"), fv("status", "closed")])
        # A batch reports the case as failed; its savepoint undid the case's writes.
        out = box("BatchUpdateCase", domainId=domain_id, cases=[{"caseIdentifier": {"caseId": case_id}}],
                  fields=[], title="after")
        assert [f["errorCode"] for f in out["failedCases"]] == ["INTERNAL_ERROR"]
        with pytest.raises(InternalServerException):
            box("CreateCase", domainId=domain_id, templateId=template_id, fields=[fv("title", "never")],
                clientToken="tok")
        monkeypatch.undo()
        assert box("GetCase", domainId=domain_id, caseId=case_id, fields=fields) == before
        with box.store.read() as tx:
            assert "before" in (tx.get_case_text(domain_id, case_id) or "")
            assert tx.get_case(domain_id, case_id)["version"] == 1
            assert tx.get_idempotency(domain_id, "CreateCase", "tok") is None
        assert len(box("GetCaseAuditEvents", domainId=domain_id, caseId=case_id)["auditEvents"]) == 1
