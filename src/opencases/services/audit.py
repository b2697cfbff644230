"""Audit history: every case mutation records its events in the same transaction.

Ordering (DESIGN.md): oldest first, by an insertion sequence, so pages stay stable while the
case keeps changing (new events only ever append after the last page).
"""

from __future__ import annotations

from typing import Any

from opencases.services import events, pagination
from opencases.services.context import RequestContext, ms_to_datetime, new_id
from opencases.store.store import Tx


def performed_by(ctx: RequestContext, user: dict[str, Any] | None) -> dict[str, Any]:
    """`iamPrincipalArn` is always the authenticated caller; `user` echoes the request."""
    out: dict[str, Any] = {"iamPrincipalArn": ctx.principal_arn}
    if user:
        out["user"] = dict(user)
    return out


def record(
    tx: Tx,
    ctx: RequestContext,
    *,
    domain_id: str,
    case_id: str,
    event_type: str,
    fields: list[dict[str, Any]],
    user: dict[str, Any] | None,
    performed_ms: int,
    related_item_type: str | None = None,
    merge_metadata: dict[str, Any] | None = None,
) -> str:
    """Write one audit event. `fields` holds {eventFieldId, oldValue?, newValue} entries whose
    values are AuditEventFieldValueUnion dicts (stringValue, doubleValue, booleanValue,
    emptyValue, userArnValue). Returns the event id."""
    event_id = new_id()
    doc: dict[str, Any] = {"fields": fields, "performedBy": performed_by(ctx, user)}
    if merge_metadata:
        doc["mergeMetadata"] = merge_metadata
    tx.insert_audit_event(
        {
            "domain_id": domain_id,
            "case_id": case_id,
            "event_id": event_id,
            "type": event_type,
            "related_item_type": related_item_type,
            "performed_ms": performed_ms,
            "doc": doc,
        }
    )
    # The case event stream is derived from the audit, in the same transaction.
    events.on_audit(
        tx, ctx, domain_id=domain_id, case_id=case_id, event_type=event_type, fields=fields,
        performed_by=doc["performedBy"], performed_ms=performed_ms, related_item_type=related_item_type,
        merge_metadata=merge_metadata,
    )
    return event_id


def list_events(
    ctx: RequestContext, tx: Tx, domain_id: str, case_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    """The GetCaseAuditEvents response body for one page."""
    after = pagination.decode("GetCaseAuditEvents", params)
    limit = pagination.page_size(params, 25)
    rows = tx.list_audit_events(domain_id, case_id, after, limit + 1)
    events = []
    for r in rows[:limit]:
        event: dict[str, Any] = {
            "eventId": r["event_id"],
            "type": r["type"],
            "performedTime": ms_to_datetime(r["performed_ms"]),
            "fields": r["doc"].get("fields", []),
            "performedBy": r["doc"].get("performedBy"),
        }
        if r["related_item_type"]:
            event["relatedItemType"] = r["related_item_type"]
        if r["doc"].get("mergeMetadata"):
            event["mergeMetadata"] = r["doc"]["mergeMetadata"]
        events.append(event)
    out: dict[str, Any] = {"auditEvents": events}
    if len(rows) > limit:
        out["nextToken"] = pagination.encode("GetCaseAuditEvents", params, rows[limit - 1]["seq"])
    return out
