"""A process-wide map of a bounded number of entries, the oldest put dropped first: what the
store's per-process caches build on (shapes.py's statements, selectivity.py's sizes,
config_cache.py's domains)."""

from __future__ import annotations

import threading
from typing import Any


class Bounded:
    """At most `size` entries; the oldest put is dropped first. Reads take no lock (a dict
    lookup is atomic); puts do, so two threads cannot both evict."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._kept: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def peek(self, key: Any) -> Any:
        return self._kept.get(key)

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._kept.pop(key, None)
            if len(self._kept) >= self._size:
                del self._kept[next(iter(self._kept))]
            self._kept[key] = value

    def __len__(self) -> int:
        return len(self._kept)
