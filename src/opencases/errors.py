"""Service errors: one exception class per error shape of the connectcases model.

A handler raises these; the wire serializer turns them into the model's status code,
`x-amzn-ErrorType` header and lowerCamelCase body members.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """An error the API reports to the client as a modeled exception."""

    code = "ServiceError"
    status = 400

    def __init__(self, message: str, **members: Any) -> None:
        super().__init__(message)
        self.message = message
        # Extra members of the error shape (resourceId, resourceType, retryAfterSeconds).
        self.members = {k: v for k, v in members.items() if v is not None}


class ValidationException(ServiceError):
    code = "ValidationException"
    status = 400


class AccessDeniedException(ServiceError):
    code = "AccessDeniedException"
    status = 403


class ResourceNotFoundException(ServiceError):
    code = "ResourceNotFoundException"
    status = 404

    def __init__(self, message: str, resource_id: str, resource_type: str) -> None:
        super().__init__(message, resourceId=resource_id, resourceType=resource_type)


class ConflictException(ServiceError):
    code = "ConflictException"
    status = 409


class ServiceQuotaExceededException(ServiceError):
    # The model gives this 402, not 400 or 429.
    code = "ServiceQuotaExceededException"
    status = 402


class ThrottlingException(ServiceError):
    code = "ThrottlingException"
    status = 429


class InternalServerException(ServiceError):
    code = "InternalServerException"
    status = 500

    def __init__(self, message: str, retry_after_seconds: int | None = None) -> None:
        super().__init__(message, retryAfterSeconds=retry_after_seconds)


class ProtocolError(ServiceError):
    """A request that matches no operation (unknown route or method): not a model shape.

    botocore still parses it, reading the code from `x-amzn-ErrorType`.
    """

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


MODELED_ERRORS: dict[str, type[ServiceError]] = {
    cls.code: cls
    for cls in (
        ValidationException,
        AccessDeniedException,
        ResourceNotFoundException,
        ConflictException,
        ServiceQuotaExceededException,
        ThrottlingException,
        InternalServerException,
    )
}
