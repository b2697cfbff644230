"""serialize_response / serialize_error, checked against botocore's own rest-json parser."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from botocore.model import Shape
from botocore.parsers import create_parser

from opencases.errors import (
    AccessDeniedException,
    ConflictException,
    InternalServerException,
    ProtocolError,
    ResourceNotFoundException,
    ServiceError,
    ServiceQuotaExceededException,
    ThrottlingException,
    ValidationException,
)
from opencases.wire.model import operation_model
from opencases.wire.serializer import format_timestamp, serialize_error, serialize_response

UTC = dt.UTC


def _botocore(status: int, headers: dict[str, str], body: bytes, shape: Shape | None) -> dict[str, Any]:
    # HTTP header names are case-insensitive; botocore's HTTP layer hands its parser lower-cased ones.
    lowered = {k.lower(): v for k, v in headers.items()}
    parsed = create_parser("rest-json").parse({"status_code": status, "headers": lowered, "body": body}, shape)
    parsed.pop("ResponseMetadata")
    return dict(parsed)


def test_get_template_response() -> None:
    op = operation_model("GetTemplate")
    result = {
        "templateId": "t-1",
        "templateArn": "arn:aws:cases:us-east-1:123456789012:domain/d/template/t-1",
        "name": "Billing",
        "status": "Active",
        "deleted": False,
        "createdTime": dt.datetime(2024, 1, 2, 3, 4, 5, 678901),  # naive means UTC
        "lastModifiedTime": "2024-01-02T05:04:05.5+02:00",
        "description": None,  # omitted
        "internalOnly": "dropped",  # not in the shape
        "requiredFields": [{"fieldId": "title"}],
    }
    status, headers, body = serialize_response(op, result)
    assert status == 200
    assert headers == {"Content-Type": "application/json"}
    assert json.loads(body) == {
        "templateId": "t-1",
        "templateArn": "arn:aws:cases:us-east-1:123456789012:domain/d/template/t-1",
        "name": "Billing",
        "status": "Active",
        "deleted": False,
        "createdTime": "2024-01-02T03:04:05.678Z",
        "lastModifiedTime": "2024-01-02T03:04:05.500Z",
        "requiredFields": [{"fieldId": "title"}],
    }
    parsed = _botocore(status, headers, body, op.output_shape)
    assert parsed["createdTime"] == dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert parsed["lastModifiedTime"] == dt.datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)


@pytest.mark.parametrize("name", ["UpdateCase", "DeleteCase", "TagResource", "StartMergeCases"])
def test_empty_outputs_are_an_empty_object(name: str) -> None:
    op = operation_model(name)
    assert serialize_response(op, {}) == (200, {"Content-Type": "application/json"}, b"{}")
    assert serialize_response(op, None)[2] == b"{}"
    assert serialize_response(op, {"anything": 1})[2] == b"{}"


def test_nested_timestamps_and_lists() -> None:
    op = operation_model("GetCaseAuditEvents")
    when = dt.datetime(2024, 6, 1, 12, 0, 0, 1000, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    result = {
        "auditEvents": [
            {
                "eventId": "e1",
                "type": "Case.Updated",
                "performedTime": when,
                "fields": [
                    {
                        "eventFieldId": "status",
                        "oldValue": {"stringValue": "open"},
                        "newValue": {"emptyValue": {}},
                    }
                ],
                "performedBy": {"iamPrincipalArn": "arn:aws:iam::123456789012:root", "user": None},
            },
            None,  # AuditEventsList is sparse: a null entry survives
        ],
    }
    status, headers, body = serialize_response(op, result)
    data = json.loads(body)
    assert data["auditEvents"][0]["performedTime"] == "2024-06-01T17:00:00.001Z"
    assert data["auditEvents"][0]["performedBy"] == {"iamPrincipalArn": "arn:aws:iam::123456789012:root"}
    assert data["auditEvents"][1] is None
    parsed = _botocore(status, headers, body, op.output_shape)
    assert parsed["auditEvents"][0]["performedTime"] == when
    assert parsed["auditEvents"][0]["fields"][0]["newValue"] == {"emptyValue": {}}


def test_sparse_map_keeps_null_values() -> None:
    op = operation_model("ListTagsForResource")
    status, headers, body = serialize_response(op, {"tags": {"a": "1", "b": None}})
    assert json.loads(body) == {"tags": {"a": "1", "b": None}}
    assert _botocore(status, headers, body, op.output_shape) == {"tags": {"a": "1", "b": None}}


def test_non_ascii_and_doubles() -> None:
    op = operation_model("GetCase")
    result = {
        "templateId": "t",
        "fields": [
            {"id": "title", "value": {"stringValue": 'Ünïcode ✓ 😀 "quoted"'}},
            {"id": "n", "value": {"doubleValue": 3}},
            {"id": "m", "value": {"doubleValue": 2.5}},
        ],
    }
    status, headers, body = serialize_response(op, result)
    body.decode("utf-8")
    assert _botocore(status, headers, body, op.output_shape) == result


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (dt.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC), "2024-02-29T23:59:59.999Z"),
        (dt.datetime(2024, 1, 1), "2024-01-01T00:00:00.000Z"),
        (dt.datetime(2024, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))), "2023-12-31T23:00:00.000Z"),
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000Z"),
        (0, "1970-01-01T00:00:00.000Z"),
    ],
)
def test_format_timestamp(value: Any, text: str) -> None:
    assert format_timestamp(value) == text


def test_format_timestamp_rejects_garbage() -> None:
    with pytest.raises(TypeError):
        format_timestamp("not a time")


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (ValidationException("bad"), 400, {"message": "bad"}),
        (AccessDeniedException("no"), 403, {"message": "no"}),
        (
            ResourceNotFoundException("gone", "c-1", "Case"),
            404,
            {"message": "gone", "resourceId": "c-1", "resourceType": "Case"},
        ),
        (ConflictException("clash"), 409, {"message": "clash"}),
        (ServiceQuotaExceededException("full"), 402, {"message": "full"}),
        (ThrottlingException("slow"), 429, {"message": "slow"}),
        (InternalServerException("oops"), 500, {"message": "oops"}),
    ],
)
def test_model_errors(error: ServiceError, status: int, body: dict[str, Any]) -> None:
    got_status, headers, payload = serialize_error(error)
    assert got_status == status
    assert headers == {"Content-Type": "application/json", "x-amzn-ErrorType": error.code}
    assert json.loads(payload) == body
    parsed = create_parser("rest-json").parse(
        {"status_code": got_status, "headers": {k.lower(): v for k, v in headers.items()}, "body": payload},
        None,
    )
    assert parsed["Error"]["Code"] == error.code
    assert parsed["Error"]["Message"] == body["message"]


def test_retry_after_goes_to_a_header() -> None:
    status, headers, payload = serialize_error(InternalServerException("later", retry_after_seconds=30))
    assert status == 500
    assert headers["Retry-After"] == "30"
    assert json.loads(payload) == {"message": "later"}
    shape = operation_model("GetCase").service_model.shape_for("InternalServerException")
    parsed = create_parser("rest-json").parse({"status_code": status, "headers": headers, "body": payload}, shape)
    assert parsed["retryAfterSeconds"] == 30


def test_model_status_wins_over_the_class_status() -> None:
    error = ServiceError("odd", bogusMember="dropped")
    error.code, error.status = "ConflictException", 418
    status, _, payload = serialize_error(error)
    assert status == 409
    assert json.loads(payload) == {"message": "odd"}


@pytest.mark.parametrize(("code", "status"), [("UnknownOperationException", 404), ("MethodNotAllowedException", 405)])
def test_protocol_errors(code: str, status: int) -> None:
    got_status, headers, payload = serialize_error(ProtocolError(code, status, "nope"))
    assert got_status == status
    assert headers["x-amzn-ErrorType"] == code
    assert json.loads(payload) == {"message": "nope"}
    parsed = create_parser("rest-json").parse(
        {"status_code": status, "headers": {"x-amzn-errortype": code}, "body": payload}, None
    )
    assert parsed["Error"] == {"Code": code, "Message": "nope"}


def test_nested_rule_conditions_round_trip() -> None:
    # BooleanConditionList holds itself (andAll -> conditions): the one recursive output shape.
    leaf = {"equalTo": {"operandOne": {"fieldId": "status"}, "operandTwo": {"stringValue": "open"}, "result": True}}
    empty = {"notEqualTo": {"operandOne": {"fieldId": "f"}, "operandTwo": {"emptyValue": {}}, "result": False}}
    conditions = [{"andAll": {"conditions": [leaf, {"orAll": {"conditions": [empty, leaf]}}]}}]
    when = dt.datetime(2024, 6, 1, 17, 0, 0, 1000, tzinfo=UTC)
    rule = {
        "caseRuleId": "r", "name": "R", "caseRuleArn": "arn:aws:cases:us-east-1:123456789012:domain/d/case-rule/r",
        "rule": {"required": {"defaultValue": False, "conditions": conditions}},
        "deleted": False, "createdTime": when, "lastModifiedTime": when, "tags": {},
    }
    op = operation_model("BatchGetCaseRule")
    status, headers, body = serialize_response(op, {"caseRules": [rule], "errors": [], "unprocessedCaseRules": []})
    data = json.loads(body)
    assert data["caseRules"][0]["rule"]["required"]["conditions"] == conditions
    assert data["caseRules"][0]["createdTime"] == "2024-06-01T17:00:00.001Z"
    assert _botocore(status, headers, body, op.output_shape)["caseRules"][0] == rule


def test_integers_beyond_64_bits_are_written_exactly() -> None:
    # orjson refuses them; the standard library's encoder writes them.
    op = operation_model("SearchCases")
    _status, _headers, body = serialize_response(op, {"cases": [], "totalCount": 2**70})
    assert json.loads(body) == {"cases": [], "totalCount": 2**70}


def test_format_timestamp_keeps_four_year_digits() -> None:
    assert format_timestamp(dt.datetime(999, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)) == "0999-01-02T03:04:05.006Z"
