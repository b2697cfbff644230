"""The operation registry: service modules register one handler per model operation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opencases.services.context import RequestContext

Handler = Callable[[RequestContext, dict[str, Any]], dict[str, Any]]

HANDLERS: dict[str, Handler] = {}

# Operations whose issue is not done yet: name -> the issue that brings them.
PENDING: dict[str, str] = {}


def operation(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        if name in HANDLERS:
            raise RuntimeError(f"two handlers for {name}")
        HANDLERS[name] = fn
        return fn

    return register
