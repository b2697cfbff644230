"""Case event streams: the EventBridge-shaped events of a case change, queued in the outbox in
the transaction that makes the change (SPEC.md section 5; delivery is server/delivery.py).

Every case mutation records its audit events through `audit.record`, which calls `on_audit`
here; DeleteCase, which destroys the audit history, calls `on_case_deleted` before the rows
go. So an event exists exactly when its change committed. Nothing is written unless the
domain's event configuration has `eventBridge.enabled`.

Mapping of audit types to `detail.eventType`:
  Case.Created -> CASE.CREATED; Case.Updated -> CASE.UPDATED; DeleteCase -> CASE.DELETED;
  RelatedItem.Created/Updated/Deleted -> RELATED_ITEM.CREATED/UPDATED/DELETED (DESIGN.md);
  Case.Merged -> CASE.UPDATED with `changedFieldIds: []`. A merge's own changes arrive as
  the CASE.UPDATED and RELATED_ITEM.* events it makes; the Case.Merged one marks the end of
  the merge on each case and carries the case as it is afterwards.
Every event made by a merge has `detail.mergeMetadata` {mergeEventId, primaryCaseId,
secondaryCaseId} (an opencases addition; AWS documents no merge events).

`case.fields` is a map keyed by field id holding the non-empty values of the fields the
configuration selects: `includedData.caseData.fields` united with `autoIncludeFields` (All,
System or Custom; deleted fields never). It is always present, possibly empty. Related-item
content is included when `relatedItemData.includeContent` is true, under the lowerCamel name
of the item type. A deleted item's content is rebuilt from its audited attributes (the row
is gone), so long comment bodies are cut at the audit limit of 4100 characters there, and
its `createdDateTime` is not known. DeleteCase sends CASE.DELETED only: the related items
that go with the case get no events of their own.
"""

from __future__ import annotations

import weakref
from datetime import datetime
from typing import Any

from opencases.services.case_values import from_row
from opencases.services.context import RequestContext, ms_to_iso, new_id
from opencases.store.store import Tx

DETAIL_TYPE = "Amazon Connect Cases Change"
SOURCE = "aws.cases"

EVENT_TYPES = {
    "Case.Created": "CASE.CREATED",
    "Case.Updated": "CASE.UPDATED",
    "Case.Merged": "CASE.UPDATED",
    "RelatedItem.Created": "RELATED_ITEM.CREATED",
    "RelatedItem.Updated": "RELATED_ITEM.UPDATED",
    "RelatedItem.Deleted": "RELATED_ITEM.DELETED",
}

# The event configuration of each domain, read once per transaction. Keyed by
# the transaction object (weakly, so it goes with it) rather than stored on it: bulk import
# wraps its transaction in an object that flushes on any unknown attribute.
_per_tx: weakref.WeakKeyDictionary[Any, dict[str, _Selection | None]] = weakref.WeakKeyDictionary()


class _Selection:
    """What a domain's enabled configuration puts in its events."""

    def __init__(self, config: dict[str, Any]) -> None:
        included = config.get("includedData") or {}
        case_data = included.get("caseData") or {}
        self.include_content = bool((included.get("relatedItemData") or {}).get("includeContent"))
        self.field_ids = [f["id"] for f in case_data.get("fields") or []]
        auto = case_data.get("autoIncludeFields")
        # Namespaces whose every field is included; deleted fields are dropped in the query.
        self.namespaces = ["System", "Custom"] if auto == "All" else [auto] if auto in ("System", "Custom") else []


def _selection(tx: Tx, domain_id: str) -> _Selection | None:
    cache = _per_tx.setdefault(tx, {})
    if domain_id not in cache:
        config = tx.get_event_config(domain_id)
        cache[domain_id] = _Selection(config) if config and config.get("enabled") else None
    return cache[domain_id]


def event_time(ms: int) -> str:
    """The envelope's `time`: whole seconds, e.g. 2022-03-16T23:43:26Z."""
    return ms_to_iso(ms)[:19] + "Z"


def _envelope(
    ctx: RequestContext, domain_id: str, resource_arn: str, performed_ms: int, detail: dict[str, Any]
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": new_id(),
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": ctx.account,
        "time": event_time(performed_ms),
        "region": ctx.region,
        "resources": [ctx.arn(f"domain/{domain_id}"), resource_arn],
        "detail": detail,
    }


def _case_body(tx: Tx, sel: _Selection, domain_id: str, case_id: str) -> dict[str, Any] | None:
    case = tx.get_case(domain_id, case_id)
    if case is None:
        return None
    fields: dict[str, Any] = {}
    for r in tx.event_case_values(domain_id, case_id, sel.field_ids, sel.namespaces):
        value = from_row(r["type"], r)
        if "emptyValue" not in value:
            fields[r["field_id"]] = {"value": value}
    return {
        "caseId": case_id,
        "templateId": case["template_id"],
        "createdDateTime": ms_to_iso(case["created_ms"]),
        "fields": fields,
    }


def _queue(tx: Tx, ctx: RequestContext, domain_id: str, case_id: str, event: dict[str, Any], now_ms: int) -> None:
    tx.insert_outbox(
        [{"account": ctx.account, "domain_id": domain_id, "order_key": case_id, "payload": event, "created_ms": now_ms}]
    )


