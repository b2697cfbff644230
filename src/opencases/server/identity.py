"""Who is calling: account, region and principal ARN of a request, in either auth mode.

`open` (the default): any signature is accepted (DESIGN.md); the account is the access key id
when it is 12 digits, else 000000000000, and the region comes from the credential scope.
`strict`: the SigV4 signature is verified against the credential store; the account and
principal ARN come from the matching entry, the region from the credential scope.

`Authenticator` is the one way in for every endpoint (API, web UI, admin): `identify()` takes
the raw request parts, `identify_scope()` an ASGI scope and its body.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from opencases.config import Settings
from opencases.server.credentials import CredentialsError, CredentialStore
from opencases.wire import sigv4

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"

_CREDENTIAL = re.compile(r"Credential=([^,\s]+)")
_ACCOUNT = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class Identity:
    access_key: str | None
    account: str
    region: str
    principal_arn: str


def _from_scope(credential: str | None) -> Identity:
    if not credential:
        return Identity(None, DEFAULT_ACCOUNT, DEFAULT_REGION, f"arn:aws:iam::{DEFAULT_ACCOUNT}:root")
    # Credential=<key>/<date>/<region>/<service>/aws4_request
    parts = credential.split("/")
    key = parts[0]
    region = parts[2] if len(parts) >= 5 and parts[2] else DEFAULT_REGION
    account = key if _ACCOUNT.match(key) else DEFAULT_ACCOUNT
    return Identity(key, account, region, f"arn:aws:iam::{account}:root")


def open_identity(authorization: str | None, query: str) -> Identity:
    if authorization:
        m = _CREDENTIAL.search(authorization)
        return _from_scope(m.group(1) if m else None)
    if "X-Amz-Credential" in query:
        values = parse_qs(query).get("X-Amz-Credential")
        return _from_scope(values[0] if values else None)
    return _from_scope(None)


class Authenticator:
    """Turns a request into an Identity; in `strict` mode raises ProtocolError (403) instead."""

    def __init__(
        self,
        mode: str = "open",
        credentials: CredentialStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if mode not in ("open", "strict"):
            raise ValueError(f"auth mode must be 'open' or 'strict', not {mode!r}")
        if mode == "strict" and credentials is None:
            raise CredentialsError("auth mode 'strict' needs a credentials file (--credentials FILE)")
        self.mode = mode
        self.credentials = credentials
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> Authenticator:
        if settings.auth != "strict":
            return cls(settings.auth)
        if not settings.credentials_file:
            raise CredentialsError("auth mode 'strict' needs a credentials file (--credentials FILE)")
        return cls("strict", CredentialStore(settings.credentials_file))

    def identify(self, method: str, raw_path: str, query: str, headers: Mapping[str, str], body: bytes) -> Identity:
        """`raw_path` and `query` exactly as sent (still percent-encoded); `headers` keys lower-case."""
        if self.credentials is None:
            return open_identity(headers.get("authorization"), query)
        now = datetime.fromtimestamp(self.clock(), tz=UTC)
        verified = sigv4.verify(method, raw_path, query, headers, body, self.credentials.lookup, now)
        entry = verified.entry
        return Identity(verified.access_key, entry.account_id, verified.region, entry.principal_arn)

    def identify_scope(self, scope: MutableMapping[str, Any], body: bytes) -> Identity:
        """identify() for an ASGI HTTP scope (the web UI and admin endpoints)."""
        raw_path = scope.get("raw_path") or scope["path"].encode()
        headers: dict[str, str] = {}
        for key, value in scope["headers"]:
            name = key.decode("latin-1").lower()
            text = value.decode("latin-1")
            # A repeated header signs as its values joined with commas.
            headers[name] = f"{headers[name]},{text}" if name in headers else text
        return self.identify(
            scope["method"],
            raw_path.decode("latin-1").split("?", 1)[0],
            scope.get("query_string", b"").decode("latin-1"),
            headers,
            body,
        )
