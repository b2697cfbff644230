"""SLA related items: status from the clock and the tracked case field, targetTime, and the
case's next_sla_breach_datetime. Clock-dependent transitions run in-process with a fake clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from opencases.services import sla
from opencases.services.context import ms_to_iso
from tests.services.case_support import fv, in_process, inproc_case, new_case, new_template, values
from tests.services.config_support import expect_error
from tests.services.related_support import add_item, items_by_id, make_select_field, sla_content

MIN = 60_000


# -- the status function --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "completion", "expected"),
    [
        (0, None, "Active"),
        (999, None, "Active"),
        (1000, None, "Overdue"),  # at the target time the SLA is breached
        (5000, None, "Overdue"),
        (5000, 500, "Met"),
        (5000, 1000, "Met"),  # completed exactly at the target time
        (5000, 1001, "NotMet"),
        (0, 1001, "NotMet"),  # fulfilment decides, not the clock
    ],
)
def test_status(now: int, completion: int | None, expected: str) -> None:
    assert sla.status(1000, completion, now) == expected


def test_target_is_counted_from_creation() -> None:
    assert sla.target_ms(1_000, 90) == 1_000 + 90 * MIN


# -- through the API --------------------------------------------------------------------------
@pytest.fixture
def case(client: Any, domain_id: str) -> str:
    return new_case(client, domain_id, new_template(client, domain_id))


def sla_of(client: Any, domain_id: str, case_id: str, item_id: str) -> dict[str, Any]:
    item = items_by_id(client, domain_id, case_id)[item_id]
    config: dict[str, Any] = item["content"]["sla"]["slaConfiguration"]
    return config | {"associationTime": item["associationTime"]}


def breach(client: Any, domain_id: str, case_id: str) -> str | None:
    got = values(client, domain_id, case_id, ["next_sla_breach_datetime"])
    return got["next_sla_breach_datetime"]["stringValue"] if got else None


def iso(dt: Any) -> str:
    return ms_to_iso(int(dt.timestamp() * 1000))


def test_new_sla_is_active_with_target_from_creation(client: Any, domain_id: str, case: str) -> None:
    item = add_item(client, domain_id, case, "Sla", sla_content(name="first reply", minutes=90))
    config = sla_of(client, domain_id, case, item)
    assert config["status"] == "Active"
    assert config["name"] == "first reply" and config["type"] == "CaseField"
    assert config["fieldId"] == "status" and config["targetFieldValues"] == [{"stringValue": "closed"}]
    assert config["targetTime"] - config["associationTime"] == timedelta(minutes=90)
    assert "completionTime" not in config
    assert breach(client, domain_id, case) == iso(config["targetTime"])


def test_breach_is_the_earliest_open_target(client: Any, domain_id: str, case: str) -> None:
    late = add_item(client, domain_id, case, "Sla", sla_content(name="late", minutes=600))
    early = add_item(client, domain_id, case, "Sla", sla_content(name="early", minutes=30))
    assert breach(client, domain_id, case) == iso(sla_of(client, domain_id, case, early)["targetTime"])
    client.delete_related_item(domainId=domain_id, caseId=case, relatedItemId=early)
    assert breach(client, domain_id, case) == iso(sla_of(client, domain_id, case, late)["targetTime"])
    client.delete_related_item(domainId=domain_id, caseId=case, relatedItemId=late)
    assert breach(client, domain_id, case) is None


def test_reaching_the_target_value_meets_the_sla(client: Any, domain_id: str, case: str) -> None:
    item = add_item(client, domain_id, case, "Sla")
    client.update_case(domainId=domain_id, caseId=case, fields=[fv("status", "closed")])
    config = sla_of(client, domain_id, case, item)
    assert config["status"] == "Met"
    closed = values(client, domain_id, case, ["last_closed_datetime"])["last_closed_datetime"]["stringValue"]
    assert iso(config["completionTime"]) == closed
    assert breach(client, domain_id, case) is None
    # Leaving the target value does not reopen a fulfilled SLA.
    client.update_case(domainId=domain_id, caseId=case, fields=[fv("status", "open")])
    assert sla_of(client, domain_id, case, item)["status"] == "Met"
    assert breach(client, domain_id, case) is None


def test_sla_on_a_case_already_at_the_target_is_met_at_once(client: Any, domain_id: str) -> None:
    case = new_case(client, domain_id, new_template(client, domain_id), values={"status": "closed"})
    item = add_item(client, domain_id, case, "Sla")
    config = sla_of(client, domain_id, case, item)
    assert config["status"] == "Met"
    assert config["completionTime"] == config["associationTime"]
    assert breach(client, domain_id, case) is None


def test_sla_on_a_custom_single_select_field(client: Any, domain_id: str, case: str) -> None:
    stage = make_select_field(client, domain_id, "Stage", ["triage", "done"])
    item = add_item(client, domain_id, case, "Sla", sla_content(field_id=stage, target="done"))
    client.update_case(domainId=domain_id, caseId=case, fields=[fv(stage, "triage")])
    assert sla_of(client, domain_id, case, item)["status"] == "Active"
    client.update_case(domainId=domain_id, caseId=case, fields=[fv(stage, "done")])
    assert sla_of(client, domain_id, case, item)["status"] == "Met"


def test_update_target_minutes_counts_from_creation(client: Any, domain_id: str, case: str) -> None:
    item = add_item(client, domain_id, case, "Sla", sla_content(minutes=60))
    out = client.update_related_item(
        domainId=domain_id, caseId=case, relatedItemId=item,
        content={"sla": {"slaUpdateConfiguration": {"targetSlaMinutes": 15}}},
    )
    config = out["content"]["sla"]["slaConfiguration"]
    assert out["type"] == "Sla"
    assert config["targetTime"] - out["associationTime"] == timedelta(minutes=15)
    assert config["name"] == "resolve" and config["status"] == "Active"
    assert breach(client, domain_id, case) == iso(config["targetTime"])


@pytest.mark.parametrize(
    ("config", "why"),
    [
        ({"fieldId": "title"}, "not SingleSelect"),
        ({"fieldId": "no-such-field"}, "unknown field"),
        ({"targetFieldValues": [{"stringValue": "pending"}]}, "not an option"),
        ({"targetFieldValues": [{"doubleValue": 1.0}]}, "not a string"),
        ({"fieldId": None}, "missing fieldId"),
        ({"targetFieldValues": None}, "missing target values"),
    ],
)
def test_invalid_sla_configuration(client: Any, domain_id: str, case: str, config: dict, why: str) -> None:
    content = sla_content()
    merged = content["sla"]["slaInputConfiguration"] | config
    content["sla"]["slaInputConfiguration"] = {k: v for k, v in merged.items() if v is not None}
    expect_error(client.create_related_item, "ValidationException", 400,
                 domainId=domain_id, caseId=case, type="Sla", content=content)
    assert items_by_id(client, domain_id, case) == {}
    assert breach(client, domain_id, case) is None


def test_filter_by_name_and_status(client: Any, domain_id: str, case: str) -> None:
    a = add_item(client, domain_id, case, "Sla", sla_content(name="a"))
    stage = make_select_field(client, domain_id, "Stage", ["done"])
    b = add_item(client, domain_id, case, "Sla", sla_content(name="b", field_id=stage, target="done"))
    client.update_case(domainId=domain_id, caseId=case, fields=[fv(stage, "done")])
    assert set(items_by_id(client, domain_id, case, filters=[{"sla": {"status": "Met"}}])) == {b}
    assert set(items_by_id(client, domain_id, case, filters=[{"sla": {"status": "Active"}}])) == {a}
    assert set(items_by_id(client, domain_id, case, filters=[{"sla": {"name": "a"}}])) == {a}
    assert set(items_by_id(client, domain_id, case, filters=[{"sla": {"name": "a", "status": "Met"}}])) == set()
    assert set(items_by_id(client, domain_id, case, filters=[{"sla": {}}])) == {a, b}


# -- clock-driven transitions, in-process --------------------------------------------------------
class Clock:
    def __init__(self, start: int) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now


def _sla(box: Any, domain_id: str, case_id: str, item_id: str) -> dict[str, Any]:
    items = box("SearchRelatedItems", domainId=domain_id, caseId=case_id)["relatedItems"]
    return next(i for i in items if i["relatedItemId"] == item_id)["content"]["sla"]["slaConfiguration"]


def test_status_moves_with_the_clock(tmp_path: Path) -> None:
    with in_process(tmp_path / "sla.db") as box:
        clock = Clock(1_700_000_000_000)
        box.ctx.clock = clock
        domain_id, _, case_id = inproc_case(box)
        created = box("CreateRelatedItem", domainId=domain_id, caseId=case_id, type="Sla",
                      content=sla_content(minutes=10))
        item = created["relatedItemId"]
        clock.now += 10 * MIN - 1
        assert _sla(box, domain_id, case_id, item)["status"] == "Active"
        clock.now += 1
        assert _sla(box, domain_id, case_id, item)["status"] == "Overdue"
        # A longer target turns an Overdue SLA Active again.
        box("UpdateRelatedItem", domainId=domain_id, caseId=case_id, relatedItemId=item,
            content={"sla": {"slaUpdateConfiguration": {"targetSlaMinutes": 20}}})
        assert _sla(box, domain_id, case_id, item)["status"] == "Active"
        clock.now += 15 * MIN  # 25 minutes after creation: late
        box("UpdateCase", domainId=domain_id, caseId=case_id, fields=[fv("status", "closed")])
        config = _sla(box, domain_id, case_id, item)
        assert config["status"] == "NotMet"
        assert config["completionTime"].timestamp() * 1000 == clock.now
        # Fulfilled SLAs are judged against the deadline, whatever the clock says later.
        clock.now += 1000 * MIN
        assert _sla(box, domain_id, case_id, item)["status"] == "NotMet"
        # "a completed SLA becomes Met or NotMet" against a new deadline.
        box("UpdateRelatedItem", domainId=domain_id, caseId=case_id, relatedItemId=item,
            content={"sla": {"slaUpdateConfiguration": {"targetSlaMinutes": 30}}})
        assert _sla(box, domain_id, case_id, item)["status"] == "Met"
        overdue = box("SearchRelatedItems", domainId=domain_id, caseId=case_id,
                      filters=[{"sla": {"status": "Overdue"}}])
        assert overdue["relatedItems"] == []


def test_overdue_filter(tmp_path: Path) -> None:
    with in_process(tmp_path / "sla.db") as box:
        clock = Clock(1_700_000_000_000)
        box.ctx.clock = clock
        domain_id, _, case_id = inproc_case(box)
        short = box("CreateRelatedItem", domainId=domain_id, caseId=case_id, type="Sla",
                    content=sla_content(name="short", minutes=1))["relatedItemId"]
        box("CreateRelatedItem", domainId=domain_id, caseId=case_id, type="Sla",
            content=sla_content(name="long", minutes=100))
        clock.now += 2 * MIN
        found = box("SearchRelatedItems", domainId=domain_id, caseId=case_id,
                    filters=[{"sla": {"status": "Overdue"}}])["relatedItems"]
        assert [i["relatedItemId"] for i in found] == [short]
        # The breach value still names the overdue SLA's deadline: it is the earliest open one.
        got = box("GetCase", domainId=domain_id, caseId=case_id, fields=[{"id": "next_sla_breach_datetime"}])
        assert got["fields"][0]["value"] == {"stringValue": ms_to_iso(clock.now - 2 * MIN + MIN)}
