"""Layouts: CreateLayout, GetLayout, UpdateLayout, DeleteLayout (soft), ListLayouts.

A layout's content is the `basic` union member: a top panel and a More Info tab, each with at
most one field group. It is stored as given; GetLayout drops fields deleted since.
"""

from __future__ import annotations

import copy
from typing import Any

from opencases.errors import ValidationException
from opencases.services import pagination
from opencases.services.common import (
    check_quota,
    child_arn,
    duplicates,
    live_field_ids,
    name_conflict,
    not_found,
    require_domain,
    require_live_fields,
    soft_delete,
)
from opencases.services.context import RequestContext, ms_to_datetime, new_id
from opencases.services.registry import operation
from opencases.services.system_fields import NOT_IN_LAYOUTS
from opencases.store.errors import UniqueViolation
from opencases.store.store import Tx

PANELS = ("topPanel", "moreInfo")


def layout_arn(ctx: RequestContext, domain_id: str, layout_id: str) -> str:
    return child_arn(ctx, domain_id, "layout", layout_id)


def _field_items(content: dict[str, Any]) -> list[dict[str, Any]]:
    """Every field item of the content, top panel first, in order."""
    basic = content.get("basic") or {}
    items: list[dict[str, Any]] = []
    for panel in PANELS:
        for section in (basic.get(panel) or {}).get("sections") or []:
            items.extend((section.get("fieldGroup") or {}).get("fields") or [])
    return items


def _check_content(ctx: RequestContext, tx: Tx, domain_id: str, content: dict[str, Any]) -> None:
    ids = [item["id"] for item in _field_items(content)]
    fixed = [f for f in dict.fromkeys(ids) if f in NOT_IN_LAYOUTS]
    if fixed:
        # "Title and Status fields cannot be part of layouts since they are not configurable."
        raise ValidationException(f"Title and Status fields cannot be part of layouts: {', '.join(fixed)}")
    repeated = duplicates(ids)
    if repeated:
        raise ValidationException(f"A field can appear only once in a layout: {', '.join(repeated)}")
    # "Case fields per case layout": 100, not adjustable; both panels count.
    check_quota(ctx, "fields_per_layout", 0, len(ids))
    require_live_fields(tx, domain_id, ids, "The layout")


def _require_layout(tx: Tx, domain_id: str, layout_id: str) -> dict[str, Any]:
    row = tx.get_config("layout", domain_id, layout_id)
    if row is None:
        raise not_found("Layout", layout_id)
    return row


def _without_deleted_fields(tx: Tx, domain_id: str, content: dict[str, Any]) -> dict[str, Any]:
    """GetLayout omits field ids that were deleted after the layout was saved (model doc)."""
    live = live_field_ids(tx, domain_id, [item["id"] for item in _field_items(content)])
    out = copy.deepcopy(content)
    for panel in PANELS:
        for section in ((out.get("basic") or {}).get(panel) or {}).get("sections") or []:
            group = section.get("fieldGroup")
            if group is not None:
                group["fields"] = [item for item in group.get("fields") or [] if item["id"] in live]
    return out


@operation("CreateLayout")
def create_layout(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id = params["domainId"]
    layout_id = new_id()
    now = ctx.now_ms()
    with ctx.store.write() as tx:
        require_domain(ctx, tx, domain_id)
        check_quota(ctx, "layouts_per_domain", tx.count_config("layout", domain_id, deleted=False))
        _check_content(ctx, tx, domain_id, params["content"])
        try:
            tx.insert_config(
                "layout",
                {
                    "domain_id": domain_id,
                    "layout_id": layout_id,
                    "name": params["name"],
                    "content": params["content"],
                    "deleted": False,
                    "created_ms": now,
                    "modified_ms": now,
                },
            )
        except UniqueViolation as exc:
            raise name_conflict("layout", params["name"]) from exc
    return {"layoutId": layout_id, "layoutArn": layout_arn(ctx, domain_id, layout_id)}


@operation("GetLayout")
def get_layout(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, layout_id = params["domainId"], params["layoutId"]
    with ctx.store.read() as tx:
        require_domain(ctx, tx, domain_id)
        row = _require_layout(tx, domain_id, layout_id)
        arn = layout_arn(ctx, domain_id, layout_id)
        return {
            "layoutId": layout_id,
            "layoutArn": arn,
            "name": row["name"],
            "content": _without_deleted_fields(tx, domain_id, row["content"]),
            "tags": tx.get_tags(arn),
            # A deleted layout is still returned, flagged (DeleteLayout doc).
            "deleted": bool(row["deleted"]),
            "createdTime": ms_to_datetime(row["created_ms"]),
            "lastModifiedTime": ms_to_datetime(row["modified_ms"]),
        }


@operation("UpdateLayout")
def update_layout(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, layout_id = params["domainId"], params["layoutId"]
    changes = {k: params[k] for k in ("name", "content") if params.get(k) is not None}
    if not changes:
        raise ValidationException("At least one of name or content must be given")
    with ctx.store.write() as tx:
        require_domain(ctx, tx, domain_id)
        row = _require_layout(tx, domain_id, layout_id)
        if row["deleted"]:
            # "You cannot update a deleted layout by calling UpdateLayout; it throws a ValidationException."
            raise ValidationException(f"Layout {layout_id} is deleted and cannot be updated")
        if "content" in changes:
            _check_content(ctx, tx, domain_id, changes["content"])
        changes["modified_ms"] = ctx.now_ms()
        try:
            tx.update_config("layout", domain_id, layout_id, changes)
        except UniqueViolation as exc:
            raise name_conflict("layout", params["name"]) from exc
    return {}


@operation("DeleteLayout")
def delete_layout(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, layout_id = params["domainId"], params["layoutId"]
    with ctx.store.write() as tx:
        require_domain(ctx, tx, domain_id)
        soft_delete(ctx, tx, "layout", "layout", _require_layout(tx, domain_id, layout_id), layout_id)
    return {}


@operation("ListLayouts")
def list_layouts(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id = params["domainId"]
    after = pagination.decode_created_key("ListLayouts", params)
    limit = pagination.page_size(params, 100)
    with ctx.store.read() as tx:
        require_domain(ctx, tx, domain_id)
        rows = tx.list_config("layout", domain_id, after, limit + 1)
    out: dict[str, Any] = {
        "layouts": [
            {
                "layoutId": r["layout_id"],
                "layoutArn": layout_arn(ctx, domain_id, r["layout_id"]),
                "name": r["name"],
            }
            for r in rows[:limit]
        ]
    }
    if len(rows) > limit:
        last = rows[limit - 1]
        out["nextToken"] = pagination.encode("ListLayouts", params, [last["created_ms"], last["layout_id"]])
    return out
