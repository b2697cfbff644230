"""SigV4 verification against botocore as the oracle: botocore signs, wire/sigv4.py verifies.

Requests come from two places: AWSRequest objects signed directly with botocore's
SigV4Auth / SigV4QueryAuth (so the canonical request botocore built can be compared with
ours), and whole boto3 client calls captured just before they would be sent (so the paths,
query strings and bodies are exactly what the SDK puts on the wire, e.g. `/tags/{arn}` with a
percent-encoded ARN).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.utils import percent_encode

from opencases.errors import ProtocolError
from opencases.server.credentials import Credential
from opencases.wire import sigv4

ENDPOINT = "http://127.0.0.1:8000"
KEY, SECRET = "AKIDEXAMPLE0001", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ENTRY = Credential(KEY, SECRET, "111111111111", "arn:aws:iam::111111111111:user/alice")
DOMAIN_ARN = "arn:aws:cases:us-east-1:111111111111:domain/0b7d3c2e-1a2b-4c5d-8e9f-0123456789ab"


def lookup(key: str) -> Credential | None:
    return {KEY: ENTRY}.get(key)


class Recording(SigV4Auth):
    """botocore's signer, remembering the canonical request it signed."""

    canonical = ""

    def canonical_request(self, request: Any) -> str:
        self.canonical = super().canonical_request(request)
        return self.canonical


@contextmanager
def clock(when: datetime) -> Iterator[None]:
    """Make botocore sign as if it were `when`."""
    with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
        yield


def now() -> datetime:
    return datetime.now(UTC)


class Wire:
    """A request as the server sees it: method, raw path, raw query, lower-case headers, body."""

    def __init__(self, method: str, url: str, headers: dict[str, Any], body: bytes) -> None:
        parts = urlsplit(url)
        self.method = method
        self.path = parts.path
        self.query = parts.query
        # Prepared requests hold some header values as bytes; a server sees latin-1 text.
        self.headers = {k.lower(): v.decode("latin-1") if isinstance(v, bytes) else v for k, v in headers.items()}
        # The HTTP client adds Host from the URL; botocore signs that same value.
        self.headers.setdefault("host", parts.netloc)
        self.body = body

    def verify(self, at: datetime | None = None, **changes: Any) -> sigv4.Verified[Credential]:
        values = {"method": self.method, "raw_path": self.path, "raw_query": self.query,
                  "headers": self.headers, "body": self.body, **changes}
        return sigv4.verify(lookup=lookup, now=at or now(), **values)


def signed(method: str, path_and_query: str, body: bytes = b"", secret: str = SECRET, key: str = KEY,
           service: str = "cases", headers: dict[str, str] | None = None) -> tuple[Wire, Recording]:
    request = AWSRequest(method=method, url=ENDPOINT + path_and_query, data=body,
                         headers=headers or {"Content-Type": "application/json"})
    signer = Recording(Credentials(key, secret), service, "us-east-1")
    signer.add_auth(request)
    return Wire(method, request.url, dict(request.headers.items()), body), signer


def presigned(method: str, path_and_query: str, expires: int = 300, secret: str = SECRET) -> Wire:
    request = AWSRequest(method=method, url=ENDPOINT + path_and_query)
    SigV4QueryAuth(Credentials(KEY, secret), "cases", "us-east-1", expires=expires).add_auth(request)
    return Wire(method, request.url, {}, b"")


def refused(wire: Wire, code: str, at: datetime | None = None, **changes: Any) -> str:
    with pytest.raises(ProtocolError) as info:
        wire.verify(at, **changes)
    assert info.value.code == code
    assert info.value.status == 403
    return info.value.message


