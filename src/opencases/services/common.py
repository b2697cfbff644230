"""Helpers shared by the service modules: domain lookup, ARNs, quota and name checks."""

from __future__ import annotations

from typing import Any

from opencases.errors import (
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationException,
)
from opencases.services.context import RequestContext
from opencases.store.store import Tx


def domain_arn(ctx: RequestContext, domain_id: str) -> str:
    return ctx.arn(f"domain/{domain_id}")


def child_arn(ctx: RequestContext, domain_id: str, kind: str, item_id: str) -> str:
    """ARNs of things inside a domain: `kind` is field, layout, template, case or case-rule."""
    return ctx.arn(f"domain/{domain_id}/{kind}/{item_id}")


def require_domain(ctx: RequestContext, tx: Tx, domain_id: str) -> dict[str, Any]:
    """The domain row, if it belongs to the caller's account and region; else 404.

    Another account's domain is reported exactly like a missing one, so ids leak nothing.
    """
    return owned_domain(ctx, domain_id, tx.get_domain(domain_id))


def owned_domain(ctx: RequestContext, domain_id: str, row: dict[str, Any] | None) -> dict[str, Any]:
    """require_domain's check of a domain row the caller has read (None: no such domain)."""
    if row is None or row["account"] != ctx.account or row["region"] != ctx.region:
        raise ResourceNotFoundException(
            f"Domain {domain_id} does not exist", resource_id=domain_id, resource_type="Domain"
        )
    return row


def not_found(kind: str, item_id: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"{kind} {item_id} does not exist", resource_id=item_id, resource_type=kind)


def check_quota(ctx: RequestContext, quota: str, current: int, adding: int = 1) -> None:
    limit = ctx.settings.quotas[quota]
    if current + adding > limit:
        readable = quota.replace("_", " ")
        raise ServiceQuotaExceededException(f"Quota exceeded: {readable} is limited to {limit}")


def name_conflict(kind: str, name: str) -> ConflictException:
    return ConflictException(f"A {kind} named '{name}' already exists in this domain")


def require_live_fields(
    tx: Tx, domain_id: str, field_ids: list[str], where: str
) -> dict[str, dict[str, Any]]:
    """The field rows for `field_ids`; ValidationException naming any unknown or deleted ids.

    Layouts, templates, case rules and the event configuration may reference only fields that
    exist and are not deleted ("A ValidationException is returned when you add non-existent
    fieldIds to a layout"). `where` names the referencing member in the message.
    """
    rows = tx.get_fields(domain_id, field_ids)
    missing = [f for f in dict.fromkeys(field_ids) if f not in rows]
    deleted = [f for f in dict.fromkeys(field_ids) if f in rows and rows[f]["deleted"]]
    problems = []
    if missing:
        problems.append(f"fields that do not exist: {', '.join(missing)}")
    if deleted:
        problems.append(f"deleted fields: {', '.join(deleted)}")
    if problems:
        raise ValidationException(f"{where} references " + "; ".join(problems))
    return rows


def live_field_ids(tx: Tx, domain_id: str, field_ids: list[str]) -> set[str]:
    """The subset of `field_ids` that exist and are not deleted: Get* responses omit the rest."""
    return {f for f, row in tx.get_fields(domain_id, field_ids).items() if not row["deleted"]}


def duplicates(values: list[str]) -> list[str]:
    """The values that occur more than once, each named once, in first-repeat order."""
    seen: set[str] = set()
    repeated: dict[str, None] = {}
    for v in values:
        if v in seen:
            repeated[v] = None
        seen.add(v)
    return list(repeated)


def soft_delete(ctx: RequestContext, tx: Tx, kind: str, noun: str, row: dict[str, Any], item_id: str) -> None:
    """DeleteLayout and DeleteTemplate: a soft delete, idempotent (the model says so), at most
    `deleted_<noun>s_per_domain` of them ("You can delete up to 100 ... per domain"). Their
    error lists have no ServiceQuotaExceededException, so the limit is a ValidationException."""
    if row["deleted"]:
        return
    domain_id = row["domain_id"]
    limit = ctx.settings.quotas[f"deleted_{noun}s_per_domain"]
    if tx.count_config(kind, domain_id, deleted=True) >= limit:
        raise ValidationException(f"You can delete up to {limit} {noun}s per domain")
    tx.update_config(kind, domain_id, item_id, {"deleted": True, "modified_ms": ctx.now_ms()})
