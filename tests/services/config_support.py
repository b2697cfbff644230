"""Helpers for the configuration tests: error assertions and small resource builders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


def expect_error(call: Callable[..., Any], code: str, status: int, /, **kwargs: Any) -> dict[str, Any]:
    """Call and assert the modeled error code and HTTP status; returns the parsed response."""
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    response: dict[str, Any] = info.value.response
    assert response["Error"]["Code"] == code, response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status, response
    return response


def expect_not_found(
    call: Callable[..., Any], resource_id: str, resource_type: str, /, **kwargs: Any
) -> None:
    response = expect_error(call, "ResourceNotFoundException", 404, **kwargs)
    assert response["resourceId"] == resource_id
    assert response["resourceType"] == resource_type


def make_field(client: Any, domain_id: str, name: str, field_type: str = "Text") -> str:
    return str(client.create_field(domainId=domain_id, name=name, type=field_type)["fieldId"])


def layout_content(top: list[str], more: list[str] | None = None) -> dict[str, Any]:
    basic: dict[str, Any] = {
        "topPanel": {"sections": [{"fieldGroup": {"name": "Top", "fields": [{"id": f} for f in top]}}]}
    }
    if more is not None:
        basic["moreInfo"] = {"sections": [{"fieldGroup": {"name": "More", "fields": [{"id": f} for f in more]}}]}
    return {"basic": basic}


def required_rule(field_id: str = "status", value: str = "open") -> dict[str, Any]:
    """A Required rule: required when `field_id` equals `value`."""
    condition = {"operandOne": {"fieldId": field_id}, "operandTwo": {"stringValue": value}, "result": True}
    return {"required": {"defaultValue": False, "conditions": [{"equalTo": condition}]}}


def make_rule(client: Any, domain_id: str, name: str, rule: dict[str, Any] | None = None) -> str:
    created = client.create_case_rule(domainId=domain_id, name=name, rule=rule or required_rule())
    return str(created["caseRuleId"])
