"""Case rules (case field conditions in the admin site): CreateCaseRule, UpdateCaseRule,
DeleteCaseRule (soft), BatchGetCaseRule, ListCaseRules.

A rule is stored as given, with its type (the `CaseRuleDetails` union member) in a column of
its own for ListCaseRules. Templates attach rules to fields; whether CreateCase/UpdateCase
enforce them is the cases module's business (DESIGN.md: only with --enforce-case-rules).
"""

from __future__ import annotations

from typing import Any

from opencases.errors import ConflictException, ValidationException
from opencases.services import pagination
from opencases.services.common import (
    check_quota,
    child_arn,
    duplicates,
    name_conflict,
    not_found,
    require_domain,
    require_live_fields,
)
from opencases.services.context import RequestContext, ms_to_datetime, new_id
from opencases.services.registry import operation
from opencases.store.errors import UniqueViolation
from opencases.store.store import Tx

RULE_TYPES = {"required": "Required", "hidden": "Hidden", "fieldOptions": "FieldOptions"}

# "A case rule can have a maximum of 5 conditions, spread across a maximum of 2 levels of
# nesting" (CompoundCondition doc). Conditions are the comparisons (equalTo, notEqualTo);
# level 1 is the rule's own list, level 2 the list inside a top-level andAll/orAll.
MAX_CONDITIONS = 5
MAX_LEVELS = 2

# The operandTwo member a comparison with a field of each type must use (emptyValue: any type).
_OPERAND_FOR_TYPE = {
    "Text": "stringValue",
    "SingleSelect": "stringValue",
    "Url": "stringValue",
    "DateTime": "stringValue",
    "User": "stringValue",
    "Number": "doubleValue",
    "Boolean": "booleanValue",
}


def _member(union: dict[str, Any]) -> str:
    """The one member set in a union (the wire layer has already checked there is one)."""
    return next(k for k, v in union.items() if v is not None)


def case_rule_arn(ctx: RequestContext, domain_id: str, case_rule_id: str) -> str:
    return child_arn(ctx, domain_id, "case-rule", case_rule_id)


def _comparisons(conditions: list[dict[str, Any]], level: int = 1) -> list[dict[str, Any]]:
    """The equalTo/notEqualTo operands of a condition tree, checking its shape on the way."""
    found: list[dict[str, Any]] = []
    for condition in conditions:
        for op in ("equalTo", "notEqualTo"):
            if condition.get(op) is not None:
                found.append(condition[op])
        for op in ("andAll", "orAll"):
            if condition.get(op) is not None:
                if level >= MAX_LEVELS:
                    raise ValidationException(
                        f"A case rule can have a maximum of {MAX_CONDITIONS} conditions, spread across "
                        f"a maximum of {MAX_LEVELS} levels of nesting: {op} is nested too deeply"
                    )
                inner = condition[op]["conditions"]
                if not inner:
                    raise ValidationException(f"{op} needs at least one condition")
                found.extend(_comparisons(inner, level + 1))
    return found


def _check_conditions(tx: Tx, domain_id: str, conditions: list[dict[str, Any]]) -> None:
    comparisons = _comparisons(conditions)
    if len(comparisons) > MAX_CONDITIONS:
        raise ValidationException(
            f"A case rule can have a maximum of {MAX_CONDITIONS} conditions, spread across a maximum of "
            f"{MAX_LEVELS} levels of nesting; this rule has {len(comparisons)}"
        )
    ids = [c["operandOne"]["fieldId"] for c in comparisons]
    fields = require_live_fields(tx, domain_id, ids, "The case rule's conditions")
    for c in comparisons:
        field = fields[c["operandOne"]["fieldId"]]
        given = _member(c["operandTwo"])
        expected = _OPERAND_FOR_TYPE.get(field["type"])
        if given != "emptyValue" and expected is not None and given != expected:
            raise ValidationException(
                f"Field {field['field_id']} is of type {field['type']}: compare it with {expected} "
                f"or emptyValue, not {given}"
            )


def _check_field_options(tx: Tx, domain_id: str, rule: dict[str, Any]) -> None:
    parent, child = rule.get("parentFieldId"), rule.get("childFieldId")
    if parent is None or child is None:
        raise ValidationException("A fieldOptions rule needs both parentFieldId and childFieldId")
    if parent == child:
        raise ValidationException("A fieldOptions rule needs two different fields")
    fields = require_live_fields(tx, domain_id, [parent, child], "The fieldOptions rule")
    for field_id in (parent, child):
        if fields[field_id]["type"] != "SingleSelect":
            field_type = fields[field_id]["type"]
            raise ValidationException(
                f"Field {field_id} is of type {field_type}; a fieldOptions rule needs SingleSelect fields"
            )
    repeated = duplicates([m["parentFieldOptionValue"] for m in rule["parentChildFieldOptionsMappings"]])
    if repeated:
        raise ValidationException(
            f"parentChildFieldOptionsMappings repeats parent values: {', '.join(repeated)}"
        )


def _check_rule(tx: Tx, domain_id: str, rule: dict[str, Any]) -> str:
    """Validate a CaseRuleDetails union; returns its RuleType."""
    member = _member(rule)
    if member == "fieldOptions":
        _check_field_options(tx, domain_id, rule[member])
    else:
        _check_conditions(tx, domain_id, rule[member]["conditions"])
    return RULE_TYPES[member]


