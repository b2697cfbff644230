"""Templates: CreateTemplate, GetTemplate, UpdateTemplate (partial), DeleteTemplate (soft),
ListTemplates.

The members other than name, description and status live in the row's `doc` JSON, each key
present only once given: layoutConfiguration, requiredFields, rules, tagPropagationConfigurations.
CreateCase reads a template through `tx.get_config("template", ...)`.
"""

from __future__ import annotations

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
from opencases.store.errors import UniqueViolation
from opencases.store.store import Tx

DOC_KEYS = ("layoutConfiguration", "requiredFields", "rules", "tagPropagationConfigurations")

# Rule types that act on the field named by the template's rules[].fieldId.
_FIELD_RULE_TYPES = ("Required", "Hidden")


def template_arn(ctx: RequestContext, domain_id: str, template_id: str) -> str:
    return child_arn(ctx, domain_id, "template", template_id)


def _check_layout(tx: Tx, domain_id: str, config: dict[str, Any]) -> None:
    layout_id = config.get("defaultLayout")
    if layout_id is None:
        return
    row = tx.get_config("layout", domain_id, layout_id)
    if row is None:
        raise ValidationException(f"layoutConfiguration.defaultLayout: layout {layout_id} does not exist")
    if row["deleted"]:
        raise ValidationException(f"layoutConfiguration.defaultLayout: layout {layout_id} is deleted")


def _check_required_fields(tx: Tx, domain_id: str, required: list[dict[str, Any]]) -> None:
    ids = [r["fieldId"] for r in required]
    repeated = duplicates(ids)
    if repeated:
        # "multiple fields with same IDs are not allowed within the same Template"
        raise ValidationException(f"requiredFields lists a field more than once: {', '.join(repeated)}")
    require_live_fields(tx, domain_id, ids, "requiredFields")


def _check_rules(tx: Tx, domain_id: str, rules: list[dict[str, Any]]) -> None:
    rule_ids = [r["caseRuleId"] for r in rules]
    found = tx.get_configs("case_rule", domain_id, rule_ids)
    missing = [r for r in dict.fromkeys(rule_ids) if r not in found]
    if missing:
        raise ValidationException(f"rules references case rules that do not exist: {', '.join(missing)}")
    gone = [r for r in dict.fromkeys(rule_ids) if found[r]["deleted"]]
    if gone:
        raise ValidationException(f"rules references deleted case rules: {', '.join(gone)}")
    pairs = [f"{r['caseRuleId']}/{r.get('fieldId') or ''}" for r in rules]
    repeated = duplicates(pairs)
    if repeated:
        raise ValidationException(
            f"rules lists the same case rule and field more than once: {', '.join(repeated)}"
        )
    require_live_fields(tx, domain_id, [r["fieldId"] for r in rules if r.get("fieldId") is not None], "rules")
    per_field: dict[tuple[str, str], str] = {}
    for r in rules:
        rule_type = found[r["caseRuleId"]]["rule_type"]
        if rule_type not in _FIELD_RULE_TYPES:
            continue
        field_id = r.get("fieldId")
        if field_id is None:
            raise ValidationException(
                f"rules: case rule {r['caseRuleId']} is a {rule_type} rule and needs a fieldId"
            )
        # Two Required (or two Hidden) rules on one field would contradict each other.
        other = per_field.setdefault((field_id, rule_type), r["caseRuleId"])
        if other != r["caseRuleId"]:
            raise ValidationException(
                f"rules: field {field_id} has more than one {rule_type} rule ({other}, {r['caseRuleId']})"
            )


def _check_tag_propagation(configs: list[dict[str, Any]]) -> None:
    for config in configs:
        reserved = [k for k in config["tagMap"] if k.lower().startswith("aws:")]
        if reserved:
            raise ValidationException(f"Tag keys starting with 'aws:' are reserved: {', '.join(reserved)}")


def _check_doc(tx: Tx, domain_id: str, doc: dict[str, Any]) -> None:
    """Validate the doc members present in `doc` (an update checks only what it changes)."""
    if "layoutConfiguration" in doc:
        _check_layout(tx, domain_id, doc["layoutConfiguration"])
    if "requiredFields" in doc:
        _check_required_fields(tx, domain_id, doc["requiredFields"])
    if "rules" in doc:
        _check_rules(tx, domain_id, doc["rules"])
    if "tagPropagationConfigurations" in doc:
        _check_tag_propagation(doc["tagPropagationConfigurations"])


def _require_template(tx: Tx, domain_id: str, template_id: str) -> dict[str, Any]:
    row = tx.get_config("template", domain_id, template_id)
    if row is None:
        raise not_found("Template", template_id)
    return row


