"""Stable SearchCases paging while cases change: cases changed after a search's settled
time are placed by their sort values as of that time (or as created, for cases created
since), rebuilt from their audit history.

Every write to a case records an audit event stamped with the time that also becomes the
case's last_updated_datetime, and the event lists each field it set with its new value: so
the value of any field as of a time is the newValue of the last event before it that
touched the field (Case.Created lists every initial value).
"""

from __future__ import annotations

from typing import Any

from opencases.services.case_values import EMPTY, is_empty, to_columns
from opencases.store.search import CASE_COLUMNS, SortKey
from opencases.store.store import Tx


class _Desc:
    """Reverses the order of a value, for descending sort keys."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.v < self.v)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.v == other.v


def order_key(keys: list[SortKey], values: list[Any], case_id: str) -> tuple[Any, ...]:
    """The ORDER BY of store/search.py build_query as a Python key: missing values last,
    then the case id in the direction of the last sort key."""
    parts: list[Any] = []
    for key, value in zip(keys, values, strict=True):
        parts.append(value is None)
        parts.append(0 if value is None else (_Desc(value) if key.descending else value))
    id_desc = keys[-1].descending if keys else False
    parts.append(_Desc(case_id) if id_desc else case_id)
    return tuple(parts)


def _as_of(events: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], int | None]:
    """Field values and last update time after replaying `events`."""
    values: dict[str, dict[str, Any]] = {}
    updated: int | None = None
    for event in events:
        updated = event["performed_ms"]
        for entry in event["doc"].get("fields") or []:
            values[entry["eventFieldId"]] = entry.get("newValue") or EMPTY
    return values, updated


def _sort_value(key: SortKey, fields: dict[str, dict[str, Any]], row: dict[str, Any],
                values: dict[str, dict[str, Any]], updated: int | None) -> Any:
    if key.field_id == "created_datetime":
        return row["created_ms"]
    if key.field_id == "last_updated_datetime":
        return updated if updated is not None else row["created_ms"]
    value = values.get(key.field_id)
    if value is None or is_empty(value) or key.field_id not in fields:
        return None
    stored = to_columns(fields[key.field_id]["type"], value)[key.column]
    return int(stored) if key.column == "b_value" else stored


def merge(
    tx: Tx,
    domain_id: str,
    fields: dict[str, dict[str, Any]],
    keys: list[SortKey],
    stable_rows: list[dict[str, Any]],
    changed: list[dict[str, Any]],
    after: list[Any] | None,
    settled_ms: int,
    limit: int,
) -> list[dict[str, Any]]:
    """The page: unchanged rows (already in order, after the position) merged with the
    changed cases placed as of the settled time."""
    history: dict[str, list[dict[str, Any]]] = {}
    case_ids = [c["case_id"] for c in changed]
    if all(k.field_id in CASE_COLUMNS for k in keys):
        # Only times are sorted on: the last update before the settled time is enough, and
        # an aggregate gives it without reading the audit documents.
        for case_id, performed_ms in tx.last_change_before(domain_id, case_ids, settled_ms).items():
            history[case_id] = [{"performed_ms": performed_ms, "doc": {}}]
    else:
        for event in tx.audit_before(domain_id, case_ids, settled_ms):
            # A case created since the settled time is placed by its initial values only.
            if event["performed_ms"] < settled_ms or event["type"] == "Case.Created":
                history.setdefault(event["case_id"], []).append(event)
    position = order_key(keys, after[:-1], after[-1]) if after is not None else None
    placed = []
    for row in changed:
        values, updated = _as_of(history.get(row["case_id"], []))
        sort_values = [_sort_value(k, fields, row, values, updated) for k in keys]
        key = order_key(keys, sort_values, row["case_id"])
        if position is None or position < key:
            placed.append((key, row | {f"sort_{i}": v for i, v in enumerate(sort_values)}))
    for row in stable_rows:
        sort_values = [row[f"sort_{i}"] for i in range(len(keys))]
        placed.append((order_key(keys, sort_values, row["case_id"]), row))
    placed.sort(key=lambda item: item[0])
    return [row for _, row in placed[:limit]]

