"""Client tokens (CreateCase, BatchUpdateCase): a retry with the same token and the same request
returns the original response; the same token with a different request is a ConflictException.

The token is claimed by inserting its row inside the mutation's own transaction, keyed by
(domain, operation, token): when requests race, the database's primary key decides, and the
losers (which on PostgreSQL wait for the winner to commit) read the winner's response. A
request that fails rolls its claim back, so the token stays free for a corrected retry.
Tokens do not expire.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from opencases.errors import ConflictException
from opencases.store.errors import UniqueViolation
from opencases.store.store import Tx


def request_hash(operation: str, params: dict[str, Any]) -> str:
    body = {k: v for k, v in params.items() if k != "clientToken"}
    raw = json.dumps([operation, body], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def claim(
    tx: Tx,
    domain_id: str,
    operation: str,
    token: str,
    params: dict[str, Any],
    now_ms: int,
    response: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Claim `token` for this request: None if it is new (go ahead), else the original response.

    `response` may be stored now (when known up front) or later with `finish`.
    """
    digest = request_hash(operation, params)
    try:
        tx.insert_idempotency(
            {
                "domain_id": domain_id,
                "operation": operation,
                "token": token,
                "request_hash": digest,
                "response": response,
                "created_ms": now_ms,
            }
        )
        return None
    except UniqueViolation:
        row = tx.get_idempotency(domain_id, operation, token)
    if row is not None and row["request_hash"] != digest:
        raise ConflictException(
            f"Client token {token} was already used with different request parameters"
        )
    if row is None or row["response"] is None:
        # Only possible while the first request is still settling; the client may retry.
        raise ConflictException(f"A request with client token {token} is in progress; retry it")
    return dict(row["response"])


def finish(tx: Tx, domain_id: str, operation: str, token: str, response: dict[str, Any]) -> None:
    tx.set_idempotency_response(domain_id, operation, token, response)