@operation("CreateTemplate")
def create_template(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id = params["domainId"]
    template_id = new_id()
    doc = {k: params[k] for k in DOC_KEYS if params.get(k) is not None}
    now = ctx.now_ms()
    with ctx.store.write() as tx:
        require_domain(ctx, tx, domain_id)
        check_quota(ctx, "templates_per_domain", tx.count_config("template", domain_id, deleted=False))
        _check_doc(tx, domain_id, doc)
        try:
            tx.insert_config(
                "template",
                {
                    "domain_id": domain_id,
                    "template_id": template_id,
                    "name": params["name"],
                    "description": params.get("description"),
                    # Undocumented default: a template is usable as soon as it is created.
                    "status": params.get("status", "Active"),
                    "doc": doc,
                    "deleted": False,
                    "created_ms": now,
                    "modified_ms": now,
                },
            )
        except UniqueViolation as exc:
            raise name_conflict("template", params["name"]) from exc
    return {"templateId": template_id, "templateArn": template_arn(ctx, domain_id, template_id)}


@operation("GetTemplate")
def get_template(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, template_id = params["domainId"], params["templateId"]
    with ctx.store.read() as tx:
        require_domain(ctx, tx, domain_id)
        row = _require_template(tx, domain_id, template_id)
        doc = dict(row["doc"] or {})
        # GetTemplate omits fields deleted since the template was saved (DeleteField doc).
        referenced = [r["fieldId"] for r in doc.get("requiredFields") or []]
        referenced += [r["fieldId"] for r in doc.get("rules") or [] if r.get("fieldId") is not None]
        live = live_field_ids(tx, domain_id, referenced)
        if "requiredFields" in doc:
            doc["requiredFields"] = [r for r in doc["requiredFields"] if r["fieldId"] in live]
        if "rules" in doc:
            doc["rules"] = [r for r in doc["rules"] if r.get("fieldId") is None or r["fieldId"] in live]
        arn = template_arn(ctx, domain_id, template_id)
        return {
            "templateId": template_id,
            "templateArn": arn,
            "name": row["name"],
            "description": row["description"],
            "status": row["status"],
            **doc,
            "tags": tx.get_tags(arn),
            # A deleted template is still returned, flagged (DeleteTemplate doc).
            "deleted": bool(row["deleted"]),
            "createdTime": ms_to_datetime(row["created_ms"]),
            "lastModifiedTime": ms_to_datetime(row["modified_ms"]),
        }


@operation("UpdateTemplate")
def update_template(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, template_id = params["domainId"], params["templateId"]
    # "If a null value is provided for a given attribute, that attribute is ignored and its
    # current value is preserved."
    changes = {k: params[k] for k in ("name", "description", "status") if params.get(k) is not None}
    doc_changes = {k: params[k] for k in DOC_KEYS if params.get(k) is not None}
    if not changes and not doc_changes:
        # "At least one of these attributes must not be null."
        raise ValidationException(
            "At least one of name, description, layoutConfiguration, requiredFields, status, rules "
            "or tagPropagationConfigurations must be given"
        )
    with ctx.store.write() as tx:
        require_domain(ctx, tx, domain_id)
        row = _require_template(tx, domain_id, template_id)
        if row["deleted"]:
            raise ValidationException(f"Template {template_id} is deleted and cannot be updated")
        _check_doc(tx, domain_id, doc_changes)
        if doc_changes:
            changes["doc"] = {**(row["doc"] or {}), **doc_changes}
        changes["modified_ms"] = ctx.now_ms()
        try:
            tx.update_config("template", domain_id, template_id, changes)
        except UniqueViolation as exc:
            raise name_conflict("template", params["name"]) from exc
    return {}


@operation("DeleteTemplate")
def delete_template(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, template_id = params["domainId"], params["templateId"]
    with ctx.store.write() as tx:
        require_domain(ctx, tx, domain_id)
        soft_delete(ctx, tx, "template", "template", _require_template(tx, domain_id, template_id), template_id)
    return {}


@operation("ListTemplates")
def list_templates(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id = params["domainId"]
    after = pagination.decode_created_key("ListTemplates", params)
    limit = pagination.page_size(params, 100)
    with ctx.store.read() as tx:
        require_domain(ctx, tx, domain_id)
        rows = tx.list_config("template", domain_id, after, limit + 1, statuses=params.get("status"))
    templates = []
    for r in rows[:limit]:
        summary = {
            "templateId": r["template_id"],
            "templateArn": template_arn(ctx, domain_id, r["template_id"]),
            "name": r["name"],
            "status": r["status"],
        }
        if (r["doc"] or {}).get("tagPropagationConfigurations"):
            summary["tagPropagationConfigurations"] = r["doc"]["tagPropagationConfigurations"]
        templates.append(summary)
    out: dict[str, Any] = {"templates": templates}
    if len(rows) > limit:
        last = rows[limit - 1]
        position = [last["created_ms"], last["template_id"]]
        out["nextToken"] = pagination.encode("ListTemplates", params, position)
    return out