def on_audit(
    tx: Tx,
    ctx: RequestContext,
    *,
    domain_id: str,
    case_id: str,
    event_type: str,
    fields: list[dict[str, Any]],
    performed_by: dict[str, Any],
    performed_ms: int,
    related_item_type: str | None = None,
    merge_metadata: dict[str, Any] | None = None,
) -> None:
    """Queue the event of one audit event, if the domain publishes events."""
    sel = _selection(tx, domain_id)
    if sel is None or event_type not in EVENT_TYPES:
        return
    detail: dict[str, Any] = {
        "version": "0",
        "eventType": EVENT_TYPES[event_type],
        "approximateChangeTime": ms_to_iso(performed_ms),
    }
    if related_item_type is None:
        if event_type == "Case.Merged":
            detail["changedFieldIds"] = []
        else:
            detail["changedFieldIds"] = [f["eventFieldId"] for f in fields]
        detail["performedBy"] = performed_by
        case = _case_body(tx, sel, domain_id, case_id)
        if case is None:
            return
        detail["case"] = case
        resource = ctx.arn(f"domain/{domain_id}/case/{case_id}")
    else:
        item_id = fields[0]["newValue"]["stringValue"] if fields else ""
        attributes = [f for f in fields if f["eventFieldId"] != "relatedItemId"]
        detail["changedAttributes"] = [f["eventFieldId"] for f in attributes]
        detail["performedBy"] = performed_by
        detail["relatedItem"] = _related_item(
            tx, sel, domain_id, case_id, item_id, related_item_type, attributes, performed_ms
        )
        resource = ctx.arn(f"domain/{domain_id}/case/{case_id}/related-item/{item_id}")
    if merge_metadata:
        detail["mergeMetadata"] = dict(merge_metadata)
    _queue(tx, ctx, domain_id, case_id, _envelope(ctx, domain_id, resource, performed_ms, detail), performed_ms)


def on_case_deleted(tx: Tx, ctx: RequestContext, *, domain_id: str, case_id: str, now_ms: int) -> None:
    """Queue CASE.DELETED; called before the case's rows are deleted, so it carries its values."""
    sel = _selection(tx, domain_id)
    if sel is None:
        return
    case = _case_body(tx, sel, domain_id, case_id)
    if case is None:
        return
    detail = {
        "version": "0",
        "eventType": "CASE.DELETED",
        "approximateChangeTime": ms_to_iso(now_ms),
        "changedFieldIds": [],
        # DeleteCase has no performedBy parameter: only the caller's principal is known.
        "performedBy": {"iamPrincipalArn": ctx.principal_arn},
        "case": case,
    }
    resource = ctx.arn(f"domain/{domain_id}/case/{case_id}")
    _queue(tx, ctx, domain_id, case_id, _envelope(ctx, domain_id, resource, now_ms, detail), now_ms)


def content_key(related_item_type: str) -> str:
    """The member naming an item's content: the lowerCamel type (Comment -> comment)."""
    return related_item_type[:1].lower() + related_item_type[1:]


def _related_item(
    tx: Tx,
    sel: _Selection,
    domain_id: str,
    case_id: str,
    item_id: str,
    type_: str,
    attributes: list[dict[str, Any]],
    performed_ms: int,
) -> dict[str, Any]:
    body: dict[str, Any] = {"relatedItemType": type_, "relatedItemId": item_id, "caseId": case_id}
    row = tx.get_related_item(domain_id, case_id, item_id)
    if row is not None:
        body["createdDateTime"] = ms_to_iso(row["association_ms"])
    if sel.include_content:
        key = content_key(type_)
        if row is not None:
            # Imported here: related_content reaches back to cases, which imports audit.
            from opencases.services import related_content

            rendered = related_content.render(type_, row["content"], performed_ms)
            body[key] = _plain(next(iter(rendered.values())))
        else:
            body[key] = _content_from_attributes(type_, attributes)
    return body


def _plain(value: Any) -> Any:
    """JSON-ready: datetimes become ISO-8601 strings with milliseconds, as elsewhere."""
    if isinstance(value, datetime):
        return ms_to_iso(round(value.timestamp() * 1000))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _scalar(union: dict[str, Any]) -> Any:
    for member in ("stringValue", "doubleValue", "booleanValue", "userArnValue"):
        if member in union:
            return union[member]
    return None


def _content_from_attributes(type_: str, attributes: list[dict[str, Any]]) -> dict[str, Any]:
    """The content of a deleted item from its audited attributes (`comment.body` -> body)."""
    prefix = content_key(type_) + "."
    values = {
        a["eventFieldId"][len(prefix):]: a.get("oldValue", a["newValue"])
        for a in attributes
        if a["eventFieldId"].startswith(prefix)
    }
    if type_ == "Custom":
        return {
            "fields": [
                {"id": name[len("fields."):], "value": union}
                for name, union in values.items()
                if name.startswith("fields.")
            ]
        }
    plain = {name: _scalar(union) for name, union in values.items()}
    if type_ == "Sla":
        if isinstance(plain.get("targetFieldValues"), str):
            plain["targetFieldValues"] = [{"stringValue": v} for v in plain["targetFieldValues"].split(",") if v]
        return {"slaConfiguration": plain}
    return plain
