"""Search statements built once per shape: a process-wide, bounded cache of `Prepared`s.

A search's statements depend on its domain, filter tree, searchTerm, sorts and the plan the
selectivity probes chose, and not otherwise on the request: the settled time and the page
position are bound per call. Building those Core statements and running them through a
SQLAlchemy Connection was over half the time of a SearchCases page under load (a few
hundred microseconds each, four or five per search), while agents and integrations repeat
the same few searches. A shape seen before runs as a `Prepared`, compiled once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opencases.store.bounded import Bounded

# Shapes kept per process; the oldest built is dropped first. One costs ~50 KiB (the Core
# statement and its compiled SQL) and a search uses two to four: bench/load.py's mix uses ~40.
MAX_SHAPES = 128


def frozen(node: Any) -> Any:
    """A filter tree as a hashable key: its lists as tuples (conditions are frozen)."""
    if isinstance(node, (list, tuple)):
        return tuple(frozen(n) for n in node)
    return node


class Shapes(Bounded):
    """What `build()` returns for a key, built at the first `get` of the key."""

    def __init__(self, size: int = MAX_SHAPES) -> None:
        super().__init__(size)

    def get(self, key: Any, build: Callable[[], Any]) -> Any:
        found = self.peek(key)
        if found is None:
            found = build()
            self.put(key, found)
        return found
