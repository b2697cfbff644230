"""Checks of the field values a CreateCase, UpdateCase or BatchUpdateCase request brings:
field resolution, read-only and deleted fields, value types, template-required fields and
(with --enforce-case-rules) the template's case rules. Raises ValidationException.
"""

from __future__ import annotations

import re
from typing import Any

from opencases.errors import ValidationException
from opencases.services import case_rules_engine
from opencases.services.case_values import is_empty, validate_value
from opencases.services.common import duplicates
from opencases.services.system_fields import READ_ONLY_FIELDS
from opencases.store.store import Tx

# A request's field entry: (field id, value union, member path for messages).
Entry = tuple[str, dict[str, Any], str]

# The model's ReferenceId shape: a reference number supplied at create must be a valid id too.
_REFERENCE = re.compile(r"[A-Za-z0-9\-._/:#=+]{1,50}")
# Set by the service on every case; a template listing them as required is satisfied anyway.
AUTO_FIELDS = READ_ONLY_FIELDS | {"reference_number", "status"}


def unknown_fields(ids: list[str]) -> None:
    if ids:
        raise ValidationException(f"Fields do not exist in this domain: {', '.join(dict.fromkeys(ids))}")


def resolve_fields(tx: Tx, domain_id: str, entries: list[Entry], *, creating: bool) -> dict[str, dict[str, Any]]:
    """The field rows of `entries`, after checking: no field twice, every field exists, none is
    read-only, none is deleted (at create; UpdateCase checks against the case's values), each
    value fits its field's type."""
    ids = [fid for fid, _, _ in entries]
    repeated = duplicates(ids)
    if repeated:
        raise ValidationException(f"Fields appear more than once in the request: {', '.join(repeated)}")
    rows = tx.get_fields(domain_id, ids)
    unknown_fields([f for f in ids if f not in rows])
    # The reference number may be chosen at create only (admin guide "case fields").
    read_only = READ_ONLY_FIELDS if creating else READ_ONLY_FIELDS | {"reference_number"}
    refused = [f for f in ids if f in read_only]
    if refused:
        raise ValidationException(f"Fields are set by the service and cannot be written: {', '.join(refused)}")
    if creating:
        deleted = [f for f in ids if rows[f]["deleted"]]
        if deleted:
            raise ValidationException(f"Fields are deleted: {', '.join(deleted)}")
    options: dict[str, dict[str, dict[str, Any]]] = {}
    for fid, value, path in entries:
        row = rows[fid]
        if row["type"] == "SingleSelect" and fid not in options and not is_empty(value):
            options[fid] = tx.get_options(domain_id, fid)
        validate_value(row, options.get(fid), value, path=path)
        if fid == "reference_number" and not is_empty(value) and not _REFERENCE.fullmatch(value["stringValue"]):
            raise ValidationException(
                f"Invalid value at '{path}' for field reference_number: 1-50 characters of "
                "letters, digits and - . _ / : # = +"
            )
    return rows


def template_doc(template: dict[str, Any] | None) -> dict[str, Any]:
    doc = (template or {}).get("doc")
    return doc if isinstance(doc, dict) else {}


def load_template(tx: Tx, domain_id: str, template_id: str) -> dict[str, Any] | None:
    return tx.get_config("template", domain_id, template_id)


def required_field_ids(template: dict[str, Any] | None) -> list[str]:
    """`title` (always required) and the template's requiredFields."""
    ids = ["title"] + [r["fieldId"] for r in template_doc(template).get("requiredFields") or []]
    return list(dict.fromkeys(ids))


def _blank(value: dict[str, Any] | None) -> bool:
    return is_empty(value) or (value or {}).get("stringValue") == ""


def check_required(tx: Tx, domain_id: str, template: dict[str, Any] | None, values: dict[str, Any]) -> None:
    """CreateCase: every required field has a value. Deleted fields and the ones the service
    sets itself count as satisfied."""
    required = [f for f in required_field_ids(template) if f not in AUTO_FIELDS]
    rows = tx.get_fields(domain_id, required)
    missing = [f for f in required if f in rows and not rows[f]["deleted"] and _blank(values.get(f))]
    if missing:
        raise ValidationException(f"Required fields have no value: {', '.join(missing)}")


def check_update(
    template: dict[str, Any] | None,
    rows: dict[str, dict[str, Any]],
    changes: dict[str, dict[str, Any]],
    has_value: set[str],
) -> None:
    """UpdateCase: title and template-required fields cannot be cleared ("You cannot set
    EmptyFieldValue on a field that is required on a case template"); a deleted field may be
    written only where the case already has a value for it. Every case has a status."""
    required = set(required_field_ids(template)) | {"status"}
    cleared = [f for f, v in changes.items() if f in required and _blank(v)]
    if cleared:
        raise ValidationException(f"Required fields cannot be emptied: {', '.join(cleared)}")
    deleted = [f for f in changes if rows[f]["deleted"] and f not in has_value]
    if deleted:
        raise ValidationException(
            f"Fields are deleted and this case has no value for them: {', '.join(deleted)}"
        )


def enforce_case_rules(tx: Tx, domain_id: str, template: dict[str, Any] | None, values: dict[str, Any]) -> None:
    """The template's Required and FieldOptions rules, evaluated on the case's resulting values."""
    refs = template_doc(template).get("rules") or []
    if not refs:
        return
    found = tx.get_configs("case_rule", domain_id, [r["caseRuleId"] for r in refs])
    rules = [
        {"caseRuleId": r["caseRuleId"], "fieldId": r.get("fieldId"), "rule": found[r["caseRuleId"]]["rule"]}
        for r in refs
        if r["caseRuleId"] in found and not found[r["caseRuleId"]]["deleted"]
    ]
    problems = case_rules_engine.violations(rules, values)
    if problems:
        raise ValidationException("Case rules not met: " + "; ".join(problems))


def propagated_tags(template: dict[str, Any] | None) -> dict[str, str]:
    """The tags a template gives the cases created from it (tagPropagationConfigurations)."""
    tags: dict[str, str] = {}
    for config in template_doc(template).get("tagPropagationConfigurations") or []:
        if config.get("resourceType") == "Cases":
            tags.update(config.get("tagMap") or {})
    return tags
