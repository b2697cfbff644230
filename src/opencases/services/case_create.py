"""CreateCase: template checks, field values, the service-set system fields, a reference
number unique per domain, tag propagation, client-token idempotency and the Case.Created
audit event, all in one transaction."""

from __future__ import annotations

import secrets
import string
from typing import Any

from opencases.errors import ConflictException, ValidationException
from opencases.services import audit, idempotency
from opencases.services.case_input import (
    check_required,
    enforce_case_rules,
    propagated_tags,
    resolve_fields,
)
from opencases.services.case_values import datetime_value, is_empty, normalize, to_columns
from opencases.services.cases import CLOSED, case_arn, text_body, user_value
from opencases.services.common import not_found, require_domain
from opencases.services.context import RequestContext, new_time_ordered_id
from opencases.services.registry import operation
from opencases.store.errors import UniqueViolation
from opencases.store.store import Tx

# "a 9-character alphanumeric value (for example, 3CWPF7R2N)" (admin guide "case fields").
REFERENCE_ALPHABET = string.digits + string.ascii_uppercase
REFERENCE_LENGTH = 9
REFERENCE_ATTEMPTS = 20


def new_reference_number() -> str:
    """Uniform over the 36**9 numbers, as nine secrets.choice() would be, from one draw."""
    number = secrets.randbelow(len(REFERENCE_ALPHABET) ** REFERENCE_LENGTH)
    digits = []
    for _ in range(REFERENCE_LENGTH):
        number, digit = divmod(number, len(REFERENCE_ALPHABET))
        digits.append(REFERENCE_ALPHABET[digit])
    return "".join(digits)


def _require_usable_template(tx: Tx, domain_id: str, template_id: str) -> dict[str, Any]:
    template = tx.get_config("template", domain_id, template_id)
    if template is None:
        raise not_found("Template", template_id)
    if template["deleted"]:
        raise ValidationException(f"Template {template_id} is deleted; cases cannot be created from it")
    if template["status"] != "Active":
        # "Inactive templates cannot be used to create cases" (CreateTemplate doc).
        raise ValidationException(f"Template {template_id} is Inactive; cases cannot be created from it")
    return template


def _insert_case(tx: Tx, row: dict[str, Any], supplied: str | None) -> str:
    """Insert the case row with a reference number unique in the domain (case-insensitively,
    by the uq_cases_reference constraint); a generated one is redrawn on collision."""
    for _ in range(REFERENCE_ATTEMPTS):
        reference = supplied or new_reference_number()
        try:
            tx.insert_case(row | {"reference_number": reference, "reference_key": reference.upper()})
            return reference
        except UniqueViolation as exc:
            if supplied:
                raise ConflictException(
                    f"Reference number {supplied} is already used by another case in this domain"
                ) from exc
    raise ConflictException("Could not allocate a unique reference number; retry the request")


@operation("CreateCase")
def create_case(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id = params["domainId"]
    token = params.get("clientToken")
    with ctx.store.write() as tx:
        now = ctx.now_ms()  # stamped holding the writer: see SNAPSHOT_LAG_MS
        case_id = new_time_ordered_id(now)
        response = {"caseId": case_id, "caseArn": case_arn(ctx, domain_id, case_id)}
        require_domain(ctx, tx, domain_id)
        if token:
            original = idempotency.claim(tx, domain_id, "CreateCase", token, params, now, response)
            if original is not None:
                return original
        create_in_tx(tx, ctx, params, case_id=case_id, now=now)
    return response


def create_in_tx(tx: Tx, ctx: RequestContext, params: dict[str, Any], *, case_id: str, now: int) -> str:
    """Create one case inside the caller's transaction (CreateCase and bulk import); the
    domain has been checked. Returns the reference number."""
    domain_id, template_id = params["domainId"], params["templateId"]
    user = params.get("performedBy")
    entries = [(f["id"], f["value"], f"fields[{i}].value") for i, f in enumerate(params["fields"])]
    arn = case_arn(ctx, domain_id, case_id)
    template = _require_usable_template(tx, domain_id, template_id)
    rows = resolve_fields(tx, domain_id, entries, creating=True)
    # At create, emptyValue simply means "no value".
    values = {fid: normalize(rows[fid]["type"], v) for fid, v, _ in entries if not is_empty(v)}
    values.setdefault("status", {"stringValue": "open"})
    check_required(tx, domain_id, template, values)
    if ctx.settings.enforce_case_rules:
        enforce_case_rules(tx, domain_id, template, values)

    supplied = values.get("reference_number", {}).get("stringValue")
    reference = _insert_case(
        tx,
        {
            "domain_id": domain_id,
            "case_id": case_id,
            "template_id": template_id,
            "created_ms": now,
            "updated_ms": now,
            "version": 1,
            "merge_state": None,
        },
        supplied,
    )
    values["reference_number"] = {"stringValue": reference}
    values |= {
        "case_id": {"stringValue": case_id},
        "created_datetime": datetime_value(now),
        "last_updated_datetime": datetime_value(now),
    }
    if not is_empty(user_value(user)):
        values |= {"created_by": user_value(user), "last_updated_user": user_value(user)}
    if values["status"].get("stringValue") == CLOSED:
        values["last_closed_datetime"] = datetime_value(now)

    types = {fid: row["type"] for fid, row in tx.get_fields(domain_id, list(values)).items()}
    tx.put_case_values(domain_id, case_id, {f: to_columns(types[f], v) for f, v in values.items()})
    tx.put_case_text(domain_id, case_id, text_body({f: (types[f], v) for f, v in values.items()}))

    # The template's propagated tags, overridden by the request's on conflicting keys.
    tags = propagated_tags(template) | (params.get("tags") or {})
    limit = ctx.settings.quotas["tags_per_resource"]
    if len(tags) > limit:
        raise ValidationException(
            f"A case can have at most {limit} tags; with the template's it would have {len(tags)}"
        )
    tx.put_tags(arn, domain_id, tags)

    audit.record(
        tx, ctx, domain_id=domain_id, case_id=case_id, event_type="Case.Created",
        fields=[{"eventFieldId": f, "newValue": v} for f, v in values.items()],
        user=user, performed_ms=now,
    )
    return reference
