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
from typing import Any

from botocore.model import OperationModel

from opencases.errors import ServiceError
from opencases.wire.model import Member, Plan, error_shape_names, plan_for, service_model
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
    stamp = stamp.astimezone(dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


_Body = tuple[tuple[str, str, "Plan | None"], ...]
# Per member tuple, by identity (the entry keeps the tuple alive, so its id stays its own):
# the body members as (name, wire name, plan, or None when the value goes out as it is), the
# header members, and the member names when every member goes out as it is under its own
# name (a flat structure, such as a FieldValueUnion), else None.
_SPLIT: dict[int, tuple[tuple[Member, ...], _Body, tuple[Member, ...], frozenset[str] | None]] = {}


def _split(members: tuple[Member, ...]) -> tuple[_Body, tuple[Member, ...], frozenset[str] | None]:
    split = _SPLIT.get(id(members))
    if split is None or split[0] is not members:
        # uri/querystring/statusCode bindings never occur in outputs: such members are left out.
        body = tuple((m.name, m.wire, None if m.plan.plain else m.plan) for m in members if m.location is None)
        flat = len(body) == len(members) and all(plan is None and name == wire for name, wire, plan in body)
        split = _SPLIT[id(members)] = (
            members, body, tuple(m for m in members if m.location == "header"),
            frozenset(name for name, _, _ in body) if flat else None,
        )
    return split[1], split[2], split[3]


def _members(members: tuple[Member, ...], value: Any, headers: dict[str, str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(value, dict):
        raise TypeError(f"expected a dict for a structure, got {type(value).__name__}")
    body, header_members, flat = _split(members)
    if flat is not None:
        # The same filter as below, over the value's few keys instead of every member.
        return {k: v for k, v in value.items() if v is not None and k in flat}
    for name, wire, plan in body:
        item = value.get(name)
        if item is not None:
            out[wire] = item if plan is None else _value(plan, item)
    if headers is not None:
        for member in header_members:
            item = value.get(member.name)
            if item is not None:
                headers[member.wire] = _header_value(member.plan, item)
    return out


def _value(plan: Plan, value: Any) -> Any:
    kind = plan.kind
    if kind == "structure":
        return _members(plan.members, value, None)
    if kind == "list":
        member = plan.member
        assert member is not None
        if member.plain:
            return list(value)
        return [None if v is None else _value(member, v) for v in value]
    if kind == "map":
        member = plan.value
        assert member is not None
        if member.plain:
            return dict(value)
        return {k: None if v is None else _value(member, v) for k, v in value.items()}
    if kind == "timestamp":
        return format_timestamp(value)
    if kind == "blob":
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    return value


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


def _dump(body: dict[str, Any], **options: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False, **options).encode()


def serialize_response(op: OperationModel, result: dict[str, Any] | None) -> tuple[int, dict[str, str], bytes]:
    """A handler's result -> (status, headers, JSON body) for `op`."""
    status = int(op.http.get("responseCode", 200))
    headers = {"Content-Type": JSON}
    shape = op.output_shape
    body = _members(plan_for(shape).members, result or {}, headers) if shape is not None else {}
    return status, headers, _dump(body)


def serialize_error(err: ServiceError) -> tuple[int, dict[str, str], bytes]:
    """A ServiceError -> (status, headers, JSON body), the way AWS rest-json services send it."""
    headers = {"Content-Type": JSON, "x-amzn-ErrorType": err.code}
    values = {**err.members, "message": err.message}
    if err.code in error_shape_names():
        shape = service_model().shape_for(err.code)
        status = int(shape.metadata["error"]["httpStatusCode"])
        body = _members(plan_for(err.code).members, values, headers)
    else:
        # Not a model shape (ProtocolError): its own status, and its members as they are.
        status = err.status
        body = {k: v for k, v in values.items() if v is not None}
    return status, headers, _dump(body, default=str)
