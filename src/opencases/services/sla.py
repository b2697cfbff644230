"""SLA related items: their content, their clock-dependent status, and the case's
`next_sla_breach_datetime` system value.

An SLA tracks one SingleSelect case field: it is fulfilled the first time the field takes one
of `targetFieldValues` (cases-sla.html). Stored content keeps the configuration, `targetMs`
(creation + targetSlaMinutes) and `completionMs` (when fulfilled, else None); the status is
never stored, because Active turns into Overdue by the clock alone, so it is computed at read time.
"""

from __future__ import annotations

from typing import Any

from opencases.errors import ValidationException
from opencases.services.case_values import datetime_value, to_columns
from opencases.services.context import RequestContext, ms_to_datetime, ms_to_iso
from opencases.store.store import Tx

MINUTE_MS = 60_000
BREACH_FIELD = "next_sla_breach_datetime"


def status(target_ms: int, completion_ms: int | None, now_ms: int) -> str:
    """Active / Overdue while open (by the clock); Met / NotMet once fulfilled (by completion)."""
    if completion_ms is None:
        return "Active" if now_ms < target_ms else "Overdue"
    return "Met" if completion_ms <= target_ms else "NotMet"


def target_ms(association_ms: int, minutes: int) -> int:
    # "The new deadline is counted from when the SLA was created" (UpdateRelatedItem doc).
    return association_ms + int(minutes) * MINUTE_MS


def build(tx: Tx, domain_id: str, case_id: str, config: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """Validate an SlaInputConfiguration and return the stored content of a new SLA."""
    field_id = config.get("fieldId")
    targets = config.get("targetFieldValues")
    # The model leaves both optional, but a CaseField SLA means nothing without them.
    if not field_id:
        raise ValidationException("slaInputConfiguration.fieldId is required for an SLA of type CaseField")
    if not targets:
        raise ValidationException(
            "slaInputConfiguration.targetFieldValues is required for an SLA of type CaseField"
        )
    field = tx.get_field(domain_id, field_id)
    if field is None or field["deleted"]:
        raise ValidationException(f"slaInputConfiguration.fieldId: field {field_id} does not exist")
    if field["type"] != "SingleSelect":
        raise ValidationException(
            f"slaInputConfiguration.fieldId: field {field_id} is of type {field['type']}; "
            "an SLA must track a SingleSelect field"
        )
    options = tx.get_options(domain_id, field_id)
    values: list[str] = []
    for i, target in enumerate(targets):
        value = target.get("stringValue")
        if value is None or set(target) != {"stringValue"}:
            raise ValidationException(
                f"slaInputConfiguration.targetFieldValues[{i}] must be a stringValue holding an option value"
            )
        if value not in options:
            raise ValidationException(
                f"slaInputConfiguration.targetFieldValues[{i}]: '{value}' is not an option of field {field_id}"
            )
        values.append(value)
    rows = tx.get_case_value_rows(domain_id, case_id, [field_id])
    current = rows[0]["s_value"] if rows else None
    return {
        "name": config["name"],
        "type": config["type"],
        "fieldId": field_id,
        "targetFieldValues": [{"stringValue": v} for v in values],
        "targetSlaMinutes": int(config["targetSlaMinutes"]),
        "targetMs": target_ms(now_ms, config["targetSlaMinutes"]),
        # Already at a target value when the SLA is added: fulfilled on the spot.
        "completionMs": now_ms if current in values else None,
    }


def with_new_target(stored: dict[str, Any], association_ms: int, minutes: int) -> dict[str, Any]:
    """The stored content after UpdateRelatedItem changes targetSlaMinutes."""
    return stored | {"targetSlaMinutes": int(minutes), "targetMs": target_ms(association_ms, minutes)}


def render(stored: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """SlaContent, with the status as of `now_ms`."""
    config: dict[str, Any] = {
        "name": stored["name"],
        "type": stored["type"],
        "status": status(stored["targetMs"], stored.get("completionMs"), now_ms),
        "fieldId": stored["fieldId"],
        "targetFieldValues": stored["targetFieldValues"],
        "targetTime": ms_to_datetime(stored["targetMs"]),
    }
    if stored.get("completionMs") is not None:
        config["completionTime"] = ms_to_datetime(stored["completionMs"])
    return {"slaConfiguration": config}


def audit_attributes(stored: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The audited attributes of an SLA, as AuditEventFieldValueUnion values."""
    out: dict[str, dict[str, Any]] = {
        "sla.name": {"stringValue": stored["name"]},
        "sla.type": {"stringValue": stored["type"]},
        "sla.fieldId": {"stringValue": stored["fieldId"]},
        "sla.targetFieldValues": {"stringValue": ",".join(v["stringValue"] for v in stored["targetFieldValues"])},
        "sla.targetSlaMinutes": {"doubleValue": float(stored["targetSlaMinutes"])},
        "sla.targetTime": {"stringValue": ms_to_iso(stored["targetMs"])},
    }
    if stored.get("completionMs") is not None:
        out["sla.completionTime"] = {"stringValue": ms_to_iso(stored["completionMs"])}
    return out


def refresh_breach(tx: Tx, ctx: RequestContext, domain_id: str, case_id: str) -> None:
    """Recompute next_sla_breach_datetime: the earliest target of the SLAs not yet fulfilled."""
    pending = [
        row["content"]["targetMs"]
        for row in tx.case_related_items(domain_id, case_id, types=["Sla"])
        if row["content"].get("completionMs") is None
    ]
    # Derived, like last_updated_datetime: written without an audit entry of its own.
    if pending:
        tx.put_case_values(domain_id, case_id, {BREACH_FIELD: to_columns("DateTime", datetime_value(min(pending)))})
    else:
        tx.delete_case_values(domain_id, case_id, [BREACH_FIELD])


def on_case_fields_changed(
    tx: Tx,
    ctx: RequestContext,
    domain_id: str,
    case_id: str,
    changed_values: dict[str, dict],
    now_ms: int,
    field_types: dict[str, str] | None = None,
) -> None:
    """Called after every change of a case's values (field id -> new FieldValueUnion).

    An open SLA whose field now holds a target value is fulfilled at `now_ms`. A fulfilled SLA
    stays fulfilled when the field later moves away (undocumented; the UI never reopens one).
    `field_types` (field id -> type of the changed fields, when the caller knows them) skips
    the lookup of the case's SLAs when no SingleSelect field changed: an SLA tracks one.
    """
    if not changed_values:
        return
    if field_types is not None and all(
        f in field_types and field_types[f] != "SingleSelect" for f in changed_values
    ):
        return
    slas = tx.case_related_items(domain_id, case_id, types=["Sla"])
    changed = False
    for row in slas:
        content = row["content"]
        if content.get("completionMs") is not None or content["fieldId"] not in changed_values:
            continue
        value = (changed_values[content["fieldId"]] or {}).get("stringValue")
        if value is not None and value in {v["stringValue"] for v in content["targetFieldValues"]}:
            tx.update_related_item(
                domain_id, row["related_item_id"], {"content": content | {"completionMs": now_ms}}
            )
            changed = True
    if changed:
        refresh_breach(tx, ctx, domain_id, case_id)
