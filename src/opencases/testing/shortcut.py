"""The mock's before-call shortcut: a call answered from its request dict, before signing.

botocore's `before-call` event carries the serialized request dict (method, URL, body), the
client's request signer and the call's context. `Shortcut.answer` runs the request through
the server's steps (server/pipeline.py: body limit, identity, route, throttle, parse, and
`api.invoke`, which validates and runs the handler) and returns `(http_response, parsed)`,
with `parsed` built by parsed.py as botocore would parse our serialized response.

The identity is the one open auth reads from the SigV4 credential scope, built from what
the signer would sign with: the client's access key and signing region. When that cannot be
known without signing (auth `strict`, unsigned clients, per-request credentials, another
signature version), `answer` returns None before running anything and the call takes the
HTTP-level path (mock.py). After running, a response the shortcut does not hand back itself
(every error, and any result parsed.py cannot promise) is serialized as the server would
send it and left in the call's context for the before-send handler: botocore then signs,
"sends", parses, raises and retries exactly as with a server.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import botocore
from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.model import OperationModel

from opencases.errors import InternalServerException, ServiceError, ValidationException
from opencases.server.identity import Identity
from opencases.server.pipeline import MAX_BODY_BYTES, Pipeline
from opencases.services.context import new_id
from opencases.testing.parsed import NotEquivalent, client_view, status_code, supports
from opencases.wire.serializer import serialize_error, serialize_response

log = logging.getLogger("opencases.request")

JSON = "application/json"

def credential_scope(signer: Any, context: dict[str, Any]) -> str | None:
    """The Authorization header SigV4 would send, as far as open auth reads it (the
    credential scope), or None when only signing could tell."""
    if signer is None:
        return None
    # RequestSigner._choose_signer: the operation's auth type, else the client's version.
    version = context.get("auth_type") or signer.signature_version
    if version != "v4" or signer.signature_version is botocore.UNSIGNED:
        return None
    signing = context.get("signing") or {}
    if signing.get("request_credentials") is not None or signing.get("identity_cache") is not None:
        return None
    credentials = getattr(signer, "_credentials", None)
    if credentials is None:
        return None  # signing raises NoCredentialsError: leave that to botocore
    # The key signing would use (refreshable credentials refresh here as they would there).
    access_key = credentials.get_frozen_credentials().access_key
    region = signing.get("region") or signer.region_name
    name = signing.get("signing_name") or signer.signing_name
    return _scope(access_key, region, name)


@functools.lru_cache(maxsize=256)
def _scope(access_key: str, region: str, name: str) -> str:
    return f"AWS4-HMAC-SHA256 Credential={access_key}/19700101/{region}/{name}/aws4_request"


def body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytearray):
        return bytes(body)
    data = body.read()
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


class _LazyBody:
    """The `raw` of the shortcut's http_response: serialized only if someone reads it."""

    __slots__ = ("_op", "_result")

    def __init__(self, op: OperationModel, result: dict[str, Any]) -> None:
        self._op = op
        self._result = result

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield serialize_response(self._op, self._result)[2]


class _Response(AWSResponse):
    """The http_response after-call handlers see: what the server would have sent, its
    headers and body made only if someone looks at them."""

    def __init__(self, url: str, status: int, request_id: str, op: OperationModel, result: dict[str, Any]) -> None:
        self.url = url
        self.status_code = status
        self.raw = _LazyBody(op, result)
        self._content = None
        self._request_id = request_id
        self._headers: HeadersDict | None = None

    @property
    def headers(self) -> HeadersDict:
        if self._headers is None:
            self._headers = HeadersDict({"Content-Type": JSON, "x-amzn-RequestId": self._request_id})
        return self._headers

    @headers.setter
    def headers(self, value: Any) -> None:
        self._headers = HeadersDict(value)


class Shortcut:
    def __init__(self, pipeline: Pipeline, lock: threading.RLock, pending_key: str) -> None:
        self.pipeline = pipeline
        # The mock's lock: its in-memory database is one connection that requests share.
        self.lock = lock
        self.pending_key = pending_key
        # What open auth makes of each credential scope seen (it depends on nothing else).
        self._identities: dict[str, Identity] = {}

    def answer(
        self, model: Any, request_dict: dict[str, Any], signer: Any, context: dict[str, Any]
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        pipeline = self.pipeline
        if pipeline.auth.credentials is not None:
            return None  # strict auth verifies the signature: the HTTP-level path
        authorization = credential_scope(signer, context)
        if authorization is None:
            return None
        url = request_dict.get("url") or ""
        parts = urlsplit(url)
        method, path, query = request_dict.get("method") or "GET", parts.path or "/", parts.query
        body = body_bytes(request_dict.get("body"))
        rid = new_id()
        started = time.perf_counter()
        operation = "-"
        parsed: dict[str, Any] | None = None
        try:
            if len(body) > MAX_BODY_BYTES:
                raise ValidationException(f"Request body is {len(body)} bytes; the limit is {MAX_BODY_BYTES} bytes")
            who = self._identities.get(authorization)
            if who is None:
                who = pipeline.auth.identify(method, path, query, {"authorization": authorization}, body)
                if len(self._identities) >= 256:
                    self._identities.clear()
                self._identities[authorization] = who
            with self.lock:
                operation, uri_params = pipeline.route(who, method, path)
                op, result = pipeline.execute(who, operation, uri_params, query, body, rid)
            status = status_code(op)
            try:
                if not supports(op):
                    raise NotEquivalent(operation)
                parsed = client_view(op, result)
            except NotEquivalent:
                status, headers, out = serialize_response(op, result)
        except ServiceError as err:
            status, headers, out = serialize_error(err)
        except Exception:
            log.exception("unhandled error (request %s)", rid)
            status, headers, out = serialize_error(InternalServerException(f"Internal error; request id {rid}"))
        if log.isEnabledFor(logging.INFO):
            elapsed = (time.perf_counter() - started) * 1000
            log.info("%s %s %s %d %.1fms %s", method, path, operation, status, elapsed, rid)
        if parsed is None:
            headers["x-amzn-RequestId"] = rid
            context[self.pending_key] = (status, headers, out)
            return None
        metadata = {
            "RequestId": rid,
            "HTTPStatusCode": status,
            "HTTPHeaders": {"content-type": JSON, "x-amzn-requestid": rid},
            "RetryAttempts": 0,
        }
        parsed = {"ResponseMetadata": metadata, **parsed}  # first, where botocore's parser puts it
        return _Response(url, status, rid, op, result), parsed
