"""parse_request: URI labels, query strings, JSON bodies, and every malformed input -> 400."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from opencases.errors import ValidationException
from opencases.wire.model import operation_model, plan_for
from opencases.wire.parser import _coerce_text, _walk, parse_request, parse_timestamp

CREATE_CASE = operation_model("CreateCase")
LIST_FIELD_OPTIONS = operation_model("ListFieldOptions")


def _invalid(op_name: str, query: str = "", body: bytes = b"", uri: dict[str, str] | None = None) -> str:
    with pytest.raises(ValidationException) as caught:
        parse_request(operation_model(op_name), uri or {"domainId": "d"}, query, body)
    assert caught.value.status == 400
    return caught.value.message


def test_body_uri_and_types() -> None:
    body = {
        "templateId": "t",
        "fields": [
            {"id": "title", "value": {"stringValue": "Hi é"}},
            {"id": "n", "value": {"doubleValue": 2}},
        ],
        "tags": {"k": "v"},
    }
    params = parse_request(CREATE_CASE, {"domainId": "dom/1"}, "", json.dumps(body).encode())
    assert params == {**body, "domainId": "dom/1"}


def test_uri_label_wins_over_body_key() -> None:
    params = parse_request(CREATE_CASE, {"domainId": "from-uri"}, "", b'{"domainId": "from-body"}')
    assert params["domainId"] == "from-uri"


def test_unknown_body_members_and_nulls_are_dropped() -> None:
    body = json.dumps(
        {
            "templateId": "t",
            "bogus": {"deep": [1]},
            "clientToken": None,
            "fields": [{"id": "a", "value": {"stringValue": "x", "doubleValue": None}, "extra": 1}],
        }
    ).encode()
    params = parse_request(CREATE_CASE, {"domainId": "d"}, "", body)
    assert params == {
        "domainId": "d",
        "templateId": "t",
        "fields": [{"id": "a", "value": {"stringValue": "x"}}],
    }


def test_nulls_inside_lists_are_kept_for_the_validator() -> None:
    params = parse_request(CREATE_CASE, {"domainId": "d"}, "", b'{"fields": [null]}')
    assert params["fields"] == [None]


def test_wrong_json_types_pass_through_for_the_validator() -> None:
    body = b'{"templateId": 5, "fields": {"not": "a list"}, "performedBy": "me", "tags": []}'
    params = parse_request(CREATE_CASE, {"domainId": "d"}, "", body)
    assert params == {
        "domainId": "d",
        "templateId": 5,
        "fields": {"not": "a list"},
        "performedBy": "me",
        "tags": [],
    }


@pytest.mark.parametrize("body", [b"", b"   \n", b"{}"])
def test_empty_body_is_empty_params(body: bytes) -> None:
    assert parse_request(CREATE_CASE, {"domainId": "d"}, "", body) == {"domainId": "d"}


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b'{"templateId": ', "not valid JSON"),
        (b"{'templateId': 't'}", "not valid JSON"),
        (b'{"a": 1} trailing', "not valid JSON"),
        (b'{"a": NaN}', "not valid JSON"),
        (b'{"a": Infinity}', "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b"42", "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b'{"templateId": "\xff\xfe"}', "not valid UTF-8"),
        (b"\xef\xbb\xbf{}", "not valid JSON"),  # a BOM is not JSON
    ],
)
def test_malformed_body_is_a_validation_error(body: bytes, needle: str) -> None:
    message = _invalid("CreateCase", body=body)
    assert needle in message
    assert message.startswith("1 validation error detected: ")


def test_hostile_json_nesting_is_a_validation_error() -> None:
    deep = b'{"bogus": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    assert "JSON" in _invalid("CreateCase", body=deep)


def test_deep_recursive_filter_is_a_validation_error() -> None:
    node: dict[str, object] = {"field": {"equalTo": {"id": "f", "value": {"stringValue": "x"}}}}
    for _ in range(200):
        node = {"not": node}
    message = _invalid("SearchCases", body=json.dumps({"filter": node}).encode())
    assert "deeper than 64" in message


def test_moderate_recursive_filter_is_parsed() -> None:
    node: dict[str, object] = {"tag": {"equalTo": {"key": "k", "value": "v"}}}
    for _ in range(10):
        node = {"andAll": [node, {"not": node}]}
    params = parse_request(operation_model("SearchCases"), {"domainId": "d"}, "", json.dumps({"filter": node}).encode())
    assert params["filter"] == node


def test_query_lists_are_repeated_keys_and_integers_are_converted() -> None:
    query = "maxResults=25&values=a%20b&values=c%2Bd&values=&nextToken=t%3D%3D&unknown=1"
    params = parse_request(LIST_FIELD_OPTIONS, {"domainId": "d", "fieldId": "f"}, query, b"")
    assert params == {
        "domainId": "d",
        "fieldId": "f",
        "maxResults": 25,
        "values": ["a b", "c+d", ""],
        "nextToken": "t==",
    }


def test_repeated_scalar_query_key_keeps_the_first() -> None:
    params = parse_request(LIST_FIELD_OPTIONS, {"domainId": "d", "fieldId": "f"}, "maxResults=3&maxResults=9", b"")
    assert params["maxResults"] == 3


def test_untag_resource_tag_keys() -> None:
    op = operation_model("UntagResource")
    params = parse_request(op, {"arn": "arn:aws:x"}, "tagKeys=a&tagKeys=b%3Ac", b"")
    assert params == {"arn": "arn:aws:x", "tagKeys": ["a", "b:c"]}


@pytest.mark.parametrize("value", ["ten", "1.5", "", "0x10", "1e3"])
def test_bad_integer_in_query_names_the_member(value: str) -> None:
    message = _invalid("ListFieldOptions", query=f"maxResults={value}", uri={"domainId": "d", "fieldId": "f"})
    assert "'maxResults'" in message
    assert "integer" in message


def test_bad_utf8_in_query_is_a_validation_error() -> None:
    message = _invalid("ListFieldOptions", query="values=%FF", uri={"domainId": "d", "fieldId": "f"})
    assert "query string" in message


def test_body_is_ignored_for_operations_without_body_members() -> None:
    op = operation_model("GetTemplate")
    params = parse_request(op, {"domainId": "d", "templateId": "t"}, "", b"not json at all")
    assert params == {"domainId": "d", "templateId": "t"}


def test_text_coercion_for_other_types() -> None:
    assert _coerce_text(plan_for("Boolean"), "b", "TRUE") is True
    assert _coerce_text(plan_for("Boolean"), "b", "false") is False
    assert _coerce_text(plan_for("Double"), "d", "2.5") == 2.5
    assert _coerce_text(plan_for("TargetSlaMinutes"), "m", " 42 ") == 42
    stamp = _coerce_text(plan_for("CreatedTime"), "t", "2024-01-02T03:04:05.678Z")
    assert stamp == dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
    for plan, text in (("Boolean", "yes"), ("Double", "x"), ("CreatedTime", "later")):
        with pytest.raises(ValidationException, match="'m'"):
            _coerce_text(plan_for(plan), "m", text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-02T03:04:05.678Z", dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)),
        ("2024-01-02T05:04:05+02:00", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
        ("2024-01-02T03:04:05", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
        (1704164645, dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
        (1704164645.5, dt.datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=dt.UTC)),
        ("1704164645", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
        ("yesterday", None),
        (True, None),
        (float("nan"), None),
        (1e300, None),
        (None, None),
    ],
)
def test_parse_timestamp(value: object, expected: dt.datetime | None) -> None:
    assert parse_timestamp(value) == expected


def test_timestamps_in_bodies_become_datetimes() -> None:
    # No connectcases input carries a timestamp; the walk handles them for output-shaped JSON.
    plan = plan_for("AuditEvent")
    walked = _walk(plan, {"eventId": "e", "performedTime": "2024-01-02T03:04:05.000Z", "zzz": 1}, 0)
    assert walked == {"eventId": "e", "performedTime": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)}
    # An unparseable timestamp is left for the validator to report.
    assert _walk(plan, {"performedTime": "soon"}, 0) == {"performedTime": "soon"}
