"""Related-item content: validation of what a caller sends, the stored form, the wire form
(RelatedItemContent) and the audited attributes, for all six types.

Stored content is JSON with times as epoch milliseconds:
  Contact      {contactArn, channel, connectedToSystemTimeMs}
  Comment      {body, contentType}
  File         {fileArn}
  Sla          see services/sla.py
  ConnectCase  {caseId}
  Custom       {fields: [FieldValue]}
"""

from __future__ import annotations

from typing import Any

from opencases.errors import ValidationException
from opencases.services import case_link, sla
from opencases.services.common import check_quota, duplicates
from opencases.services.context import RequestContext, ms_to_datetime, ms_to_iso
from opencases.store.store import Tx

# RelatedItemType -> its member in RelatedItemInputContent / RelatedItemContent.
TYPE_MEMBER = {
    "Contact": "contact",
    "Comment": "comment",
    "File": "file",
    "Sla": "sla",
    "ConnectCase": "connectCase",
    "Custom": "custom",
}

# AWS fills a contact's channel from Amazon Connect's DescribeContact; a self-hosted server has
# no Connect to ask, so every contact is recorded as a voice contact (DESIGN decision here).
DEFAULT_CONTACT_CHANNEL = "VOICE"

# AuditEventFieldValueUnion.stringValue is at most 4100 characters; a comment body may hold 15000.
AUDIT_STRING_MAX = 4100

EMPTY: dict[str, Any] = {"emptyValue": {}}


def given_member(content: dict[str, Any]) -> str:
    """The member set in a content union (the wire layer has checked there is exactly one)."""
    return next(k for k, v in content.items() if v is not None)


def require_member(type_: str, content: dict[str, Any], where: str = "content") -> dict[str, Any]:
    member = TYPE_MEMBER[type_]
    given = given_member(content)
    if given != member:
        raise ValidationException(f"{where}.{given} does not match type {type_}: expected {where}.{member}")
    return dict(content[member])


def build(
    tx: Tx, ctx: RequestContext, domain_id: str, case_id: str, type_: str, content: dict[str, Any], now_ms: int
) -> tuple[dict[str, Any], str | None]:
    """Validate CreateRelatedItem content; return (stored content, search key)."""
    body = require_member(type_, content)
    if type_ == "Contact":
        arn = body["contactArn"]
        # connectedToSystemTime is Connect's record of the contact; the association time stands in.
        return {"contactArn": arn, "channel": DEFAULT_CONTACT_CHANNEL, "connectedToSystemTimeMs": now_ms}, arn
    if type_ == "Comment":
        return {"body": body["body"], "contentType": body["contentType"]}, None
    if type_ == "File":
        return {"fileArn": body["fileArn"]}, body["fileArn"]
    if type_ == "Sla":
        return sla.build(tx, domain_id, case_id, body["slaInputConfiguration"], now_ms), None
    if type_ == "ConnectCase":
        linked = body["caseId"]
        if linked == case_id:
            raise ValidationException("content.connectCase.caseId: a case cannot be linked to itself")
        if not tx.case_exists(domain_id, linked):
            raise ValidationException(f"content.connectCase.caseId: case {linked} does not exist in this domain")
        return {"caseId": linked}, linked
    return {"fields": custom_fields(tx, ctx, domain_id, body["fields"], "content.custom")}, None


def custom_fields(
    tx: Tx, ctx: RequestContext, domain_id: str, fields: list[dict[str, Any]], where: str
) -> list[dict[str, Any]]:
    """Validate Custom item fields like case fields; System fields are refused."""
    ids = [f["id"] for f in fields]
    repeated = duplicates(ids)
    if repeated:
        raise ValidationException(f"{where}.fields lists these field ids more than once: {', '.join(repeated)}")
    # The shape allows 50, the quota (Fields in a Custom type related item) is 5.
    check_quota(ctx, "fields_per_custom_related_item", 0, len(ids))
    rows = tx.get_fields(domain_id, ids)
    out = []
    for i, f in enumerate(fields):
        path = f"{where}.fields[{i}]"
        row = rows.get(f["id"])
        if row is None:
            raise ValidationException(f"{path}.id: field {f['id']} does not exist")
        if row["namespace"] == "System":
            # "System case fields cannot be used in a custom related item" (UpdateRelatedItem doc).
            raise ValidationException(f"{path}.id: System field {f['id']} cannot be used in a custom related item")
        if row["deleted"]:
            raise ValidationException(f"{path}.id: field {f['id']} is deleted")
        options = tx.get_options(domain_id, f["id"]) if row["type"] == "SingleSelect" else {}
        value = case_link.validate_value(row, options, f["value"], path=f"{path}.value")
        out.append({"id": f["id"], "value": value})
    return out


def render(type_: str, stored: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """The RelatedItemContent union for a stored item, as of `now_ms` (SLA status)."""
    if type_ == "Contact":
        body: dict[str, Any] = {
            "contactArn": stored["contactArn"],
            "channel": stored["channel"],
            "connectedToSystemTime": ms_to_datetime(stored["connectedToSystemTimeMs"]),
        }
    elif type_ == "Sla":
        body = sla.render(stored, now_ms)
    else:
        body = stored
    return {TYPE_MEMBER[type_]: body}


def _audit_value(value: dict[str, Any]) -> dict[str, Any]:
    """A FieldValueUnion as an AuditEventFieldValueUnion (same members; strings capped)."""
    if "stringValue" in value and value["stringValue"] is not None:
        return {"stringValue": value["stringValue"][:AUDIT_STRING_MAX]}
    return dict(value)


def audit_attributes(type_: str, stored: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """eventFieldId -> AuditEventFieldValueUnion, one per content attribute (DESIGN.md)."""
    if type_ == "Contact":
        return {
            "contact.contactArn": {"stringValue": stored["contactArn"]},
            "contact.channel": {"stringValue": stored["channel"]},
            "contact.connectedToSystemTime": {"stringValue": ms_to_iso(stored["connectedToSystemTimeMs"])},
        }
    if type_ == "Comment":
        return {
            "comment.body": _audit_value({"stringValue": stored["body"]}),
            "comment.contentType": {"stringValue": stored["contentType"]},
        }
    if type_ == "File":
        return {"file.fileArn": {"stringValue": stored["fileArn"]}}
    if type_ == "Sla":
        return sla.audit_attributes(stored)
    if type_ == "ConnectCase":
        return {"connectCase.caseId": {"stringValue": stored["caseId"]}}
    return {f"custom.fields.{f['id']}": _audit_value(f["value"]) for f in stored["fields"]}


def audit_fields(
    related_item_id: str, old: dict[str, dict[str, Any]] | None, new: dict[str, dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """AuditEventField entries: all attributes on create and delete, the changed ones on update.

    The first entry names the related item, which the AuditEvent shape has no member for.
    `newValue` is required, so a removed attribute is `emptyValue`.
    """
    out: list[dict[str, Any]] = [{"eventFieldId": "relatedItemId", "newValue": {"stringValue": related_item_id}}]
    old = old or {}
    new = new or {}
    for key in list(old) + [k for k in new if k not in old]:
        if key in old and old.get(key) == new.get(key):
            continue
        entry: dict[str, Any] = {"eventFieldId": key}
        if key in old:
            entry["oldValue"] = old[key]
        entry["newValue"] = new.get(key, EMPTY)
        out.append(entry)
    return out
