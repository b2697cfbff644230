"""Requests generated from the connectcases service model, valid and hostile, for the fuzz checks.

`Generator(seed, account, known)` walks an operation's input shape to build a plausible
request (required members, enums, lengths within the model's bounds, ids of real resources from
`known` most of the time), then maybe spoils it one way: wrong JSON types, huge strings, deep
filter or array nesting, lone surrogates and invalid UTF-8, malformed JSON, bodies past the
8 MiB limit (with a content-length or chunked), path tricks (`..`, `%2F`, `%00`, bad
percent-encoding, very long paths), duplicate and unknown query keys, wrong methods and
missing or garbled Authorization headers.

`send(port, request)` writes the request bytes on a fresh socket (no HTTP library in between,
so nothing is normalised away) and reads one response. `problem(request, response)` says what
is wrong with a response, or None: a 5xx, or a 4xx whose `x-amzn-ErrorType` is neither a
model error shape nor one of the protocol codes.

Used by tests/reliability/test_fuzz.py (a few hundred requests) and bench/fuzz.py (minutes).
"""

from __future__ import annotations

import json
import random
import socket
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from opencases.wire.model import service_model

PROTOCOL_CODES = frozenset({
    "UnknownOperationException", "MethodNotAllowedException",
    # SigV4 refusals (wire/sigv4.py), the codes AWS answers with.
    "MissingAuthenticationTokenException", "IncompleteSignatureException",
    "UnrecognizedClientException", "InvalidSignatureException",
})
# The HTTP layer (server/http_protocol.py) refuses a request head over 16 KiB before the app
# sees it: a modeled ValidationException, or a closed connection while the client still sends.
HEAD_LIMIT = 16 * 1024
BIG_BODY = 10 * 1024 * 1024 + 17

# Label names whose values should usually be real, so requests get past "not found".
ID_LABELS = ("domainId", "caseId", "fieldId", "templateId", "layoutId", "relatedItemId", "caseRuleId", "arn")
SURROGATES = ["\\ud800", "\\udfff", "a\\ud83d", "\\udc00\\ud800", "x\\uDBFFy"]
# Raw bytes that are not UTF-8: a lone continuation byte, an overlong '/', a truncated sequence.
BAD_UTF8 = [b"\x80", b"\xc0\xaf", b"\xe2\x82", b"\xff\xfe", b"\xed\xa0\x80"]
PATH_TRICKS = ["..", "%2e%2e", "%2E%2E%2F", "%2F", "a%2Fb", "%00", "a%00b", "%ZZ", "%", "%C0%AF", "%ED%A0%80",
               "%FF", ".", "%20", "~", "%252F"]
BAD_JSON = [
    b"[]", b"123", b'"text"', b"null", b"true", b'{"a":}', b"{", b"{" * 5000, b"[" * 100_000, b"}",
    b'{"x": NaN}', b'{"x": Infinity}', b'{"x": 1e999999}', b"\xef\xbb\xbf{}", b'{"a":1,"a":2}',
    b"{}garbage", b'{"\\u0000": 1}', b"\x00\x00\x00", b'{"x": "unterminated', b"{'single': 'quotes'}",
    b'{"x": 123456789012345678901234567890}', b'{"x": -0.0e-99999}',
]
ALPHABET = string.ascii_letters + string.digits + " -_.:/é漢"


@dataclass
class FuzzRequest:
    kind: str
    operation: str
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    chunked: bool = False

    def head_size(self) -> int:
        return len(self.target) + sum(len(k) + len(v) + 4 for k, v in self.headers) + 64


@dataclass
class FuzzResponse:
    status: int  # 0: the connection closed without a response
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def auth_header(account: str) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/cases/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0"
    )


def allowed_codes() -> frozenset[str]:
    return frozenset(s.name for s in service_model().error_shapes) | PROTOCOL_CODES


