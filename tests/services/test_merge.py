"""StartMergeCases and GetMergeCasesStatus through boto3: validation, conflicts, the field and
related-item rules, closing the secondary, audit, status and quotas."""

from __future__ import annotations

from typing import Any

import pytest

from tests.services.case_support import audit_events, fv, new_case, new_template, values
from tests.services.config_support import expect_error, expect_not_found, layout_content
from tests.services.related_support import (
    CONTACT,
    USER,
    add_item,
    comment,
    items_by_id,
    related_quota_server,  # noqa: F401  (a fixture)
    search_all,
)
from tests.support import LiveServer, make_client

OTHER_CONTACT = CONTACT.replace("c-1", "c-2")
PROFILE = "arn:aws:profile:us-east-1:111122223333:domains/d/profiles/"


class World:
    """Two templates and custom fields: `on_layout` fields are on the secondary's template."""

    def __init__(self, client: Any, domain_id: str) -> None:
        self.client, self.domain_id = client, domain_id
        self.f = {n: str(client.create_field(domainId=domain_id, name=n, type=t)["fieldId"])
                  for n, t in (("a", "Text"), ("b", "Text"), ("c", "Number"), ("d", "Text"), ("e", "Text"))}
        layout = client.create_layout(domainId=domain_id, name="L",
                                      content=layout_content([self.f["a"], self.f["b"]]))["layoutId"]
        self.primary_template = new_template(client, domain_id, "P")
        self.secondary_template = new_template(client, domain_id, "S",
                                               layoutConfiguration={"defaultLayout": layout})

    def case(self, title: str, secondary: bool = False, **vals: Any) -> str:
        template = self.secondary_template if secondary else self.primary_template
        named = {self.f.get(k, k): v for k, v in vals.items()}
        return new_case(self.client, self.domain_id, template, title, values=named)

    def merge(self, primary: str, secondary: str, **kwargs: Any) -> dict[str, Any]:
        out: dict[str, Any] = self.client.start_merge_cases(
            domainId=self.domain_id, caseId=primary, secondaryCaseIds=[secondary], **kwargs
        )
        return out

    def select(self, secondary: str, *names: str) -> list[dict[str, Any]]:
        return [{"sourceCaseId": secondary, "fieldIds": [{"id": self.f.get(n, n)} for n in names]}]

    def vals(self, case_id: str) -> dict[str, Any]:
        ids = list(self.f.values()) + ["title", "summary", "assigned_queue", "status", "customer_id"]
        got = values(self.client, self.domain_id, case_id, ids)
        names = {v: k for k, v in self.f.items()}
        return {names.get(k, k): v for k, v in got.items()}


@pytest.fixture
def world(client: Any, domain_id: str) -> World:
    return World(client, domain_id)


def status_of(client: Any, domain_id: str, case_id: str) -> dict[str, Any]:
    out = client.get_merge_cases_status(domainId=domain_id, caseId=case_id)
    return {k: v for k, v in out.items() if k != "ResponseMetadata"}


# -- the field rules ------------------------------------------------------------------------------
def test_fields_merge_and_secondary_closes(world: World, client: Any, domain_id: str) -> None:
    primary = world.case("P", a="p-a", b="p-b", summary="p-sum")
    secondary = world.case("S", secondary=True, a="s-a", c=7, d="s-d", summary="s-sum", assigned_queue="q")
    out = world.merge(primary, secondary, fieldsConfiguration=world.select(secondary, "a", "b", "summary"),
                      performedBy={"userArn": USER})
    assert {k: v for k, v in out.items() if k != "ResponseMetadata"} == {}
    assert world.vals(primary) == {
        "title": {"stringValue": "P"},  # never merged
        "status": {"stringValue": "open"},
        "a": {"stringValue": "s-a"},  # selected: the secondary's value
        # b: selected, and empty on the secondary (which has it on its template): cleared
        "summary": {"stringValue": "s-sum"},
        "c": {"doubleValue": 7.0},  # unselected, missing on the primary: filled in
        "d": {"stringValue": "s-d"},  # ... even though the primary's template does not have it
        "assigned_queue": {"stringValue": "q"},
    }
    after = world.vals(secondary)
    assert after["status"] == {"stringValue": "closed"}
    assert after["a"] == {"stringValue": "s-a"}  # the secondary keeps its values
    assert status_of(client, domain_id, secondary) == {
        "status": "COMPLETED", "primaryCaseId": primary, "secondaryCaseIds": [secondary]
    }
    expect_not_found(client.get_merge_cases_status, primary, "Merge", domainId=domain_id, caseId=primary)


