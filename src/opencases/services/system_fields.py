"""The system fields every new domain gets (SPEC.md section 1.1) and their rules."""

from __future__ import annotations

from typing import Any

SYSTEM_FIELDS: list[dict[str, Any]] = [
    {"id": "assigned_queue", "name": "Assigned queue", "type": "Text"},
    {"id": "assigned_user", "name": "Assigned user", "type": "User"},
    {"id": "case_id", "name": "Case ID", "type": "Text"},
    {"id": "case_reason", "name": "Case Reason", "type": "SingleSelect"},
    {"id": "created_by", "name": "Created By", "type": "User"},
    {"id": "customer_id", "name": "Customer", "type": "Text"},
    {"id": "last_closed_datetime", "name": "Date/Time Closed", "type": "DateTime"},
    {"id": "created_datetime", "name": "Date/Time Opened", "type": "DateTime"},
    {"id": "last_updated_datetime", "name": "Date/Time Updated", "type": "DateTime"},
    {"id": "last_updated_user", "name": "Last Updated User", "type": "User"},
    {"id": "reference_number", "name": "Reference number", "type": "Text"},
    {"id": "status", "name": "Status", "type": "SingleSelect"},
    {
        "id": "summary",
        "name": "Summary",
        "type": "Text",
        "attributes": {"text": {"isMultiline": True}},
    },
    {"id": "title", "name": "Title", "type": "Text", "attributes": {"text": {"isMultiline": False}}},
    {"id": "next_sla_breach_datetime", "name": "Next SLA breach", "type": "DateTime"},
    {"id": "last_reopened_datetime", "name": "Date/Time Reopened", "type": "DateTime"},
]

SYSTEM_FIELD_IDS = frozenset(f["id"] for f in SYSTEM_FIELDS)

STATUS_OPTIONS = [("Open", "open"), ("Closed", "closed")]

# Set by the service, never by a client (SPEC.md section 1.3).
READ_ONLY_FIELDS = frozenset(
    {
        "case_id",
        "created_datetime",
        "created_by",
        "last_updated_datetime",
        "last_updated_user",
        "last_closed_datetime",
        "last_reopened_datetime",
        "next_sla_breach_datetime",
    }
)

# "Title and Status fields cannot be part of layouts" (CreateLayout doc).
NOT_IN_LAYOUTS = frozenset({"title", "status"})