class Generator:
    """Seeded, so a failing request can be reproduced from its seed and index."""

    def __init__(self, seed: int, account: str, known: dict[str, list[str]], big_bodies: bool = True) -> None:
        self.rng = random.Random(seed)
        self.account = account
        self.known = known
        self.big_bodies = big_bodies
        self.model = service_model()
        self.operations = sorted(self.model.operation_names)

    # -- values from shapes ------------------------------------------------------------------
    def _string(self, shape: Shape, name: str) -> str:
        rng = self.rng
        if shape.enum:
            return str(rng.choice(shape.enum))
        if name in self.known and rng.random() < 0.8:
            return str(rng.choice(self.known[name]))
        lo = int(shape.metadata.get("min", 0))
        hi = int(shape.metadata.get("max", 40))
        size = rng.randint(max(lo, 1 if lo else 0), max(lo, min(hi, 24)))
        return "".join(rng.choice(ALPHABET) for _ in range(size)) or "x"

    def value(self, shape: Shape, name: str = "", depth: int = 0) -> Any:
        rng = self.rng
        kind = shape.type_name
        if kind == "string":
            return self._string(shape, name)
        if kind in ("integer", "long"):
            lo = int(shape.metadata.get("min", 0))
            hi = int(shape.metadata.get("max", 100))
            return rng.randint(lo, min(hi, lo + 100))
        if kind in ("double", "float"):
            return rng.choice([0.0, 1.5, -3.25, 1e6, rng.uniform(-1e3, 1e3)])
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "timestamp":
            return rng.choice(["2024-01-02T03:04:05.678Z", "2030-12-31T23:59:59Z", 1700000000])
        if kind == "list":
            assert isinstance(shape, ListShape)
            lo = int(shape.metadata.get("min", 0))
            count = lo if depth > 4 else rng.randint(lo, max(lo, min(int(shape.metadata.get("max", 3)), 3)))
            return [self.value(shape.member, name, depth + 1) for _ in range(count)]
        if kind == "map":
            assert isinstance(shape, MapShape)
            return {self.value(shape.key, "", depth + 1): self.value(shape.value, "", depth + 1)
                    for _ in range(rng.randint(0, 2))}
        assert isinstance(shape, StructureShape)
        members = shape.members
        if shape.metadata.get("union"):
            names = sorted(members)
            if depth > 3:  # recursive unions (filters) end in a leaf
                leaves = [n for n in names if members[n].type_name not in ("structure", "list")]
                names = leaves or names[:1]
            pick = rng.choice(names)
            return {self._wire(members[pick], pick): self.value(members[pick], pick, depth + 1)}
        out: dict[str, Any] = {}
        required = set(shape.required_members)
        for member_name, member in members.items():
            if member_name in required or (depth < 4 and rng.random() < 0.5):
                out[member_name] = self.value(member, member_name, depth + 1)
        return out

    @staticmethod
    def _wire(shape: Shape, name: str) -> str:
        return str(shape.serialization.get("name", name))

    # -- one request -------------------------------------------------------------------------
    def _base(self, op: OperationModel) -> tuple[str, list[tuple[str, str]], dict[str, Any]]:
        """(path, query pairs, JSON body dict) of a plausible request."""
        params = self.value(op.input_shape) if op.input_shape is not None else {}
        path = op.http["requestUri"]
        query: list[tuple[str, str]] = []
        body: dict[str, Any] = {}
        members = op.input_shape.members if op.input_shape is not None else {}
        for name, member in members.items():
            location = member.serialization.get("location")
            wire = self._wire(member, name)
            if location == "uri":
                value = params.get(name) or self._string(member, name)
                path = path.replace("{" + wire + "}", quote(str(value), safe="")).replace(
                    "{" + wire + "+}", quote(str(value), safe="/"))
            elif location == "querystring":
                if name in params:
                    values = params[name] if isinstance(params[name], list) else [params[name]]
                    query += [(wire, str(v)) for v in values]
            elif name in params:
                body[wire] = params[name]
        return path, query, body

    def request(self) -> FuzzRequest:
        rng = self.rng
        op = self.model.operation_model(rng.choice(self.operations))
        path, query, body = self._base(op)
        method = op.http["method"]
        headers = [("Authorization", auth_header(self.account)), ("Content-Type", "application/json")]
        kinds = ["valid"] * 6 + ["wrong_type", "huge_string", "deep_filter", "deep_array", "surrogate",
                                 "bad_utf8", "bad_json", "path_trick", "long_path", "query_trick",
                                 "wrong_method", "bad_auth", "null_members"] * 2
        if self.big_bodies:
            kinds += ["big_body", "big_chunked"]
        kind = rng.choice(kinds)
        raw: bytes | None = None
        if kind == "wrong_type":
            self._spoil(body, lambda _old: rng.choice([[], {}, 12, -1.5, True, "text", [1, "a"], {"x": None}]))
            if not body:
                body = {"domainId": rng.choice([1, [], {}]), "maxResults": "many"}
        elif kind == "huge_string":
            size = rng.choice([5_000, 70_000, 300_000, 2_000_000])
            if not self._spoil(body, lambda _old: "x" * size, strings_only=True):
                body["name"] = "é" * size
        elif kind == "deep_filter":
            # Built as text: json.dumps itself would hit the recursion limit.
            depth = rng.choice([63, 65, 300, 5_000, 100_000])
            opens = [rng.choice(['{"not": ', '{"andAll": [', '{"orAll": [']) for _ in range(depth)]
            closes = ["}" if o.endswith(": ") else "]}" for o in reversed(opens)]
            leaf = '{"field": {"equalTo": {"id": "title", "value": {"stringValue": "a"}}}}'
            body.pop("filter", None)
            rest = json.dumps(body)[1:-1]
            raw = ('{"filter": ' + "".join(opens) + leaf + "".join(closes) + (", " + rest if rest else "")
                   + "}").encode()
        elif kind == "deep_array":
            depth = rng.choice([100, 1_000, 200_000])
            raw = b'{"fields": ' + b"[" * depth + b"]" * depth + b"}"
        elif kind == "surrogate":
            text = json.dumps(body or {"name": "x"})
            target = rng.choice(SURROGATES)
            if '"' in text[1:]:
                # Inside the first string value (or key) of the JSON text.
                cut = text.index('"', 1) if rng.random() < 0.3 else text.rfind('"')
                text = text[:cut] + target + text[cut:]
            raw = text.encode()
            if rng.random() < 0.3:
                path += "/" + quote("\ud800", safe="", errors="surrogatepass")
        elif kind == "bad_utf8":
            encoded = json.dumps(body or {"name": "x"}).encode()
            cut = encoded.rfind(b'"') if b'"' in encoded else 1
            raw = encoded[:cut] + rng.choice(BAD_UTF8) + encoded[cut:]
        elif kind == "bad_json":
            raw = rng.choice(BAD_JSON)
        elif kind == "path_trick":
            path = self._path_trick(path)
        elif kind == "long_path":
            # Up to just under the HTTP parser's head limit, or (rarely) past it.
            size = rng.choice([1_000, 8_000, 15_000, 15_000, 40_000])
            segments = path.split("/")
            i = rng.randrange(1, len(segments)) if len(segments) > 1 else 0
            segments[i] = rng.choice(["a", "%2F", "..", "%41"]) * (size // 2)
            path = "/".join(segments)
        elif kind == "query_trick":
            query = self._query_trick(query)
        elif kind == "wrong_method":
            method = rng.choice([m for m in ("GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "POST", "FOO")
                                 if m != method])
        elif kind == "bad_auth":
            choice = rng.randrange(5)
            headers = [h for h in headers if h[0] != "Authorization"]
            if choice == 1:
                headers.append(("Authorization", "AWS4-HMAC-SHA256 Credential=/"))
            elif choice == 2:
                headers.append(("Authorization", "Bearer " + "x" * 3000))
            elif choice == 3:
                headers.append(("Authorization", auth_header("not-an-account")))
            elif choice == 4:
                headers += [("Authorization", auth_header(self.account)), ("Authorization", "garbage")]
        elif kind == "null_members":
            body = {k: None for k in body} or {"domainId": None}
        if kind in ("big_body", "big_chunked"):
            raw = b'{"name": "' + b"a" * BIG_BODY + b'"}'
        target = path + ("?" + "&".join(f"{k}={quote(v, safe='%')}" for k, v in query) if query else "")
        payload = raw if raw is not None else json.dumps(body, ensure_ascii=rng.random() < 0.5).encode()
        return FuzzRequest(kind, op.name, method, target, headers, payload, chunked=kind == "big_chunked")

    def _spoil(self, body: dict[str, Any], make: Any, strings_only: bool = False) -> bool:
        """Replace one random leaf (or member) of `body` with make(old); False when none fits."""
        slots: list[tuple[Any, Any]] = []

        def walk(node: Any) -> None:
            items: Iterator[tuple[Any, Any]] = (
                iter(node.items()) if isinstance(node, dict) else iter(enumerate(node)) if isinstance(node, list)
                else iter(()))
            for key, child in items:
                if not strings_only or isinstance(child, str):
                    slots.append((node, key))
                walk(child)

        walk(body)
        if not slots:
            return False
        node, key = self.rng.choice(slots)
        node[key] = make(node[key])
        return True

    def _path_trick(self, path: str) -> str:
        rng = self.rng
        segments = path.split("/")
        trick = rng.choice(PATH_TRICKS)
        how = rng.randrange(4)
        if how == 0 and len(segments) > 2:
            segments[rng.randrange(1, len(segments))] = trick
        elif how == 1:
            segments.insert(rng.randrange(1, len(segments) + 1), trick)
        elif how == 2:
            return path.replace("/", "//", 1) + rng.choice(["", "/", "/.", "/..", "%2F"])
        else:
            segments[-1] = segments[-1] + trick
        return "/".join(segments)

    def _query_trick(self, query: list[tuple[str, str]]) -> list[tuple[str, str]]:
        rng = self.rng
        extra = rng.choice([
            [("maxResults", "1"), ("maxResults", "2")],
            [("nextToken", "a"), ("nextToken", "b")],
            [("maxResults", "-1")], [("maxResults", "1e3")], [("maxResults", "%ZZ")], [("maxResults", "")],
            [("values", "a")] * 60, [("tagKeys", "")], [("unknown", "x")], [("", "")], [("%00", "%00")],
            [("status", "Active"), ("status", "Inactive"), ("status", "Nope")], [("nextToken", "x" * 5000)],
        ])
        return query + extra


# -- the wire -------------------------------------------------------------------------------


def encode(request: FuzzRequest, port: int) -> tuple[bytes, list[bytes]]:
    """(head bytes, body pieces). The target goes out as latin-1 bytes, unnormalised."""
    lines = [f"{request.method} {request.target} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in request.headers]
    if request.chunked:
        lines.append("Transfer-Encoding: chunked")
    else:
        lines.append(f"Content-Length: {len(request.body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")
    if not request.chunked:
        return head, [request.body]
    step = 256 * 1024
    pieces = [b"%x\r\n%s\r\n" % (len(request.body[i:i + step]), request.body[i:i + step])
              for i in range(0, len(request.body), step)]
    return head, [*pieces, b"0\r\n\r\n"]


def send(port: int, request: FuzzRequest, timeout: float = 60.0) -> FuzzResponse:
    head, pieces = encode(request, port)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(head)
            for piece in pieces:
                sock.sendall(piece)
        except OSError:
            pass  # the server may answer (and close) before taking the whole body
        data = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
    return parse_response(data)


def parse_response(data: bytes) -> FuzzResponse:
    if b"\r\n\r\n" not in data:
        return FuzzResponse(0)
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ")[1])
    except (IndexError, ValueError):
        return FuzzResponse(0)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    return FuzzResponse(status, headers, body)


def problem(request: FuzzRequest, response: FuzzResponse, allowed: frozenset[str]) -> str | None:
    """What is wrong with this response to this request, or None."""
    oversized_head = request.head_size() > HEAD_LIMIT
    if response.status == 0:
        return None if oversized_head else "no response (connection closed)"
    if response.status >= 500:
        return f"{response.status} {response.headers.get('x-amzn-errortype')} {response.body[:200]!r}"
    if response.status >= 400:
        code = response.headers.get("x-amzn-errortype")
        if code is None and oversized_head:
            return None  # the HTTP parser's own refusal of a head it will not read
        if code not in allowed:
            return f"{response.status} with unmodeled error type {code!r}: {response.body[:200]!r}"
        if request.method != "HEAD":
            try:
                json.loads(response.body)
            except ValueError:
                return f"{response.status} {code} with a body that is not JSON: {response.body[:200]!r}"
    return None


def rss_kb(pid: int) -> int:
    """Resident set size of a process in KiB, from /proc/<pid>/status."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")