def test_unselected_fields_keep_the_primary_value(world: World) -> None:
    primary = world.case("P", a="p-a")
    secondary = world.case("S", secondary=True, a="s-a", b="s-b")
    world.merge(primary, secondary)
    got = world.vals(primary)
    assert got["a"] == {"stringValue": "p-a"} and got["b"] == {"stringValue": "s-b"}


def test_merge_audit(world: World, client: Any, domain_id: str) -> None:
    primary = world.case("P")
    secondary = world.case("S", secondary=True, a="s-a")
    before_p = len(audit_events(client, domain_id, primary))
    before_s = len(audit_events(client, domain_id, secondary))
    world.merge(primary, secondary, performedBy={"customEntity": "merger"})
    p_events = audit_events(client, domain_id, primary)[before_p:]
    s_events = audit_events(client, domain_id, secondary)[before_s:]
    meta = p_events[-1]["mergeMetadata"]
    assert meta["primaryCaseId"] == primary and meta["secondaryCaseId"] == secondary
    for events in (p_events, s_events):
        assert events[-1]["type"] == "Case.Merged"
        assert all(e["mergeMetadata"] == meta for e in events)
        assert all(e["performedBy"]["user"] == {"customEntity": "merger"} for e in events)
    p_updated = next(e for e in p_events if e["type"] == "Case.Updated")
    assert {"eventFieldId": world.f["a"], "oldValue": {"emptyValue": {}}, "newValue": {"stringValue": "s-a"}} in (
        p_updated["fields"]
    )
    s_updated = next(e for e in s_events if e["type"] == "Case.Updated")
    status = next(f for f in s_updated["fields"] if f["eventFieldId"] == "status")
    assert status["newValue"] == {"stringValue": "closed"}
    links = [e for e in p_events + s_events if e["type"] == "RelatedItem.Created"]
    assert [e["relatedItemType"] for e in links] == ["ConnectCase", "ConnectCase"]


# -- validation: nothing starts, nothing changes -----------------------------------------------
def _unchanged(world: World, client: Any, domain_id: str, cases: list[str], counts: list[int]) -> None:
    for case_id, count in zip(cases, counts, strict=True):
        assert len(audit_events(client, domain_id, case_id)) == count
        expect_not_found(client.get_merge_cases_status, case_id, "Merge", domainId=domain_id, caseId=case_id)


@pytest.mark.parametrize(
    "why",
    ["same case", "title selected", "status selected", "unknown field", "field the secondary lacks",
     "deleted field", "wrong source", "two configurations", "field twice", "primary closed",
     "secondary closed", "different customers"],
)
def test_validation_errors(world: World, client: Any, domain_id: str, why: str) -> None:
    pvals: dict[str, Any] = {"a": "p"}
    svals: dict[str, Any] = {"a": "s"}
    if why == "primary closed":
        pvals["status"] = "closed"
    if why == "secondary closed":
        svals["status"] = "closed"
    if why == "different customers":
        pvals["customer_id"], svals["customer_id"] = PROFILE + "1", PROFILE + "2"
    primary, secondary = world.case("P", **pvals), world.case("S", secondary=True, **svals)
    kwargs: dict[str, Any] = {}
    select = {
        "title selected": ["title"], "status selected": ["status"], "unknown field": ["nope"],
        "field the secondary lacks": ["e"], "deleted field": ["d"], "field twice": ["a", "a"],
    }
    if why in select:
        kwargs["fieldsConfiguration"] = world.select(secondary, *select[why])
    if why == "deleted field":
        client.delete_field(domainId=domain_id, fieldId=world.f["d"])
    if why == "wrong source":
        kwargs["fieldsConfiguration"] = world.select(primary, "a")
    if why == "two configurations":
        kwargs["fieldsConfiguration"] = world.select(secondary, "a") * 2
    target = primary if why == "same case" else secondary
    counts = [len(audit_events(client, domain_id, c)) for c in (primary, secondary)]
    expect_error(client.start_merge_cases, "ValidationException", 400,
                 domainId=domain_id, caseId=primary, secondaryCaseIds=[target], **kwargs)
    _unchanged(world, client, domain_id, [primary, secondary], counts)
    assert world.vals(primary)["a"] == {"stringValue": "p"}


