"""client_view(op, result) is what botocore's parser makes of our serialized response."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.parsers import create_parser

from opencases.testing.parsed import NotEquivalent, client_view, supports
from opencases.wire.model import operation_model, operation_names
from opencases.wire.serializer import serialize_response

NOW = dt.datetime(2024, 3, 16, 23, 16, 57, 893456, tzinfo=dt.UTC)


def over_http(operation: str, result: Any) -> dict[str, Any]:
    op = operation_model(operation)
    status, headers, body = serialize_response(op, result)
    response = {"status_code": status, "headers": {k.lower(): v for k, v in headers.items()}, "body": body}
    parsed = create_parser("rest-json").parse(response, op.output_shape)
    parsed.pop("ResponseMetadata")
    return dict(parsed)


RESULTS: list[tuple[str, Any]] = [
    ("GetCase", {
        "fields": [
            {"id": "title", "value": {"stringValue": "Printer on fire \N{FIRE}"}},
            {"id": "n", "value": {"doubleValue": 3}},  # an int where the model has a double
            {"id": "f", "value": {"doubleValue": 2.5}},
            {"id": "b", "value": {"booleanValue": False}},
            {"id": "e", "value": {"emptyValue": {}}},
            {"id": "u", "value": {"userArnValue": "arn:aws:connect:us-east-1:1:instance/i/agent/a"}},
        ],
        "templateId": "t", "tags": {"k": "v", "empty": ""}, "unknown": 1, "nextToken": None,
    }),
    ("GetCase", {"fields": [], "templateId": "t", "tags": {}}),
    ("GetDomain", {"domainId": "d", "domainArn": "arn", "name": "n", "domainStatus": "Active",
                   "createdTime": NOW, "tags": {}}),
    ("GetDomain", {"domainId": "d", "domainArn": "arn", "name": "n", "domainStatus": "Active",
                   "createdTime": NOW.replace(tzinfo=None)}),  # naive means UTC
    ("GetDomain", {"domainId": "d", "domainArn": "arn", "name": "n", "domainStatus": "Active",
                   "createdTime": NOW.astimezone(dt.timezone(dt.timedelta(hours=-5)))}),
    ("GetCaseAuditEvents", {"auditEvents": [{
        "eventId": "e", "type": "Case.Updated", "performedTime": NOW, "relatedItemType": None,
        "fields": [{"eventFieldId": "x", "oldValue": {"emptyValue": {}}, "newValue": {"doubleValue": 1}}],
        "performedBy": {"iamPrincipalArn": "arn:p", "user": {"customEntity": "bot"}},
    }], "nextToken": "tok"}),
    ("ListDomains", {"domains": ({"domainId": "d", "domainArn": "a", "name": "n"},)}),  # a tuple
    ("TagResource", None),
    ("UntagResource", {}),
]


@pytest.mark.parametrize(("operation", "result"), RESULTS)
def test_same_as_botocore_parsing_our_serialized_response(operation: str, result: Any) -> None:
    mine = client_view(operation_model(operation), result)
    theirs = over_http(operation, result)
    assert mine == theirs
    assert repr(mine) == repr(theirs)  # same types, same key order


NOT_EQUIVALENT: list[tuple[str, Any]] = [
    ("GetCase", {"fields": [{"id": "n", "value": {"doubleValue": float("nan")}}], "templateId": "t"}),
    ("GetCase", {"fields": [{"id": "t", "value": {"stringValue": "\ud800"}}], "templateId": "t"}),
    ("GetCase", {"fields": [{"id": "t", "value": {"stringValue": "a", "doubleValue": 1.0}}], "templateId": "t"}),
    ("GetCase", {"fields": [{"id": "t", "value": {}}], "templateId": "t"}),
    ("GetCase", {"fields": "not a list", "templateId": "t"}),
    ("GetCase", {"fields": [], "templateId": 7}),
    ("GetCase", {"fields": [], "templateId": "t", "tags": {1: "v"}}),
    ("ListDomains", {"domains": [], "nextToken": True}),
]


@pytest.mark.parametrize(("operation", "result"), NOT_EQUIVALENT)
def test_anything_doubtful_is_left_to_the_http_level_path(operation: str, result: Any) -> None:
    with pytest.raises(NotEquivalent):
        client_view(operation_model(operation), result)


def test_every_operation_returns_its_output_in_the_body() -> None:
    assert all(supports(operation_model(name)) for name in operation_names())
