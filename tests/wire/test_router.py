"""Router: every operation routes from the path botocore builds; 404/405; encoding quirks."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.awsrequest import prepare_request_dict
from botocore.model import ServiceModel
from botocore.serialize import create_serializer

from opencases.errors import ProtocolError, ValidationException
from opencases.wire.model import service_model
from opencases.wire.router import Router, router

MODEL = service_model()
ARN = "arn:aws:cases:us-east-1:123456789012:domain/abc/case/x+y"
LABELS = {
    "arn": ARN,
    "domainId": "dom 1/ü",
    "caseId": "case:1",
    "fieldId": "f%1",
    "layoutId": "l-1",
    "templateId": "t-1",
    "caseRuleId": "r-1",
    "relatedItemId": "ri-1",
}


def _botocore_request(name: str) -> tuple[str, str, str]:
    """(method, raw path, raw query) of the request botocore's serializer builds for `name`."""
    op = MODEL.operation_model(name)
    params: dict[str, Any] = {}
    assert op.input_shape is not None
    for member, shape in op.input_shape.members.items():
        location = shape.serialization.get("location")
        if location == "uri":
            params[member] = LABELS[shape.serialization["name"]]
        elif location == "querystring" and member in op.input_shape.required_members:
            params[member] = ["k1", "k 2"]
    # Only the URI and query members are filled: botocore's own validation is left out.
    request = create_serializer("rest-json", include_validation=False).serialize_to_request(params, op)
    prepare_request_dict(request, endpoint_url="http://localhost:1")
    url = urlsplit(request["url"])
    return request["method"], url.path, url.query


@pytest.mark.parametrize("name", sorted(MODEL.operation_names))
def test_every_operation_routes_from_botocore_path(name: str) -> None:
    method, path, _ = _botocore_request(name)
    op = MODEL.operation_model(name)
    found, labels = router().match(method, path)
    assert found == name
    assert op.input_shape is not None
    expected = {
        shape.serialization["name"]: LABELS[shape.serialization["name"]]
        for shape in op.input_shape.members.values()
        if shape.serialization.get("location") == "uri"
    }
    assert labels == expected


def test_all_47_routes_are_distinct() -> None:
    routes = {(m.http["method"], m.http["requestUri"]) for m in map(MODEL.operation_model, MODEL.operation_names)}
    assert len(routes) == 47


def test_tags_arn_is_percent_decoded() -> None:
    path = "/tags/arn%3Aaws%3Acases%3Aus-east-1%3A123456789012%3Adomain%2Fabc"
    assert router().match("GET", path) == (
        "ListTagsForResource",
        {"arn": "arn:aws:cases:us-east-1:123456789012:domain/abc"},
    )
    assert router().match("POST", path)[0] == "TagResource"
    assert router().match("delete", path)[0] == "UntagResource"  # method is case-insensitive


def test_unencoded_slash_in_arn_does_not_match() -> None:
    with pytest.raises(ProtocolError) as caught:
        router().match("GET", "/tags/arn:aws:cases:us-east-1:123456789012:domain/abc")
    assert (caught.value.code, caught.value.status) == ("UnknownOperationException", 404)


def test_plus_in_path_is_literal() -> None:
    assert router().match("POST", "/domains/a+b")[1] == {"domainId": "a+b"}


def test_colon_paths_and_encoded_colon() -> None:
    assert router().match("POST", "/cases:batchCreateRelatedItem") == ("BatchCreateRelatedItem", {})
    assert router().match("PUT", "/cases:batchUpdateCase") == ("BatchUpdateCase", {})
    assert router().match("POST", "/cases%3AbatchCreateRelatedItem")[0] == "BatchCreateRelatedItem"


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("POST", "/domains/d/rules-list/", "ListCaseRules"),
        ("POST", "/domains/d/rules-list", "ListCaseRules"),
        ("POST", "/domains/d/cases/c/related-items/", "CreateRelatedItem"),
        ("POST", "/domains/d/cases/c/related-items", "CreateRelatedItem"),
        ("POST", "/domains/d/", "GetDomain"),
        ("POST", "/domains", "CreateDomain"),
        ("POST", "/domains/", "CreateDomain"),
    ],
)
def test_trailing_slash_is_tolerated(method: str, path: str, name: str) -> None:
    assert router().match(method, path)[0] == name


def test_query_in_path_is_ignored() -> None:
    assert router().match("POST", "/domains-list?maxResults=2") == ("ListDomains", {})


def test_related_item_routes() -> None:
    base = "/domains/d/cases/c/related-items"
    assert router().match("PUT", f"{base}/r") == (
        "UpdateRelatedItem",
        {"domainId": "d", "caseId": "c", "relatedItemId": "r"},
    )
    assert router().match("DELETE", f"{base}/r")[0] == "DeleteRelatedItem"
    with pytest.raises(ProtocolError) as caught:
        router().match("DELETE", f"{base}/")
    assert caught.value.status == 405


@pytest.mark.parametrize(
    "path", ["/", "/nope", "/domains/d/unknown", "/domains//cases", "/domains/d/cases/c/x/y/z", ""]
)
def test_unknown_path_is_404(path: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        router().match("POST", path)
    assert (caught.value.code, caught.value.status) == ("UnknownOperationException", 404)
    assert caught.value.message


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/domains/d"), ("PATCH", "/domains/d/cases/c"), ("GET", "/cases:batchUpdateCase")],
)
def test_wrong_method_is_405(method: str, path: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        router().match(method, path)
    assert (caught.value.code, caught.value.status) == ("MethodNotAllowedException", 405)


def test_invalid_utf8_escape_is_a_validation_error() -> None:
    with pytest.raises(ValidationException):
        router().match("POST", "/domains/%FF%FE")


def test_router_is_cached() -> None:
    assert router() is router()


def _synthetic(routes: dict[str, tuple[str, str]]) -> Router:
    operations = {
        name: {"name": name, "http": {"method": method, "requestUri": uri}} for name, (method, uri) in routes.items()
    }
    return Router(ServiceModel({"metadata": {"protocol": "rest-json"}, "operations": operations, "shapes": {}}))


def test_literal_segments_win_over_labels() -> None:
    r = _synthetic(
        {
            "ByLabel": ("GET", "/a/{x}/c"),
            "ByLiteral": ("GET", "/a/b/c"),
            "LabelOnlyPost": ("POST", "/a/{x}/c"),
        }
    )
    assert r.match("GET", "/a/b/c") == ("ByLiteral", {})
    assert r.match("GET", "/a/z/c") == ("ByLabel", {"x": "z"})
    # The literal route lacks POST, so the label route takes the request.
    assert r.match("POST", "/a/b/c") == ("LabelOnlyPost", {"x": "b"})
    with pytest.raises(ProtocolError) as caught:
        r.match("PUT", "/a/b/c")
    assert caught.value.status == 405


def test_greedy_labels_and_query_in_request_uri() -> None:
    r = _synthetic({"Greedy": ("GET", "/files/{key+}"), "WithQuery": ("POST", "/things?op=x")})
    assert r.match("GET", "/files/a/b%2Fc/d") == ("Greedy", {"key": "a/b/c/d"})
    assert r.match("POST", "/things") == ("WithQuery", {})
    with pytest.raises(ProtocolError):
        r.match("GET", "/files/")