# --- the canonical request matches botocore's ------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path_and_query", "body"),
    [
        ("POST", "/domains", b'{"name": "support"}'),
        ("POST", "/domains-list?maxResults=5&nextToken=a%2Fb%3D%3D", b""),
        ("POST", "/tags/" + percent_encode(DOMAIN_ARN), b'{"tags": {"team": "blue"}}'),
        ("GET", "/tags/" + percent_encode(DOMAIN_ARN), b""),
        ("DELETE", "/tags/" + percent_encode(DOMAIN_ARN) + "?tagKeys=team&tagKeys=a%20b%2Bc", b""),
        ("POST", "/domains/d%C3%A9j%C3%A0-vu/cases/x~y/related-items/", b"{}"),
        ("POST", "/a/./b/../c//d", b""),
    ],
)
def test_canonical_request_is_botocores(method: str, path_and_query: str, body: bytes) -> None:
    wire, signer = signed(method, path_and_query, body)
    parts = sigv4.parse_authorization(wire.headers["authorization"])
    ours = sigv4.canonical_request(
        method, wire.path, sigv4.query_pairs(wire.query), wire.headers, parts.signed_headers,
        hashlib.sha256(body).hexdigest(),
    )
    assert ours == signer.canonical
    assert wire.verify().entry is ENTRY


def test_percent_encoded_arn_label_is_encoded_twice() -> None:
    """AWS's non-S3 rule: the already-encoded path is encoded once more for signing."""
    raw = "/tags/" + percent_encode(DOMAIN_ARN)
    assert raw.startswith("/tags/arn%3Aaws%3Acases%3Aus-east-1%3A111111111111%3Adomain%2F")
    assert sigv4.canonical_uri(raw) == "/tags/" + percent_encode(DOMAIN_ARN).replace("%", "%25")
    # Decoding first would sign a different path, and the client's signature would not match.
    assert sigv4.canonical_uri(raw) != sigv4.canonical_uri("/tags/" + DOMAIN_ARN)


def test_signing_key_and_signature_match_botocore() -> None:
    wire, signer = signed("POST", "/domains", b"{}")
    parts = sigv4.parse_authorization(wire.headers["authorization"])
    sts = sigv4.string_to_sign(wire.headers["x-amz-date"], parts.scope, signer.canonical)
    assert sigv4.signature(SECRET, parts.scope, sts) == parts.signature


# --- real SDK calls, captured before sending -------------------------------------------------


class Captured(Exception):
    def __init__(self, request: Any) -> None:
        self.request = request


def sdk_request(operation: str, secret: str = SECRET, **params: Any) -> Wire:
    client = boto3.client("connectcases", endpoint_url=ENDPOINT, region_name="eu-west-2",
                          aws_access_key_id=KEY, aws_secret_access_key=secret,
                          config=Config(retries={"max_attempts": 1}))

    def capture(request: Any, **_: Any) -> None:
        raise Captured(request)

    client.meta.events.register("before-send.connectcases", capture)
    with pytest.raises(Captured) as info:
        getattr(client, operation)(**params)
    request = info.value.request
    body = request.body or b""
    return Wire(request.method, request.url, dict(request.headers.items()),
                body if isinstance(body, bytes) else body.encode())


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("tag_resource", {"arn": DOMAIN_ARN, "tags": {"team": "blue", "k e/y": "v+a=l"}}),
        ("list_tags_for_resource", {"arn": DOMAIN_ARN}),
        ("untag_resource", {"arn": DOMAIN_ARN, "tagKeys": ["team", "k e/y"]}),
        ("list_domains", {"maxResults": 3}),
        ("create_domain", {"name": "Support désk"}),
        ("get_case", {"domainId": "d-1", "caseId": "c/1:2", "fields": [{"id": "status"}]}),
    ],
)
def test_sdk_requests_verify(operation: str, params: dict[str, Any]) -> None:
    wire = sdk_request(operation, **params)
    if "arn" in params:
        assert "%3A" in wire.path and "%2F" in wire.path
    verified = wire.verify()
    assert (verified.access_key, verified.region, verified.entry) == (KEY, "eu-west-2", ENTRY)


def test_sdk_request_with_wrong_secret_is_refused() -> None:
    wire = sdk_request("untag_resource", secret="not-the-secret", arn=DOMAIN_ARN, tagKeys=["team"])
    assert "does not match" in refused(wire, "InvalidSignatureException")


# --- refusals --------------------------------------------------------------------------------


def test_wrong_secret() -> None:
    wire, _ = signed("POST", "/domains", b'{"name": "x"}', secret="wrong")
    refused(wire, "InvalidSignatureException")


