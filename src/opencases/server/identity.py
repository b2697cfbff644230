"""Who is calling: account, region and principal from the SigV4 credential (auth mode `open`).

In `open` mode any signature is accepted (DESIGN.md): the account is the access key id when
it is 12 digits, else 000000000000, and the region comes from the credential scope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs

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
