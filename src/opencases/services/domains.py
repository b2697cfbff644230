"""Domains: CreateDomain provisions the system fields; DeleteDomain removes everything in it."""

from __future__ import annotations

from typing import Any

from opencases.errors import ConflictException
from opencases.services import pagination
from opencases.services.common import check_quota, domain_arn, require_domain
from opencases.services.context import RequestContext, ms_to_datetime, new_id
from opencases.services.registry import operation
from opencases.services.system_fields import STATUS_OPTIONS, SYSTEM_FIELDS
from opencases.store.errors import UniqueViolation


@operation("CreateDomain")
def create_domain(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id = new_id()
    now = ctx.now_ms()
    with ctx.store.write() as tx:
        check_quota(ctx, "domains_per_account", tx.count_domains(ctx.account, ctx.region))
        try:
            tx.insert_domain(
                {
                    "domain_id": domain_id,
                    "account": ctx.account,
                    "region": ctx.region,
                    "name": params["name"],
                    "status": "Active",
                    "created_ms": now,
                }
            )
        except UniqueViolation as exc:
            raise ConflictException(f"A domain named '{params['name']}' already exists") from exc
        for position, f in enumerate(SYSTEM_FIELDS, start=1):
            tx.insert_field(
                {
                    "domain_id": domain_id,
                    "field_id": f["id"],
                    "name": f["name"],
                    "type": f["type"],
                    "namespace": "System",
                    "description": f.get("description"),
                    "attributes": f.get("attributes"),
                    "deleted": False,
                    "created_ms": now,
                    "modified_ms": now,
                    "position": position,
                }
            )
        # status ships with open/closed, lowercase values (SPEC.md section 1.2).
        for position, (name, value) in enumerate(STATUS_OPTIONS, start=1):
            tx.upsert_option(
                {
                    "domain_id": domain_id,
                    "field_id": "status",
                    "value": value,
                    "name": name,
                    "active": True,
                    "position": position,
                },
                exists=False,
            )
    return {"domainId": domain_id, "domainArn": domain_arn(ctx, domain_id), "domainStatus": "Active"}


@operation("GetDomain")
def get_domain(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.store.read() as tx:
        row = require_domain(ctx, tx, params["domainId"])
        arn = domain_arn(ctx, row["domain_id"])
        return {
            "domainId": row["domain_id"],
            "domainArn": arn,
            "name": row["name"],
            "createdTime": ms_to_datetime(row["created_ms"]),
            "domainStatus": row["status"],
            "tags": tx.get_tags(arn),
        }


@operation("ListDomains")
def list_domains(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    after = pagination.decode("ListDomains", params)
    limit = pagination.page_size(params, 10)
    with ctx.store.read() as tx:
        rows = tx.list_domains(ctx.account, ctx.region, tuple(after) if after else None, limit + 1)
    out: dict[str, Any] = {
        "domains": [
            {"domainId": r["domain_id"], "domainArn": domain_arn(ctx, r["domain_id"]), "name": r["name"]}
            for r in rows[:limit]
        ]
    }
    if len(rows) > limit:
        last = rows[limit - 1]
        out["nextToken"] = pagination.encode("ListDomains", params, [last["created_ms"], last["domain_id"]])
    return out


@operation("DeleteDomain")
def delete_domain(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.store.write() as tx:
        row = require_domain(ctx, tx, params["domainId"])
        # A hard delete: cases, configuration, tags, audit and undelivered events all go.
        tx.delete_domain(row["domain_id"])
    return {}
