"""Fields and field options through boto3 against a live server."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.services.test_domains import error


def test_create_and_batch_get_field(client: Any, domain_id: str) -> None:
    created = client.create_field(
        domainId=domain_id,
        name="Notes",
        type="Text",
        description="free text",
        attributes={"text": {"isMultiline": True}},
    )
    assert created["fieldArn"].endswith(f"/field/{created['fieldId']}")
    got = client.batch_get_field(domainId=domain_id, fields=[{"id": created["fieldId"]}, {"id": "nope"}])
    (field,) = got["fields"]
    assert field["name"] == "Notes" and field["type"] == "Text" and field["namespace"] == "Custom"
    assert field["description"] == "free text"
    assert field["attributes"] == {"text": {"isMultiline": True}}
    assert field["deleted"] is False
    assert field["createdTime"] <= field["lastModifiedTime"]
    assert got["errors"] == [{"id": "nope", "errorCode": "NotFound", "message": "Field nope does not exist"}]


def test_duplicate_field_name_conflicts(client: Any, domain_id: str) -> None:
    client.create_field(domainId=domain_id, name="Priority", type="Number")
    with pytest.raises(ClientError) as exc:
        client.create_field(domainId=domain_id, name="Priority", type="Text")
    assert error(exc) == ("ConflictException", 409)
    # System field names are taken too.
    with pytest.raises(ClientError) as exc:
        client.create_field(domainId=domain_id, name="Title", type="Text")
    assert error(exc) == ("ConflictException", 409)


def test_invalid_field_type_and_attributes(client: Any, domain_id: str) -> None:
    before = len(client.list_fields(domainId=domain_id)["fields"])
    with pytest.raises(ClientError) as exc:
        client.create_field(domainId=domain_id, name="N", type="Number", attributes={"text": {"isMultiline": True}})
    assert error(exc) == ("ValidationException", 400)
    with pytest.raises(ClientError) as exc:
        # FieldName's pattern `.*[\S]` is not anchored (Smithy): only all-blank names fail.
        client.create_field(domainId=domain_id, name="   ", type="Text")
    assert error(exc) == ("ValidationException", 400)
    assert "name" in exc.value.response["Error"]["Message"]
    assert len(client.list_fields(domainId=domain_id)["fields"]) == before


def test_unknown_domain(client: Any) -> None:
    with pytest.raises(ClientError) as exc:
        client.create_field(domainId="missing", name="x", type="Text")
    assert error(exc) == ("ResourceNotFoundException", 404)


def test_update_field(client: Any, domain_id: str) -> None:
    fid = client.create_field(domainId=domain_id, name="Old", type="Text")["fieldId"]
    client.update_field(domainId=domain_id, fieldId=fid, name="New", description="d")
    (field,) = client.batch_get_field(domainId=domain_id, fields=[{"id": fid}])["fields"]
    assert (field["name"], field["description"]) == ("New", "d")
    with pytest.raises(ClientError) as exc:
        client.update_field(domainId=domain_id, fieldId="title", name="Headline")
    assert error(exc) == ("ValidationException", 400)
    with pytest.raises(ClientError) as exc:
        client.update_field(domainId=domain_id, fieldId="missing", name="x")
    assert error(exc) == ("ResourceNotFoundException", 404)
    assert exc.value.response["resourceType"] == "Field"
    client.create_field(domainId=domain_id, name="Taken", type="Text")
    with pytest.raises(ClientError) as exc:
        client.update_field(domainId=domain_id, fieldId=fid, name="Taken")
    assert error(exc) == ("ConflictException", 409)


def test_delete_field_is_soft(client: Any, domain_id: str) -> None:
    fid = client.create_field(domainId=domain_id, name="Temp", type="Boolean")["fieldId"]
    client.delete_field(domainId=domain_id, fieldId=fid)
    assert fid not in [f["fieldId"] for f in client.list_fields(domainId=domain_id)["fields"]]
    (field,) = client.batch_get_field(domainId=domain_id, fields=[{"id": fid}])["fields"]
    assert field["deleted"] is True
    with pytest.raises(ClientError) as exc:
        client.update_field(domainId=domain_id, fieldId=fid, name="again")
    assert error(exc) == ("ValidationException", 400)
    # The name of a deleted field may be reused.
    client.create_field(domainId=domain_id, name="Temp", type="Text")
    with pytest.raises(ClientError) as exc:
        client.delete_field(domainId=domain_id, fieldId="status")
    assert error(exc) == ("ValidationException", 400)


def test_list_fields_pages(client: Any, domain_id: str) -> None:
    for i in range(7):
        client.create_field(domainId=domain_id, name=f"f{i}", type="Number")
    all_ids = [f["fieldId"] for f in client.list_fields(domainId=domain_id)["fields"]]
    paged: list[str] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"domainId": domain_id, "maxResults": 4}
        if token:
            kwargs["nextToken"] = token
        page = client.list_fields(**kwargs)
        paged += [f["fieldId"] for f in page["fields"]]
        token = page.get("nextToken")
        if not token:
            break
    assert paged == all_ids and len(set(paged)) == len(paged)
    # A token is bound to the request that produced it.
    first = client.list_fields(domainId=domain_id, maxResults=4)
    other = client.create_domain(name="other")["domainId"]
    with pytest.raises(ClientError) as exc:
        client.list_fields(domainId=other, maxResults=4, nextToken=first["nextToken"])
    assert error(exc) == ("ValidationException", 400)


def test_field_options_upsert_and_filter(client: Any, domain_id: str) -> None:
    fid = client.create_field(domainId=domain_id, name="Reason", type="SingleSelect")["fieldId"]
    out = client.batch_put_field_options(
        domainId=domain_id,
        fieldId=fid,
        options=[
            {"name": "Billing", "value": "billing", "active": True},
            {"name": "Tech", "value": "tech", "active": True},
        ],
    )
    assert out["errors"] == []
    client.batch_put_field_options(
        domainId=domain_id,
        fieldId=fid,
        options=[
            {"name": "Technical", "value": "tech", "active": False},
            {"name": "Other", "value": "other", "active": True},
        ],
    )
    options = client.list_field_options(domainId=domain_id, fieldId=fid)["options"]
    assert options == [
        {"name": "Billing", "value": "billing", "active": True},
        {"name": "Technical", "value": "tech", "active": False},
        {"name": "Other", "value": "other", "active": True},
    ]
    # The model allows one value per filter.
    filtered = client.list_field_options(domainId=domain_id, fieldId=fid, values=["other"])["options"]
    assert [o["value"] for o in filtered] == ["other"]
    page = client.list_field_options(domainId=domain_id, fieldId=fid, maxResults=2)
    rest = client.list_field_options(domainId=domain_id, fieldId=fid, maxResults=2, nextToken=page["nextToken"])
    assert [o["value"] for o in page["options"] + rest["options"]] == ["billing", "tech", "other"]


def test_field_option_errors(client: Any, domain_id: str) -> None:
    text_id = client.create_field(domainId=domain_id, name="T", type="Text")["fieldId"]
    with pytest.raises(ClientError) as exc:
        client.batch_put_field_options(
            domainId=domain_id, fieldId=text_id, options=[{"name": "a", "value": "a", "active": True}]
        )
    assert error(exc) == ("ValidationException", 400)
    out = client.batch_put_field_options(
        domainId=domain_id,
        fieldId="status",
        options=[
            {"name": "Closed", "value": "closed", "active": False},
            {"name": "Pending", "value": "pending", "active": True},
            {"name": "Pending again", "value": "pending", "active": True},
        ],
    )
    assert sorted(e["value"] for e in out["errors"]) == ["closed", "pending"]
    values = {o["value"]: o for o in client.list_field_options(domainId=domain_id, fieldId="status")["options"]}
    assert values["closed"]["active"] is True and values["pending"]["name"] == "Pending"
    sel = client.create_field(domainId=domain_id, name="S", type="SingleSelect")["fieldId"]
    client.delete_field(domainId=domain_id, fieldId=sel)
    with pytest.raises(ClientError) as exc:
        client.batch_put_field_options(
            domainId=domain_id, fieldId=sel, options=[{"name": "a", "value": "a", "active": True}]
        )
    assert error(exc) == ("ValidationException", 400)