def test_unknown_access_key() -> None:
    wire, _ = signed("POST", "/domains", b'{"name": "x"}', key="AKIDUNKNOWN")
    assert "security token" in refused(wire, "UnrecognizedClientException")


def test_tampered_body_path_query_header_and_method() -> None:
    arn_path = "/tags/" + percent_encode(DOMAIN_ARN)
    wire, _ = signed("DELETE", arn_path + "?tagKeys=team", b"")
    assert wire.verify()
    refused(wire, "InvalidSignatureException", body=b'{"x": 1}')
    refused(wire, "InvalidSignatureException", raw_path=arn_path.replace("0b7d", "0b7e"))
    # The same ARN, decoded: a different canonical URI.
    refused(wire, "InvalidSignatureException", raw_path="/tags/" + DOMAIN_ARN)
    refused(wire, "InvalidSignatureException", raw_query="tagKeys=other")
    refused(wire, "InvalidSignatureException", method="POST")
    refused(wire, "InvalidSignatureException", headers={**wire.headers, "content-type": "text/plain"})
    refused(wire, "InvalidSignatureException", headers={**wire.headers, "host": "evil.example:8000"})


def test_unsigned_headers_may_change() -> None:
    wire, _ = signed("POST", "/domains", b"{}")
    assert wire.verify(headers={**wire.headers, "user-agent": "something else", "accept": "*/*"})


def test_missing_authentication() -> None:
    assert refused(Wire("POST", ENDPOINT + "/domains-list", {}, b""),
                   "MissingAuthenticationTokenException") == "Missing Authentication Token"


@pytest.mark.parametrize(
    ("authorization", "fragment"),
    [
        ("Bearer abc", "algorithm"),
        ("AWS4-HMAC-SHA256", "'Credential'"),
        ("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/cases/aws4_request, SignedHeaders=host",
         "'Signature'"),
        ("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/cases/aws4_request, Signature=ab", "'SignedHeaders'"),
        ("AWS4-HMAC-SHA256 Credential=AKID/us-east-1/cases, SignedHeaders=host, Signature=ab", "5 slash-delimited"),
        ("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/cases/aws4_request, SignedHeaders, Signature=ab",
         "equal-sign"),
        (f"AWS4-HMAC-SHA256 Credential={KEY}/20240101/us-east-1/cases/aws4_request, SignedHeaders=x-amz-date, "
         "Signature=ab", "Host"),
    ],
)
def test_malformed_authorization_is_incomplete(authorization: str, fragment: str) -> None:
    wire, _ = signed("POST", "/domains", b"{}")
    message = refused(wire, "IncompleteSignatureException", headers={**wire.headers, "authorization": authorization})
    assert fragment in message


def test_missing_date_is_incomplete() -> None:
    wire, _ = signed("POST", "/domains", b"{}")
    headers = {k: v for k, v in wire.headers.items() if k != "x-amz-date"}
    assert "X-Amz-Date" in refused(wire, "IncompleteSignatureException", headers=headers)


def test_credential_scoped_to_another_service() -> None:
    wire, _ = signed("POST", "/domains", b"{}", service="connect")
    assert "'cases'" in refused(wire, "InvalidSignatureException")


def test_date_must_be_within_15_minutes() -> None:
    signed_at = now() - timedelta(minutes=20)
    with clock(signed_at):
        wire, _ = signed("POST", "/domains", b"{}")
    message = refused(wire, "InvalidSignatureException")
    assert message.startswith("Signature expired: " + signed_at.strftime("%Y%m%dT%H%M%SZ"))
    # The same request was fine when it was sent, and 14 minutes either side of it.
    assert wire.verify(at=signed_at + timedelta(minutes=14))
    assert wire.verify(at=signed_at - timedelta(minutes=14))
    assert refused(wire, "InvalidSignatureException", at=signed_at - timedelta(minutes=16)).startswith(
        "Signature not yet current"
    )


def test_http_date_header_instead_of_x_amz_date() -> None:
    # botocore signs with the Date header when the request already has one.
    wire, _ = signed("POST", "/domains", b"{}",
                     headers={"Content-Type": "application/json", "Date": "Mon, 01 Jan 2024 00:00:00 GMT"})
    assert "x-amz-date" not in wire.headers and "date" in wire.headers
    assert wire.verify()


