"""PutCaseEventConfiguration and GetCaseEventConfiguration through boto3 against a live server."""

from __future__ import annotations

from typing import Any

from tests.services.config_support import expect_error, expect_not_found, make_field
from tests.support import make_client


def _get(client: Any, domain_id: str) -> dict[str, Any]:
    return dict(client.get_case_event_configuration(domainId=domain_id)["eventBridge"])


def _config(*field_ids: str, auto: str | None = None, content: bool = True) -> dict[str, Any]:
    case_data: dict[str, Any] = {"fields": [{"id": f} for f in field_ids]}
    if auto is not None:
        case_data["autoIncludeFields"] = auto
    return {
        "enabled": True,
        "includedData": {"caseData": case_data, "relatedItemData": {"includeContent": content}},
    }


def test_default_before_any_put(client: Any, domain_id: str) -> None:
    assert _get(client, domain_id) == {"enabled": False}


def test_put_then_get(client: Any, domain_id: str) -> None:
    field_id = make_field(client, domain_id, "Order")
    config = _config("status", field_id, "title", auto="Custom")
    response = client.put_case_event_configuration(domainId=domain_id, eventBridge=config)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert _get(client, domain_id) == config


def test_put_replaces_everything(client: Any, domain_id: str) -> None:
    client.put_case_event_configuration(domainId=domain_id, eventBridge=_config("status", auto="All"))
    client.put_case_event_configuration(domainId=domain_id, eventBridge={"enabled": False})
    assert _get(client, domain_id) == {"enabled": False}
    no_case_data = {"enabled": True, "includedData": {"relatedItemData": {"includeContent": False}}}
    client.put_case_event_configuration(domainId=domain_id, eventBridge=no_case_data)
    assert _get(client, domain_id) == no_case_data


def test_unknown_and_deleted_fields_change_nothing(client: Any, domain_id: str) -> None:
    gone = make_field(client, domain_id, "Gone")
    client.delete_field(domainId=domain_id, fieldId=gone)
    original = _config("status")
    client.put_case_event_configuration(domainId=domain_id, eventBridge=original)
    for field_id in ("no-such-field", gone):
        r = expect_error(client.put_case_event_configuration, "ValidationException", 400,
                         domainId=domain_id, eventBridge=_config("title", field_id))
        assert field_id in r["Error"]["Message"]
    assert _get(client, domain_id) == original


def test_get_omits_fields_deleted_later(client: Any, domain_id: str) -> None:
    keep, drop = make_field(client, domain_id, "Keep"), make_field(client, domain_id, "Drop")
    client.put_case_event_configuration(domainId=domain_id, eventBridge=_config(keep, drop, "summary"))
    client.delete_field(domainId=domain_id, fieldId=drop)
    assert _get(client, domain_id) == _config(keep, "summary")


def test_repeated_field_ids_are_listed_once(client: Any, domain_id: str) -> None:
    client.put_case_event_configuration(domainId=domain_id, eventBridge=_config("status", "title", "status"))
    assert _get(client, domain_id) == _config("status", "title")


def test_each_domain_has_its_own(client: Any, domain_id: str) -> None:
    other = client.create_domain(name="other")["domainId"]
    client.put_case_event_configuration(domainId=domain_id, eventBridge=_config("status"))
    assert _get(client, other) == {"enabled": False}


def test_unknown_domain(client: Any, domain_id: str, server: Any) -> None:
    expect_not_found(client.get_case_event_configuration, "no-domain", "Domain", domainId="no-domain")
    expect_not_found(client.put_case_event_configuration, "no-domain", "Domain",
                     domainId="no-domain", eventBridge={"enabled": True})
    stranger = make_client(server.endpoint)
    expect_not_found(stranger.get_case_event_configuration, domain_id, "Domain", domainId=domain_id)
    expect_not_found(stranger.put_case_event_configuration, domain_id, "Domain",
                     domainId=domain_id, eventBridge={"enabled": True})
    assert _get(client, domain_id) == {"enabled": False}
