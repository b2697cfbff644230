"""Result dict or ServiceError -> (status, headers, body), walking the output or error shape.

Success: the status is the operation's `http.responseCode` (200 for every connectcases
operation, Create* and Delete* included). Members that are None or absent are omitted, keys the
shape does not know are dropped, timestamps become ISO-8601 strings with milliseconds
(`2024-01-02T03:04:05.678Z`, the model's `timestampFormat: iso8601`), and header-bound members
become headers. An empty output is `{}`.

Errors: `x-amzn-ErrorType: <code>` (what botocore and the other SDKs read first), the status
from the model's error shape, and a body of `message` plus the shape's other lowerCamelCase
members, except header-bound ones (InternalServerException.retryAfterSeconds -> Retry-After).
The request id header is the server's business.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections.abc import Callable
from typing import Any

import orjson
from botocore.model import OperationModel

from opencases.errors import ServiceError
from opencases.wire.model import Plan, error_shape_names, plan_for, service_model
from opencases.wire.parser import parse_timestamp

JSON = "application/json"


def format_timestamp(value: Any) -> str:
    """datetime (naive means UTC), ISO-8601 text or epoch seconds -> `YYYY-MM-DDTHH:MM:SS.sssZ`."""
    if isinstance(value, dt.datetime):
        stamp = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    else:
        parsed = parse_timestamp(value)
        if parsed is None:
            raise TypeError(f"not a timestamp: {value!r}")
        stamp = parsed
    # isoformat truncates to milliseconds as AWS does; a fifth of strftime's time.
    return stamp.astimezone(dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


Writer = Callable[[Any], Any]
# A writer per output shape, by shape name, built at its first use: params form -> JSON form.
# None means the value goes out as it is (a plain shape). One Python call per structure
# instead of a dispatch on the shape's kind and a lookup of its members at every level (a
# page of 25 cases holds a few hundred structures).
_WRITERS: dict[str, Writer | None] = {}
_BUILDING = threading.Lock()


def _writer(plan: Plan) -> Writer | None:
    try:
        return _WRITERS[plan.name]
    except KeyError:
        pass
    with _BUILDING:
        # Built aside and published whole: a structure's writer exists before its members'
        # (a shape may hold itself), and no other thread may run it half-built.
        staged: dict[str, Writer | None] = {}
        write = _build(plan, staged)
        _WRITERS.update(staged)
        return write


def _build(plan: Plan, staged: dict[str, Writer | None]) -> Writer | None:
    for built in (_WRITERS, staged):
        if plan.name in built:
            return built[plan.name]
    kind = plan.kind
    write: Writer | None = None
    if plan.plain:
        pass
    elif kind == "structure":
        write = _structure_writer(plan, staged)
    elif kind in ("list", "map"):
        item_plan = plan.member if kind == "list" else plan.value
        assert item_plan is not None
        write = _collection_writer(kind, _build(item_plan, staged))
    elif kind == "timestamp":
        write = format_timestamp
    elif kind == "blob":
        write = _blob
    staged[plan.name] = write
    return write


def _structure_writer(plan: Plan, staged: dict[str, Writer | None]) -> Writer:
    # uri/querystring/statusCode bindings never occur in outputs, and headers are bound only
    # at the top (_top): body members only.
    members = [m for m in plan.members if m.location is None]
    if all(m.plan.plain and m.name == m.wire for m in members):
        # A flat structure (such as a FieldValueUnion): the value's few keys, filtered.
        names = frozenset(m.name for m in members)

        def flat(value: Any) -> dict[str, Any]:
            if not isinstance(value, dict):
                raise TypeError(f"expected a dict for a structure, got {type(value).__name__}")
            return {k: v for k, v in value.items() if v is not None and k in names}

        return flat
    body: tuple[tuple[str, str, Writer | None], ...] = ()

    def write(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise TypeError(f"expected a dict for a structure, got {type(value).__name__}")
        out: dict[str, Any] = {}
        for name, wire, item_writer in body:
            item = value.get(name)
            if item is not None:
                out[wire] = item if item_writer is None else item_writer(item)
        return out

    staged[plan.name] = write
    body = tuple((m.name, m.wire, _build(m.plan, staged)) for m in members)
    return write


def _collection_writer(kind: str, item_writer: Writer | None) -> Writer:
    if item_writer is None:
        return list if kind == "list" else dict
    write_item = item_writer
    if kind == "list":
        return lambda value: [None if v is None else write_item(v) for v in value]
    return lambda value: {k: None if v is None else write_item(v) for k, v in value.items()}


def _blob(value: Any) -> str:
    raw = value.encode() if isinstance(value, str) else bytes(value)
    return base64.b64encode(raw).decode("ascii")


def _top(plan: Plan, value: Any, headers: dict[str, str]) -> dict[str, Any]:
    """The top structure of a response or error: its body by the shape's writer, and its
    header members into `headers`."""
    write = _writer(plan)
    assert write is not None  # a structure is never plain
    body: dict[str, Any] = write(value)
    for member in plan.members:
        if member.location == "header" and value.get(member.name) is not None:
            headers[member.wire] = _header_value(member.plan, value[member.name])
    return body


def _header_value(plan: Plan, value: Any) -> str:
    if plan.kind == "timestamp":
        # Smithy's default for timestamps in headers is the HTTP date format.
        return format_timestamp(value) if plan.timestamp_format == "iso8601" else _http_date(value)
    if plan.kind == "boolean":
        return "true" if value else "false"
    return str(value)


def _http_date(value: Any) -> str:
    stamp = parse_timestamp(format_timestamp(value))
    assert stamp is not None
    return stamp.strftime("%a, %d %b %Y %H:%M:%S GMT")


def _dump(body: dict[str, Any], default: Any = None) -> bytes:
    # orjson writes the same compact UTF-8 JSON as json.dumps(ensure_ascii=False) a dozen
    # times faster (a page of 25 cases: 14 us against 240 us), and never NaN or Infinity
    # (the finite check is the validator's). It refuses integers beyond 64 bits, which only
    # a client could have sent: those take the standard library's way.
    try:
        return orjson.dumps(body, default=default)
    except orjson.JSONEncodeError:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=default).encode()


def serialize_response(op: OperationModel, result: dict[str, Any] | None) -> tuple[int, dict[str, str], bytes]:
    """A handler's result -> (status, headers, JSON body) for `op`."""
    status = int(op.http.get("responseCode", 200))
    headers = {"Content-Type": JSON}
    shape = op.output_shape
    body = _top(plan_for(shape), result or {}, headers) if shape is not None else {}
    return status, headers, _dump(body)


def serialize_error(err: ServiceError) -> tuple[int, dict[str, str], bytes]:
    """A ServiceError -> (status, headers, JSON body), the way AWS rest-json services send it."""
    headers = {"Content-Type": JSON, "x-amzn-ErrorType": err.code}
    values = {**err.members, "message": err.message}
    if err.code in error_shape_names():
        shape = service_model().shape_for(err.code)
        status = int(shape.metadata["error"]["httpStatusCode"])
        body = _top(plan_for(err.code), values, headers)
    else:
        # Not a model shape (ProtocolError): its own status, and its members as they are.
        status = err.status
        body = {k: v for k, v in values.items() if v is not None}
    return status, headers, _dump(body, default=str)
