"""How many value rows a filter condition matches, remembered across requests to choose plans.

A totalCount over several broad conditions is driven from the narrowest one's index and
probes the others per case; finding the narrowest meant counting every condition's rows in
full on every search (a million index entries at a million cases, a quarter of the count's
time). Like a database's statistics, these sizes only choose the plan: a stale size makes a
count slower, never wrong. They are kept per process for MAX_AGE_S, at most MAX_SIZES of them.
"""

from __future__ import annotations

import threading
import time
from typing import Any

MAX_SIZES = 1024
MAX_AGE_S = 60.0


class Sizes:
    """Remembered row counts of (domain, condition) keys, each for MAX_AGE_S."""

    def __init__(self, size: int = MAX_SIZES, max_age_s: float = MAX_AGE_S) -> None:
        self._size = size
        self._max_age_s = max_age_s
        self._known: dict[Any, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> int | None:
        found = self._known.get(key)
        if found is None or time.monotonic() - found[1] > self._max_age_s:
            return None
        return found[0]

    def put(self, key: Any, rows: int) -> None:
        with self._lock:
            self._known.pop(key, None)
            if len(self._known) >= self._size:
                del self._known[next(iter(self._known))]
            self._known[key] = (rows, time.monotonic())
