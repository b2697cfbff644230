"""Case rules through boto3 against a live server: rule validation, soft delete, rules in use,
BatchGetCaseRule, ListCaseRules paging."""

from __future__ import annotations

from typing import Any

from tests.services.config_support import (
    expect_error,
    expect_not_found,
    make_field,
    make_rule,
    required_rule,
)


def _eq(field_id: str, value: dict[str, Any], result: bool = True) -> dict[str, Any]:
    return {"equalTo": {"operandOne": {"fieldId": field_id}, "operandTwo": value, "result": result}}


def _ne(field_id: str, value: dict[str, Any], result: bool = True) -> dict[str, Any]:
    return {"notEqualTo": {"operandOne": {"fieldId": field_id}, "operandTwo": value, "result": result}}


def _hidden(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"hidden": {"defaultValue": True, "conditions": list(conditions)}}


def _options(parent: str, child: str, mappings: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "fieldOptions": {
            "parentFieldId": parent,
            "childFieldId": child,
            "parentChildFieldOptionsMappings": [
                {"parentFieldOptionValue": p, "childFieldOptionValues": c} for p, c in mappings.items()
            ],
        }
    }


def _get(client: Any, domain_id: str, rule_id: str) -> dict[str, Any]:
    out = client.batch_get_case_rule(domainId=domain_id, caseRules=[{"id": rule_id}])
    assert out["errors"] == []
    return dict(out["caseRules"][0])


def _select_fields(client: Any, domain_id: str) -> tuple[str, str]:
    parent = make_field(client, domain_id, "Category", "SingleSelect")
    child = make_field(client, domain_id, "Subcategory", "SingleSelect")
    return parent, child


def test_create_each_type(client: Any, domain_id: str) -> None:
    number = make_field(client, domain_id, "Amount", "Number")
    flag = make_field(client, domain_id, "VIP", "Boolean")
    parent, child = _select_fields(client, domain_id)
    rules = {
        "Required": required_rule(),
        "Hidden": _hidden(_eq(number, {"doubleValue": 10.5}, False), _ne(flag, {"booleanValue": True})),
        "FieldOptions": _options(parent, child, {"hardware": ["laptop", "phone"], "": []}),
    }
    ids = {}
    for rule_type, rule in rules.items():
        created = client.create_case_rule(domainId=domain_id, name=rule_type, description=f"a {rule_type} rule",
                                          rule=rule)
        assert created["caseRuleArn"].endswith(f":domain/{domain_id}/case-rule/{created['caseRuleId']}")
        ids[rule_type] = created["caseRuleId"]
        got = _get(client, domain_id, created["caseRuleId"])
        assert got["rule"] == rule
        assert (got["name"], got["description"], got["deleted"]) == (rule_type, f"a {rule_type} rule", False)
        assert got["caseRuleArn"] == created["caseRuleArn"]
        assert got["tags"] == {}
        assert got["createdTime"] == got["lastModifiedTime"]
    listed = client.list_case_rules(domainId=domain_id)["caseRules"]
    assert [(r["caseRuleId"], r["ruleType"]) for r in listed] == [(ids[t], t) for t in rules]
    assert listed[0]["description"] == "a Required rule"


def test_condition_limits(client: Any, domain_id: str) -> None:
    five = [_eq("status", {"stringValue": f"s{i}"}) for i in range(5)]
    # Five conditions across two levels are the most a rule may have.
    make_rule(client, domain_id, "Max", _hidden(five[0], {"orAll": {"conditions": five[1:]}}))
    make_rule(client, domain_id, "Flat", _hidden(*five))
    six = [*five, _eq("summary", {"emptyValue": {}})]
    r = expect_error(client.create_case_rule, "ValidationException", 400,
                     domainId=domain_id, name="Six", rule=_hidden(*six))
    assert "maximum of 5 conditions" in r["Error"]["Message"]
    expect_error(client.create_case_rule, "ValidationException", 400, domainId=domain_id, name="Six",
                 rule=_hidden({"andAll": {"conditions": six}}))
    deep = {"andAll": {"conditions": [{"orAll": {"conditions": five[:2]}}]}}
    r = expect_error(client.create_case_rule, "ValidationException", 400,
                     domainId=domain_id, name="Deep", rule=_hidden(deep))
    assert "2 levels" in r["Error"]["Message"]
    expect_error(client.create_case_rule, "ValidationException", 400,
                 domainId=domain_id, name="Empty", rule=_hidden({"andAll": {"conditions": []}}))
    assert {r["name"] for r in client.list_case_rules(domainId=domain_id)["caseRules"]} == {"Max", "Flat"}


