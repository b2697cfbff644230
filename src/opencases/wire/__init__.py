"""The AWS rest-json protocol of connectcases, driven by botocore's service model.

router: (method, raw path) -> operation; parser: HTTP request -> params; validate: the model's
constraints; serializer: result or ServiceError -> HTTP response. Nothing here knows the
business rules.
"""

from opencases.wire.model import operation_model, service_model
from opencases.wire.parser import parse_request
from opencases.wire.router import Router, router
from opencases.wire.serializer import serialize_error, serialize_response
from opencases.wire.validate import validate

__all__ = [
    "Router",
    "operation_model",
    "parse_request",
    "router",
    "serialize_error",
    "serialize_response",
    "service_model",
    "validate",
]
