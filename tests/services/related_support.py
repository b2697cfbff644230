"""Helpers for the related-item, SLA, batch and merge tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import LiveServer

USER = "arn:aws:connect:us-east-1:111122223333:instance/i-1/agent/u-1"
CONTACT = "arn:aws:connect:us-east-1:111122223333:instance/i-1/contact/c-1"
FILE = "arn:aws:connect:us-east-1:111122223333:instance/i-1/file/f-1"

# Small enough that a test reaches each limit with a handful of calls.
RELATED_QUOTAS = {"related_items_per_case": 5, "files_per_case": 2, "slas_per_case": 2}


def comment(body: str = "a note") -> dict[str, Any]:
    return {"comment": {"body": body, "contentType": "Text/Plain"}}


def sla_content(
    name: str = "resolve", minutes: int = 60, field_id: str = "status", target: str = "closed"
) -> dict[str, Any]:
    return {
        "sla": {
            "slaInputConfiguration": {
                "name": name,
                "type": "CaseField",
                "fieldId": field_id,
                "targetFieldValues": [{"stringValue": target}],
                "targetSlaMinutes": minutes,
            }
        }
    }


CONTENT_OF = {
    "Comment": lambda: comment(),
    "Contact": lambda: {"contact": {"contactArn": CONTACT}},
    "File": lambda: {"file": {"fileArn": FILE}},
    "Sla": lambda: sla_content(),
}


def add_item(client: Any, domain_id: str, case_id: str, type_: str, content: dict[str, Any] | None = None,
             **extra: Any) -> str:
    """Create a related item; content defaults per type (Comment, Contact, File, Sla)."""
    body = content if content is not None else CONTENT_OF[type_]()
    created = client.create_related_item(domainId=domain_id, caseId=case_id, type=type_, content=body, **extra)
    return str(created["relatedItemId"])


def search_all(client: Any, domain_id: str, case_id: str, page_size: int = 25, **kwargs: Any) -> list[dict]:
    items: list[dict[str, Any]] = []
    while True:
        page = client.search_related_items(domainId=domain_id, caseId=case_id, maxResults=page_size, **kwargs)
        items += page["relatedItems"]
        if not page.get("nextToken"):
            return items
        kwargs["nextToken"] = page["nextToken"]


def items_by_id(client: Any, domain_id: str, case_id: str, **kwargs: Any) -> dict[str, dict[str, Any]]:
    return {i["relatedItemId"]: i for i in search_all(client, domain_id, case_id, **kwargs)}


def make_select_field(client: Any, domain_id: str, name: str, values: list[str]) -> str:
    field_id = str(client.create_field(domainId=domain_id, name=name, type="SingleSelect")["fieldId"])
    client.batch_put_field_options(
        domainId=domain_id, fieldId=field_id,
        options=[{"name": v.title(), "value": v, "active": True} for v in values],
    )
    return field_id


@pytest.fixture(scope="session")
def related_quota_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server on the same database with small related-item quotas."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in RELATED_QUOTAS.items():
            mp.setenv(f"OPENCASES_QUOTA_{name.upper()}", str(value))
        live = LiveServer(database_url, Path(tmp_path_factory.mktemp("related-quota-server"))).start()
    try:
        yield live
    finally:
        live.stop()
