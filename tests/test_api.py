"""The operation registry matches the service model, and unfinished operations fail cleanly."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from opencases import api
from opencases.services.registry import HANDLERS, PENDING
from opencases.wire.model import service_model


def test_every_model_operation_has_a_handler_or_a_pending_issue() -> None:
    names = set(service_model().operation_names)
    assert len(names) == 47
    api.check_registry()
    for name in sorted(names):
        assert name in HANDLERS or name in PENDING, name


def test_no_operation_is_both_done_and_pending() -> None:
    assert not (set(HANDLERS) & set(PENDING))


def test_pending_operations_answer_a_modeled_error(client: Any, domain_id: str) -> None:
    if "SearchAllRelatedItems" not in PENDING:
        pytest.skip("every operation is implemented")
    with pytest.raises(ClientError) as exc:
        client.search_all_related_items(domainId=domain_id)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert "not implemented" in exc.value.response["Error"]["Message"]
