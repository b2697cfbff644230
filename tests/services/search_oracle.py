"""An independent oracle for SearchCases: the same filters and sorts, in plain Python.

Cases are dicts {"caseId", "values": {field_id: value union}, "tags": {...}}, with values as
GetCase returns them. Semantics follow services/search.py's documented decisions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def _ms(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp() * 1000


def scalar(ftype: str, value: dict[str, Any]) -> Any:
    """The comparable form of a value union (None when empty)."""
    if value is None or "emptyValue" in value:
        return None
    if ftype == "DateTime":
        return round(_ms(value["stringValue"]))
    if ftype == "Number":
        return float(value["doubleValue"])
    if ftype == "Boolean":
        return bool(value["booleanValue"])
    if ftype == "User":
        return value.get("userArnValue", value.get("stringValue"))
    return value["stringValue"]


def matches(case: dict[str, Any], node: dict[str, Any], types: dict[str, str]) -> bool:
    if "andAll" in node:
        return all(matches(case, n, types) for n in node["andAll"])
    if "orAll" in node:
        return any(matches(case, n, types) for n in node["orAll"])
    if "not" in node:
        return not matches(case, node["not"], types)
    if "tag" in node:
        eq = node["tag"]["equalTo"]
        return case["tags"].get(eq["key"]) == eq["value"]
    ((op, fv),) = node["field"].items()
    ftype = types[fv["id"]]
    have = scalar(ftype, case["values"].get(fv["id"]))
    if "emptyValue" in fv["value"]:
        return have is None
    want = scalar(ftype, fv["value"])
    if have is None:
        return False
    if op == "equalTo":
        return bool(have == want)
    if op == "contains":
        return str(want).lower() in str(have).lower()
    return bool(
        {
            "greaterThan": have > want,
            "greaterThanOrEqualTo": have >= want,
            "lessThan": have < want,
            "lessThanOrEqualTo": have <= want,
        }[op]
    )


def ordered(cases: list[dict[str, Any]], sorts: list[dict[str, Any]], types: dict[str, str]) -> list[str]:
    """Case ids in the documented order: sort keys with missing values last, then case id in
    the direction of the last sort key."""
    items = list(cases)
    last_desc = sorts[-1]["sortOrder"] == "Desc"
    items.sort(key=lambda c: c["caseId"], reverse=last_desc)
    for sort in reversed(sorts):
        ftype = types[sort["fieldId"]]
        desc = sort["sortOrder"] == "Desc"
        present = [c for c in items if scalar(ftype, c["values"].get(sort["fieldId"])) is not None]
        missing = [c for c in items if scalar(ftype, c["values"].get(sort["fieldId"])) is None]
        present.sort(key=lambda c, f=sort["fieldId"], t=ftype: scalar(t, c["values"][f]), reverse=desc)
        items = present + missing
    return [c["caseId"] for c in items]
