"""Field values: validation against the field's type, and the mapping between the API's value
union (FieldValueUnion) and the typed storage columns.

Shared by cases, merges and Custom related items. Field type -> union member -> column:

    Text, SingleSelect, Url -> stringValue  -> s_value
    DateTime                -> stringValue  -> n_value (epoch ms; returned as ISO-8601 UTC)
    Number                  -> doubleValue  -> n_value
    Boolean                 -> booleanValue -> b_value
    User                    -> userArnValue -> u_value

`emptyValue` clears a value; it is never stored (a cleared field has no row).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from opencases.errors import ValidationException
from opencases.services.context import ms_to_iso

MEMBER = {
    "Text": "stringValue",
    "SingleSelect": "stringValue",
    "Url": "stringValue",
    "DateTime": "stringValue",
    "Number": "doubleValue",
    "Boolean": "booleanValue",
    "User": "userArnValue",
}
UNION_MEMBERS = ("stringValue", "doubleValue", "booleanValue", "emptyValue", "userArnValue")
EMPTY: dict[str, Any] = {"emptyValue": {}}

# Text limits (admin guide "case fields"; the FieldValueUnion doc gives summary 3000).
SINGLE_LINE_MAX = 500
MULTILINE_MAX = 4100
SUMMARY_MAX = 3000

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?", re.ASCII
)
# Connect user ARNs: arn:<partition>:connect:<region>:<account>:instance/<id>/agent|user/<id>.
# Any ARN is accepted (User fields hold ARNs; the model only bounds the length).
_ARN = re.compile(r"^arn:[^:\s]+:[^:\s]*:[^:\s]*:[^:\s]*:\S+$")


def member_of(value: dict[str, Any]) -> str:
    """The union member that is set (the wire layer has checked there is exactly one)."""
    for name in UNION_MEMBERS:
        if value.get(name) is not None:
            return name
    raise ValidationException("A field value must set exactly one member of the value union")


def is_empty(value: dict[str, Any] | None) -> bool:
    return value is None or value.get("emptyValue") is not None


@lru_cache(maxsize=8192)
def parse_datetime(text: str) -> int:
    """ISO-8601 date-time -> epoch milliseconds (UTC). A missing offset means UTC.

    Raises ValueError for anything else (a date without a time included). Years before 1000
    are refused: they would not round-trip through the four-digit `YYYY` form.
    """
    m = _ISO.fullmatch(text) if isinstance(text, str) else None
    if not m or int(m.group(1)) < 1000:
        raise ValueError(text)
    year, month, day, hour, minute = (int(g) for g in m.groups()[:5])
    second = int(m.group(6) or 0)
    fraction = (m.group(7) or "").ljust(3, "0")[:3]
    dt = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    shift = 0
    offset = m.group(8)
    if offset and offset != "Z":
        digits = offset[1:].replace(":", "")
        oh, om = int(digits[:2]), int(digits[2:])
        if oh > 23 or om > 59:
            raise ValueError(text)
        shift = (1 if offset[0] == "+" else -1) * (oh * 60 + om) * 60_000
    return _epoch_ms(dt) + int(fraction) - shift


def _epoch_ms(dt: datetime) -> int:
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def text_limit(field_row: dict[str, Any]) -> int:
    if field_row["field_id"] == "summary":
        return SUMMARY_MAX
    attrs = field_row.get("attributes") or {}
    multiline = bool((attrs.get("text") or {}).get("isMultiline"))
    return MULTILINE_MAX if multiline else SINGLE_LINE_MAX


def validate_value(
    field_row: dict[str, Any], options: dict[str, dict[str, Any]] | None, value: dict[str, Any], *, path: str
) -> None:
    """Check `value` (a FieldValueUnion) against the field's type; ValidationException naming
    the field and `path` (e.g. `fields[2].value`) if it does not fit.

    `options` maps option value -> option row, needed for SingleSelect fields. `emptyValue`
    passes here: whether a field may be cleared is the caller's rule (required fields).
    """
    field_id, field_type = field_row["field_id"], field_row["type"]
    got = member_of(value)
    if got == "emptyValue":
        return
    expected = MEMBER.get(field_type)
    where = f"Invalid value at '{path}' for field {field_id} ({field_type})"
    if got != expected:
        raise ValidationException(f"{where}: a {field_type} field takes {expected}, not {got}")
    raw = value[got]
    if field_type == "Text":
        limit = text_limit(field_row)
        if not isinstance(raw, str) or len(raw) > limit:
            raise ValidationException(f"{where}: text must be at most {limit} characters")
    elif field_type == "Number":
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
            raise ValidationException(f"{where}: doubleValue must be a finite number")
    elif field_type == "Boolean":
        if not isinstance(raw, bool):
            raise ValidationException(f"{where}: booleanValue must be true or false")
    elif field_type == "DateTime":
        try:
            parse_datetime(raw)
        except (ValueError, TypeError) as exc:
            raise ValidationException(
                f"{where}: expected an ISO-8601 date-time such as 2024-03-16T23:16:57.893Z"
            ) from exc
    elif field_type == "SingleSelect":
        option = (options or {}).get(raw)
        if option is None:
            raise ValidationException(f"{where}: '{raw}' is not an option of this field")
        if not option["active"]:
            raise ValidationException(f"{where}: option '{raw}' is inactive")
    elif field_type == "Url":
        if not _is_http_url(raw):
            raise ValidationException(f"{where}: expected an absolute http or https URL")
    elif field_type == "User" and (not isinstance(raw, str) or not _ARN.match(raw)):
        raise ValidationException(f"{where}: userArnValue must be a user ARN")


def _is_http_url(raw: Any) -> bool:
    if not isinstance(raw, str) or any(ch.isspace() for ch in raw):
        return False
    try:
        parts = urlsplit(raw)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def to_columns(field_type: str, value: dict[str, Any]) -> dict[str, Any]:
    """A validated, non-empty value union -> {s_value, n_value, b_value, u_value}."""
    cols: dict[str, Any] = {"s_value": None, "n_value": None, "b_value": None, "u_value": None}
    if field_type == "DateTime":
        cols["n_value"] = float(parse_datetime(value["stringValue"]))
    elif field_type == "Number":
        cols["n_value"] = float(value["doubleValue"])
    elif field_type == "Boolean":
        cols["b_value"] = bool(value["booleanValue"])
    elif field_type == "User":
        cols["u_value"] = value["userArnValue"]
    else:
        cols["s_value"] = value["stringValue"]
    return cols


def from_row(field_type: str, row: dict[str, Any]) -> dict[str, Any]:
    """Typed columns -> the value union the API returns (DateTime as `YYYY-MM-DDTHH:MM:SS.sssZ`)."""
    if field_type == "DateTime":
        return {"stringValue": ms_to_iso(int(row["n_value"]))} if row.get("n_value") is not None else EMPTY
    if field_type == "Number":
        return {"doubleValue": float(row["n_value"])} if row.get("n_value") is not None else EMPTY
    if field_type == "Boolean":
        return {"booleanValue": bool(row["b_value"])} if row.get("b_value") is not None else EMPTY
    if field_type == "User":
        return {"userArnValue": row["u_value"]} if row.get("u_value") is not None else EMPTY
    return {"stringValue": row["s_value"]} if row.get("s_value") is not None else EMPTY


def normalize(field_type: str, value: dict[str, Any]) -> dict[str, Any]:
    """The value as it will be stored and returned (DateTime in UTC milliseconds, numbers as
    floats); `emptyValue` stays `{"emptyValue": {}}`."""
    if is_empty(value):
        return dict(EMPTY)
    return from_row(field_type, to_columns(field_type, value))


def datetime_value(ms: int) -> dict[str, Any]:
    """The value union of a DateTime set by the service."""
    return {"stringValue": ms_to_iso(ms)}
