"""Fields and their options: CreateField, UpdateField, DeleteField (soft), ListFields,
BatchGetField, BatchPutFieldOptions, ListFieldOptions."""

from __future__ import annotations

from typing import Any

from opencases.errors import ValidationException
from opencases.services import pagination
from opencases.services.common import check_quota, child_arn, name_conflict, not_found, require_domain
from opencases.services.context import RequestContext, ms_to_datetime, new_id
from opencases.services.registry import operation
from opencases.services.system_fields import STATUS_OPTIONS
from opencases.store.errors import UniqueViolation
from opencases.store.store import Tx


def field_arn(ctx: RequestContext, domain_id: str, field_id: str) -> str:
    return child_arn(ctx, domain_id, "field", field_id)


def _check_attributes(field_type: str, attributes: dict[str, Any] | None) -> None:
    if attributes and "text" in attributes and field_type != "Text":
        raise ValidationException(
            f"attributes.text applies to Text fields only; this field's type is {field_type}"
        )


def _require_field(tx: Tx, domain_id: str, field_id: str) -> dict[str, Any]:
    row = tx.get_field(domain_id, field_id)
    if row is None:
        raise not_found("Field", field_id)
    return row


@operation("CreateField")
def create_field(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id = params["domainId"]
    _check_attributes(params["type"], params.get("attributes"))
    field_id = new_id()
    now = ctx.now_ms()
    with ctx.store.write() as tx:
        require_domain(ctx, tx, domain_id)
        check_quota(ctx, "fields_per_domain", tx.count_fields(domain_id, deleted=False))
        try:
            tx.insert_field(
                {
                    "domain_id": domain_id,
                    "field_id": field_id,
                    "name": params["name"],
                    "type": params["type"],
                    "namespace": "Custom",
                    "description": params.get("description"),
                    "attributes": params.get("attributes"),
                    "deleted": False,
                    "created_ms": now,
                    "modified_ms": now,
                    "position": tx.next_field_position(domain_id),
                }
            )
        except UniqueViolation as exc:
            raise name_conflict("field", params["name"]) from exc
    return {"fieldId": field_id, "fieldArn": field_arn(ctx, domain_id, field_id)}


@operation("UpdateField")
def update_field(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, field_id = params["domainId"], params["fieldId"]
    changes: dict[str, Any] = {k: params[k] for k in ("name", "description", "attributes") if k in params}
    if not changes:
        raise ValidationException("At least one of name, description or attributes must be given")
    with ctx.store.write() as tx:
        require_domain(ctx, tx, domain_id)
        row = _require_field(tx, domain_id, field_id)
        if row["namespace"] == "System":
            # "System field names and descriptions cannot be changed" (admin guide).
            raise ValidationException(f"Field {field_id} is a System field and cannot be updated")
        if row["deleted"]:
            raise ValidationException(f"Field {field_id} is deleted and cannot be updated")
        _check_attributes(row["type"], changes.get("attributes"))
        changes["modified_ms"] = ctx.now_ms()
        try:
            tx.update_field(domain_id, field_id, changes)
        except UniqueViolation as exc:
            raise name_conflict("field", params["name"]) from exc
    return {}


@operation("DeleteField")
def delete_field(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, field_id = params["domainId"], params["fieldId"]
    with ctx.store.write() as tx:
        require_domain(ctx, tx, domain_id)
        row = _require_field(tx, domain_id, field_id)
        if row["namespace"] == "System":
            raise ValidationException(f"Field {field_id} is a System field and cannot be deleted")
        if row["deleted"]:
            return {}  # the model marks DeleteField idempotent: a repeat is a no-op
        # "You can delete up to 100 fields per domain" (older model docs).
        check_quota(ctx, "deleted_fields_per_domain", tx.count_fields(domain_id, deleted=True))
        tx.update_field(domain_id, field_id, {"deleted": True, "modified_ms": ctx.now_ms()})
    return {}


def _summary(ctx: RequestContext, row: dict[str, Any]) -> dict[str, Any]:
    out = {
        "fieldId": row["field_id"],
        "fieldArn": field_arn(ctx, row["domain_id"], row["field_id"]),
        "name": row["name"],
        "type": row["type"],
        "namespace": row["namespace"],
    }
    if row["attributes"]:
        out["attributes"] = row["attributes"]
    return out


@operation("ListFields")
def list_fields(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id = params["domainId"]
    after = pagination.decode("ListFields", params)
    limit = pagination.page_size(params, 100)
    with ctx.store.read() as tx:
        require_domain(ctx, tx, domain_id)
        rows = tx.list_fields(domain_id, after, limit + 1)
    out: dict[str, Any] = {"fields": [_summary(ctx, r) for r in rows[:limit]]}
    if len(rows) > limit:
        out["nextToken"] = pagination.encode("ListFields", params, rows[limit - 1]["position"])
    return out


@operation("BatchGetField")
def batch_get_field(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id = params["domainId"]
    ids = [f["id"] for f in params["fields"]]
    with ctx.store.read() as tx:
        require_domain(ctx, tx, domain_id)
        rows = tx.get_fields(domain_id, ids)
        found, errors = [], []
        for field_id in dict.fromkeys(ids):
            row = rows.get(field_id)
            if row is None:
                errors.append(
                    {"id": field_id, "errorCode": "NotFound", "message": f"Field {field_id} does not exist"}
                )
                continue
            arn = field_arn(ctx, domain_id, field_id)
            item = _summary(ctx, row) | {
                "description": row["description"],
                "tags": tx.get_tags(arn),
                # Deleted fields are still returned, flagged (DeleteField doc).
                "deleted": bool(row["deleted"]),
                "createdTime": ms_to_datetime(row["created_ms"]),
                "lastModifiedTime": ms_to_datetime(row["modified_ms"]),
            }
            found.append(item)
    return {"fields": found, "errors": errors}


def _require_select_field(tx: Tx, domain_id: str, field_id: str) -> dict[str, Any]:
    row = _require_field(tx, domain_id, field_id)
    if row["deleted"]:
        raise ValidationException(f"Field {field_id} is deleted")
    if row["type"] != "SingleSelect":
        raise ValidationException(f"Field {field_id} is of type {row['type']}; options need a SingleSelect field")
    return row


@operation("BatchPutFieldOptions")
def batch_put_field_options(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, field_id = params["domainId"], params["fieldId"]
    errors: list[dict[str, Any]] = []
    with ctx.store.write() as tx:
        require_domain(ctx, tx, domain_id)
        _require_select_field(tx, domain_id, field_id)
        existing = tx.get_options(domain_id, field_id)
        accepted: dict[str, dict[str, Any]] = {}
        for option in params["options"]:
            value = option["value"]
            if value in accepted:
                errors.append({"errorCode": "DuplicateValue", "value": value,
                               "message": f"Option value '{value}' appears more than once in the request"})
                continue
            if field_id == "status" and value in dict((v, n) for n, v in STATUS_OPTIONS) and not option["active"]:
                # "Open" and "Closed" ship with every domain and "cannot be changed".
                errors.append({"errorCode": "ValidationException", "value": value,
                               "message": f"The status option '{value}' cannot be deactivated"})
                continue
            accepted[value] = option
        new_values = [v for v in accepted if v not in existing]
        check_quota(ctx, "options_per_field", len(existing), len(new_values))
        position = max((o["position"] for o in existing.values()), default=0)
        for value, option in accepted.items():
            if value not in existing:
                position += 1
            tx.upsert_option(
                {
                    "domain_id": domain_id,
                    "field_id": field_id,
                    "value": value,
                    "name": option["name"],
                    "active": bool(option["active"]),
                    "position": existing[value]["position"] if value in existing else position,
                },
                exists=value in existing,
            )
    return {"errors": errors}


@operation("ListFieldOptions")
def list_field_options(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, field_id = params["domainId"], params["fieldId"]
    after = pagination.decode("ListFieldOptions", params)
    limit = pagination.page_size(params, 100)
    with ctx.store.read() as tx:
        require_domain(ctx, tx, domain_id)
        _require_field(tx, domain_id, field_id)
        rows = tx.list_options(domain_id, field_id, params.get("values"), after, limit + 1)
    out: dict[str, Any] = {
        "options": [{"name": r["name"], "value": r["value"], "active": bool(r["active"])} for r in rows[:limit]]
    }
    if len(rows) > limit:
        out["nextToken"] = pagination.encode("ListFieldOptions", params, rows[limit - 1]["position"])
    return out