def test_operands_are_checked(client: Any, domain_id: str) -> None:
    gone = make_field(client, domain_id, "Gone")
    client.delete_field(domainId=domain_id, fieldId=gone)
    flag = make_field(client, domain_id, "Flag", "Boolean")
    bad = [
        (_hidden(_eq("no-such-field", {"stringValue": "x"})), "no-such-field"),
        (_hidden(_eq(gone, {"stringValue": "x"})), gone),
        (_hidden({"orAll": {"conditions": [_eq("no-such-field", {"stringValue": "x"})]}}), "no-such-field"),
        # The operand must suit the field's type (a Boolean field compares with booleanValue).
        (_hidden(_eq(flag, {"stringValue": "true"})), flag),
        (_hidden(_eq("status", {"doubleValue": 1.0})), "status"),
    ]
    for rule, named in bad:
        r = expect_error(client.create_case_rule, "ValidationException", 400, domainId=domain_id, name="R", rule=rule)
        assert named in r["Error"]["Message"], rule
    make_rule(client, domain_id, "Empty is fine for any type", _hidden(_eq(flag, {"emptyValue": {}})))


def test_field_options_rules_are_checked(client: Any, domain_id: str) -> None:
    parent, child = _select_fields(client, domain_id)
    text = make_field(client, domain_id, "Notes")
    gone = make_field(client, domain_id, "Gone", "SingleSelect")
    client.delete_field(domainId=domain_id, fieldId=gone)
    m = {"a": ["b"]}
    bad = [
        (_options(parent, text, m), text),
        (_options(text, child, m), text),
        (_options(parent, "no-such-field", m), "no-such-field"),
        (_options(gone, child, m), gone),
        (_options(parent, parent, m), "two different fields"),
        ({"fieldOptions": {k: v for k, v in _options(parent, child, m)["fieldOptions"].items()
                           if k != "parentFieldId"}}, "parentFieldId"),
    ]
    for rule, named in bad:
        r = expect_error(client.create_case_rule, "ValidationException", 400, domainId=domain_id, name="R", rule=rule)
        assert named in r["Error"]["Message"], rule
    dup = _options(parent, child, {"a": ["b"]})
    dup["fieldOptions"]["parentChildFieldOptionsMappings"] *= 2
    expect_error(client.create_case_rule, "ValidationException", 400, domainId=domain_id, name="R", rule=dup)
    assert client.list_case_rules(domainId=domain_id)["caseRules"] == []


def test_duplicate_name_conflicts(client: Any, domain_id: str) -> None:
    make_rule(client, domain_id, "Same")
    expect_error(client.create_case_rule, "ConflictException", 409, domainId=domain_id, name="Same",
                 rule=required_rule())


def test_update(client: Any, domain_id: str) -> None:
    rule_id = make_rule(client, domain_id, "Before")
    before = _get(client, domain_id, rule_id)
    client.update_case_rule(domainId=domain_id, caseRuleId=rule_id, name="After")
    got = _get(client, domain_id, rule_id)
    assert (got["name"], got["rule"]) == ("After", before["rule"])
    new_rule = _hidden(_eq("status", {"stringValue": "closed"}))
    client.update_case_rule(domainId=domain_id, caseRuleId=rule_id, rule=new_rule, description="now hidden")
    got = _get(client, domain_id, rule_id)
    assert (got["name"], got["rule"], got["description"]) == ("After", new_rule, "now hidden")
    # The summary's ruleType follows the rule.
    assert client.list_case_rules(domainId=domain_id)["caseRules"][0]["ruleType"] == "Hidden"


def test_rejected_updates_change_nothing(client: Any, domain_id: str) -> None:
    rule_id = make_rule(client, domain_id, "Mine")
    make_rule(client, domain_id, "Taken")
    before = _get(client, domain_id, rule_id)
    d, r = domain_id, rule_id
    expect_error(client.update_case_rule, "ConflictException", 409, domainId=d, caseRuleId=r, name="Taken")
    expect_error(client.update_case_rule, "ValidationException", 400, domainId=d, caseRuleId=r,
                 name="New", rule=_hidden(_eq("nope", {"stringValue": "x"})))
    expect_error(client.update_case_rule, "ValidationException", 400, domainId=d, caseRuleId=r)
    assert _get(client, domain_id, rule_id) == before


