"""SigV4 verification (auth mode `strict`): pure functions, no I/O.

A request arrives signed either with an `Authorization` header or as a presigned URL
(`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`,
`X-Amz-Signature` in the query string). Both are checked the same way: rebuild the canonical
request from the RAW path and query as they came off the wire, derive the signing key from the
caller's secret, and compare signatures in constant time.

Failures raise `ProtocolError(code, 403, message)` with the codes AWS uses:
`MissingAuthenticationTokenException`, `IncompleteSignatureException`,
`UnrecognizedClientException` and `InvalidSignatureException` (which also covers a date outside
the allowed window: AWS says "Signature expired: ...").
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Generic, Protocol, TypeVar
from urllib.parse import unquote_to_bytes

from opencases.errors import ProtocolError

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "cases"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# AWS refuses a request whose date is more than 15 minutes from the server's clock.
MAX_SKEW = timedelta(minutes=15)
# A presigned URL may live at most seven days (X-Amz-Expires <= 604800).
MAX_EXPIRES = 7 * 24 * 3600
TIMESTAMP = "%Y%m%dT%H%M%SZ"

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_PRESIGN_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")


class Secret(Protocol):
    """What the verifier needs from a credentials entry."""

    @property
    def secret_access_key(self) -> str: ...

    @property
    def session_token(self) -> str | None: ...


S = TypeVar("S", bound=Secret)


@dataclass(frozen=True)
class Scope:
    access_key: str
    date: str
    region: str
    service: str
    terminator: str

    def string(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"


@dataclass(frozen=True)
class SignedParts:
    """What the client claims: credential scope, signed header names, signature, timestamp."""

    scope: Scope
    signed_headers: tuple[str, ...]
    signature: str
    presigned: bool
    timestamp: str | None = None  # presigned: X-Amz-Date
    expires: int | None = None  # presigned: X-Amz-Expires


@dataclass(frozen=True)
class Verified(Generic[S]):
    access_key: str
    region: str
    entry: S


def _fail(code: str, message: str) -> ProtocolError:
    return ProtocolError(code, 403, message)


def _incomplete(message: str) -> ProtocolError:
    return _fail("IncompleteSignatureException", message)


def _invalid(message: str) -> ProtocolError:
    return _fail("InvalidSignatureException", message)


MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


# --- encoding --------------------------------------------------------------------------------


def uri_encode(data: bytes, keep_slash: bool = False) -> str:
    """RFC 3986 percent-encoding, upper-case hex; only unreserved characters stay as they are."""
    out = []
    for byte in data:
        if byte in _UNRESERVED or (keep_slash and byte == 0x2F):
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def canonical_uri(raw_path: str) -> str:
    """The canonical URI of a non-S3 request, from the path exactly as it was sent.

    The SigV4 rule for every service but S3 is that path segments are URI-encoded twice: the
    SDK encodes a label once to build the URL (`/tags/arn%3Aaws%3Acases...%2Fabc`), then encodes
    that already-encoded path once more for signing (`/tags/arn%253Aaws%253Acases...%252Fabc`).
    Working from the raw path reproduces the second pass; decoding first would lose it.
    Dot segments and empty segments (`//`) are removed first, as AWS services require.
    """
    raw = raw_path.encode("latin-1", "replace")
    kept: list[bytes] = []
    for segment in raw.split(b"/"):
        if not segment or segment == b".":
            continue
        if segment == b"..":
            if kept:
                kept.pop()
            continue
        kept.append(segment)
    path = b"/" + b"/".join(kept)
    if raw.endswith(b"/") and kept:
        path += b"/"
    return uri_encode(path, keep_slash=True)


def _decode(text: str) -> str:
    return unquote_to_bytes(text).decode("utf-8", "surrogateescape")


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """The raw query string split into decoded (name, value) pairs, in order.

    `+` stays a plus sign: SigV4 clients encode a space as %20.
    """
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((_decode(name), _decode(value)))
    return pairs


def canonical_query(pairs: list[tuple[str, str]], *, exclude_signature: bool = False) -> str:
    """Each name and value URI-encoded, sorted by name then value, joined with `&`."""
    encoded = sorted(
        (uri_encode(_bytes(name)), uri_encode(_bytes(value)))
        for name, value in pairs
        if not (exclude_signature and name == "X-Amz-Signature")
    )
    return "&".join(f"{name}={value}" for name, value in encoded)


def canonical_headers(headers: Mapping[str, str], names: tuple[str, ...]) -> str:
    """`name:value\\n` per signed header; values trimmed, inner runs of spaces made one."""
    return "".join(f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in names)


def canonical_request(
    method: str,
    raw_path: str,
    pairs: list[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: tuple[str, ...],
    payload_hash: str,
    *,
    presigned: bool = False,
) -> str:
    return "\n".join(
        [
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(pairs, exclude_signature=presigned),
            canonical_headers(headers, signed_headers),
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def string_to_sign(timestamp: str, scope: Scope, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{scope.string()}\n{digest}"


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, TERMINATOR)


def signature(secret: str, scope: Scope, sts: str) -> str:
    key = signing_key(secret, scope.date, scope.region, scope.service)
    return hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest()


# --- parsing ---------------------------------------------------------------------------------


def parse_credential(value: str) -> Scope:
    parts = value.split("/")
    if len(parts) != 5:
        raise _incomplete(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
            f"got {len(parts)}"
        )
    return Scope(*parts)


def _signed_header_names(value: str) -> tuple[str, ...]:
    names = tuple(sorted({n.strip().lower() for n in value.split(";") if n.strip()}))
    if not names:
        raise _incomplete("SignedHeaders must name at least the host header.")
    return names


def parse_authorization(header: str) -> SignedParts:
    """`AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request,
    SignedHeaders=host;x-amz-date, Signature=<hex>`."""
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _incomplete(f"Unsupported AWS 'algorithm': '{algorithm[:40]}'; only {ALGORITHM} is accepted.")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        item = item.strip()
        if not item:
            continue
        name, eq, value = item.partition("=")
        if not eq:
            raise _incomplete("Invalid key=value pair (missing equal-sign) in Authorization header.")
        fields[name.strip()] = value.strip()
    missing = [n for n in ("Credential", "SignedHeaders", "Signature") if not fields.get(n)]
    if missing:
        raise _incomplete(" ".join(f"Authorization header requires '{n}' parameter." for n in missing))
    return SignedParts(
        scope=parse_credential(fields["Credential"]),
        signed_headers=_signed_header_names(fields["SignedHeaders"]),
        signature=fields["Signature"],
        presigned=False,
    )


def parse_presigned(pairs: list[tuple[str, str]]) -> SignedParts:
    params: dict[str, str] = {}
    for name, value in pairs:
        if name.startswith("X-Amz-"):
            params.setdefault(name, value)
    required = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature")
    missing = [n for n in required if not params.get(n)]
    if missing:
        raise _incomplete(" ".join(f"AWS query-string parameters must include '{n}'." for n in missing))
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise _incomplete(f"Unsupported AWS 'algorithm': '{params['X-Amz-Algorithm'][:40]}'.")
    expires_raw = params.get("X-Amz-Expires", "")
    if not re.fullmatch(r"[0-9]{1,7}", expires_raw) or not 1 <= int(expires_raw) <= MAX_EXPIRES:
        raise _incomplete(f"X-Amz-Expires must be a number of seconds from 1 to {MAX_EXPIRES}.")
    return SignedParts(
        scope=parse_credential(params["X-Amz-Credential"]),
        signed_headers=_signed_header_names(params["X-Amz-SignedHeaders"]),
        signature=params["X-Amz-Signature"],
        presigned=True,
        timestamp=params["X-Amz-Date"],
        expires=int(expires_raw),
    )


def parse_timestamp(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def is_presigned(pairs: list[tuple[str, str]]) -> bool:
    return any(name in _PRESIGN_PARAMS for name, _ in pairs)


# --- verification ----------------------------------------------------------------------------


def _request_timestamp(parts: SignedParts, headers: Mapping[str, str]) -> tuple[str, datetime]:
    if parts.presigned:
        assert parts.timestamp is not None
        when = parse_timestamp(parts.timestamp)
        if when is None:
            raise _incomplete("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\".")
        return parts.timestamp, when
    if "x-amz-date" in headers:
        if "x-amz-date" not in parts.signed_headers:
            raise _incomplete("The x-amz-date header must be a signed header.")
        when = parse_timestamp(headers["x-amz-date"].strip())
        if when is None:
            raise _incomplete("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\".")
        return headers["x-amz-date"].strip(), when
    if "date" in headers:
        # SigV4 allows the HTTP Date header instead of X-Amz-Date; the string to sign still
        # carries the ISO-8601 basic form of that instant.
        if "date" not in parts.signed_headers:
            raise _incomplete("The date header must be a signed header.")
        try:
            when = parsedate_to_datetime(headers["date"]).astimezone(UTC)
        except (TypeError, ValueError):
            raise _incomplete("The Date header is not a valid HTTP date.") from None
        return when.strftime(TIMESTAMP), when
    raise _incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")


def _check_window(parts: SignedParts, timestamp: str, when: datetime, now: datetime) -> None:
    stamp = now.strftime(TIMESTAMP)
    if when > now + MAX_SKEW:
        raise _invalid(
            f"Signature not yet current: {timestamp} is still later than "
            f"{(now + MAX_SKEW).strftime(TIMESTAMP)} ({stamp} + 15 min.)"
        )
    if parts.presigned:
        assert parts.expires is not None
        if now > when + timedelta(seconds=parts.expires):
            raise _invalid(
                f"Signature expired: {timestamp} is now earlier than "
                f"{(now - timedelta(seconds=parts.expires)).strftime(TIMESTAMP)} ({stamp} - {parts.expires} sec.)"
            )
    elif when < now - MAX_SKEW:
        raise _invalid(
            f"Signature expired: {timestamp} is now earlier than "
            f"{(now - MAX_SKEW).strftime(TIMESTAMP)} ({stamp} - 15 min.)"
        )


def _payload_hash(parts: SignedParts, headers: Mapping[str, str], pairs: list[tuple[str, str]], body: bytes) -> str:
    declared = headers.get("x-amz-content-sha256")
    if declared is None and parts.presigned:
        declared = next((v for n, v in pairs if n == "X-Amz-Content-Sha256"), None)
    if declared is None:
        return hashlib.sha256(body).hexdigest()
    declared = declared.strip()
    if declared == UNSIGNED_PAYLOAD:
        # The signer chose not to cover the body; it can only do so in a value it signed.
        if not parts.presigned and "x-amz-content-sha256" not in parts.signed_headers:
            raise _incomplete("x-amz-content-sha256 must be a signed header.")
        return UNSIGNED_PAYLOAD
    if not hmac.compare_digest(declared.lower().encode(), hashlib.sha256(body).hexdigest().encode()):
        raise _invalid("The provided 'x-amz-content-sha256' header does not match what was computed.")
    return declared


def verify(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    lookup: Callable[[str], S | None],
    now: datetime,
    service: str = SERVICE,
) -> Verified[S]:
    """Check a request's SigV4 signature; `headers` keys are lower-case.

    `lookup(access_key)` returns the credentials entry (or None when the key is unknown).
    Returns the access key, the region of the credential scope and the entry.
    """
    pairs = query_pairs(raw_query)
    authorization = headers.get("authorization")
    presigned = is_presigned(pairs)
    if authorization is None and not presigned:
        raise _fail("MissingAuthenticationTokenException", "Missing Authentication Token")
    if authorization is not None and presigned:
        raise _incomplete(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter "
            "or the Authorization header should be specified."
        )
    parts = parse_authorization(authorization) if authorization is not None else parse_presigned(pairs)
    scope = parts.scope
    if "host" not in parts.signed_headers:
        raise _incomplete("'Host' must be a 'SignedHeader' in the AWS Authorization.")
    if scope.terminator != TERMINATOR:
        raise _invalid(f"Credential should be scoped with a valid terminator: '{TERMINATOR}'.")
    if scope.service != service:
        raise _invalid(f"Credential should be scoped to correct service: '{service}'.")
    if not scope.region:
        raise _invalid("Credential should be scoped to a valid region.")

    entry = lookup(scope.access_key)
    if entry is None:
        raise _fail("UnrecognizedClientException", "The security token included in the request is invalid.")
    token = headers.get("x-amz-security-token")
    if token is None and parts.presigned:
        token = next((v for n, v in pairs if n == "X-Amz-Security-Token"), None)
    expected_token = entry.session_token
    if (token is not None or expected_token is not None) and not hmac.compare_digest(
        (token or "").encode("utf-8", "replace"), (expected_token or "").encode("utf-8")
    ):
        raise _fail("UnrecognizedClientException", "The security token included in the request is invalid.")

    timestamp, when = _request_timestamp(parts, headers)
    if scope.date != timestamp[:8]:
        raise _invalid(
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{scope.date[:16]}' != '{timestamp[:8]}'"
        )
    _check_window(parts, timestamp, when, now)

    payload = _payload_hash(parts, headers, pairs, body)
    canonical = canonical_request(
        method, raw_path, pairs, headers, parts.signed_headers, payload, presigned=parts.presigned
    )
    expected = signature(entry.secret_access_key, scope, string_to_sign(timestamp, scope, canonical))
    provided = parts.signature.strip().lower()
    if not _HEX64.match(provided) or not hmac.compare_digest(provided.encode(), expected.encode()):
        raise _invalid(MISMATCH)
    return Verified(scope.access_key, scope.region, entry)
