"""Evaluation of case rules (case field conditions) against a case's values: pure functions.

Used by the API when the server runs with --enforce-case-rules (AWS documents enforcement in
its agent UI only), and usable by the web UI. `values` maps field id -> FieldValueUnion;
absent or `emptyValue` means no value.

Semantics, from the model docs where they exist:
- Required / Hidden: "the first condition to evaluate to true dictates the value of the rule";
  `defaultValue` applies when none does. An equalTo/notEqualTo condition's value is its
  `result`. An andAll/orAll has no `result` of its own (undocumented): an andAll that holds
  takes its first member's result, an orAll that holds takes its first true member's result.
- equalTo compares the field's value with operandTwo: `emptyValue` matches a field without a
  value (or an empty string), `stringValue` matches a string (or a user ARN), `booleanValue` a
  boolean and `doubleValue` a number; values of different kinds never match.
- FieldOptions: with the parent at a mapped value, the child may hold only that mapping's
  `childFieldOptionValues`; an unmapped parent value restricts nothing (undocumented).
- Hidden rules restrict nothing server-side: a hidden field may still hold a value.
"""

from __future__ import annotations

from typing import Any

Values = dict[str, dict[str, Any]]


def has_value(value: dict[str, Any] | None) -> bool:
    if not value or value.get("emptyValue") is not None:
        return False
    return value.get("stringValue") != ""


def operand_matches(value: dict[str, Any] | None, operand: dict[str, Any]) -> bool:
    """Whether a case value equals operandTwo (an OperandTwo union)."""
    if operand.get("emptyValue") is not None:
        return not has_value(value)
    if not has_value(value):
        return False
    assert value is not None
    if operand.get("stringValue") is not None:
        got = value.get("stringValue", value.get("userArnValue"))
        return got is not None and got == operand["stringValue"]
    if operand.get("booleanValue") is not None:
        got = value.get("booleanValue")
        return isinstance(got, bool) and got == operand["booleanValue"]
    if operand.get("doubleValue") is not None:
        got = value.get("doubleValue")
        return isinstance(got, (int, float)) and not isinstance(got, bool) and float(got) == float(
            operand["doubleValue"]
        )
    return False


def evaluate(condition: dict[str, Any], values: Values) -> tuple[bool, bool | None]:
    """(whether the BooleanCondition holds, the rule value it dictates when it does)."""
    for kind in ("equalTo", "notEqualTo"):
        operands = condition.get(kind)
        if operands is not None:
            field_id = (operands.get("operandOne") or {}).get("fieldId")
            equal = operand_matches(values.get(field_id) if field_id else None, operands.get("operandTwo") or {})
            return (equal if kind == "equalTo" else not equal), operands.get("result")
    if condition.get("andAll") is not None:
        parts = [evaluate(c, values) for c in condition["andAll"].get("conditions") or []]
        holds = all(ok for ok, _ in parts)
        return holds, next((r for _, r in parts if r is not None), None)
    if condition.get("orAll") is not None:
        parts = [evaluate(c, values) for c in condition["orAll"].get("conditions") or []]
        true_results = [r for ok, r in parts if ok]
        return bool(true_results), next((r for r in true_results if r is not None), None)
    return False, None


def rule_value(rule: dict[str, Any], values: Values) -> bool:
    """The value of a Required or Hidden rule ({defaultValue, conditions}) for `values`."""
    for condition in rule.get("conditions") or []:
        holds, result = evaluate(condition, values)
        if holds:
            # A condition without a result of its own (an empty compound) means "true".
            return True if result is None else bool(result)
    return bool(rule.get("defaultValue"))


def allowed_child_values(rule: dict[str, Any], values: Values) -> set[str] | None:
    """The child values a FieldOptions rule allows for the parent's current value; None if
    the parent's value is not mapped (no restriction). A parent without a value maps as ""."""
    parent = values.get(rule.get("parentFieldId") or "")
    parent_value = parent.get("stringValue", "") if has_value(parent) and parent else ""
    for mapping in rule.get("parentChildFieldOptionsMappings") or []:
        if mapping.get("parentFieldOptionValue") == parent_value:
            return set(mapping.get("childFieldOptionValues") or [])
    return None


def violations(rules: list[dict[str, Any]], values: Values) -> list[str]:
    """Messages for the rules `values` break. Each rule is {caseRuleId, fieldId, rule}, where
    `rule` is the CaseRuleDetails union and fieldId the field the template attaches it to."""
    problems: list[str] = []
    for entry in rules:
        details, rule_id = entry.get("rule") or {}, entry.get("caseRuleId")
        if details.get("required") is not None:
            field_id = entry.get("fieldId")
            if field_id and rule_value(details["required"], values) and not has_value(values.get(field_id)):
                problems.append(f"Field {field_id} is required (case rule {rule_id})")
        elif details.get("fieldOptions") is not None:
            options = details["fieldOptions"]
            child = options.get("childFieldId") or entry.get("fieldId")
            child_value = values.get(child) if child else None
            if not has_value(child_value):
                continue
            assert child_value is not None
            allowed = allowed_child_values(options, values)
            got = child_value.get("stringValue")
            if allowed is not None and got not in allowed:
                parent = options.get("parentFieldId")
                problems.append(
                    f"Field {child} cannot be '{got}' while field {parent} has its current value "
                    f"(case rule {rule_id} allows: {', '.join(sorted(allowed)) or 'no value'})"
                )
    return problems