def test_declared_payload_hash_must_match_the_body() -> None:
    body = b'{"name": "x"}'
    wire, _ = signed("POST", "/domains", body,
                     headers={"Content-Type": "application/json",
                              "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
    assert wire.verify()
    assert "x-amz-content-sha256" in refused(wire, "InvalidSignatureException", body=b'{"name": "y"}')


def test_unsigned_payload_when_the_signer_says_so() -> None:
    wire, _ = signed("POST", "/domains", b"{}",
                     headers={"Content-Type": "application/json", "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    assert wire.verify(body=b'{"anything": true}')


def test_session_token() -> None:
    with_token = Credential(KEY, SECRET, "111111111111", "arn:aws:iam::111111111111:user/t", session_token="tok")
    request = AWSRequest(method="POST", url=ENDPOINT + "/domains", data=b"{}")
    SigV4Auth(Credentials(KEY, SECRET, "tok"), "cases", "us-east-1").add_auth(request)
    wire = Wire("POST", request.url, dict(request.headers.items()), b"{}")
    assert sigv4.verify(wire.method, wire.path, wire.query, wire.headers, wire.body, {KEY: with_token}.get, now())
    # A token the entry does not have, or a missing one, is an unknown credential.
    refused(wire, "UnrecognizedClientException")
    plain, _ = signed("POST", "/domains", b"{}")
    with pytest.raises(ProtocolError) as info:
        sigv4.verify(plain.method, plain.path, plain.query, plain.headers, plain.body, {KEY: with_token}.get, now())
    assert info.value.code == "UnrecognizedClientException"


# --- presigned URLs --------------------------------------------------------------------------


def test_presigned_urls_verify() -> None:
    assert presigned("POST", "/domains-list?maxResults=2").verify().entry is ENTRY
    assert presigned("POST", "/domains/0b7d3c2e").verify().entry is ENTRY
    assert presigned("GET", "/tags/" + percent_encode(DOMAIN_ARN)).verify().entry is ENTRY


def test_presigned_refusals() -> None:
    wire = presigned("POST", "/domains-list?maxResults=2")
    refused(wire, "InvalidSignatureException", raw_query=wire.query.replace("maxResults=2", "maxResults=3"))
    refused(wire, "InvalidSignatureException", raw_path="/domains")
    refused(presigned("POST", "/domains-list", secret="wrong"), "InvalidSignatureException")
    both = {**wire.headers, "authorization": "AWS4-HMAC-SHA256 Credential=x"}
    assert "Only one auth mechanism" in refused(wire, "IncompleteSignatureException", headers=both)
    without_date = "&".join(p for p in wire.query.split("&") if not p.startswith("X-Amz-Date="))
    assert "X-Amz-Date" in refused(wire, "IncompleteSignatureException", raw_query=without_date)


def test_presigned_url_expires() -> None:
    signed_at = now() - timedelta(seconds=120)
    with clock(signed_at):
        wire = presigned("POST", "/domains-list", expires=60)
    assert refused(wire, "InvalidSignatureException").startswith("Signature expired: ")
    assert wire.verify(at=signed_at + timedelta(seconds=59))
    too_long = wire.query.replace("X-Amz-Expires=60", "X-Amz-Expires=604801")
    refused(wire, "IncompleteSignatureException", raw_query=too_long)


def test_canonical_query_sorts_and_reencodes() -> None:
    pairs = sigv4.query_pairs("b=2&a=%7e&a=1&c&X-Amz-Signature=zz&sp=a%20b+c")
    assert sigv4.canonical_query(pairs, exclude_signature=True) == "a=1&a=~&b=2&c=&sp=a%20b%2Bc"


def test_signature_comparison_is_constant_time() -> None:
    wire, _ = signed("POST", "/domains", b"{}")
    with mock.patch("opencases.wire.sigv4.hmac.compare_digest", wraps=__import__("hmac").compare_digest) as cmp:
        wire.verify()
    assert cmp.called
