"""AWS's documented request rates for Connect Cases, enforced with token buckets.

Off by default (DESIGN.md); `opencases serve --rate-limits aws` (or OPENCASES_RATE_LIMITS=aws)
turns it on so that an application's retry and back-off code meets the 429s it will meet on
AWS. One bucket per (account, region, operation): AWS documents the quotas "per account, per
Region", per API. A bucket starts full (the burst) and refills at the rate per second; a call
takes one token or is answered ThrottlingException without being parsed or run.

The clock is injectable so that tests count 429s exactly instead of racing the wall clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from opencases.errors import ThrottlingException


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens added per second
    burst: int  # bucket size


def _group(rate: float, burst: int, *operations: str) -> dict[str, Limit]:
    return {name: Limit(rate, burst) for name in operations}


# SPEC.md section 2.2, first table (the API reference's quotas page; the Service Quotas
# console shows slightly different bursts, see SPEC.md). Operations the page does not list
# (the deletes, BatchUpdateCase, merges, UpdateRelatedItem, SearchAllRelatedItems ...) are
# not throttled: inventing a number would be worse than leaving them open.
AWS_LIMITS: dict[str, Limit] = {
    **_group(
        2, 10,
        "CreateCase", "SearchCases", "ListTemplates", "ListLayouts",
        # The page says "CreateRelatedItem(s)": the single and the batch form share the row.
        "CreateRelatedItem", "BatchCreateRelatedItem",
        "SearchRelatedItems", "ListCaseRules", "ListTagsForResource", "TagResource", "UntagResource",
        "GetCaseAuditEvents", "GetCaseEventConfiguration", "PutCaseEventConfiguration",
    ),
    **_group(4, 10, "GetCase"),
    **_group(2, 2, "UpdateCase", "ListCasesForContact"),
    **_group(
        2, 5,
        "CreateField", "ListFields", "UpdateField", "BatchPutFieldOptions", "CreateDomain", "GetDomain",
        "ListDomains", "CreateTemplate", "UpdateTemplate", "CreateLayout", "UpdateLayout", "CreateCaseRule",
        "UpdateCaseRule", "DeleteCaseRule",
    ),
    **_group(8, 25, "BatchGetField", "BatchGetCaseRule"),
    **_group(6, 16, "ListFieldOptions"),
    **_group(6, 20, "GetTemplate", "GetLayout"),
}


class _Bucket:
    __slots__ = ("tokens", "stamp")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp


class Throttle:
    """Token buckets keyed by (account, region, operation); `check` raises when one is empty."""

    def __init__(
        self, limits: dict[str, Limit] | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = AWS_LIMITS if limits is None else limits
        self.clock = clock
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}
        # The server runs requests on a thread pool: refill-and-take must be atomic.
        self._lock = threading.Lock()

    def check(self, account: str, region: str, operation: str) -> None:
        limit = self.limits.get(operation)
        if limit is None:
            return
        key = (account, region, operation)
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(float(limit.burst), now)
            else:
                elapsed = max(0.0, now - bucket.stamp)
                bucket.tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.rate)
                bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
        raise ThrottlingException("Rate exceeded")

    def reset(self, account: str | None = None) -> None:
        """Refill every bucket (of one account): a reset emulator starts from a quiet account."""
        with self._lock:
            if account is None:
                self._buckets.clear()
            else:
                for key in [k for k in self._buckets if k[0] == account]:
                    del self._buckets[key]


def throttle_for(mode: str) -> Throttle | None:
    """The throttle a `rate_limits` setting asks for: `off` (none) or `aws`."""
    if mode in ("", "off", "none"):
        return None
    if mode == "aws":
        return Throttle()
    raise ValueError(f"unknown rate limit mode {mode!r}: use 'off' or 'aws'")