def _require_rule(tx: Tx, domain_id: str, case_rule_id: str) -> dict[str, Any]:
    row = tx.get_config("case_rule", domain_id, case_rule_id)
    if row is None:
        raise not_found("CaseRule", case_rule_id)
    return row


@operation("CreateCaseRule")
def create_case_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id = params["domainId"]
    case_rule_id = new_id()
    now = ctx.now_ms()
    with ctx.store.write() as tx:
        require_domain(ctx, tx, domain_id)
        check_quota(ctx, "case_rules_per_domain", tx.count_config("case_rule", domain_id, deleted=False))
        rule_type = _check_rule(tx, domain_id, params["rule"])
        try:
            tx.insert_config(
                "case_rule",
                {
                    "domain_id": domain_id,
                    "case_rule_id": case_rule_id,
                    "name": params["name"],
                    "description": params.get("description"),
                    "rule_type": rule_type,
                    "rule": params["rule"],
                    "deleted": False,
                    "created_ms": now,
                    "modified_ms": now,
                },
            )
        except UniqueViolation as exc:
            raise name_conflict("case rule", params["name"]) from exc
    return {"caseRuleId": case_rule_id, "caseRuleArn": case_rule_arn(ctx, domain_id, case_rule_id)}


@operation("UpdateCaseRule")
def update_case_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, case_rule_id = params["domainId"], params["caseRuleId"]
    changes = {k: params[k] for k in ("name", "description", "rule") if params.get(k) is not None}
    if not changes:
        raise ValidationException("At least one of name, description or rule must be given")
    with ctx.store.write() as tx:
        require_domain(ctx, tx, domain_id)
        row = _require_rule(tx, domain_id, case_rule_id)
        if row["deleted"]:
            raise ValidationException(f"Case rule {case_rule_id} is deleted and cannot be updated")
        if "rule" in changes:
            changes["rule_type"] = _check_rule(tx, domain_id, changes["rule"])
        changes["modified_ms"] = ctx.now_ms()
        try:
            tx.update_config("case_rule", domain_id, case_rule_id, changes)
        except UniqueViolation as exc:
            raise name_conflict("case rule", params["name"]) from exc
    return {}


@operation("DeleteCaseRule")
def delete_case_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, case_rule_id = params["domainId"], params["caseRuleId"]
    with ctx.store.write() as tx:
        require_domain(ctx, tx, domain_id)
        row = _require_rule(tx, domain_id, case_rule_id)
        if row["deleted"]:
            return {}  # the model marks DeleteCaseRule idempotent: a repeat is a no-op
        users = tx.templates_using_rule(domain_id, case_rule_id)
        if users:
            # DeleteCaseRule lists ConflictException (and no ValidationException): a rule in use.
            raise ConflictException(
                f"Case rule {case_rule_id} is used by templates {', '.join(users)}; remove it from them first"
            )
        tx.update_config("case_rule", domain_id, case_rule_id, {"deleted": True, "modified_ms": ctx.now_ms()})
    return {}


@operation("BatchGetCaseRule")
def batch_get_case_rule(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id = params["domainId"]
    ids = [r["id"] for r in params["caseRules"]]
    found: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    with ctx.store.read() as tx:
        require_domain(ctx, tx, domain_id)
        rows = tx.get_configs("case_rule", domain_id, ids)
        for case_rule_id in dict.fromkeys(ids):
            row = rows.get(case_rule_id)
            if row is None:
                message = f"Case rule {case_rule_id} does not exist"
                errors.append({"id": case_rule_id, "errorCode": "NotFound", "message": message})
                continue
            arn = case_rule_arn(ctx, domain_id, case_rule_id)
            found.append(
                {
                    "caseRuleId": case_rule_id,
                    "name": row["name"],
                    "caseRuleArn": arn,
                    "rule": row["rule"],
                    "description": row["description"],
                    # Deleted rules are still returned, flagged, like deleted fields.
                    "deleted": bool(row["deleted"]),
                    "createdTime": ms_to_datetime(row["created_ms"]),
                    "lastModifiedTime": ms_to_datetime(row["modified_ms"]),
                    "tags": tx.get_tags(arn),
                }
            )
    # Everything is processed in one read, so nothing is ever left unprocessed.
    return {"caseRules": found, "errors": errors, "unprocessedCaseRules": []}


@operation("ListCaseRules")
def list_case_rules(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id = params["domainId"]
    after = pagination.decode_created_key("ListCaseRules", params)
    limit = pagination.page_size(params, 100)
    with ctx.store.read() as tx:
        require_domain(ctx, tx, domain_id)
        rows = tx.list_config("case_rule", domain_id, after, limit + 1)
    out: dict[str, Any] = {
        "caseRules": [
            {
                "caseRuleId": r["case_rule_id"],
                "name": r["name"],
                "caseRuleArn": case_rule_arn(ctx, domain_id, r["case_rule_id"]),
                "ruleType": r["rule_type"],
                "description": r["description"],
            }
            for r in rows[:limit]
        ]
    }
    if len(rows) > limit:
        last = rows[limit - 1]
        position = [last["created_ms"], last["case_rule_id"]]
        out["nextToken"] = pagination.encode("ListCaseRules", params, position)
    return out
