"""Layouts through boto3 against a live server: CRUD, soft delete, field rules, quotas, paging."""

from __future__ import annotations

from typing import Any

from tests.services.config_support import expect_error, expect_not_found, layout_content, make_field
from tests.support import make_client


def _create(client: Any, domain_id: str, name: str, fields: list[str] | None = None) -> str:
    content = layout_content(fields if fields is not None else ["summary"])
    return str(client.create_layout(domainId=domain_id, name=name, content=content)["layoutId"])


def test_create_and_get(client: Any, domain_id: str) -> None:
    f1 = make_field(client, domain_id, "Priority")
    content = layout_content([f1, "summary"], ["customer_id", "case_reason"])
    created = client.create_layout(domainId=domain_id, name="Main", content=content)
    layout_id = created["layoutId"]
    assert created["layoutArn"].startswith("arn:aws:cases:us-east-1:")
    assert created["layoutArn"].endswith(f":domain/{domain_id}/layout/{layout_id}")

    got = client.get_layout(domainId=domain_id, layoutId=layout_id)
    assert got["layoutId"] == layout_id
    assert got["layoutArn"] == created["layoutArn"]
    assert got["name"] == "Main"
    assert got["content"] == content
    assert got["tags"] == {}
    assert got["deleted"] is False
    assert got["createdTime"] == got["lastModifiedTime"]


def test_empty_layout_is_allowed(client: Any, domain_id: str) -> None:
    layout_id = client.create_layout(domainId=domain_id, name="Empty", content={"basic": {}})["layoutId"]
    assert client.get_layout(domainId=domain_id, layoutId=layout_id)["content"] == {"basic": {}}


def test_duplicate_name_conflicts_until_deleted(client: Any, domain_id: str) -> None:
    layout_id = _create(client, domain_id, "Same")
    expect_error(client.create_layout, "ConflictException", 409,
                 domainId=domain_id, name="Same", content=layout_content(["summary"]))
    client.delete_layout(domainId=domain_id, layoutId=layout_id)
    # Uniqueness is among layouts that are not deleted.
    assert _create(client, domain_id, "Same") != layout_id


def test_unknown_and_deleted_fields_are_rejected(client: Any, domain_id: str) -> None:
    gone = make_field(client, domain_id, "Gone")
    client.delete_field(domainId=domain_id, fieldId=gone)
    r = expect_error(client.create_layout, "ValidationException", 400,
                     domainId=domain_id, name="L", content=layout_content(["summary", "no-such-field"]))
    assert "no-such-field" in r["Error"]["Message"]
    r = expect_error(client.create_layout, "ValidationException", 400,
                     domainId=domain_id, name="L", content=layout_content([], [gone]))
    assert gone in r["Error"]["Message"]
    assert client.list_layouts(domainId=domain_id)["layouts"] == []


def test_title_and_status_cannot_be_in_layouts(client: Any, domain_id: str) -> None:
    for field_id in ("title", "status"):
        r = expect_error(client.create_layout, "ValidationException", 400,
                         domainId=domain_id, name="L", content=layout_content(["summary", field_id]))
        assert field_id in r["Error"]["Message"]
    assert client.list_layouts(domainId=domain_id)["layouts"] == []


def test_a_field_appears_once(client: Any, domain_id: str) -> None:
    r = expect_error(client.create_layout, "ValidationException", 400,
                     domainId=domain_id, name="L", content=layout_content(["summary"], ["summary"]))
    assert "summary" in r["Error"]["Message"]


def test_get_omits_deleted_fields(client: Any, domain_id: str) -> None:
    keep, drop, drop2 = (make_field(client, domain_id, name) for name in ("Keep", "Drop", "Drop2"))
    layout_id = client.create_layout(
        domainId=domain_id, name="L", content=layout_content([keep, drop], [drop2, "summary"])
    )["layoutId"]
    client.delete_field(domainId=domain_id, fieldId=drop)
    client.delete_field(domainId=domain_id, fieldId=drop2)
    content = client.get_layout(domainId=domain_id, layoutId=layout_id)["content"]
    assert content == layout_content([keep], ["summary"])


def test_update(client: Any, domain_id: str) -> None:
    layout_id = _create(client, domain_id, "Before")
    before = client.get_layout(domainId=domain_id, layoutId=layout_id)
    assert client.update_layout(domainId=domain_id, layoutId=layout_id, name="After")["ResponseMetadata"][
        "HTTPStatusCode"
    ] == 200
    got = client.get_layout(domainId=domain_id, layoutId=layout_id)
    assert got["name"] == "After"
    assert got["content"] == before["content"]  # content left out: unchanged
    assert got["lastModifiedTime"] >= before["lastModifiedTime"]
    assert got["createdTime"] == before["createdTime"]

    new_content = layout_content(["customer_id"], ["summary"])
    client.update_layout(domainId=domain_id, layoutId=layout_id, content=new_content)
    got = client.get_layout(domainId=domain_id, layoutId=layout_id)
    assert (got["name"], got["content"]) == ("After", new_content)


def test_rejected_updates_change_nothing(client: Any, domain_id: str) -> None:
    layout_id = _create(client, domain_id, "Mine")
    _create(client, domain_id, "Taken")
    before = client.get_layout(domainId=domain_id, layoutId=layout_id)
    expect_error(client.update_layout, "ConflictException", 409, domainId=domain_id, layoutId=layout_id, name="Taken")
    expect_error(client.update_layout, "ValidationException", 400,
                 domainId=domain_id, layoutId=layout_id, name="X", content=layout_content(["nope"]))
    expect_error(client.update_layout, "ValidationException", 400,
                 domainId=domain_id, layoutId=layout_id, content=layout_content(["title"]))
    expect_error(client.update_layout, "ValidationException", 400, domainId=domain_id, layoutId=layout_id)
    after = client.get_layout(domainId=domain_id, layoutId=layout_id)
    assert after == before | {"ResponseMetadata": after["ResponseMetadata"]}


