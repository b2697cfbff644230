"""The credential store of auth mode `strict`: access key -> secret, account and principal ARN.

The file is JSON:

    {"credentials": [{"accessKeyId": "AKIA...", "secretAccessKey": "...",
                      "accountId": "123456789012", "principalArn": "arn:aws:iam::123456789012:user/ana"}]}

An entry may also carry `sessionToken`; requests signed with it must then send the same
`X-Amz-Security-Token`. The API, the web UI and the admin endpoints share one store. It is
re-read on `reload()` (the server calls it on SIGHUP) and when the file's modification time
changes; a file that no longer loads leaves the previous credentials in force. Secrets never
appear in messages, logs or reprs.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("opencases.auth")

_ACCOUNT = re.compile(r"^\d{12}$")
_ACCESS_KEY = re.compile(r"^[A-Za-z0-9_.\-+=]{1,128}$")
# How often (seconds) lookup() looks at the file's modification time.
MTIME_CHECK_INTERVAL = 1.0


class CredentialsError(Exception):
    """The credentials file is missing, not JSON, or has an invalid entry."""


@dataclass(frozen=True)
class Credential:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    account_id: str
    principal_arn: str
    session_token: str | None = field(default=None, repr=False)


def _entry(index: int, raw: Any) -> Credential:
    where = f"credentials[{index}]"
    if not isinstance(raw, dict):
        raise CredentialsError(f"{where} must be an object")
    for key in ("accessKeyId", "secretAccessKey", "accountId", "principalArn"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise CredentialsError(f"{where}.{key} is required and must be a non-empty string")
    token = raw.get("sessionToken")
    if token is not None and (not isinstance(token, str) or not token):
        raise CredentialsError(f"{where}.sessionToken must be a non-empty string when given")
    unknown = set(raw) - {"accessKeyId", "secretAccessKey", "accountId", "principalArn", "sessionToken"}
    if unknown:
        raise CredentialsError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    # The access key is the one part of the credential scope a client controls freely;
    # "/" would break the Credential=<key>/<date>/... syntax.
    if not _ACCESS_KEY.match(raw["accessKeyId"]):
        raise CredentialsError(f"{where}.accessKeyId must be 1-128 characters of A-Z a-z 0-9 _ . - + =")
    if not _ACCOUNT.match(raw["accountId"]):
        raise CredentialsError(f"{where}.accountId must be 12 digits")
    if not raw["principalArn"].startswith("arn:"):
        raise CredentialsError(f"{where}.principalArn must be an ARN (arn:aws:iam::<account>:...)")
    return Credential(raw["accessKeyId"], raw["secretAccessKey"], raw["accountId"], raw["principalArn"], token)


def parse_credentials(document: Any) -> dict[str, Credential]:
    """Validate a parsed credentials document; returns access key -> Credential."""
    if not isinstance(document, dict) or not isinstance(document.get("credentials"), list):
        raise CredentialsError('expected an object {"credentials": [...]}')
    entries: dict[str, Credential] = {}
    for index, raw in enumerate(document["credentials"]):
        cred = _entry(index, raw)
        if cred.access_key_id in entries:
            raise CredentialsError(f"credentials[{index}].accessKeyId {cred.access_key_id} appears twice")
        entries[cred.access_key_id] = cred
    if not entries:
        raise CredentialsError("the credentials list is empty: no request could ever be accepted")
    return entries


def load_credentials(path: str | Path) -> dict[str, Credential]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CredentialsError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        # The message names the position only: the text itself may hold secrets.
        raise CredentialsError(f"{path} is not valid JSON (line {getattr(exc, 'lineno', '?')})") from None
    try:
        return parse_credentials(document)
    except CredentialsError as exc:
        raise CredentialsError(f"{path}: {exc}") from None


class CredentialStore:
    """Lookup by access key; reload from the file on demand or when its mtime changes.

    Readers see either the old or the new table, never a mix: a reload builds a new dict and
    swaps it in with one assignment, so lookups need no lock (and a SIGHUP handler that runs
    between two bytecodes of a lookup cannot deadlock).
    """

    def __init__(self, path: str | Path | None = None, entries: Iterable[Credential] | None = None,
                 *, watch_mtime: bool = True) -> None:
        self.path = Path(path) if path is not None else None
        self.watch_mtime = watch_mtime and self.path is not None
        self._entries: dict[str, Credential] = {}
        self._mtime: int | None = None
        self._checked = 0.0
        if entries is not None:
            self._entries = {c.access_key_id: c for c in entries}
        if self.path is not None:
            self.reload()

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, access_key: str) -> Credential | None:
        if self.watch_mtime:
            self._reload_if_changed()
        return self._entries.get(access_key)

    def reload(self) -> int:
        """Re-read the file; raises CredentialsError (keeping the old entries) if it is bad."""
        if self.path is None:
            return len(self._entries)
        mtime = self._stat()
        self._entries = load_credentials(self.path)
        self._mtime = mtime
        return len(self._entries)

    def reload_logged(self) -> bool:
        """reload() for signal handlers and watchers: logs the outcome, never raises."""
        try:
            count = self.reload()
        except CredentialsError as exc:
            log.error("credentials not reloaded, keeping the previous %d: %s", len(self._entries), exc)
            return False
        log.info("credentials reloaded from %s: %d access key(s)", self.path, count)
        return True

    def _stat(self) -> int | None:
        try:
            return os.stat(self.path).st_mtime_ns if self.path is not None else None
        except OSError:
            return None

    def _reload_if_changed(self) -> None:
        now = time.monotonic()
        if now - self._checked < MTIME_CHECK_INTERVAL:
            return
        self._checked = now
        mtime = self._stat()
        # A bad file is not retried on every request: its mtime is remembered until it changes.
        if mtime is not None and mtime != self._mtime and not self.reload_logged():
            self._mtime = mtime
