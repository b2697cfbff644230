"""Round trips through a real botocore client, for every operation and error shape of the model.

A `before-send` hook stands in for the HTTP server: botocore builds and signs the real request
(method, percent-encoded path, query string, JSON body), the hook runs Router.match,
parse_request, validate and a handler, serializes the result (or error) with our serializer, and
hands the bytes back to botocore's own response parser.

Inputs and outputs come from a generic example generator that walks each shape and satisfies its
min/max/enum/pattern constraints; unions take each of their members in turn across variants.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencases.errors import (
    MODELED_ERRORS,
    InternalServerException,
    ResourceNotFoundException,
    ServiceError,
)
from opencases.wire.model import operation_model, service_model
from opencases.wire.parser import parse_request
from opencases.wire.router import router
from opencases.wire.serializer import serialize_error, serialize_response
from opencases.wire.validate import validate

MODEL = service_model()
OPERATIONS = sorted(MODEL.operation_names)
ARN = "arn:aws:cases:us-east-1:123456789012:domain/d-1/case/c+1"
# Strings known to satisfy the model's patterns (checked per pattern with fullmatch).
PATTERN_CANDIDATES = ["abc", "Case_42", "a.b:c/d-e", "x y z", "open"]
# Free text stresses JSON escaping, UTF-8 and percent-encoding in paths and queries.
FREE_TEXT = 'ab/c d:e+f%g?h#i&j=k~é✓😀"\\\n'


# ----------------------------------------------------------------------------- examples


def _min_depth(shape: Shape, seen: frozenset[str] = frozenset()) -> int:
    """How deep a minimal value of `shape` nests (used to end recursion quickly)."""
    if shape.name in seen:
        return 1000
    seen = seen | {shape.name}
    if isinstance(shape, StructureShape):
        if shape.is_tagged_union:
            return 1 + min(_min_depth(m, seen) for m in shape.members.values())
        required = [shape.members[n] for n in shape.required_members]
        return 1 + max((_min_depth(m, seen) for m in required), default=0)
    if isinstance(shape, ListShape):
        return 1 + (_min_depth(shape.member, seen) if shape.metadata.get("min", 0) else 0)
    if isinstance(shape, MapShape):
        return 1 + (_min_depth(shape.value, seen) if shape.metadata.get("min", 0) else 0)
    return 0


class Examples:
    """Builds valid values for shapes; `variant` picks union members, `rng` everything else."""

    SHALLOW = 4  # below this depth optional members are included; deeper, only required ones

    def __init__(self, variant: int = 0, rng: random.Random | None = None, output: bool = False):
        self.variant = variant
        self.rng = rng or random.Random(variant)
        self.output = output

    def value(self, shape: Shape, name: str = "", depth: int = 0) -> Any:
        kind = shape.type_name
        if isinstance(shape, StructureShape):
            return self.structure(shape, depth)
        if isinstance(shape, ListShape):
            return [self.value(shape.member, name, depth + 1) for _ in range(self.size(shape, depth))]
        if isinstance(shape, MapShape):
            out: dict[str, Any] = {}
            for i in range(self.size(shape, depth)):
                key = self.value(shape.key, "key", depth + 1)
                out[f"{key}{i}" if key in out else key] = self.value(shape.value, name, depth + 1)
            return out
        if kind == "string":
            return self.string(shape, name)
        if kind in ("integer", "long"):
            low = int(shape.metadata.get("min", 0))
            high = int(shape.metadata.get("max", 1_000_000))
            return self.rng.randint(low, high)
        if kind in ("double", "float"):
            return self.rng.choice([0.5, -12.25, 3.0, 1e6 + 0.125])
        if kind == "boolean":
            return self.rng.choice([True, False])
        if kind == "timestamp":
            base = dt.datetime(2024, 2, 29, 23, 59, 58, tzinfo=dt.UTC)
            return base + dt.timedelta(milliseconds=self.rng.randint(0, 10**10))
        raise AssertionError(f"no example for {shape.name} ({kind})")

    def size(self, shape: Shape, depth: int) -> int:
        low = int(shape.metadata.get("min", 0))
        high = int(shape.metadata.get("max", 3))
        if depth >= self.SHALLOW:
            return low
        return min(max(low, 1 + self.rng.randint(0, 1)), high)

    def structure(self, shape: StructureShape, depth: int) -> dict[str, Any]:
        members = shape.members
        if shape.is_tagged_union:
            names = list(members)
            if depth >= self.SHALLOW:
                chosen = min(names, key=lambda n: _min_depth(members[n]))
            else:
                chosen = names[(self.variant + depth) % len(names)]
            return {chosen: self.value(members[chosen], chosen, depth + 1)}
        out: dict[str, Any] = {}
        for name, member in members.items():
            if (
                name in shape.required_members
                or member.metadata.get("idempotencyToken")  # botocore would invent one
                or (depth < self.SHALLOW and self.rng.random() < 0.8)
            ):
                out[name] = self.value(member, name, depth + 1)
        return out

    def string(self, shape: Shape, name: str) -> str:
        meta = shape.metadata
        if meta.get("enum"):
            return str(self.rng.choice(meta["enum"]))
        low, high = int(meta.get("min", 0)), int(meta.get("max", 64))
        if meta.get("pattern"):
            regex = re.compile(meta["pattern"])
            fits = [c for c in PATTERN_CANDIDATES if regex.fullmatch(c) and low <= len(c) <= high]
            assert fits, f"no example string fits {shape.name} {meta['pattern']!r}"
            return self.rng.choice(fits)
        if name.lower().endswith("arn"):
            text = ARN
        else:
            start = self.rng.randrange(len(FREE_TEXT))
            text = (FREE_TEXT[start:] + FREE_TEXT[:start]) * 2
            text = text[: max(low, min(high, self.rng.randint(3, 12)))]
        assert low <= len(text) <= high
        return text


def example_input(op: OperationModel, variant: int = 0, rng: random.Random | None = None) -> dict[str, Any]:
    assert op.input_shape is not None
    return Examples(variant, rng).structure(op.input_shape, 0)


def example_output(op: OperationModel, variant: int = 0, rng: random.Random | None = None) -> dict[str, Any]:
    if op.output_shape is None:
        return {}
    return Examples(variant, rng, output=True).structure(op.output_shape, 0)


def _union_width(shape: Shape, seen: set[str]) -> int:
    if shape.name in seen:
        return 1
    seen.add(shape.name)
    width = 1
    if isinstance(shape, StructureShape):
        if shape.is_tagged_union:
            width = len(shape.members)
        children: list[Shape] = list(shape.members.values())
    elif isinstance(shape, ListShape):
        children = [shape.member]
    elif isinstance(shape, MapShape):
        children = [shape.key, shape.value]
    else:
        children = []
    return max([width, *(_union_width(c, seen) for c in children)])


def _variants() -> list[tuple[str, int]]:
    cases = []
    for name in OPERATIONS:
        op = MODEL.operation_model(name)
        shapes = [s for s in (op.input_shape, op.output_shape) if s is not None]
        width = max(_union_width(s, set()) for s in shapes)
        cases += [(name, v) for v in range(max(width, 2))]
    return cases


# ----------------------------------------------------------------------------- fake server


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any) -> bytes:
        return self._body


class FakeServer:
    """What the HTTP server will do, minus HTTP: route, parse, validate, handle, serialize."""

    def __init__(self) -> None:
        self.handler: Callable[[str, dict[str, Any]], dict[str, Any]] = lambda op, params: {}
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        url = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        try:
            name, labels = router().match(request.method, url.path)
            op = operation_model(name)
            params = parse_request(op, labels, url.query, body)
            validate(op.input_shape, params)
            self.seen.append((name, params))
            status, headers, payload = serialize_response(op, self.handler(name, params))
        except ServiceError as err:
            status, headers, payload = serialize_error(err)
        return AWSResponse(request.url, status, headers, _Raw(payload))


@pytest.fixture(scope="module")
def session() -> botocore.session.Session:
    return botocore.session.get_session()


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def client(session: botocore.session.Session, server: FakeServer) -> Any:
    client = session.create_client(
        "connectcases",
        region_name="us-east-1",
        endpoint_url="http://localhost:1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"total_max_attempts": 1}),
    )
    client.meta.events.register("before-send.connectcases", server)
    return client


def _method(name: str) -> str:
    return name[0].lower() + "".join(f"_{c.lower()}" if c.isupper() else c for c in name[1:])


def _call(client: Any, name: str, params: dict[str, Any]) -> dict[str, Any]:
    response = getattr(client, _method(name))(**params)
    response.pop("ResponseMetadata")
    return dict(response)


# ----------------------------------------------------------------------------- tests


def test_every_operation_is_covered() -> None:
    assert len(OPERATIONS) == 47
    assert {name for name, _ in _variants()} == set(OPERATIONS)


@pytest.mark.parametrize(("name", "variant"), _variants())
def test_input_round_trip(client: Any, server: FakeServer, name: str, variant: int) -> None:
    params = example_input(MODEL.operation_model(name), variant)
    _call(client, name, params)
    assert server.seen == [(name, params)]


@pytest.mark.parametrize(("name", "variant"), _variants())
def test_output_round_trip(client: Any, server: FakeServer, name: str, variant: int) -> None:
    op = MODEL.operation_model(name)
    output = example_output(op, variant)
    server.handler = lambda _op, _params: output
    assert _call(client, name, example_input(op, variant)) == output


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(OPERATIONS), variant=st.integers(0, 5), seed=st.integers(0, 2**32))
def test_random_round_trips(client: Any, server: FakeServer, name: str, variant: int, seed: int) -> None:
    op = MODEL.operation_model(name)
    params = example_input(op, variant, random.Random(seed))
    output = example_output(op, variant, random.Random(seed + 1))
    server.seen.clear()
    server.handler = lambda _op, _params: output
    assert _call(client, name, params) == output
    assert server.seen == [(name, params)]


def _error_cases() -> list[tuple[str, str]]:
    cases: dict[str, str] = {}
    for name in OPERATIONS:
        for shape in MODEL.operation_model(name).error_shapes:
            cases.setdefault(shape.name, name)
    return sorted(cases.items())


def test_errors_cover_model() -> None:
    model_errors = {shape.name for shape in MODEL.error_shapes}
    assert {code for code, _ in _error_cases()} == model_errors
    assert set(MODELED_ERRORS) == model_errors


@pytest.mark.parametrize(("code", "name"), _error_cases())
def test_error_round_trip(client: Any, server: FakeServer, code: str, name: str) -> None:
    shape = MODEL.shape_for(code)
    assert isinstance(shape, StructureShape)
    members = {k: v for k, v in Examples(1).structure(shape, 0).items() if k != "message"}
    error = ServiceError("it went wrong: é ✓", **members)
    error.code = code

    def handler(_op: str, _params: dict[str, Any]) -> dict[str, Any]:
        raise error

    server.handler = handler
    op = MODEL.operation_model(name)
    with pytest.raises(ClientError) as caught:
        _call(client, name, example_input(op))
    response = caught.value.response
    assert response["Error"]["Code"] == code
    assert response["Error"]["Message"] == "it went wrong: é ✓"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == shape.metadata["error"]["httpStatusCode"]
    # botocore lifts the shape's modeled members (body or header) to the top level.
    for key, value in members.items():
        assert response[key] == value
    assert isinstance(caught.value, getattr(client.exceptions, code))


def test_error_classes_round_trip(client: Any, server: FakeServer) -> None:
    errors: list[ServiceError] = [
        ResourceNotFoundException("no such case", "c-1", "Case"),
        InternalServerException("try later", retry_after_seconds=7),
    ]
    for error in errors:

        def handler(_op: str, _params: dict[str, Any], error: ServiceError = error) -> dict[str, Any]:
            raise error

        server.handler = handler
        with pytest.raises(ClientError) as caught:
            client.get_domain(domainId="d-1")
        response = caught.value.response
        assert response["Error"]["Code"] == error.code
        for key, value in error.members.items():
            assert response[key] == value


def test_protocol_errors_reach_the_client(client: Any) -> None:
    # A wrong method is rejected by the router with a non-model code that botocore still reads.
    def wrong_method(request: Any, **_: Any) -> None:
        request.method = "PATCH"

    client.meta.events.register_first("before-send.connectcases", wrong_method)
    with pytest.raises(ClientError) as caught:
        client.get_domain(domainId="d-1")
    assert caught.value.response["Error"]["Code"] == "MethodNotAllowedException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 405


def test_operation_model_matches_botocore() -> None:
    assert operation_model("GetTemplate").http["requestUri"] == "/domains/{domainId}/templates/{templateId}"
