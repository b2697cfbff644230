"""Related items of a case: CreateRelatedItem, UpdateRelatedItem, DeleteRelatedItem and
SearchRelatedItems, plus the shared create/delete steps used by BatchCreateRelatedItem and
StartMergeCases.

Every change writes its RelatedItem.* audit event in the same transaction and counts as a
change of the case (last_updated_datetime / last_updated_user move; no Case.Updated event, the
RelatedItem.* event is the record).
"""

from __future__ import annotations

from typing import Any

from opencases.errors import ConflictException, ValidationException
from opencases.services import audit, case_link, pagination, sla
from opencases.services import related_content as rc
from opencases.services.common import check_quota, not_found, require_domain
from opencases.services.context import RequestContext, ms_to_datetime, new_id
from opencases.services.registry import operation
from opencases.services.related_search import matches_any
from opencases.store.store import Tx

# Per-type quotas on top of related_items_per_case.
TYPE_QUOTAS = {"File": "files_per_case", "Sla": "slas_per_case"}

UPDATABLE = {"Comment": "comment", "Custom": "custom", "Sla": "sla"}


def item_arn(ctx: RequestContext, domain_id: str, case_id: str, related_item_id: str) -> str:
    return ctx.arn(f"domain/{domain_id}/case/{case_id}/related-item/{related_item_id}")


def running_merge_conflict(case: dict[str, Any]) -> ConflictException | None:
    """While a merge runs, its secondary case and that case's related items are immutable."""
    state = case.get("merge_state") or {}
    if state.get("role") == "secondary" and state.get("status") == "IN_PROGRESS":
        return ConflictException(f"Case {case['case_id']} is the secondary case of a merge that is running")
    return None


def writable_case(tx: Tx, ctx: RequestContext, domain_id: str, case_id: str) -> dict[str, Any]:
    """The case row, locked, for a related-item write; 404 or ConflictException otherwise."""
    case = case_link.load_case(tx, ctx, domain_id, case_id, for_update=True)
    conflict = running_merge_conflict(case)
    if conflict:
        raise conflict
    return case


def check_item_quotas(ctx: RequestContext, counts: dict[str, int], type_: str) -> None:
    check_quota(ctx, "related_items_per_case", sum(counts.values()))
    if type_ in TYPE_QUOTAS:
        check_quota(ctx, TYPE_QUOTAS[type_], counts.get(type_, 0))


def insert_item(
    tx: Tx,
    ctx: RequestContext,
    *,
    domain_id: str,
    case_id: str,
    type_: str,
    stored: dict[str, Any],
    search_key: str | None,
    user: dict[str, Any] | None,
    now_ms: int,
    merge_metadata: dict[str, Any] | None = None,
) -> str:
    """Insert a validated item with its RelatedItem.Created audit; the new item's id."""
    related_item_id = new_id()
    tx.insert_related_item(
        {
            "domain_id": domain_id,
            "related_item_id": related_item_id,
            "case_id": case_id,
            "type": type_,
            "content": stored,
            "search_key": search_key,
            "association_ms": now_ms,
            "created_by": user,
            "last_updated_user": user,
            "modified_ms": now_ms,
        }
    )
    audit.record(
        tx, ctx, domain_id=domain_id, case_id=case_id, event_type="RelatedItem.Created",
        fields=rc.audit_fields(related_item_id, None, rc.audit_attributes(type_, stored)),
        user=user, performed_ms=now_ms, related_item_type=type_, merge_metadata=merge_metadata,
    )
    if type_ == "Sla":
        sla.refresh_breach(tx, ctx, domain_id, case_id)
    return related_item_id


def remove_item(
    tx: Tx,
    ctx: RequestContext,
    row: dict[str, Any],
    *,
    user: dict[str, Any] | None,
    now_ms: int,
    merge_metadata: dict[str, Any] | None = None,
) -> None:
    """Delete an item, its tags, with its RelatedItem.Deleted audit."""
    domain_id, case_id, type_ = row["domain_id"], row["case_id"], row["type"]
    tx.delete_related_items(domain_id, [row["related_item_id"]])
    tx.delete_tags_under(item_arn(ctx, domain_id, case_id, row["related_item_id"]))
    audit.record(
        tx, ctx, domain_id=domain_id, case_id=case_id, event_type="RelatedItem.Deleted",
        fields=rc.audit_fields(row["related_item_id"], rc.audit_attributes(type_, row["content"]), None),
        user=user, performed_ms=now_ms, related_item_type=type_, merge_metadata=merge_metadata,
    )
    if type_ == "Sla":
        sla.refresh_breach(tx, ctx, domain_id, case_id)


