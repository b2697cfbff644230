"""invoke(): the one entry point that runs an operation, for HTTP, the mock, the CLI and the UI."""

from __future__ import annotations

import logging
from typing import Any

from opencases.errors import InternalServerException, ServiceError, ValidationException
from opencases.services import (  # noqa: F401  (importing registers the handlers)
    batch_update_case,
    case_create,
    case_rules,
    cases,
    domains,
    event_config,
    fields,
    layouts,
    merge,
    pending,
    related_batch,
    related_items,
    search,
    search_all_related,
    tags,
    templates,
)
from opencases.services.context import RequestContext
from opencases.services.registry import HANDLERS, PENDING
from opencases.store.db import WriterBusy
from opencases.wire.model import operation_model, service_model
from opencases.wire.validate import validate

log = logging.getLogger("opencases.api")


def check_registry() -> None:
    """Fail loudly if a model operation has no handler (or a handler names no operation)."""
    names = set(service_model().operation_names)
    missing = names - set(HANDLERS) - set(PENDING)
    unknown = (set(HANDLERS) | set(PENDING)) - names
    if missing or unknown:
        raise RuntimeError(f"handler registry out of step with the model: missing={missing} unknown={unknown}")


def invoke(ctx: RequestContext, operation_name: str, params: dict[str, Any], *, validated: bool = False) -> dict:
    """Run one operation. Raises ServiceError; anything else becomes InternalServerException."""
    try:
        op = operation_model(operation_name)
    except Exception as exc:
        raise ValidationException(f"Unknown operation {operation_name}") from exc
    if not validated and op.input_shape is not None:
        validate(op.input_shape, params)
    handler = HANDLERS.get(operation_name)
    if handler is None:
        issue = PENDING.get(operation_name, "a later release")
        raise ValidationException(f"{operation_name} is not implemented by this opencases server yet ({issue})")
    try:
        return handler(ctx, params) or {}
    except (ServiceError, WriterBusy):
        raise
    except Exception as exc:
        log.exception("internal error in %s (request %s)", operation_name, ctx.request_id)
        raise InternalServerException(f"Internal error; request id {ctx.request_id}") from exc
