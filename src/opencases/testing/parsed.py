"""A handler's result as a botocore client would see it, without the bytes in between.

Over HTTP a result goes through our serializer (wire/serializer.py), JSON, and botocore's
rest-json parser. `client_view(op, result)` gives the same dict straight from the result,
walking the output shape's Plan once: members the shape does not know and None values are
left out, doubles become floats, timestamps are formatted as the serializer does and read
back by botocore's own timestamp parser, blobs become bytes, and every container is a new
one. (A client whose session was given another default timestamp parser would see the
difference; boto3 and botocore clients as created by default do not.)

Anything whose HTTP round trip is not certain to give the same value (a value of the wrong
type, a non-finite double, a string that is not valid UTF-8, a union with other than one
member, an output bound to headers) raises `NotEquivalent`: the caller then takes the HTTP
path, which settles the case exactly as a server would.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from typing import Any

from botocore.model import OperationModel
from botocore.parsers import DEFAULT_TIMESTAMP_PARSER

from opencases.wire.model import Plan, plan_for
from opencases.wire.serializer import format_timestamp


class NotEquivalent(Exception):
    """The shortcut cannot promise what the HTTP round trip would give."""


@functools.cache
def supports(op: OperationModel) -> bool:
    """True if `op`'s output is carried in the JSON body only (no headers, status or payload)."""
    shape = op.output_shape
    if shape is None:
        return True
    if "payload" in shape.serialization:
        return False
    return all(member.location is None for member in plan_for(shape).members)


@functools.cache
def status_code(op: OperationModel) -> int:
    """The success status, as the serializer sends it."""
    return int(op.http.get("responseCode", 200))


def client_view(op: OperationModel, result: dict[str, Any] | None) -> dict[str, Any]:
    """The parsed body botocore would return for `result` (without ResponseMetadata)."""
    shape = op.output_shape
    if shape is None:
        return {}
    return _structure(plan_for(shape), {} if result is None else result)


# Per structure shape: (member name, converter, member plan), worked out once.
_MEMBERS: dict[str, tuple[tuple[str, Any, Plan], ...]] = {}


def _structure(plan: Plan, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or plan.document:
        raise NotEquivalent(plan.name)
    members = _MEMBERS.get(plan.name)
    if members is None:
        members = _MEMBERS[plan.name] = tuple((m.name, _CONVERT.get(m.plan.kind, _other), m.plan) for m in plan.members)
    out: dict[str, Any] = {}
    for name, convert, member_plan in members:
        item = value.get(name)
        if item is not None:
            out[name] = convert(member_plan, item)
    if plan.union and len(out) != 1:
        raise NotEquivalent(plan.name)  # botocore's parser refuses such a union
    return out


def _list(plan: Plan, value: Any) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise NotEquivalent(plan.name)
    member = plan.member
    assert member is not None
    convert = _CONVERT.get(member.kind, _other)
    return [None if v is None else convert(member, v) for v in value]


def _map(plan: Plan, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise NotEquivalent(plan.name)
    key_plan, value_plan = plan.key, plan.value
    assert key_plan is not None and value_plan is not None
    convert = _CONVERT.get(value_plan.kind, _other)
    out: dict[str, Any] = {}
    for k, v in value.items():
        if v is None and value_plan.kind not in ("string", "structure"):
            raise NotEquivalent(plan.name)
        out[_string(key_plan, k)] = None if v is None else convert(value_plan, v)
    return out


def _string(plan: Plan, value: Any) -> str:
    if type(value) is not str:
        raise NotEquivalent(plan.name)
    if not value.isascii():
        try:
            value.encode("utf-8")  # a lone surrogate cannot be sent
        except UnicodeEncodeError:
            raise NotEquivalent(plan.name) from None
    return value


def _integer(plan: Plan, value: Any) -> int:
    if type(value) is not int:
        raise NotEquivalent(plan.name)
    return value


def _double(plan: Plan, value: Any) -> float:
    if type(value) is float:
        if not math.isfinite(value):
            raise NotEquivalent(plan.name)  # the serializer refuses NaN and infinities
        return value
    if type(value) is int and abs(value) < 2**53:
        return float(value)
    raise NotEquivalent(plan.name)


def _boolean(plan: Plan, value: Any) -> bool:
    if type(value) is not bool:
        raise NotEquivalent(plan.name)
    return value


def _timestamp(plan: Plan, value: Any) -> dt.datetime:
    try:
        text = format_timestamp(value)
    except (TypeError, ValueError, OverflowError):
        raise NotEquivalent(plan.name) from None
    return _read_timestamp(text)


@functools.lru_cache(maxsize=4096)
def _read_timestamp(text: str) -> dt.datetime:
    # botocore's own reading (dateutil's), not a re-implementation: its tzinfo depends on
    # the machine's time zone (tzlocal() where local time is UTC, else tzutc()). Cached: it
    # is slow, and a datetime is immutable.
    value: dt.datetime = DEFAULT_TIMESTAMP_PARSER(text)
    return value


def _blob(plan: Plan, value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise NotEquivalent(plan.name)


def _other(plan: Plan, value: Any) -> Any:
    raise NotEquivalent(plan.name)


_CONVERT: dict[str, Any] = {
    "structure": _structure,
    "list": _list,
    "map": _map,
    "string": _string,
    "integer": _integer,
    "long": _integer,
    "double": _double,
    "float": _double,
    "boolean": _boolean,
    "timestamp": _timestamp,
    "blob": _blob,
}