def test_same_customer_or_one_customer_is_fine(world: World) -> None:
    primary = world.case("P", customer_id=PROFILE + "1")
    world.merge(primary, world.case("S1", secondary=True, customer_id=PROFILE + "1"))
    world.merge(primary, world.case("S2", secondary=True))
    other = world.case("P2")
    world.merge(other, world.case("S3", secondary=True, customer_id=PROFILE + "3"))
    # customer_id is not among the fields a merge may fill in.
    assert "customer_id" not in world.vals(other)


def test_unknown_cases(world: World, client: Any, domain_id: str) -> None:
    case = world.case("P")
    expect_not_found(client.start_merge_cases, "nope", "Case",
                     domainId=domain_id, caseId="nope", secondaryCaseIds=[case])
    expect_not_found(client.start_merge_cases, "nope", "Case",
                     domainId=domain_id, caseId=case, secondaryCaseIds=["nope"])
    expect_not_found(client.get_merge_cases_status, "nope", "Case", domainId=domain_id, caseId="nope")


# -- after the merge -------------------------------------------------------------------------------
def test_a_merged_secondary_is_never_merged_again(world: World, client: Any, domain_id: str) -> None:
    primary, secondary = world.case("P"), world.case("S", secondary=True)
    world.merge(primary, secondary)
    # Reopened, it is still refused, as secondary or as primary.
    client.update_case(domainId=domain_id, caseId=secondary, fields=[fv("status", "open")])
    third = world.case("T")
    expect_error(client.start_merge_cases, "ConflictException", 409,
                 domainId=domain_id, caseId=third, secondaryCaseIds=[secondary])
    expect_error(client.start_merge_cases, "ConflictException", 409,
                 domainId=domain_id, caseId=secondary, secondaryCaseIds=[third])
    # The primary can take part in another merge.
    world.merge(primary, third)
    assert status_of(client, domain_id, third)["primaryCaseId"] == primary


def test_the_secondary_can_be_reopened_updated_and_deleted(world: World, client: Any, domain_id: str) -> None:
    primary, secondary = world.case("P"), world.case("S", secondary=True)
    world.merge(primary, secondary)
    client.update_case(domainId=domain_id, caseId=secondary, fields=[fv("status", "open"), fv("title", "again")])
    add_item(client, domain_id, secondary, "Comment")
    client.delete_case(domainId=domain_id, caseId=secondary)
    expect_not_found(client.get_merge_cases_status, secondary, "Case", domainId=domain_id, caseId=secondary)