def test_soft_delete(client: Any, domain_id: str) -> None:
    layout_id = _create(client, domain_id, "Doomed")
    other = _create(client, domain_id, "Other")
    client.delete_layout(domainId=domain_id, layoutId=layout_id)
    got = client.get_layout(domainId=domain_id, layoutId=layout_id)
    assert got["deleted"] is True
    assert got["name"] == "Doomed"
    assert [x["layoutId"] for x in client.list_layouts(domainId=domain_id)["layouts"]] == [other]
    # Updating a deleted layout "throws a ValidationException".
    r = expect_error(client.update_layout, "ValidationException", 400,
                     domainId=domain_id, layoutId=layout_id, name="Revived")
    assert "deleted" in r["Error"]["Message"]
    # Deleting again is a no-op (the operation is idempotent).
    client.delete_layout(domainId=domain_id, layoutId=layout_id)
    assert client.get_layout(domainId=domain_id, layoutId=layout_id)["name"] == "Doomed"


def test_unknown_layout_and_domain(client: Any, domain_id: str) -> None:
    for call, extra in (
        (client.get_layout, {}),
        (client.update_layout, {"name": "x"}),
        (client.delete_layout, {}),
    ):
        expect_not_found(call, "no-such-layout", "Layout", domainId=domain_id, layoutId="no-such-layout", **extra)
        expect_not_found(call, "no-such-domain", "Domain", domainId="no-such-domain", layoutId="x", **extra)
    expect_not_found(client.list_layouts, "no-such-domain", "Domain", domainId="no-such-domain")
    expect_not_found(client.create_layout, "no-such-domain", "Domain",
                     domainId="no-such-domain", name="L", content=layout_content([]))


def test_other_accounts_see_nothing(client: Any, domain_id: str, server: Any) -> None:
    layout_id = _create(client, domain_id, "Private")
    stranger = make_client(server.endpoint)
    expect_not_found(stranger.get_layout, domain_id, "Domain", domainId=domain_id, layoutId=layout_id)


def test_list_pages(client: Any, domain_id: str) -> None:
    ids = [_create(client, domain_id, f"L{i}") for i in range(5)]
    client.delete_layout(domainId=domain_id, layoutId=ids[2])
    live = [i for i in ids if i != ids[2]]

    seen: list[str] = []
    pages = 0
    kwargs: dict[str, Any] = {"domainId": domain_id, "maxResults": 3}
    while True:
        page = client.list_layouts(**kwargs)
        pages += 1
        assert len(page["layouts"]) <= 3
        for summary in page["layouts"]:
            assert set(summary) == {"layoutId", "layoutArn", "name"}
        seen += [x["layoutId"] for x in page["layouts"]]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert pages == 2
    assert seen == live  # creation order, deleted layout excluded

    one = client.list_layouts(domainId=domain_id, maxResults=1)
    assert len(one["layouts"]) == 1 and "nextToken" in one
    everything = client.list_layouts(domainId=domain_id)
    assert [x["layoutId"] for x in everything["layouts"]] == live and "nextToken" not in everything


def test_list_bad_token(client: Any, domain_id: str) -> None:
    for i in range(3):
        _create(client, domain_id, f"L{i}")
    expect_error(client.list_layouts, "ValidationException", 400, domainId=domain_id, nextToken="garbage")
    token = client.list_layouts(domainId=domain_id, maxResults=1)["nextToken"]
    other_domain = client.create_domain(name="other")["domainId"]
    # A token is bound to the query that produced it.
    expect_error(client.list_layouts, "ValidationException", 400, domainId=other_domain, nextToken=token)


def test_layout_quotas(quota_client: Any, quota_domain_id: str) -> None:
    c, d = quota_client, quota_domain_id
    fields = [make_field(c, d, f"F{i}") for i in range(5)]
    # fields_per_layout is 4 on this server; both panels count.
    r = expect_error(c.create_layout, "ServiceQuotaExceededException", 402,
                     domainId=d, name="Big", content=layout_content(fields[:3], fields[3:]))
    assert "fields per layout" in r["Error"]["Message"]
    layout_id = c.create_layout(domainId=d, name="Fits", content=layout_content(fields[:2], fields[2:4]))["layoutId"]
    expect_error(c.update_layout, "ServiceQuotaExceededException", 402,
                 domainId=d, layoutId=layout_id, content=layout_content(fields))
    assert c.get_layout(domainId=d, layoutId=layout_id)["content"] == layout_content(fields[:2], fields[2:4])

    # layouts_per_domain is 3, counting only layouts that are not deleted.
    second, third = _create(c, d, "Two"), _create(c, d, "Three")
    expect_error(c.create_layout, "ServiceQuotaExceededException", 402,
                 domainId=d, name="Four", content=layout_content([]))
    c.delete_layout(domainId=d, layoutId=second)
    fourth = _create(c, d, "Four")

    # deleted_layouts_per_domain is 2: DeleteLayout has no quota error, so it is a ValidationException.
    c.delete_layout(domainId=d, layoutId=third)
    r = expect_error(c.delete_layout, "ValidationException", 400, domainId=d, layoutId=fourth)
    assert "delete up to 2 layouts" in r["Error"]["Message"]
    assert c.get_layout(domainId=d, layoutId=fourth)["deleted"] is False