@operation("CreateRelatedItem")
def create_related_item(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, case_id, type_ = params["domainId"], params["caseId"], params["type"]
    user = params.get("performedBy")
    with ctx.store.write() as tx:
        now = ctx.now_ms()  # stamped holding the writer: see SNAPSHOT_LAG_MS
        require_domain(ctx, tx, domain_id)
        writable_case(tx, ctx, domain_id, case_id)
        stored, key = rc.build(tx, ctx, domain_id, case_id, type_, params["content"], now)
        check_item_quotas(ctx, tx.count_related_items_by_type(domain_id, case_id), type_)
        related_item_id = insert_item(
            tx, ctx, domain_id=domain_id, case_id=case_id, type_=type_, stored=stored,
            search_key=key, user=user, now_ms=now,
        )
        case_link.touch_case(tx, domain_id, case_id, user, now)
    return {"relatedItemId": related_item_id, "relatedItemArn": item_arn(ctx, domain_id, case_id, related_item_id)}


def _require_item(tx: Tx, domain_id: str, case_id: str, related_item_id: str) -> dict[str, Any]:
    row = tx.get_related_item(domain_id, case_id, related_item_id)
    if row is None:
        raise not_found("RelatedItem", related_item_id)
    return row


def _updated_content(
    tx: Tx, ctx: RequestContext, row: dict[str, Any], content: dict[str, Any]
) -> dict[str, Any]:
    type_ = row["type"]
    if type_ not in UPDATABLE:
        raise ValidationException(
            f"Related items of type {type_} cannot be updated; only Comment, Custom and Sla items can"
        )
    given = rc.given_member(content)
    if given != UPDATABLE[type_]:
        raise ValidationException(
            f"content.{given} does not match the related item's type {type_}: expected content.{UPDATABLE[type_]}"
        )
    body = content[given]
    if type_ == "Comment":
        return {"body": body["body"], "contentType": body["contentType"]}
    if type_ == "Custom":
        # A full replacement: fields left out are removed (UpdateRelatedItem doc).
        return {"fields": rc.custom_fields(tx, ctx, row["domain_id"], body["fields"], "content.custom")}
    minutes = body["slaUpdateConfiguration"]["targetSlaMinutes"]
    return sla.with_new_target(row["content"], row["association_ms"], minutes)


def describe(ctx: RequestContext, tx: Tx, row: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """The common description of an item (SearchRelatedItems' item plus the ARN)."""
    arn = item_arn(ctx, row["domain_id"], row["case_id"], row["related_item_id"])
    out: dict[str, Any] = {
        "relatedItemId": row["related_item_id"],
        "relatedItemArn": arn,
        "type": row["type"],
        "associationTime": ms_to_datetime(row["association_ms"]),
        "content": rc.render(row["type"], row["content"], now_ms),
        "tags": tx.get_tags(arn),
    }
    if row["created_by"]:
        out["createdBy"] = row["created_by"]
    if row["last_updated_user"]:
        out["lastUpdatedUser"] = row["last_updated_user"]
    return out


@operation("UpdateRelatedItem")
def update_related_item(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, case_id, related_item_id = params["domainId"], params["caseId"], params["relatedItemId"]
    user = params.get("performedBy")
    with ctx.store.write() as tx:
        now = ctx.now_ms()  # stamped holding the writer: see SNAPSHOT_LAG_MS
        require_domain(ctx, tx, domain_id)
        writable_case(tx, ctx, domain_id, case_id)
        row = _require_item(tx, domain_id, case_id, related_item_id)
        stored = _updated_content(tx, ctx, row, params["content"])
        tx.update_related_item(
            domain_id, related_item_id, {"content": stored, "last_updated_user": user, "modified_ms": now}
        )
        type_ = row["type"]
        audit.record(
            tx, ctx, domain_id=domain_id, case_id=case_id, event_type="RelatedItem.Updated",
            fields=rc.audit_fields(
                related_item_id, rc.audit_attributes(type_, row["content"]), rc.audit_attributes(type_, stored)
            ),
            user=user, performed_ms=now, related_item_type=type_,
        )
        if type_ == "Sla":
            sla.refresh_breach(tx, ctx, domain_id, case_id)
        case_link.touch_case(tx, domain_id, case_id, user, now)
        row = row | {"content": stored, "last_updated_user": user, "modified_ms": now}
        return describe(ctx, tx, row, now)


@operation("DeleteRelatedItem")
def delete_related_item(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, case_id, related_item_id = params["domainId"], params["caseId"], params["relatedItemId"]
    with ctx.store.write() as tx:
        now = ctx.now_ms()  # stamped holding the writer: see SNAPSHOT_LAG_MS
        require_domain(ctx, tx, domain_id)
        writable_case(tx, ctx, domain_id, case_id)
        row = _require_item(tx, domain_id, case_id, related_item_id)
        if row["type"] == "File":
            # "This API cannot be used on a FILE type related attachment" (use DeleteAttachedFile).
            raise ValidationException(
                "DeleteRelatedItem cannot delete File related items; delete the file with "
                "Amazon Connect DeleteAttachedFile"
            )
        remove_item(tx, ctx, row, user=None, now_ms=now)
        case_link.touch_case(tx, domain_id, case_id, None, now)
    return {}


@operation("SearchRelatedItems")
def search_related_items(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, case_id = params["domainId"], params["caseId"]
    after = pagination.decode("SearchRelatedItems", params)
    limit = pagination.page_size(params, 25)
    filters = params.get("filters") or []
    now = ctx.now_ms()
    with ctx.store.read() as tx:
        require_domain(ctx, tx, domain_id)
        case_link.load_case(tx, ctx, domain_id, case_id)
        # At most related_items_per_case rows (200 by default): filtered here, since an SLA's
        # status depends on the clock and Custom filters nest arbitrarily.
        rows = [r for r in tx.case_related_items(domain_id, case_id) if matches_any(r, filters, now)]
        # Ordered here, not by the database, so the order is the one the token compares with.
        rows.sort(key=lambda r: (r["association_ms"], r["related_item_id"]), reverse=True)
        if after is not None:
            position = (int(after[0]), str(after[1]))
            # Newest first, then id descending: resume strictly below the last position.
            rows = [r for r in rows if (r["association_ms"], r["related_item_id"]) < position]
        page = rows[:limit]
        items = []
        for r in page:
            d = describe(ctx, tx, r, now)
            item = {k: d[k] for k in ("relatedItemId", "type", "associationTime", "content", "tags")}
            if "createdBy" in d:
                item["performedBy"] = d["createdBy"]
            items.append(item)
    out: dict[str, Any] = {"relatedItems": items}
    if len(rows) > limit:
        last = page[-1]
        out["nextToken"] = pagination.encode(
            "SearchRelatedItems", params, [last["association_ms"], last["related_item_id"]]
        )
    return out
