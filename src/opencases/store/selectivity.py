"""How many value rows a filter condition matches, remembered across requests to choose plans.

A totalCount over several broad conditions is driven from the narrowest one's index and
probes the others per case; finding the narrowest meant counting every condition's rows in
full on every search (a million index entries at a million cases, a quarter of the count's
time). Like a database's statistics, these sizes only choose the plan: a stale size makes a
count slower, never wrong. They are kept per process for MAX_AGE_S, at most MAX_SIZES of them.
"""

from __future__ import annotations

import time
from typing import Any

from opencases.store.bounded import Bounded

MAX_SIZES = 1024
MAX_AGE_S = 60.0


class Sizes(Bounded):
    """Remembered row counts of (domain, condition) keys, each for `max_age_s`."""

    def __init__(self, size: int = MAX_SIZES, max_age_s: float = MAX_AGE_S) -> None:
        super().__init__(size)
        self._max_age_s = max_age_s

    def get(self, key: Any) -> int | None:
        found = self.peek(key)
        if found is None or time.monotonic() - found[1] > self._max_age_s:
            return None
        return int(found[0])

    def remember(self, key: Any, rows: int) -> None:
        self.put(key, (rows, time.monotonic()))
