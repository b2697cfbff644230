"""HTTP request -> operation params, walking the operation's input shape (rest-json).

Members bound to the URI come from the router's decoded labels, `querystring` members from the
raw query string, everything else from the JSON body. No member of this model's inputs is bound
to a header, so the parser takes none (a header-bound input member fails loudly at first use).

The parser only reshapes: wire names -> member names, strings -> numbers for URI and query
members, ISO-8601/epoch -> datetime for timestamps, base64 -> bytes for blobs; it drops JSON
nulls and unknown members. A value of the wrong JSON type is passed through untouched for
`validate` to report with its member path. Any malformed input raises ValidationException.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import json
import math
from typing import Any
from urllib.parse import parse_qsl

from botocore.model import OperationModel

from opencases.errors import ValidationException
from opencases.wire.model import Member, Plan, plan_for
from opencases.wire.validate import MAX_DEPTH


def _fail(message: str) -> ValidationException:
    return ValidationException(f"1 validation error detected: {message}")


# ---------------------------------------------------------------------------- URI and query


def _coerce_text(plan: Plan, name: str, text: str) -> Any:
    """A URI label or query value (always text on the wire) as the member's type."""
    kind = plan.kind
    rule = None
    value: Any = text
    if kind in ("integer", "long"):
        try:
            value = int(text.strip(), 10)
        except ValueError:
            rule = "Member must be an integer"
    elif kind in ("double", "float"):
        try:
            value = float(text)
        except ValueError:
            rule = "Member must be a number"
    elif kind == "boolean":
        value = {"true": True, "false": False}.get(text.lower())
        rule = "Member must be true or false" if value is None else None
    elif kind == "timestamp":
        value = parse_timestamp(text)
        rule = "Member must be an ISO-8601 timestamp" if value is None else None
    if rule is not None:
        raise _fail(f"Value '{text[:64]}' at '{name}' failed to satisfy constraint: {rule}")
    return value


@functools.cache
def _bindings(
    shape_name: str,
) -> tuple[
    tuple[Member, ...],  # bound to URI labels
    dict[str, Member],  # bound to query keys, by key
    tuple[Member, ...],  # carried in the JSON body
]:
    uri: list[Member] = []
    query: dict[str, Member] = {}
    body: list[Member] = []
    for member in plan_for(shape_name).members:
        if member.location == "uri":
            uri.append(member)
        elif member.location == "querystring":
            query[member.wire] = member
        elif member.location is None:
            body.append(member)
        else:
            # No connectcases input is bound to a header; fail loudly if a model update adds one.
            raise RuntimeError(f"{shape_name}.{member.name}: input bound to {member.location}")
    return tuple(uri), query, tuple(body)


def _parse_query(query: str, bindings: dict[str, Member], params: dict[str, Any]) -> None:
    if not query or not bindings:
        return
    try:
        pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise _fail("the query string is not valid percent-encoded UTF-8") from None
    for key, text in pairs:
        member = bindings.get(key)
        if member is None:
            continue  # unknown query keys are ignored, as AWS does
        if member.plan.kind == "list":
            # Lists are repeated keys: ?values=a&values=b
            assert member.plan.member is not None
            params.setdefault(member.name, []).append(_coerce_text(member.plan.member, member.name, text))
        elif member.name not in params:  # a repeated scalar key: the first one wins
            params[member.name] = _coerce_text(member.plan, member.name, text)


# ---------------------------------------------------------------------------- JSON body


def parse_timestamp(value: Any) -> dt.datetime | None:
    """ISO-8601 text or epoch seconds -> aware UTC datetime; None if it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return None
        try:
            return dt.datetime.fromtimestamp(value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            try:
                return parse_timestamp(float(text))
            except ValueError:
                return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)  # no offset given: UTC
        return parsed.astimezone(dt.UTC)
    return None


def _walk_members(members: tuple[Member, ...], value: dict[str, Any], depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for member in members:
        item = value.get(member.wire)
        if item is None:
            continue  # a JSON null member is an absent member; unknown keys are never read
        out[member.name] = item if member.plan.plain else _walk(member.plan, item, depth + 1)
    return out


def _walk(plan: Plan, value: Any, depth: int) -> Any:
    """JSON value -> param value for `plan`; values of the wrong type pass through."""
    kind = plan.kind
    if kind in ("structure", "list", "map") and depth >= MAX_DEPTH:
        raise _fail(f"the request nests values deeper than {MAX_DEPTH} levels")
    if kind == "structure":
        return _walk_members(plan.members, value, depth) if isinstance(value, dict) else value
    if kind == "list" and isinstance(value, list):
        member = plan.member
        assert member is not None
        if member.plain:
            return value
        return [None if v is None else _walk(member, v, depth + 1) for v in value]
    if kind == "map" and isinstance(value, dict):
        member = plan.value
        assert member is not None
        if member.plain:
            return value
        return {k: None if v is None else _walk(member, v, depth + 1) for k, v in value.items()}
    if kind == "timestamp":
        parsed = parse_timestamp(value)
        return value if parsed is None else parsed
    if kind == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return value
    return value


def _load_body(body: bytes) -> dict[str, Any]:
    if not body or not body.strip():
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail("the request body is not valid UTF-8") from None
    try:
        data = _DECODER.decode(text)
    except RecursionError:
        raise _fail("the request body nests JSON too deeply") from None
    except ValueError as exc:  # JSONDecodeError and the NaN/Infinity rejection below
        raise _fail(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _fail("the request body must be a JSON object")
    # A `\ud800` escape without its pair decodes to a lone surrogate, which no database
    # can store; only text with escapes can hold one (the raw bytes were strict UTF-8).
    if "\\u" in text:
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except (UnicodeEncodeError, RecursionError):
            raise _fail("the request body holds an unpaired UTF-16 surrogate escape") from None
    return data


def _reject_constant(name: str) -> Any:
    # json.loads accepts NaN, Infinity and -Infinity by default; JSON does not.
    raise ValueError(f"{name} is not a JSON value")


# One decoder for every request: json.loads with an option builds a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def parse_request(op: OperationModel, uri_params: dict[str, str], query: str, body: bytes) -> dict[str, Any]:
    """Build the operation's params from the decoded URI labels, raw query string and body."""
    shape = op.input_shape
    if shape is None:
        return {}
    uri, query_bindings, body_members = _bindings(shape.name)
    params: dict[str, Any] = {}
    if body_members:
        data = _load_body(body)
        if data:
            params = _walk_members(body_members, data, 0)
    for member in uri:
        if member.wire in uri_params:
            params[member.name] = _coerce_text(member.plan, member.name, uri_params[member.wire])
    _parse_query(query, query_bindings, params)
    return params
