"""Cases: the write path shared by every case mutation, and GetCase, UpdateCase, DeleteCase,
ListCasesForContact and GetCaseAuditEvents. CreateCase lives in case_create.py and
BatchUpdateCase in batch_update_case.py.

Interfaces for other service modules (merge, related items, SLAs):

- `load_case(tx, ctx, domain_id, case_id, for_update=False)` -> the case row, or 404 "Case".
- `case_values(tx, domain_id, case_id)` -> {field_id: value union} of every stored value.
- `apply_field_changes(tx, ctx, domain_id=, case_id=, changes=, user=, now_ms=, ...)` writes
  already-validated values plus the auto fields, the search text and one audit event.
- `validate_value`, `to_columns`, `from_row` (re-exported from case_values.py).

Choice where AWS is silent: `created_by` and `last_updated_user` are User fields, which hold
user ARNs, so they are set from `performedBy.userArn` only. A mutation without one (no
performedBy, or a customEntity) leaves `last_updated_user` empty: the last update was not made
by a Connect user. The audit event's `performedBy.user` still records the custom entity.
"""

from __future__ import annotations

from typing import Any

from opencases.errors import ConflictException, ResourceNotFoundException
from opencases.services import audit, events, pagination, sla
from opencases.services.case_input import (
    check_update,
    enforce_case_rules,
    load_template,
    resolve_fields,
    unknown_fields,
)
from opencases.services.case_values import (
    EMPTY,
    datetime_value,
    from_row,
    is_empty,
    normalize,
    to_columns,
    validate_value,
)
from opencases.services.common import child_arn, owned_domain, require_domain
from opencases.services.context import RequestContext
from opencases.services.registry import operation
from opencases.store.store import Tx

__all__ = [
    "apply_field_changes",
    "case_arn",
    "case_values",
    "from_row",
    "load_case",
    "to_columns",
    "validate_value",
]

TEXT_TYPES = frozenset({"Text", "SingleSelect", "Url"})
CLOSED = "closed"


def case_arn(ctx: RequestContext, domain_id: str, case_id: str) -> str:
    return child_arn(ctx, domain_id, "case", case_id)


