"""One HTTP request in, one HTTP response out: route, parse, invoke, serialize.

Synchronous and transport-free, so the ASGI app and the in-process mock share it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.model import OperationModel

from opencases import api
from opencases.config import Settings
from opencases.errors import InternalServerException, ServiceError, ValidationException
from opencases.server.identity import Authenticator
from opencases.server.throttle import Throttle, throttle_for
from opencases.services.context import RequestContext, new_id
from opencases.store.db import WriterBusy
from opencases.store.store import Store
from opencases.wire.model import operation_model
from opencases.wire.parser import parse_request
from opencases.wire.router import router
from opencases.wire.serializer import serialize_error, serialize_response

log = logging.getLogger("opencases.request")

MAX_BODY_BYTES = 8 * 1024 * 1024

# Operations whose work is bounded by one case or one page: on SQLite the server runs them on
# its event loop instead of a worker thread (server/app.py). The hop to a thread and back
# cost more than a GetCase itself, and a thread running Python competes with the loop for
# the GIL. Searches across cases, batches and deletions of whole resources stay in threads.
INLINE_OPERATIONS = frozenset({
    "GetCase", "GetCaseAuditEvents", "ListCasesForContact", "SearchRelatedItems",
    "CreateCase", "UpdateCase", "CreateRelatedItem", "UpdateRelatedItem", "DeleteRelatedItem",
    "GetDomain", "ListDomains", "GetTemplate", "ListTemplates", "GetLayout", "ListLayouts",
    "ListFields", "ListFieldOptions", "BatchGetField", "ListCaseRules", "BatchGetCaseRule",
    "GetCaseEventConfiguration", "GetMergeCasesStatus", "ListTagsForResource", "TagResource",
    "UntagResource",
})

# SearchCases reads across a domain, so its cost has no bound of its own: it runs on the loop
# only for a domain whose last INLINE_SEARCH_STREAK searches each took under
# INLINE_SEARCH_CPU_MS of CPU time (its thread's, so time spent waiting for the GIL in a
# worker under load does not count). A thread hop cost a search more than the search itself
# in a domain of thousands of cases (bench/load.py: 1,100 against 1,500 mixed requests/s);
# a costly search (a large domain or text index, a broad count) still runs in a thread,
# where SQLite's work releases the GIL and the loop keeps serving.
INLINE_SEARCH_CPU_MS = 5.0
INLINE_SEARCH_STREAK = 8
INLINE_SEARCH_DOMAINS = 10_000


class SearchCosts:
    """Per domain, how many of its searches in a row were cheap (up to the streak)."""

    def __init__(self) -> None:
        self._streaks: dict[str, int] = {}

    def cheap(self, domain_id: str) -> bool:
        return self._streaks.get(domain_id, 0) >= INLINE_SEARCH_STREAK

    def record(self, domain_id: str, cpu_ms: float) -> None:
        streaks = self._streaks
        if len(streaks) >= INLINE_SEARCH_DOMAINS and domain_id not in streaks:
            streaks.clear()  # a bound on memory; domains learn again
        cheap = cpu_ms < INLINE_SEARCH_CPU_MS
        streaks[domain_id] = min(streaks.get(domain_id, 0) + 1, INLINE_SEARCH_STREAK) if cheap else 0


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    operation: str = "-"
    request_id: str = field(default_factory=new_id)


class Pipeline:
    def __init__(self, store: Store, settings: Settings, throttle: Throttle | None = None) -> None:
        self.store = store
        self.settings = settings
        self.throttle = throttle if throttle is not None else throttle_for(settings.rate_limits)
        # Raises CredentialsError when strict mode has no usable credentials file.
        self.auth = Authenticator.from_settings(settings)
        self.router = router()
        self.search_costs = SearchCosts()
        api.check_registry()

    def runs_inline(self, method: str, raw_path: str) -> bool:
        """Whether this request may run on the event loop (SQLite, an INLINE_OPERATIONS one).
        Routing has no side effects, so peeking before authentication reveals nothing."""
        if not self.store.db.is_sqlite:
            # PostgreSQL statements wait on the network and on other processes' row locks.
            return False
        try:
            operation, uri_params = self.router.match(method, raw_path)
        except ServiceError:
            return True  # refused without touching the database
        if operation == "SearchCases":
            return self.search_costs.cheap(uri_params.get("domainId", ""))
        return operation in INLINE_OPERATIONS

    def route(self, who: Any, method: str, raw_path: str) -> tuple[str, dict[str, str]]:
        """The operation and its URI labels; throttled here, as AWS throttles at the front door
        (a throttled call is never parsed or run)."""
        operation, uri_params = self.router.match(method, raw_path)
        if self.throttle is not None:
            self.throttle.check(who.account, who.region, operation)
        return operation, uri_params

    def execute(
        self, who: Any, operation: str, uri_params: dict[str, str], query: str, body: bytes, request_id: str
    ) -> tuple[OperationModel, dict[str, Any]]:
        """Parse the request and run the operation as `who` (shared with the in-process mock)."""
        op = operation_model(operation)
        params = parse_request(op, uri_params, query, body)
        ctx = RequestContext(
            store=self.store,
            settings=self.settings,
            account=who.account,
            region=who.region,
            principal_arn=who.principal_arn,
            request_id=request_id,
        )
        if operation != "SearchCases":
            return op, api.invoke(ctx, operation, params)
        started = time.thread_time()
        result = api.invoke(ctx, operation, params)
        self.search_costs.record(params["domainId"], (time.thread_time() - started) * 1000)
        return op, result

    def handle(
        self,
        method: str,
        raw_path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        body_size: int | None = None,
    ) -> Response:
        """`headers` keys are lower-case; `body_size` is the full size when `body` was cut."""
        request_id = new_id()
        started = time.perf_counter()
        operation = "-"
        try:
            size = len(body) if body_size is None else body_size
            if size > MAX_BODY_BYTES:
                raise ValidationException(f"Request body is {size} bytes; the limit is {MAX_BODY_BYTES} bytes")
            # Strict mode verifies the signature before routing or parsing: a refused request
            # changes nothing and reveals nothing about routes.
            who = self.auth.identify(method, raw_path, query, headers, body)
            operation, uri_params = self.route(who, method, raw_path)
            op, result = self.execute(who, operation, uri_params, query, body, request_id)
            status, out_headers, out_body = serialize_response(op, result)
        except ServiceError as err:
            status, out_headers, out_body = serialize_error(err)
        except WriterBusy:
            raise  # run on the event loop and the writer was taken: the app retries in a thread
        except Exception:
            log.exception("unhandled error (request %s)", request_id)
            status, out_headers, out_body = serialize_error(
                InternalServerException(f"Internal error; request id {request_id}")
            )
        out_headers["x-amzn-RequestId"] = request_id
        elapsed = (time.perf_counter() - started) * 1000
        if log.isEnabledFor(logging.INFO):
            # `extra` carries the same fields for `--log-format json` (server/logging_setup.py).
            fields = {"method": method, "path": raw_path, "operation": operation, "status": status,
                      "ms": round(elapsed, 1), "request_id": request_id}
            log.info("%s %s %s %d %.1fms %s", method, raw_path, operation, status, elapsed, request_id,
                     extra={"request": fields})
        return Response(status, out_headers, out_body, operation, request_id)
