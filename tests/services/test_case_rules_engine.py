"""The case rules evaluator (services/case_rules_engine.py): pure functions, no server."""

from __future__ import annotations

from typing import Any

from opencases.services.case_rules_engine import (
    allowed_child_values,
    evaluate,
    operand_matches,
    rule_value,
    violations,
)

S: dict[str, Any] = {"stringValue": "closed"}


def eq(field_id: str, operand: dict[str, Any], result: bool = True) -> dict[str, Any]:
    return {"equalTo": {"operandOne": {"fieldId": field_id}, "operandTwo": operand, "result": result}}


def ne(field_id: str, operand: dict[str, Any], result: bool = True) -> dict[str, Any]:
    return {"notEqualTo": {"operandOne": {"fieldId": field_id}, "operandTwo": operand, "result": result}}


def test_operand_matching_by_kind() -> None:
    assert operand_matches({"stringValue": "a"}, {"stringValue": "a"})
    assert not operand_matches({"stringValue": "a"}, {"stringValue": "A"})
    assert operand_matches({"userArnValue": "arn:x"}, {"stringValue": "arn:x"})
    assert operand_matches({"booleanValue": False}, {"booleanValue": False})
    assert not operand_matches({"doubleValue": 0.0}, {"booleanValue": False})
    assert operand_matches({"doubleValue": 2.0}, {"doubleValue": 2})
    assert not operand_matches({"stringValue": "2"}, {"doubleValue": 2.0})
    assert operand_matches(None, {"emptyValue": {}})
    assert operand_matches({"emptyValue": {}}, {"emptyValue": {}})
    assert operand_matches({"stringValue": ""}, {"emptyValue": {}})
    assert not operand_matches({"stringValue": "x"}, {"emptyValue": {}})
    assert not operand_matches(None, {"stringValue": "x"})


def test_first_true_condition_dictates() -> None:
    rule = {"defaultValue": False, "conditions": [eq("status", S, result=False), ne("status", S, result=True)]}
    assert rule_value(rule, {"status": S}) is False
    assert rule_value(rule, {"status": {"stringValue": "open"}}) is True
    assert rule_value({"defaultValue": True, "conditions": [eq("status", S)]}, {}) is True
    assert rule_value({"defaultValue": False, "conditions": [eq("status", S)]}, {}) is False


def test_compound_conditions() -> None:
    both = {"andAll": {"conditions": [eq("a", {"stringValue": "1"}), eq("b", {"booleanValue": True})]}}
    either = {"orAll": {"conditions": [eq("a", {"stringValue": "1"}, result=False), eq("b", {"emptyValue": {}})]}}
    vals = {"a": {"stringValue": "1"}, "b": {"booleanValue": True}}
    assert evaluate(both, vals) == (True, True)
    assert evaluate(both, {"a": {"stringValue": "1"}}) == (False, True)
    assert evaluate(either, vals) == (True, False)
    assert evaluate(either, {}) == (True, True)
    assert evaluate(either, {"a": {"stringValue": "2"}, "b": {"booleanValue": False}}) == (False, None)
    nested = {"orAll": {"conditions": [both, ne("c", {"emptyValue": {}})]}}
    assert evaluate(nested, {"c": {"stringValue": "x"}})[0] is True
    assert evaluate({"unknownKind": {}}, vals) == (False, None)


def test_field_options_mapping() -> None:
    rule = {"parentFieldId": "p", "childFieldId": "c", "parentChildFieldOptionsMappings": [
        {"parentFieldOptionValue": "hw", "childFieldOptionValues": ["disk"]},
        {"parentFieldOptionValue": "", "childFieldOptionValues": []},
    ]}
    assert allowed_child_values(rule, {"p": {"stringValue": "hw"}}) == {"disk"}
    assert allowed_child_values(rule, {}) == set()
    assert allowed_child_values(rule, {"p": {"stringValue": "sw"}}) is None


def test_violations() -> None:
    rules = [
        {"caseRuleId": "r1", "fieldId": "notes",
         "rule": {"required": {"defaultValue": False, "conditions": [eq("status", S)]}}},
        {"caseRuleId": "r2", "fieldId": "c", "rule": {"fieldOptions": {
            "parentFieldId": "p", "childFieldId": "c",
            "parentChildFieldOptionsMappings": [{"parentFieldOptionValue": "hw", "childFieldOptionValues": ["disk"]}],
        }}},
        {"caseRuleId": "r3", "fieldId": "x", "rule": {"hidden": {"defaultValue": True, "conditions": []}}},
    ]
    assert violations(rules, {"status": {"stringValue": "open"}}) == []
    assert violations(rules, {"status": S, "notes": {"stringValue": "n"}}) == []
    [message] = violations(rules, {"status": S, "notes": {"stringValue": ""}})
    assert "notes" in message and "r1" in message
    [message] = violations(rules, {"p": {"stringValue": "hw"}, "c": {"stringValue": "screen"}})
    assert "c" in message and "r2" in message
    assert violations(rules, {"p": {"stringValue": "hw"}, "c": {"stringValue": "disk"}}) == []
    assert violations(rules, {"p": {"stringValue": "sw"}, "c": {"stringValue": "screen"}}) == []
    assert violations(rules, {"p": {"stringValue": "hw"}}) == []
