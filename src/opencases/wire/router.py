"""(HTTP method, raw path) -> (operation name, URI labels), built from the model's requestUri.

The router works on the raw, still percent-encoded path: `{arn}` in `/tags/{arn}` is a
non-greedy label, so SDKs percent-encode the whole ARN (`/` becomes `%2F`). Splitting on the
literal `/` first and decoding each segment afterwards keeps such a label in one piece.

The routes form a trie of path segments, so a request walks at most a few dict lookups
instead of trying every operation's pattern in turn.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from urllib.parse import unquote

from botocore.model import ServiceModel

from opencases.errors import ProtocolError, ValidationException
from opencases.wire.model import service_model

RECENT_PATHS = 4096


@dataclass
class _Node:
    literals: dict[str, _Node] = field(default_factory=dict)
    label: tuple[str, _Node] | None = None  # (label name, child)
    greedy: str | None = None  # a `{name+}` label swallowing the rest of the path
    greedy_methods: dict[str, str] = field(default_factory=dict)
    methods: dict[str, str] = field(default_factory=dict)  # HTTP method -> operation name


def _split(path: str) -> list[str]:
    # Tolerate a trailing-slash mismatch: `/domains/{domainId}/rules-list/` (as modelled) and
    # `/domains/d/rules-list` route alike. An empty segment elsewhere matches nothing.
    path = path.split("?", 1)[0]
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path.split("/")[1:] if path.startswith("/") else path.split("/")


def _decode(segment: str) -> str:
    try:
        # `unquote`, not `unquote_plus`: in a path, `+` is a literal plus sign.
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise ValidationException(
            "1 validation error detected: the request path is not valid percent-encoded UTF-8"
        ) from None


class Router:
    """Routes requests to operations; see `match`."""

    def __init__(self, model: ServiceModel | None = None) -> None:
        model = model or service_model()
        self._root = _Node()
        # Routes of recent paths: a client reads the same resources again and again.
        self._recent: dict[tuple[str, str], tuple[str, dict[str, str]]] = {}
        for name in model.operation_names:
            http = model.operation_model(name).http
            self._add(http["method"].upper(), http["requestUri"], name)

    def _add(self, method: str, request_uri: str, operation: str) -> None:
        node = self._root
        for segment in _split(request_uri):
            if segment.startswith("{") and segment.endswith("}"):
                label = segment[1:-1]
                if label.endswith("+"):
                    node.greedy = label[:-1]
                    node.greedy_methods[method] = operation
                    return
                if node.label is None:
                    node.label = (label, _Node())
                elif node.label[0] != label:
                    raise RuntimeError(f"conflicting labels at {request_uri}: {node.label[0]}")
                node = node.label[1]
            else:
                # Literals are stored decoded, matched against decoded request segments.
                node = node.literals.setdefault(unquote(segment), _Node())
        if method in node.methods:
            raise RuntimeError(f"two operations on {method} {request_uri}")
        node.methods[method] = operation

    def match(self, method: str, raw_path: str) -> tuple[str, dict[str, str]]:
        """Return (operation name, percent-decoded URI labels) for a request.

        Raises ProtocolError 404 UnknownOperationException when no route has this path and
        405 MethodNotAllowedException when routes have the path but not the method.
        """
        key = (method, raw_path)
        recent = self._recent.get(key)
        if recent is not None:
            return recent[0], dict(recent[1])
        method = method.upper()
        segments = [_decode(s) for s in _split(raw_path)]
        labels: dict[str, str] = {}
        path_known = [False]
        found = self._walk(self._root, segments, 0, method, labels, path_known)
        if found is not None:
            if len(self._recent) >= RECENT_PATHS:
                self._recent.clear()
            self._recent[key] = (found, dict(labels))
            return found, labels
        if path_known[0]:
            raise ProtocolError("MethodNotAllowedException", 405, f"method {method} is not allowed on {raw_path}")
        raise ProtocolError("UnknownOperationException", 404, f"no operation matches {raw_path}")

    def _walk(
        self,
        node: _Node,
        segments: list[str],
        i: int,
        method: str,
        labels: dict[str, str],
        path_known: list[bool],
    ) -> str | None:
        # Depth-first, literal children before the label child ("literal segments win"); a
        # branch whose end has the path but not the method lets a later branch try.
        if i == len(segments):
            if node.methods:
                path_known[0] = True
            return node.methods.get(method)
        segment = segments[i]
        child = node.literals.get(segment)
        if child is not None:
            found = self._walk(child, segments, i + 1, method, labels, path_known)
            if found is not None:
                return found
        if node.label is not None and segment:
            name, child = node.label
            labels[name] = segment
            found = self._walk(child, segments, i + 1, method, labels, path_known)
            if found is not None:
                return found
            del labels[name]
        if node.greedy is not None and all(segments[i:]):
            path_known[0] = True
            op = node.greedy_methods.get(method)
            if op is not None:
                labels[node.greedy] = "/".join(segments[i:])
                return op
        return None


@functools.lru_cache(maxsize=1)
def router() -> Router:
    """The Router for the connectcases model, built once."""
    return Router()
