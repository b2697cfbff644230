"""The few things related items, SLAs and merges need from the cases family, in one place:
value validation and columns (services/case_values.py), and case loading, values and field
changes (services/cases.py)."""

from __future__ import annotations

from typing import Any

from opencases.services import case_values as cv
from opencases.services import cases
from opencases.services.context import RequestContext
from opencases.store.store import Tx


def validate_value(
    field_row: dict[str, Any], options: dict[str, dict[str, Any]], value: dict[str, Any], *, path: str
) -> dict[str, Any]:
    """Validate a FieldValueUnion for a field; return it as it will be stored and returned."""
    cv.validate_value(field_row, options, value, path=path)
    return cv.normalize(field_row["type"], value)


def datetime_columns(ms: int) -> dict[str, Any]:
    """Storage columns of a service-set DateTime value."""
    return cv.to_columns("DateTime", cv.datetime_value(ms))


def is_empty(value: dict[str, Any] | None) -> bool:
    return cv.is_empty(value)


def touch_case(tx: Tx, domain_id: str, case_id: str, user: dict[str, Any] | None, now_ms: int) -> None:
    """Record a change made through the case's related items: last_updated_datetime and
    last_updated_user move (the User field holds performedBy.userArn or nothing, as for field
    changes), without a Case.Updated audit entry: the RelatedItem.* event is the record."""
    tx.bump_case_version(domain_id, case_id, now_ms)
    columns = {"last_updated_datetime": datetime_columns(now_ms)}
    who = cases.user_value(user)
    if cv.is_empty(who):
        tx.put_case_values(domain_id, case_id, columns)
        tx.delete_case_values(domain_id, case_id, ["last_updated_user"])
    else:
        tx.put_case_values(domain_id, case_id, columns | {"last_updated_user": cv.to_columns("User", who)})


def load_case(tx: Tx, ctx: RequestContext, domain_id: str, case_id: str, *, for_update: bool = False) -> Any:
    """The case row; ResourceNotFoundException if it does not exist."""
    return cases.load_case(tx, ctx, domain_id, case_id, for_update=for_update)


def case_values(tx: Tx, domain_id: str, case_id: str) -> dict[str, dict[str, Any]]:
    """field id -> FieldValueUnion of every value the case holds."""
    return dict(cases.case_values(tx, domain_id, case_id))


def apply_field_changes(
    tx: Tx,
    ctx: RequestContext,
    *,
    domain_id: str,
    case_id: str,
    changes: dict[str, dict[str, Any]],
    user: dict[str, Any] | None,
    now_ms: int,
    merge_metadata: dict[str, Any] | None = None,
) -> list[str]:
    """Write field values of a case with their Case.Updated audit; the changed field ids."""
    return list(
        cases.apply_field_changes(
            tx,
            ctx,
            domain_id=domain_id,
            case_id=case_id,
            changes=changes,
            user=user,
            now_ms=now_ms,
            audit_type="Case.Updated",
            merge_metadata=merge_metadata,
        )
    )
