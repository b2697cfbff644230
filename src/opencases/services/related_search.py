"""RelatedItemTypeFilter evaluation for SearchRelatedItems.

Filters are OR-ed (as the SearchAllRelatedItems doc says of the same list); inside one filter
every given member must match. Custom filters nest `field` / `not` / `andAll` / `orAll`.
Operator semantics follow SearchCases: `equalTo` with `emptyValue` matches a missing value,
`contains` is a case-insensitive substring match on strings, range operators compare numbers
numerically and ISO-8601 date-times chronologically.
"""

from __future__ import annotations

from typing import Any

from opencases.services import sla
from opencases.services.case_values import parse_datetime

_TYPES = {
    "contact": "Contact",
    "comment": "Comment",
    "file": "File",
    "sla": "Sla",
    "connectCase": "ConnectCase",
    "custom": "Custom",
}


def matches_any(row: dict[str, Any], filters: list[dict[str, Any]], now_ms: int) -> bool:
    """True if no filters are given ("returns all related items") or any filter matches."""
    return not filters or any(matches(row, f, now_ms) for f in filters)


def matches(row: dict[str, Any], type_filter: dict[str, Any], now_ms: int) -> bool:
    member, spec = next((k, v) for k, v in type_filter.items() if v is not None)
    if _TYPES[member] != row["type"]:
        return False
    content = row["content"]
    if member == "contact":
        channels = spec.get("channel") or []
        if channels and content["channel"] not in channels:
            return False
        return spec.get("contactArn") is None or spec["contactArn"] == content["contactArn"]
    if member == "file":
        return spec.get("fileArn") is None or spec["fileArn"] == content["fileArn"]
    if member == "sla":
        if spec.get("name") is not None and spec["name"] != content["name"]:
            return False
        if spec.get("status") is not None:
            return bool(spec["status"] == sla.status(content["targetMs"], content.get("completionMs"), now_ms))
        return True
    if member == "connectCase":
        return spec.get("caseId") is None or spec["caseId"] == content["caseId"]
    if member == "custom":
        if spec.get("fields") is None:
            return True
        values = {f["id"]: f["value"] for f in content["fields"]}
        return custom_matches(values, spec["fields"])
    return True  # comment: {} matches every comment


def custom_matches(values: dict[str, dict[str, Any]], node: dict[str, Any]) -> bool:
    """Evaluate a CustomFieldsFilter against a Custom item's field id -> value union."""
    if node.get("field") is not None:
        op, operand = next((k, v) for k, v in node["field"].items() if v is not None)
        return _compare(op, values.get(operand["id"]), operand["value"])
    if node.get("not") is not None:
        return not custom_matches(values, node["not"])
    if node.get("andAll") is not None:
        return all(custom_matches(values, n) for n in node["andAll"])
    if node.get("orAll") is not None:
        return any(custom_matches(values, n) for n in node["orAll"])
    return True


def _scalar(value: dict[str, Any] | None) -> tuple[str, Any] | None:
    """(member, comparable) of a value union; None for a missing or empty value."""
    if value is None:
        return None
    for member in ("stringValue", "doubleValue", "booleanValue", "userArnValue"):
        if value.get(member) is not None:
            return member, value[member]
    return None


def _ordered(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Make two strings comparable: chronologically if both are date-times, else as text."""
    if isinstance(a, str) and isinstance(b, str):
        try:
            return parse_datetime(a), parse_datetime(b)
        except ValueError:
            return a, b
    if isinstance(a, bool) or isinstance(b, bool):
        return None
    return a, b


def _compare(op: str, actual_union: dict[str, Any] | None, wanted_union: dict[str, Any]) -> bool:
    actual, wanted = _scalar(actual_union), _scalar(wanted_union)
    if wanted is None:
        # Only equalTo(emptyValue) means something: the field has no value.
        return op == "equalTo" and actual is None
    if actual is None or actual[0] != wanted[0]:
        return False
    a, w = actual[1], wanted[1]
    if op == "contains":
        return isinstance(a, str) and isinstance(w, str) and w.casefold() in a.casefold()
    if op == "equalTo" and isinstance(a, bool):
        return bool(a == w)
    pair = _ordered(a, w)
    if pair is None:
        return False
    if op == "equalTo":
        return bool(pair[0] == pair[1])
    left, right = pair
    if op == "greaterThan":
        return bool(left > right)
    if op == "greaterThanOrEqualTo":
        return bool(left >= right)
    if op == "lessThan":
        return bool(left < right)
    return bool(left <= right)  # lessThanOrEqualTo
