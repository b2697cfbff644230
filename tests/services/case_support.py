"""Helpers for the case and audit tests: templates, cases, values, audit history, an in-process
store, and clients in the same account."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from opencases.api import invoke
from opencases.config import Settings
from opencases.services.context import RequestContext
from opencases.store.store import Store
from tests.support import make_client

USER = "arn:aws:connect:us-east-1:111122223333:instance/i-1/agent/u-1"
OTHER_USER = "arn:aws:connect:us-east-1:111122223333:instance/i-1/agent/u-2"

SYSTEM_IDS = [
    "assigned_queue", "assigned_user", "case_id", "case_reason", "created_by", "customer_id",
    "last_closed_datetime", "created_datetime", "last_updated_datetime", "last_updated_user",
    "reference_number", "status", "summary", "title", "next_sla_breach_datetime", "last_reopened_datetime",
]


def error_of(exc: ClientError) -> tuple[str, int]:
    return exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"]


def new_template(client: Any, domain_id: str, name: str = "Basic", **kwargs: Any) -> str:
    return str(client.create_template(domainId=domain_id, name=name, **kwargs)["templateId"])


def fv(field_id: str, value: Any) -> dict[str, Any]:
    """A FieldValue: plain Python values pick the union member by type."""
    if isinstance(value, dict):
        union = value
    elif isinstance(value, bool):
        union = {"booleanValue": value}
    elif isinstance(value, (int, float)):
        union = {"doubleValue": float(value)}
    elif value is None:
        union = {"emptyValue": {}}
    else:
        union = {"stringValue": value}
    return {"id": field_id, "value": union}


def new_case(client: Any, domain_id: str, template_id: str, title: str = "A case", **extra: Any) -> str:
    fields = [fv("title", title)] + [fv(k, v) for k, v in extra.pop("values", {}).items()]
    return str(client.create_case(domainId=domain_id, templateId=template_id, fields=fields, **extra)["caseId"])


def all_field_ids(client: Any, domain_id: str) -> list[str]:
    ids: list[str] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = client.list_fields(domainId=domain_id, **kwargs)
        ids += [f["fieldId"] for f in page["fields"]]
        if not page.get("nextToken"):
            return ids
        kwargs["nextToken"] = page["nextToken"]


def values(client: Any, domain_id: str, case_id: str, ids: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """{field id: value union} of a case, via GetCase."""
    ids = ids or SYSTEM_IDS
    got = client.get_case(domainId=domain_id, caseId=case_id, fields=[{"id": i} for i in ids])
    return {f["id"]: f["value"] for f in got["fields"]}


def audit_events(client: Any, domain_id: str, case_id: str, page_size: int = 25) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"maxResults": page_size}
    while True:
        page = client.get_case_audit_events(domainId=domain_id, caseId=case_id, **kwargs)
        events += page["auditEvents"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def same_account_clients(client: Any, endpoint: str, n: int) -> list[Any]:
    """n more clients in the account of `client` (the access key id selects the account)."""
    account = client._request_signer._credentials.access_key
    return [make_client(endpoint, account=account) for _ in range(n)]


def replay(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The field values an audit history adds up to (Case.Created then Case.Updated events)."""
    state: dict[str, dict[str, Any]] = {}
    for event in events:
        if event["type"] not in ("Case.Created", "Case.Updated"):
            continue
        for entry in event["fields"]:
            if "emptyValue" in entry["newValue"]:
                state.pop(entry["eventFieldId"], None)
            else:
                state[entry["eventFieldId"]] = entry["newValue"]
    return state


class InProcess:
    """A Store on a temp SQLite file and a RequestContext, for tests that reach inside."""

    def __init__(self, path: Path, **settings: Any) -> None:
        self.store = Store(f"sqlite:///{path}")
        self.ctx = RequestContext(store=self.store, settings=Settings(**settings))

    def __call__(self, operation: str, **params: Any) -> dict[str, Any]:
        return invoke(self.ctx, operation, params)

    def close(self) -> None:
        self.store.close()


@contextmanager
def in_process(path: Path, **settings: Any) -> Iterator[InProcess]:
    box = InProcess(path, **settings)
    try:
        yield box
    finally:
        box.close()


def inproc_case(box: InProcess, **values_: Any) -> tuple[str, str, str]:
    """(domain id, template id, case id) of a fresh case in an in-process store."""
    domain_id = box("CreateDomain", name="d")["domainId"]
    template_id = box("CreateTemplate", domainId=domain_id, name="t")["templateId"]
    fields = [fv("title", "T")] + [fv(k, v) for k, v in values_.items()]
    case_id = box("CreateCase", domainId=domain_id, templateId=template_id, fields=fields)["caseId"]
    return domain_id, template_id, case_id