# -- related items ---------------------------------------------------------------------------------
def test_related_items_move_by_type(world: World, client: Any, domain_id: str) -> None:
    x, y = world.case("X"), world.case("Y")
    primary, secondary = world.case("P"), world.case("S", secondary=True)
    arn = lambda case, item: (  # noqa: E731
        f"arn:aws:cases:us-east-1:{client._request_signer._credentials.access_key}:domain/{domain_id}"
        f"/case/{case}/related-item/{item}"
    )
    p_contact = add_item(client, domain_id, primary, "Contact")
    client.tag_resource(arn=arn(primary, p_contact), tags={"a": "9"})
    add_item(client, domain_id, primary, "ConnectCase", {"connectCase": {"caseId": x}})
    s = {
        "comment": add_item(client, domain_id, secondary, "Comment", comment("moved"),
                            performedBy={"userArn": USER}),
        "contact": add_item(client, domain_id, secondary, "Contact"),
        "contact2": add_item(client, domain_id, secondary, "Contact", {"contact": {"contactArn": OTHER_CONTACT}}),
        "file": add_item(client, domain_id, secondary, "File"),
        "sla": add_item(client, domain_id, secondary, "Sla"),
        "custom": add_item(client, domain_id, secondary, "Custom",
                           {"custom": {"fields": [fv(world.f["a"], "x")]}}),
        "link_x": add_item(client, domain_id, secondary, "ConnectCase", {"connectCase": {"caseId": x}}),
        "link_y": add_item(client, domain_id, secondary, "ConnectCase", {"connectCase": {"caseId": y}}),
    }
    client.tag_resource(arn=arn(secondary, s["comment"]), tags={"t": "1"})
    client.tag_resource(arn=arn(secondary, s["contact"]), tags={"a": "1", "b": "2"})
    before = items_by_id(client, domain_id, secondary)

    world.merge(primary, secondary, relatedItemsConfiguration={"comment": True, "contact": True,
                                                               "connectCase": True, "custom": False})
    p_items = items_by_id(client, domain_id, primary)
    s_items = items_by_id(client, domain_id, secondary)
    # Moved items keep id, creator, association time, content and tags.
    for key in ("comment", "contact2", "link_y"):
        assert p_items[s[key]] == before[s[key]]
        assert s[key] not in s_items
    assert client.list_tags_for_resource(arn=arn(primary, s["comment"]))["tags"] == {"t": "1"}
    # The same contact on both: the primary keeps its item and gains the tag keys it lacked.
    assert s["contact"] not in p_items and s["contact"] not in s_items
    assert p_items[p_contact]["tags"] == {"a": "9", "b": "2"}
    # The primary already linked X: the secondary's link to X is removed, not moved.
    assert s["link_x"] not in p_items and s["link_x"] not in s_items
    # Unselected types, files and SLAs stay.
    assert {s["file"], s["sla"], s["custom"]} <= set(s_items)
    # The cases are linked both ways.
    linked = lambda items: sorted(  # noqa: E731
        i["content"]["connectCase"]["caseId"] for i in items.values() if i["type"] == "ConnectCase"
    )
    assert linked(p_items) == sorted([x, y, secondary])
    assert linked(s_items) == [primary]
    contacts = client.list_cases_for_contact(domainId=domain_id, contactArn=OTHER_CONTACT)["cases"]
    assert [c["caseId"] for c in contacts] == [primary]


def test_no_configuration_moves_nothing(world: World, client: Any, domain_id: str) -> None:
    primary, secondary = world.case("P"), world.case("S", secondary=True)
    note = add_item(client, domain_id, secondary, "Comment")
    world.merge(primary, secondary)
    assert note in items_by_id(client, domain_id, secondary)
    assert [i["type"] for i in search_all(client, domain_id, primary)] == ["ConnectCase"]


def test_an_existing_link_is_not_doubled(world: World, client: Any, domain_id: str) -> None:
    primary, secondary = world.case("P"), world.case("S", secondary=True)
    add_item(client, domain_id, primary, "ConnectCase", {"connectCase": {"caseId": secondary}})
    add_item(client, domain_id, secondary, "ConnectCase", {"connectCase": {"caseId": primary}})
    world.merge(primary, secondary, relatedItemsConfiguration={"connectCase": True})
    assert len(search_all(client, domain_id, primary)) == 1
    assert len(search_all(client, domain_id, secondary)) == 1


def test_related_item_quota(related_quota_server: LiveServer) -> None:  # noqa: F811
    client = make_client(related_quota_server.endpoint)
    domain_id = client.create_domain(name="d")["domainId"]
    template_id = new_template(client, domain_id)
    primary, secondary = new_case(client, domain_id, template_id), new_case(client, domain_id, template_id)
    for _ in range(4):
        add_item(client, domain_id, primary, "Comment")
    add_item(client, domain_id, secondary, "Comment")
    # 4 existing + 1 moved + the new link > 5.
    expect_error(client.start_merge_cases, "ServiceQuotaExceededException", 402, domainId=domain_id,
                 caseId=primary, secondaryCaseIds=[secondary], relatedItemsConfiguration={"comment": True})
    assert len(search_all(client, domain_id, primary)) == 4
    # A full secondary cannot take the link back to the primary either.
    full = new_case(client, domain_id, template_id)
    for _ in range(5):
        add_item(client, domain_id, full, "Comment")
    expect_error(client.start_merge_cases, "ServiceQuotaExceededException", 402, domainId=domain_id,
                 caseId=secondary, secondaryCaseIds=[full])
    # 4 + 0 moved + 1 link fits.
    client.start_merge_cases(domainId=domain_id, caseId=primary, secondaryCaseIds=[secondary])
    assert len(search_all(client, domain_id, primary)) == 5
