"""UpdateCase through boto3 against a live server: partial updates, clearing, status timestamps,
deleted fields, concurrency, merges, and --enforce-case-rules."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opencases.errors import ConflictException
from tests.services.case_support import (
    OTHER_USER,
    USER,
    audit_events,
    fv,
    in_process,
    inproc_case,
    new_case,
    new_template,
    same_account_clients,
    values,
)
from tests.services.config_support import expect_error, expect_not_found
from tests.support import LiveServer, make_client


@pytest.fixture
def template_id(client: Any, domain_id: str) -> str:
    return new_template(client, domain_id)


def test_update_is_partial_and_returns_empty_body(client: Any, domain_id: str, template_id: str) -> None:
    case_id = new_case(client, domain_id, template_id, values={"summary": "first"})
    before = values(client, domain_id, case_id)
    out = client.update_case(domainId=domain_id, caseId=case_id, fields=[fv("summary", "second")],
                             performedBy={"userArn": OTHER_USER})
    assert set(out) == {"ResponseMetadata"}
    after = values(client, domain_id, case_id)
    assert after["summary"] == {"stringValue": "second"}
    assert after["title"] == before["title"] and after["created_datetime"] == before["created_datetime"]
    assert after["last_updated_datetime"]["stringValue"] >= before["last_updated_datetime"]["stringValue"]
    assert after["last_updated_user"] == {"userArnValue": OTHER_USER}
    assert "created_by" not in after  # the case was created without performedBy


def test_empty_value_clears_except_required(client: Any, domain_id: str) -> None:
    template_id = new_template(client, domain_id, requiredFields=[{"fieldId": "customer_id"}])
    profile = "arn:aws:profile:us-east-1:1:domains/d/profiles/p"
    case_id = new_case(client, domain_id, template_id, values={"customer_id": profile, "summary": "s"})
    client.update_case(domainId=domain_id, caseId=case_id, fields=[fv("summary", None)])
    assert "summary" not in values(client, domain_id, case_id)
    for field_id in ("title", "customer_id", "status"):
        resp = expect_error(client.update_case, "ValidationException", 400, domainId=domain_id, caseId=case_id,
                            fields=[fv(field_id, None)])
        assert field_id in resp["Error"]["Message"]
    expect_error(client.update_case, "ValidationException", 400, domainId=domain_id, caseId=case_id,
                 fields=[fv("title", "")])
    assert values(client, domain_id, case_id)["customer_id"] == {"stringValue": profile}


def test_status_transitions_keep_timestamps(client: Any, domain_id: str, template_id: str) -> None:
    case_id = new_case(client, domain_id, template_id)
    client.update_case(domainId=domain_id, caseId=case_id, fields=[fv("status", "closed")])
    closed = values(client, domain_id, case_id)
    assert closed["last_closed_datetime"] == closed["last_updated_datetime"]
    assert "last_reopened_datetime" not in closed
    client.update_case(domainId=domain_id, caseId=case_id, fields=[fv("status", "open")])
    reopened = values(client, domain_id, case_id)
    assert reopened["last_reopened_datetime"] == reopened["last_updated_datetime"]
    # "It does not guarantee that a case is closed": the closed time stays after reopening.
    assert reopened["last_closed_datetime"] == closed["last_closed_datetime"]
    client.update_case(domainId=domain_id, caseId=case_id, fields=[fv("summary", "still open")])
    assert values(client, domain_id, case_id)["last_reopened_datetime"] == reopened["last_reopened_datetime"]


def test_custom_status_option(client: Any, domain_id: str, template_id: str) -> None:
    client.batch_put_field_options(domainId=domain_id, fieldId="status",
                                   options=[{"name": "Pending", "value": "pending", "active": True}])
    case_id = new_case(client, domain_id, template_id, values={"status": "closed"})
    client.update_case(domainId=domain_id, caseId=case_id, fields=[fv("status", "pending")])
    got = values(client, domain_id, case_id)
    assert got["status"] == {"stringValue": "pending"} and "last_reopened_datetime" in got
    expect_error(client.update_case, "ValidationException", 400, domainId=domain_id, caseId=case_id,
                 fields=[fv("status", "nonsense")])


def test_deleted_field_only_where_the_case_has_a_value(client: Any, domain_id: str, template_id: str) -> None:
    field_id = client.create_field(domainId=domain_id, name="Legacy", type="Text")["fieldId"]
    with_value = new_case(client, domain_id, template_id, values={field_id: "v1"})
    without = new_case(client, domain_id, template_id)
    client.delete_field(domainId=domain_id, fieldId=field_id)
    client.update_case(domainId=domain_id, caseId=with_value, fields=[fv(field_id, "v2")])
    assert values(client, domain_id, with_value, [field_id]) == {field_id: {"stringValue": "v2"}}
    resp = expect_error(client.update_case, "ValidationException", 400, domainId=domain_id, caseId=without,
                        fields=[fv(field_id, "v")])
    assert field_id in resp["Error"]["Message"]
    client.update_case(domainId=domain_id, caseId=with_value, fields=[fv(field_id, None)])
    assert values(client, domain_id, with_value, [field_id]) == {}


def test_rejected_update_changes_nothing(client: Any, domain_id: str, template_id: str) -> None:
    case_id = new_case(client, domain_id, template_id, values={"summary": "keep"})
    before = values(client, domain_id, case_id)
    events = audit_events(client, domain_id, case_id)
    for fields in (
        [fv("summary", "changed"), fv("nope", "x")],
        [fv("summary", "changed"), fv("case_id", "x")],
        [fv("summary", "changed"), fv("reference_number", "NEW")],
        [fv("summary", "changed"), fv("status", {"doubleValue": 1.0})],
        [fv("summary", "changed"), fv("title", None)],
    ):
        expect_error(client.update_case, "ValidationException", 400, domainId=domain_id, caseId=case_id,
                     fields=fields)
    assert values(client, domain_id, case_id) == before
    assert audit_events(client, domain_id, case_id) == events


def test_update_errors(client: Any, domain_id: str, template_id: str) -> None:
    case_id = new_case(client, domain_id, template_id)
    expect_not_found(client.update_case, "nope", "Case", domainId=domain_id, caseId="nope",
                     fields=[fv("summary", "x")])
    expect_not_found(client.update_case, "nodomain", "Domain", domainId="nodomain", caseId=case_id,
                     fields=[fv("summary", "x")])


def test_update_with_no_fields_still_touches_the_case(client: Any, domain_id: str, template_id: str) -> None:
    case_id = new_case(client, domain_id, template_id, performedBy={"userArn": USER})
    client.update_case(domainId=domain_id, caseId=case_id, fields=[], performedBy={"userArn": USER})
    events = audit_events(client, domain_id, case_id)
    assert [e["type"] for e in events] == ["Case.Created", "Case.Updated"]
    assert {f["eventFieldId"] for f in events[1]["fields"]} <= {"last_updated_datetime"}


def test_concurrent_updates_leave_a_consistent_history(
    client: Any, server: LiveServer, domain_id: str, template_id: str
) -> None:
    n = 10
    case_id = new_case(client, domain_id, template_id, values={"summary": "v-start"})
    clients = same_account_clients(client, server.endpoint, n)
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []
    acked: list[str] = []
    lock = threading.Lock()

    def run(i: int, c: Any) -> None:
        try:
            barrier.wait()
            c.update_case(domainId=domain_id, caseId=case_id, fields=[fv("summary", f"v-{i}")])
            with lock:
                acked.append(f"v-{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(acked) == n
    updates = [e for e in audit_events(client, domain_id, case_id, page_size=4) if e["type"] == "Case.Updated"]
    assert len(updates) == n
    chain = [
        (f["oldValue"]["stringValue"], f["newValue"]["stringValue"])
        for e in updates for f in e["fields"] if f["eventFieldId"] == "summary"
    ]
    # Every update saw the value the previous one wrote: an unbroken old -> new chain.
    assert len(chain) == n
    assert chain[0][0] == "v-start"
    assert all(chain[i][1] == chain[i + 1][0] for i in range(n - 1))
    assert sorted(new for _, new in chain) == sorted(acked)
    assert values(client, domain_id, case_id)["summary"] == {"stringValue": chain[-1][1]}


@pytest.mark.parametrize(("role", "refused"), [("secondary", True), ("primary", False)])
def test_running_merge_blocks_updates_of_the_secondary(tmp_path: Path, role: str, refused: bool) -> None:
    with in_process(tmp_path / "db.sqlite") as box:
        domain_id, _, case_id = inproc_case(box)
        with box.store.write() as tx:
            tx.set_merge_state(domain_id, case_id, {"role": role, "status": "IN_PROGRESS"})
        update = {"domainId": domain_id, "caseId": case_id, "fields": [fv("summary", "x")]}
        if refused:
            with pytest.raises(ConflictException):
                box("UpdateCase", **update)
        else:
            box("UpdateCase", **update)
        with box.store.write() as tx:
            tx.set_merge_state(domain_id, case_id, {"role": role, "status": "COMPLETED"})
        box("UpdateCase", **update)


# -- --enforce-case-rules ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def rules_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(database_url, Path(tmp_path_factory.mktemp("rules-server")),
                      extra_args=["--enforce-case-rules"]).start()
    try:
        yield live
    finally:
        live.stop()


def _rules_setup(c: Any) -> dict[str, str]:
    """A domain whose template requires `Notes` when status is closed, and restricts
    `Sub` (child) by `Kind` (parent)."""
    domain_id = c.create_domain(name="rules")["domainId"]
    notes = c.create_field(domainId=domain_id, name="Notes", type="Text")["fieldId"]
    kind = c.create_field(domainId=domain_id, name="Kind", type="SingleSelect")["fieldId"]
    sub = c.create_field(domainId=domain_id, name="Sub", type="SingleSelect")["fieldId"]
    c.batch_put_field_options(domainId=domain_id, fieldId=kind, options=[
        {"name": n, "value": n, "active": True} for n in ("hw", "sw")])
    c.batch_put_field_options(domainId=domain_id, fieldId=sub, options=[
        {"name": n, "value": n, "active": True} for n in ("disk", "screen", "crash")])
    required = c.create_case_rule(domainId=domain_id, name="notes-when-closed", rule={"required": {
        "defaultValue": False,
        "conditions": [{"equalTo": {"operandOne": {"fieldId": "status"}, "operandTwo": {"stringValue": "closed"},
                                    "result": True}}],
    }})["caseRuleId"]
    options = c.create_case_rule(domainId=domain_id, name="sub-by-kind", rule={"fieldOptions": {
        "parentFieldId": kind, "childFieldId": sub,
        "parentChildFieldOptionsMappings": [
            {"parentFieldOptionValue": "hw", "childFieldOptionValues": ["disk", "screen"]},
            {"parentFieldOptionValue": "sw", "childFieldOptionValues": ["crash"]},
        ],
    }})["caseRuleId"]
    template_id = c.create_template(domainId=domain_id, name="ruled", rules=[
        {"caseRuleId": required, "fieldId": notes}, {"caseRuleId": options, "fieldId": sub}])["templateId"]
    return {"domain": domain_id, "template": template_id, "notes": notes, "kind": kind, "sub": sub}


def test_case_rules_enforced_when_enabled(rules_server: LiveServer) -> None:
    c = make_client(rules_server.endpoint)
    ids = _rules_setup(c)
    d, t = ids["domain"], ids["template"]
    resp = expect_error(c.create_case, "ValidationException", 400, domainId=d, templateId=t,
                        fields=[fv("title", "x"), fv("status", "closed")])
    assert ids["notes"] in resp["Error"]["Message"]
    case_id = new_case(c, d, t, values={ids["kind"]: "hw", ids["sub"]: "disk"})
    resp = expect_error(c.update_case, "ValidationException", 400, domainId=d, caseId=case_id,
                        fields=[fv("status", "closed")])
    assert ids["notes"] in resp["Error"]["Message"]
    c.update_case(domainId=d, caseId=case_id, fields=[fv("status", "closed"), fv(ids["notes"], "done")])
    resp = expect_error(c.update_case, "ValidationException", 400, domainId=d, caseId=case_id,
                        fields=[fv(ids["sub"], "crash")])
    assert ids["sub"] in resp["Error"]["Message"]
    c.update_case(domainId=d, caseId=case_id, fields=[fv(ids["kind"], "sw"), fv(ids["sub"], "crash")])
    assert values(c, d, case_id, [ids["sub"]]) == {ids["sub"]: {"stringValue": "crash"}}


def test_case_rules_not_enforced_by_default(client: Any) -> None:
    ids = _rules_setup(client)
    d, t = ids["domain"], ids["template"]
    case_id = new_case(client, d, t, values={"status": "closed", ids["kind"]: "sw", ids["sub"]: "disk"})
    assert values(client, d, case_id, ["status"]) == {"status": {"stringValue": "closed"}}