def test_delete_is_soft_and_refused_while_in_use(client: Any, domain_id: str) -> None:
    field_id = make_field(client, domain_id, "F")
    rule_id = make_rule(client, domain_id, "Used")
    template_id = client.create_template(
        domainId=domain_id, name="T", rules=[{"caseRuleId": rule_id, "fieldId": field_id}]
    )["templateId"]
    r = expect_error(client.delete_case_rule, "ConflictException", 409, domainId=domain_id, caseRuleId=rule_id)
    assert template_id in r["Error"]["Message"]
    assert _get(client, domain_id, rule_id)["deleted"] is False

    # A deleted template no longer holds the rule.
    client.delete_template(domainId=domain_id, templateId=template_id)
    client.delete_case_rule(domainId=domain_id, caseRuleId=rule_id)
    got = _get(client, domain_id, rule_id)
    assert got["deleted"] is True and got["name"] == "Used"
    assert client.list_case_rules(domainId=domain_id)["caseRules"] == []
    expect_error(client.update_case_rule, "ValidationException", 400,
                 domainId=domain_id, caseRuleId=rule_id, name="Back")
    client.delete_case_rule(domainId=domain_id, caseRuleId=rule_id)  # idempotent
    # Its name is free again.
    make_rule(client, domain_id, "Used")


def test_rule_removed_from_template_can_be_deleted(client: Any, domain_id: str) -> None:
    field_id = make_field(client, domain_id, "F")
    rule_id = make_rule(client, domain_id, "R")
    template_id = client.create_template(
        domainId=domain_id, name="T", rules=[{"caseRuleId": rule_id, "fieldId": field_id}]
    )["templateId"]
    client.update_template(domainId=domain_id, templateId=template_id, rules=[])
    client.delete_case_rule(domainId=domain_id, caseRuleId=rule_id)


def test_batch_get(client: Any, domain_id: str) -> None:
    a, b = make_rule(client, domain_id, "A"), make_rule(client, domain_id, "B")
    client.delete_case_rule(domainId=domain_id, caseRuleId=b)
    out = client.batch_get_case_rule(
        domainId=domain_id, caseRules=[{"id": a}, {"id": "missing"}, {"id": b}, {"id": a}]
    )
    assert [(r["caseRuleId"], r["deleted"]) for r in out["caseRules"]] == [(a, False), (b, True)]
    assert [(e["id"], e["errorCode"]) for e in out["errors"]] == [("missing", "NotFound")]
    assert "missing" in out["errors"][0]["message"]
    assert out["unprocessedCaseRules"] == []


def test_unknown_rule_and_domain(client: Any, domain_id: str) -> None:
    expect_not_found(client.update_case_rule, "nope", "CaseRule", domainId=domain_id, caseRuleId="nope", name="x")
    expect_not_found(client.delete_case_rule, "nope", "CaseRule", domainId=domain_id, caseRuleId="nope")
    for call, kwargs in (
        (client.create_case_rule, {"name": "x", "rule": required_rule()}),
        (client.update_case_rule, {"caseRuleId": "x", "name": "y"}),
        (client.delete_case_rule, {"caseRuleId": "x"}),
        (client.batch_get_case_rule, {"caseRules": [{"id": "x"}]}),
        (client.list_case_rules, {}),
    ):
        expect_not_found(call, "no-domain", "Domain", domainId="no-domain", **kwargs)


def test_list_pages(client: Any, domain_id: str) -> None:
    ids = [make_rule(client, domain_id, f"R{i}") for i in range(5)]
    client.delete_case_rule(domainId=domain_id, caseRuleId=ids[0])
    live = ids[1:]
    pages = list(client.get_paginator("list_case_rules").paginate(domainId=domain_id, PaginationConfig={"PageSize": 2}))
    assert [len(p["caseRules"]) for p in pages] == [2, 2]
    assert [r["caseRuleId"] for p in pages for r in p["caseRules"]] == live

    first = client.list_case_rules(domainId=domain_id, maxResults=3)
    rest = client.list_case_rules(domainId=domain_id, maxResults=3, nextToken=first["nextToken"])
    assert [r["caseRuleId"] for r in first["caseRules"] + rest["caseRules"]] == live
    assert "nextToken" not in rest
    expect_error(client.list_case_rules, "ValidationException", 400, domainId=domain_id, nextToken="bm90LWEtdG9rZW4")


def test_case_rule_quota(quota_client: Any, quota_domain_id: str) -> None:
    c, d = quota_client, quota_domain_id
    first = make_rule(c, d, "One")
    make_rule(c, d, "Two")
    make_rule(c, d, "Three")
    r = expect_error(c.create_case_rule, "ServiceQuotaExceededException", 402, domainId=d, name="Four",
                     rule=required_rule())
    assert "case rules per domain" in r["Error"]["Message"]
    c.delete_case_rule(domainId=d, caseRuleId=first)
    make_rule(c, d, "Four")
