"""Domains through boto3 against a live server: create, get, list, delete, quotas, isolation."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import make_client


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_create_get_domain(client: Any) -> None:
    created = client.create_domain(name="Support")
    assert created["domainStatus"] == "Active"
    assert created["domainArn"].endswith(f":domain/{created['domainId']}")
    got = client.get_domain(domainId=created["domainId"])
    assert got["name"] == "Support"
    assert got["domainArn"] == created["domainArn"]
    assert got["createdTime"].tzinfo is not None
    assert got["tags"] == {}


def test_new_domain_has_system_fields(client: Any, domain_id: str) -> None:
    fields = {f["fieldId"]: f for f in client.list_fields(domainId=domain_id)["fields"]}
    for fid, ftype in [
        ("title", "Text"),
        ("status", "SingleSelect"),
        ("customer_id", "Text"),
        ("summary", "Text"),
        ("reference_number", "Text"),
        ("created_datetime", "DateTime"),
        ("last_updated_datetime", "DateTime"),
        ("last_closed_datetime", "DateTime"),
        ("created_by", "User"),
        ("last_updated_user", "User"),
        ("assigned_user", "User"),
        ("assigned_queue", "Text"),
        ("case_reason", "SingleSelect"),
        ("case_id", "Text"),
    ]:
        assert fields[fid]["type"] == ftype, fid
        assert fields[fid]["namespace"] == "System"
    options = client.list_field_options(domainId=domain_id, fieldId="status")["options"]
    assert [(o["name"], o["value"], o["active"]) for o in options] == [
        ("Open", "open", True),
        ("Closed", "closed", True),
    ]


def test_duplicate_name_conflicts(client: Any) -> None:
    client.create_domain(name="dup")
    with pytest.raises(ClientError) as exc:
        client.create_domain(name="dup")
    assert error(exc) == ("ConflictException", 409)
    assert len(client.list_domains()["domains"]) == 1


def test_domain_quota_is_402(client: Any) -> None:
    for i in range(5):
        client.create_domain(name=f"d{i}")
    with pytest.raises(ClientError) as exc:
        client.create_domain(name="sixth")
    assert error(exc) == ("ServiceQuotaExceededException", 402)
    assert len(client.list_domains()["domains"]) == 5


def test_list_domains_pages(client: Any) -> None:
    ids = {client.create_domain(name=f"p{i}")["domainId"] for i in range(5)}
    seen: list[str] = []
    kwargs: dict[str, Any] = {"maxResults": 2}
    while True:
        page = client.list_domains(**kwargs)
        assert len(page["domains"]) <= 2
        seen += [d["domainId"] for d in page["domains"]]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert sorted(seen) == sorted(ids) and len(seen) == 5


def test_bad_next_token(client: Any) -> None:
    with pytest.raises(ClientError) as exc:
        client.list_domains(nextToken="garbage!!")
    assert error(exc) == ("ValidationException", 400)


def test_max_results_out_of_range(client: Any) -> None:
    # botocore validates client-side only the minimum; the server checks the maximum too.
    with pytest.raises(ClientError) as exc:
        client.list_domains(maxResults=11)
    assert error(exc) == ("ValidationException", 400)
    assert "maxResults" in exc.value.response["Error"]["Message"]


def test_get_missing_domain_is_404_with_resource(client: Any) -> None:
    with pytest.raises(ClientError) as exc:
        client.get_domain(domainId="no-such-domain")
    assert error(exc) == ("ResourceNotFoundException", 404)
    assert exc.value.response["resourceId"] == "no-such-domain"
    assert exc.value.response["resourceType"] == "Domain"


def test_delete_domain_removes_everything(client: Any) -> None:
    domain_id = client.create_domain(name="gone")["domainId"]
    field_id = client.create_field(domainId=domain_id, name="F", type="Text")["fieldId"]
    client.delete_domain(domainId=domain_id)
    with pytest.raises(ClientError) as exc:
        client.get_domain(domainId=domain_id)
    assert error(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError):
        client.batch_get_field(domainId=domain_id, fields=[{"id": field_id}])
    # The name is free again.
    client.create_domain(name="gone")


def test_accounts_and_regions_are_isolated(server: Any) -> None:
    a = make_client(server.endpoint, "111111111111")
    b = make_client(server.endpoint, "222222222222")
    a_west = make_client(server.endpoint, "111111111111", region="us-west-2")
    domain_id = a.create_domain(name="mine")["domainId"]
    for other in (b, a_west):
        assert all(d["domainId"] != domain_id for d in other.list_domains()["domains"])
        with pytest.raises(ClientError) as exc:
            other.get_domain(domainId=domain_id)
        assert error(exc)[0] == "ResourceNotFoundException"
        with pytest.raises(ClientError):
            other.delete_domain(domainId=domain_id)
        with pytest.raises(ClientError):
            other.create_field(domainId=domain_id, name="x", type="Text")
    assert a.get_domain(domainId=domain_id)["name"] == "mine"
    # Names are per account: another account may reuse it.
    b.create_domain(name="mine")
