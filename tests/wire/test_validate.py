"""validate: each constraint of the model, with the exact member path in the message."""

from __future__ import annotations

import datetime as dt
import re
import warnings
from typing import Any

import pytest

from opencases.errors import ValidationException
from opencases.wire.model import all_plans, operation_model, service_model
from opencases.wire.validate import MAX_DEPTH, compile_all_patterns, pattern, translate_java_regex, validate

PREFIX = "1 validation error detected: "


def _input(op: str) -> Any:
    return operation_model(op).input_shape


def _error(op: str, params: dict[str, Any]) -> str:
    with pytest.raises(ValidationException) as caught:
        validate(_input(op), params)
    assert caught.value.code == "ValidationException"
    assert caught.value.status == 400
    return caught.value.message


def _one(op: str, params: dict[str, Any]) -> str:
    message = _error(op, params)
    assert message.startswith(PREFIX), message
    return message[len(PREFIX) :]


def _case(*values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    fields = [{"id": f"f{i}", "value": v} for i, v in enumerate(values)]
    return {"domainId": "d", "templateId": "t", "fields": fields, **extra}


def test_valid_input_passes() -> None:
    validate(_input("CreateCase"), _case({"stringValue": "x"}, {"doubleValue": 1}, {"emptyValue": {}}))
    validate(_input("GetTemplate"), {"domainId": "d", "templateId": "t"})
    validate(None, {})


def test_required_member() -> None:
    assert _one("CreateDomain", {}) == ("Value null at 'name' failed to satisfy constraint: Member must not be null")


def test_null_member_counts_as_absent() -> None:
    assert "Value null at 'name'" in _one("CreateDomain", {"name": None})
    validate(_input("CreateField"), {"domainId": "d", "name": "n", "type": "Text", "description": None})


def test_nested_required_member_path() -> None:
    params = _case({"stringValue": "x"})
    del params["fields"][0]["id"]
    assert _one("CreateCase", params) == (
        "Value null at 'fields[0].id' failed to satisfy constraint: Member must not be null"
    )


def test_unknown_members_are_ignored() -> None:
    validate(_input("CreateDomain"), {"name": "n", "bogus": {"anything": [1]}})


def test_string_length() -> None:
    assert _one("CreateDomain", {"name": "x" * 101}) == (
        "Value at 'name' failed to satisfy constraint: Member must have length less than or equal to 100"
    )
    assert "Member must have length greater than or equal to 1" in _error("CreateDomain", {"name": ""})
    # Length counts code points: 100 astral characters (200 UTF-16 units) are within 100.
    validate(_input("CreateDomain"), {"name": "😀" * 100})


def test_string_length_deep_path() -> None:
    params = _case({"stringValue": "a"}, {"stringValue": "b"}, {"stringValue": "c" * 4101})
    assert _one("CreateCase", params) == (
        "Value at 'fields[2].value.stringValue' failed to satisfy constraint: "
        "Member must have length less than or equal to 4100"
    )
    message = _one(
        "CreateTemplate", {"domainId": "d", "name": "n", "layoutConfiguration": {"defaultLayout": "x" * 501}}
    )
    assert message.startswith("Value at 'layoutConfiguration.defaultLayout' failed")


@pytest.mark.parametrize(
    ("params", "path", "kind"),
    [
        ({"name": 5}, "name", "string"),
        ({"name": ["n"]}, "name", "string"),
    ],
)
def test_type_errors(params: dict[str, Any], path: str, kind: str) -> None:
    assert (
        _one("CreateDomain", params) == f"Value at '{path}' failed to satisfy constraint: Member must be of type {kind}"
    )


def test_type_errors_deep() -> None:
    assert "'fields[0].value.doubleValue' failed to satisfy constraint: Member must be of type double" in _one(
        "CreateCase", _case({"doubleValue": "1.5"})
    )
    assert "'fields[0].value.booleanValue'" in _one("CreateCase", _case({"booleanValue": 1}))
    assert "'fields' failed to satisfy constraint: Member must be of type list" in _one(
        "CreateCase", {"domainId": "d", "templateId": "t", "fields": {"a": 1}}
    )
    assert "'fields[0]' failed to satisfy constraint: Member must be of type structure" in _one(
        "CreateCase", {"domainId": "d", "templateId": "t", "fields": ["x"]}
    )
    assert "'tags' failed to satisfy constraint: Member must be of type map" in _one("CreateCase", _case(tags=["k"]))


def test_bool_is_not_an_integer_and_int_is_a_double() -> None:
    assert "'maxResults' failed to satisfy constraint: Member must be of type integer" in _one(
        "ListDomains", {"maxResults": True}
    )
    assert "Member must be of type integer" in _one("ListDomains", {"maxResults": 5.0})
    validate(_input("CreateCase"), _case({"doubleValue": 3}))
    validate(_input("CreateCase"), _case({"doubleValue": -2.5}))
    assert "Member must be of type double" in _one("CreateCase", _case({"doubleValue": True}))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_doubles_are_rejected(value: float) -> None:
    assert _one("CreateCase", _case({"doubleValue": value})) == (
        "Value at 'fields[0].value.doubleValue' failed to satisfy constraint: Member must be a finite number"
    )


def test_numeric_range() -> None:
    assert _one("ListDomains", {"maxResults": 11}) == (
        "Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10"
    )
    assert _one("ListDomains", {"maxResults": 0}).endswith("Member must have value greater than or equal to 1")
    assert "Member must fit in a 32-bit integer" in _one("ListDomains", {"maxResults": 2**40})
    validate(_input("ListDomains"), {"maxResults": 10})


def test_list_length() -> None:
    base = {"domainId": "d", "caseId": "c"}
    assert _one("GetCase", {**base, "fields": []}) == (
        "Value at 'fields' failed to satisfy constraint: Member must have length greater than or equal to 1"
    )
    too_many = [{"id": str(i)} for i in range(221)]
    assert _one("GetCase", {**base, "fields": too_many}).endswith("length less than or equal to 220")


def test_dense_list_rejects_null_items() -> None:
    assert _one("GetCase", {"domainId": "d", "caseId": "c", "fields": [{"id": "a"}, None]}) == (
        "Value null at 'fields[1]' failed to satisfy constraint: Member must not be null"
    )


def test_map_size_keys_and_values() -> None:
    tags = {f"k{i}": "v" for i in range(51)}
    assert _one("CreateCase", _case(tags=tags)) == (
        "Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"
    )
    assert _one("CreateCase", _case(tags={"k": "v" * 257})) == (
        "Value at 'tags[k]' failed to satisfy constraint: Member must have length less than or equal to 256"
    )
    message = _one("CreateCase", _case(tags={"###": "v"}))
    assert message.startswith(
        "Value at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: "
        "[Member must satisfy regular expression pattern: "
    )
    assert "Map keys must satisfy constraint: [Member must have length less than or equal to 128]" in _one(
        "CreateCase", _case(tags={"k" * 129: "v"})
    )
    assert "Map keys must satisfy constraint: [Member must be of type string]" in _one(
        "CreateCase", _case(tags={1: "v"})
    )


def test_sparse_map_accepts_null_values_dense_map_does_not() -> None:
    validate(_input("TagResource"), {"arn": "a", "tags": {"k": None}})
    assert _one("CreateCase", _case(tags={"k": None})) == (
        "Value null at 'tags[k]' failed to satisfy constraint: Member must not be null"
    )


def test_enum() -> None:
    assert _one("CreateField", {"domainId": "d", "name": "n", "type": "Bogus"}) == (
        "Value at 'type' failed to satisfy constraint: Member must satisfy enum value set: "
        "[Text, Number, Boolean, DateTime, SingleSelect, Url, User]"
    )
    assert "'status[1]'" in _one("ListTemplates", {"domainId": "d", "status": ["Active", "active"]})


def test_pattern_is_not_anchored() -> None:
    # DomainName is `.*[\S]`: some non-space character anywhere, per Smithy's unanchored patterns.
    validate(_input("CreateDomain"), {"name": "  x  "})
    assert _one("CreateDomain", {"name": "   "}) == (
        "Value at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: .*[\\S]"
    )
    # CaseStatus is `[a-zA-Z0-9_\-\s]+`: one allowed character somewhere is enough.
    batch = {"domainId": "d", "cases": [{"caseIdentifier": {"caseId": "c"}}], "fields": []}
    validate(_input("BatchUpdateCase"), {**batch, "status": "#ok#"})
    assert _one("BatchUpdateCase", {**batch, "status": "###"}).startswith("Value at 'status' failed")


def test_union_needs_exactly_one_member() -> None:
    assert _one("CreateCase", _case({})) == (
        "Value at 'fields[0].value' failed to satisfy constraint: "
        "Member must set exactly one member of the union (got none)"
    )
    assert _one("CreateCase", _case({"stringValue": "x", "booleanValue": True})) == (
        "Value at 'fields[0].value' failed to satisfy constraint: "
        "Member must set exactly one member of the union (got 2: stringValue, booleanValue)"
    )
    # A null member is not set; an empty structure member is.
    validate(_input("CreateCase"), _case({"stringValue": "x", "booleanValue": None}))
    validate(_input("CreateCase"), _case({"emptyValue": {}}))
    assert "(got none)" in _one("CreateCase", _case({"unknownMember": 1}))


def _nested_filter(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"tag": {"equalTo": {"key": "k", "value": "v"}}}
    for _ in range(levels):
        node = {"not": node}
    return node


def test_recursion_depth_is_capped() -> None:
    validate(_input("SearchCases"), {"domainId": "d", "filter": _nested_filter(30)})
    message = _one("SearchCases", {"domainId": "d", "filter": _nested_filter(5000)})
    assert message.startswith("Value at 'filter.not.not.not")
    assert message.endswith(f"Member must not be nested deeper than {MAX_DEPTH} levels")
    # Depth counts lists too: andAll -> [0] -> andAll ...
    node: dict[str, Any] = {"tag": {"equalTo": {"key": "k", "value": "v"}}}
    for _ in range(40):
        node = {"andAll": [node]}
    assert "filter.andAll[0].andAll[0]" in _one("SearchCases", {"domainId": "d", "filter": node})


def test_several_errors_are_reported_and_capped() -> None:
    message = _error("CreateField", {"domainId": "", "name": "x" * 200})
    assert message.startswith("3 validation errors detected: ")
    assert "'domainId'" in message and "'name'" in message and "Value null at 'type'" in message
    many = _case(*[{"stringValue": "x", "doubleValue": 1} for _ in range(30)])
    assert _error("CreateCase", many).startswith("10 validation errors detected: ")


def test_timestamp_type() -> None:
    from opencases.wire.model import plan_for
    from opencases.wire.validate import _check, _Errors

    errors = _Errors()
    _check(
        plan_for("AuditEvent"),
        {
            "eventId": "e",
            "type": "Case.Created",
            "performedTime": "x",
            "fields": [],
            "performedBy": {"iamPrincipalArn": "a"},
        },
        "",
        0,
        errors,
    )
    assert errors == ["Value at 'performedTime' failed to satisfy constraint: Member must be of type timestamp"]
    errors = _Errors()
    stamp = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    _check(
        plan_for("AuditEvent"),
        {
            "eventId": "e",
            "type": "Case.Created",
            "performedTime": stamp,
            "fields": [],
            "performedBy": {"iamPrincipalArn": "a"},
        },
        "",
        0,
        errors,
    )
    assert errors == []


def test_every_model_pattern_compiles() -> None:
    raw = {p.pattern for p in all_plans().values() if p.pattern}
    assert raw, "the model has patterns"
    compiled = compile_all_patterns()
    assert set(compiled) == raw
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for text in raw:
            assert isinstance(re.compile(text), re.Pattern)


def test_every_string_shape_with_a_pattern_is_validated() -> None:
    # Guard against a shape silently losing its pattern: count them against the raw model.
    model = service_model()
    names = [n for n in model.shape_names if model.shape_for(n).metadata.get("pattern")]
    assert names and all(all_plans()[n].pattern == model.shape_for(n).metadata["pattern"] for n in names)


@pytest.mark.parametrize(
    ("java", "accepts", "rejects"),
    [
        (r"^\p{Alpha}+\z", "abc", "abc\n"),
        (r"^[\p{Digit}_]+$", "1_2", "a"),
        (r"^\P{Digit}+$", "ab", "a1"),
        (r"^a\h+b$", "a \tb", "a\nb"),
        (r"^[\h]x$", " x", "\nx"),
        (r"^\\z$", "\\z", "z"),
        (r"^x\Z", "x\n", "x\n\n"),
        (r"^a++b$", "aab", "b"),  # possessive quantifier, native on Python 3.11
    ],
)
def test_java_regex_translation(java: str, accepts: str, rejects: str) -> None:
    compiled = pattern(java)
    assert compiled.search(accepts), translate_java_regex(java)
    assert not compiled.search(rejects), translate_java_regex(java)


def test_uncompilable_pattern_fails_loudly() -> None:
    with pytest.raises(RuntimeError, match="does not compile"):
        pattern("[unclosed")
    with pytest.raises(RuntimeError, match="does not compile"):
        pattern(r"\p{IsGreek}")