def case_not_found(case_id: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Case {case_id} does not exist", resource_id=case_id, resource_type="Case")


def load_case(
    tx: Tx, ctx: RequestContext, domain_id: str, case_id: str, *, for_update: bool = False
) -> dict[str, Any]:
    """The case row (locked on PostgreSQL when `for_update`); 404 with resourceType "Case".

    The caller has checked the domain (require_domain) in the same transaction.
    """
    row = tx.get_case(domain_id, case_id, for_update=for_update)
    if row is None:
        raise case_not_found(case_id)
    return row


def read_case(tx: Tx, ctx: RequestContext, domain_id: str, case_id: str) -> dict[str, Any]:
    """require_domain and load_case in one query, for reads that need no more of the case than
    its template: {case_id, template_id}, or 404 "Domain" or "Case" as those two would raise."""
    domain, case = tx.get_case_in_domain(domain_id, case_id)
    owned_domain(ctx, domain_id, domain)
    if case is None:
        raise case_not_found(case_id)
    return case


def typed_values(tx: Tx, domain_id: str, case_id: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """{field_id: (field type, value union)} of every stored value, deleted fields included."""
    return {
        r["field_id"]: (r["type"], from_row(r["type"], r))
        for r in tx.get_case_value_rows(domain_id, case_id)
    }


def case_values(tx: Tx, domain_id: str, case_id: str) -> dict[str, dict[str, Any]]:
    """{field_id: value union} of every value the case holds (empty fields are absent)."""
    return {fid: value for fid, (_, value) in typed_values(tx, domain_id, case_id).items()}


def merge_state(case: dict[str, Any]) -> dict[str, Any]:
    state = case.get("merge_state")
    return state if isinstance(state, dict) else {}


def refuse_if_merging(case: dict[str, Any], *, secondary_only: bool) -> None:
    """UpdateCase refuses the secondary of a running merge; DeleteCase refuses either side."""
    state = merge_state(case)
    if state.get("status") != "IN_PROGRESS":
        return
    if secondary_only and state.get("role") != "secondary":
        return
    raise ConflictException(f"Case {case['case_id']} is part of a merge that is running")


def text_body(values: dict[str, tuple[str, dict[str, Any]]]) -> str:
    """The searchable text: Text, SingleSelect and Url values (reference number and values of
    deleted fields included), one per line in field id order. The case id is left out: its
    random hex parts would make short search words match arbitrary cases (find a case by id
    with a filter on case_id)."""
    return "\n".join(
        value["stringValue"]
        for fid, (ftype, value) in sorted(values.items())
        if ftype in TEXT_TYPES and value.get("stringValue") and fid != "case_id"
    )


def user_value(user: dict[str, Any] | None) -> dict[str, Any]:
    """The value of created_by / last_updated_user for a request's performedBy."""
    if user and user.get("userArn"):
        return {"userArnValue": user["userArn"]}
    return dict(EMPTY)


def _status(value: dict[str, Any] | None) -> str | None:
    return None if value is None else value.get("stringValue")


def status_side_effects(old: dict[str, Any] | None, new: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """last_closed_datetime when status becomes `closed`; last_reopened_datetime when it leaves it."""
    before, after = _status(old), _status(new)
    if after == CLOSED and before != CLOSED:
        return {"last_closed_datetime": datetime_value(now_ms)}
    if before == CLOSED and after != CLOSED:
        return {"last_reopened_datetime": datetime_value(now_ms)}
    return {}


def apply_field_changes(
    tx: Tx,
    ctx: RequestContext,
    *,
    domain_id: str,
    case_id: str,
    changes: dict[str, dict[str, Any]],
    user: dict[str, Any] | None,
    now_ms: int,
    audit_type: str = "Case.Updated",
    merge_metadata: dict[str, Any] | None = None,
) -> list[str]:
    """Write already-validated `changes` ({field_id: value union}, `emptyValue` clears) to a case.

    Also maintains the auto fields (last_updated_datetime, last_updated_user, and the status
    timestamps), the search text and the case version, records one audit event of
    `audit_type` with an entry per changed field, and tells the SLA module. A value equal to
    the stored one is no change. Returns the ids of the fields that changed, auto fields
    included, in audit-entry order. Locks the case row (PostgreSQL) before reading.
    """
    load_case(tx, ctx, domain_id, case_id, for_update=True)
    return _apply(
        tx, ctx, domain_id, case_id, typed_values(tx, domain_id, case_id), changes,
        user=user, now_ms=now_ms, audit_type=audit_type, merge_metadata=merge_metadata,
    )


def _apply(
    tx: Tx,
    ctx: RequestContext,
    domain_id: str,
    case_id: str,
    old: dict[str, tuple[str, dict[str, Any]]],
    changes: dict[str, dict[str, Any]],
    *,
    user: dict[str, Any] | None,
    now_ms: int,
    audit_type: str = "Case.Updated",
    merge_metadata: dict[str, Any] | None = None,
    field_rows: dict[str, dict[str, Any]] | None = None,
) -> list[str]:
    """`field_rows`: the field rows of `changes` when the caller has read them already."""
    rows = field_rows if field_rows is not None and all(f in field_rows for f in changes) else None
    if rows is None:
        rows = tx.get_fields(domain_id, list(changes))
    unknown_fields([f for f in changes if f not in rows])
    types = {fid: rows[fid]["type"] for fid in changes}
    new = {fid: normalize(types[fid], value) for fid, value in changes.items()}
    if "status" in new:
        new |= status_side_effects(old.get("status", ("", None))[1], new["status"], now_ms)
        types |= {"last_closed_datetime": "DateTime", "last_reopened_datetime": "DateTime"}
    new["last_updated_datetime"] = datetime_value(now_ms)
    new["last_updated_user"] = user_value(user)
    types |= {"last_updated_datetime": "DateTime", "last_updated_user": "User"}

    entries, changed = [], {}
    for fid, value in new.items():
        before = old[fid][1] if fid in old else EMPTY
        if before == value:
            continue
        changed[fid] = value
        entries.append({"eventFieldId": fid, "oldValue": before, "newValue": value})
    tx.put_case_values(
        domain_id, case_id, {f: to_columns(types[f], v) for f, v in changed.items() if not is_empty(v)}
    )
    tx.delete_case_values(domain_id, case_id, [f for f, v in changed.items() if is_empty(v)])
    tx.bump_case_version(domain_id, case_id, now_ms)
    result = {f: (t, v) for f, (t, v) in old.items() if f not in changed} | {
        f: (types[f], v) for f, v in changed.items() if not is_empty(v)
    }
    tx.put_case_text(domain_id, case_id, text_body(result))
    audit.record(
        tx, ctx, domain_id=domain_id, case_id=case_id, event_type=audit_type, fields=entries,
        user=user, performed_ms=now_ms, merge_metadata=merge_metadata,
    )
    sla.on_case_fields_changed(tx, ctx, domain_id, case_id, changed, now_ms, field_types=types)
    return list(changed)


def update_one(
    tx: Tx,
    ctx: RequestContext,
    domain_id: str,
    case: dict[str, Any],
    changes: dict[str, dict[str, Any]],
    rows: dict[str, dict[str, Any]],
    *,
    user: dict[str, Any] | None,
    now_ms: int,
) -> list[str]:
    """UpdateCase's rules for one locked case, then the write: no running merge as secondary,
    no clearing of title or template-required fields, deleted fields only where the case has a
    value, and (with --enforce-case-rules) the template's case rules on the result."""
    case_id = case["case_id"]
    refuse_if_merging(case, secondary_only=True)
    old = typed_values(tx, domain_id, case_id)
    template = load_template(tx, domain_id, case["template_id"])
    check_update(template, rows, changes, set(old))
    if ctx.settings.enforce_case_rules:
        result = {f: v for f, (_, v) in old.items()} | changes
        enforce_case_rules(tx, domain_id, template, {f: v for f, v in result.items() if not is_empty(v)})
    return _apply(tx, ctx, domain_id, case_id, old, changes, user=user, now_ms=now_ms, field_rows=rows)


@operation("UpdateCase")
def update_case(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, case_id = params["domainId"], params["caseId"]
    entries = [(f["id"], f["value"], f"fields[{i}].value") for i, f in enumerate(params["fields"])]
    with ctx.store.write() as tx:
        require_domain(ctx, tx, domain_id)
        case = load_case(tx, ctx, domain_id, case_id, for_update=True)
        rows = resolve_fields(tx, domain_id, entries, creating=False)
        changes = {fid: value for fid, value, _ in entries}
        update_one(tx, ctx, domain_id, case, changes, rows, user=params.get("performedBy"), now_ms=ctx.now_ms())
    return {}


@operation("GetCase")
def get_case(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, case_id = params["domainId"], params["caseId"]
    # All requested fields (at most 220) fit one page, so no token is ever issued; one that
    # was not issued by us is still refused.
    pagination.decode("GetCase", params)
    wanted = list(dict.fromkeys([f["id"] for f in params["fields"]]))
    with ctx.store.read() as tx:
        domain, case, rows = tx.get_case_with_values(domain_id, case_id, wanted)
        owned_domain(ctx, domain_id, domain)
        if case is None:
            raise case_not_found(case_id)
        stored = {r["field_id"]: r for r in rows}
        tags = tx.get_tags(case_arn(ctx, domain_id, case_id))
    # Request order; fields without a value and unknown ids are left out.
    fields = [{"id": f, "value": from_row(stored[f]["type"], stored[f])} for f in wanted if f in stored]
    return {"fields": fields, "templateId": case["template_id"], "tags": tags}


@operation("DeleteCase")
def delete_case(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, case_id = params["domainId"], params["caseId"]
    with ctx.store.write() as tx:
        require_domain(ctx, tx, domain_id)
        case = load_case(tx, ctx, domain_id, case_id, for_update=True)
        refuse_if_merging(case, secondary_only=False)
        # CASE.DELETED is queued first: it carries the field values about to be deleted.
        events.on_case_deleted(tx, ctx, domain_id=domain_id, case_id=case_id, now_ms=ctx.now_ms())
        # "permanently deletes a case and all its associated resources": values, text,
        # related items, audit history, and the tags of the case and its related items.
        tx.delete_case(domain_id, case_id)
        tx.delete_tags_under(case_arn(ctx, domain_id, case_id))
    return {}


@operation("GetCaseAuditEvents")
def get_case_audit_events(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, case_id = params["domainId"], params["caseId"]
    with ctx.store.read() as tx:
        read_case(tx, ctx, domain_id, case_id)
        return audit.list_events(ctx, tx, domain_id, case_id, params)


@operation("ListCasesForContact")
def list_cases_for_contact(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id = params["domainId"]
    after = pagination.decode("ListCasesForContact", params)
    limit = pagination.page_size(params, 10)
    with ctx.store.read() as tx:
        require_domain(ctx, tx, domain_id)
        rows = tx.list_cases_for_contact(
            domain_id, params["contactArn"], tuple(after) if after else None, limit + 1
        )
    out: dict[str, Any] = {"cases": [{"caseId": r["case_id"], "templateId": r["template_id"]} for r in rows[:limit]]}
    if len(rows) > limit:
        last = rows[limit - 1]
        out["nextToken"] = pagination.encode("ListCasesForContact", params, [last["created_ms"], last["case_id"]])
    return out
