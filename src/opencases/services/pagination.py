"""Opaque nextTokens bound to the query that produced them.

A token is base64url JSON of the position to resume after plus a hash of the request's
other parameters; a token reused with different parameters is a ValidationException
(DESIGN.md). Tokens are not signed: forging one only lets a caller page its own data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from opencases.errors import ValidationException

_IGNORED = {"nextToken", "maxResults"}


def _query_hash(operation: str, params: dict[str, Any]) -> str:
    bound = {k: v for k, v in params.items() if k not in _IGNORED}
    raw = json.dumps([operation, bound], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode(operation: str, params: dict[str, Any], position: Any) -> str:
    body = json.dumps({"h": _query_hash(operation, params), "p": position}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode(operation: str, params: dict[str, Any]) -> Any:
    """The position in `params["nextToken"]`, or None for the first page."""
    token = params.get("nextToken")
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(body, dict) or "p" not in body:
            raise ValueError(token)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationException("Invalid nextToken: it was not issued by this service") from exc
    if body.get("h") != _query_hash(operation, params):
        raise ValidationException(
            "Invalid nextToken: it belongs to a request with different parameters"
        )
    return body["p"]


def page_size(params: dict[str, Any], default: int) -> int:
    value = params.get("maxResults")
    return int(value) if value is not None else default


def decode_created_key(operation: str, params: dict[str, Any]) -> tuple[int, str] | None:
    """A `(created_ms, id)` position, the key the configuration lists page on.

    The token is not signed, so a hand-made one with a malformed position is a
    ValidationException rather than a database error.
    """
    position = decode(operation, params)
    if position is None:
        return None
    if (
        isinstance(position, list)
        and len(position) == 2
        and isinstance(position[0], int)
        and not isinstance(position[0], bool)
        and isinstance(position[1], str)
    ):
        return position[0], position[1]
    raise ValidationException("Invalid nextToken: it was not issued by this service")
