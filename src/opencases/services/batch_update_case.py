"""BatchUpdateCase: the same field values applied to up to 100 cases.

The model splits failures in two. The whole request fails, and nothing changes, when the
domain does not exist, a referenceId matches no case, a case appears twice, there is nothing
to update, a field identifier does not resolve (or a name holds `|` or `,`), or `fields`
holds title, status or customer_id. Otherwise each case succeeds or fails on its own, with
an errorCode in `failedCases`: each runs in a savepoint of the one transaction, so a failed
case leaves no trace while the others commit together with the client-token record.

Choice where AWS is silent: value errors (a wrong union member, an inactive option, a
read-only field) are not in the whole-request list, so every case reports VALIDATION_ERROR.
"""

from __future__ import annotations

import logging
from typing import Any

from opencases.errors import (
    AccessDeniedException,
    ConflictException,
    ResourceNotFoundException,
    ServiceError,
    ServiceQuotaExceededException,
    ThrottlingException,
    ValidationException,
)
from opencases.services import idempotency
from opencases.services.case_input import Entry, resolve_fields
from opencases.services.cases import update_one
from opencases.services.common import duplicates, require_domain
from opencases.services.context import RequestContext
from opencases.services.registry import operation
from opencases.store.store import Tx

log = logging.getLogger("opencases.batch_update_case")

OPERATION = "BatchUpdateCase"
# Set through the top-level parameters only; "Duplicating them in fields results in a
# validation error."
TOP_LEVEL = {"title": "title", "status": "status", "customer_id": "customerId"}

ERROR_CODES: list[tuple[type[ServiceError], str]] = [
    (ValidationException, "VALIDATION_ERROR"),
    (ConflictException, "CONFLICT"),
    (ResourceNotFoundException, "CASE_NOT_FOUND"),
    (ThrottlingException, "THROTTLED"),
    (AccessDeniedException, "ACCESS_DENIED"),
    (ServiceQuotaExceededException, "SERVICE_QUOTA_EXCEEDED"),
]


def _error_code(exc: ServiceError) -> str:
    return next((code for cls, code in ERROR_CODES if isinstance(exc, cls)), "INTERNAL_ERROR")


def _field_entries(tx: Tx, domain_id: str, params: dict[str, Any]) -> list[Entry]:
    """The request's values as (field id, value, path), names resolved to ids."""
    fields = tx.all_fields(domain_id)
    by_id = {f["field_id"]: f for f in fields}
    by_name = {f["name"]: f for f in fields if not f["deleted"]}
    entries: list[Entry] = []
    unresolved = []
    for i, item in enumerate(params["fields"]):
        ident = item["fieldIdentifier"]
        if ident.get("name") is not None:
            name = ident["name"]
            if "|" in name or "," in name:
                raise ValidationException(f"fields[{i}].fieldIdentifier.name must not contain '|' or ','")
            row = by_name.get(name)
        else:
            row = by_id.get(ident["id"])
        if row is None:
            unresolved.append(ident.get("name") or ident.get("id"))
            continue
        if row["field_id"] in TOP_LEVEL:
            top = TOP_LEVEL[row["field_id"]]
            raise ValidationException(f"fields[{i}]: set {row['field_id']} through the top-level {top} parameter")
        entries.append((row["field_id"], item["value"], f"fields[{i}].value"))
    if unresolved:
        raise ValidationException(f"Field identifiers do not resolve to fields: {', '.join(map(str, unresolved))}")
    repeated = duplicates([fid for fid, _, _ in entries])
    if repeated:
        raise ValidationException(f"Fields appear more than once in the request: {', '.join(repeated)}")
    for field_id, member in TOP_LEVEL.items():
        if params.get(member) is not None:
            entries.append((field_id, {"stringValue": params[member]}, member))
    return entries


def _resolve_cases(tx: Tx, domain_id: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(case id, caseIdentifier as given) per request entry; an unknown referenceId fails all."""
    idents = [c["caseIdentifier"] for c in params["cases"]]
    refs = [i["referenceId"] for i in idents if i.get("referenceId") is not None]
    # Reference ids are unique per domain and compared case-insensitively.
    found = tx.get_cases_by_reference(domain_id, [r.upper() for r in refs])
    missing = [r for r in refs if r.upper() not in found]
    if missing:
        raise ResourceNotFoundException(
            f"No case has the reference id {missing[0]}", resource_id=missing[0], resource_type="Case"
        )
    resolved = [
        (i["caseId"] if i.get("caseId") is not None else found[i["referenceId"].upper()]["case_id"], i)
        for i in idents
    ]
    repeated = duplicates([case_id for case_id, _ in resolved])
    if repeated:
        raise ValidationException(f"Cases appear more than once in the request: {', '.join(repeated)}")
    return resolved


@operation("BatchUpdateCase")
def batch_update_case(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id = params["domainId"]
    user, token = params.get("performedBy"), params.get("clientToken")
    if not params["fields"] and all(params.get(m) is None for m in TOP_LEVEL.values()):
        raise ValidationException(
            "Nothing to update: give at least one entry in fields, or title, status or customerId"
        )
    with ctx.store.write() as tx:
        now = ctx.now_ms()  # stamped holding the writer: see SNAPSHOT_LAG_MS
        require_domain(ctx, tx, domain_id)
        if token:
            original = idempotency.claim(tx, domain_id, OPERATION, token, params, now)
            if original is not None:
                return original
        entries = _field_entries(tx, domain_id, params)
        targets = _resolve_cases(tx, domain_id, params)
        try:
            rows, value_error = resolve_fields(tx, domain_id, entries, creating=False), None
        except ValidationException as exc:
            rows, value_error = {}, exc
        changes = {fid: value for fid, value, _ in entries}

        outcome: dict[str, tuple[dict[str, Any], str | None, str]] = {}
        # Lock in case-id order, so concurrent batches over the same cases cannot deadlock.
        for case_id, _ in sorted(targets, key=lambda t: t[0]):
            case = tx.get_case(domain_id, case_id, for_update=True)
            if case is None:
                outcome[case_id] = ({"caseId": case_id}, "CASE_NOT_FOUND", f"Case {case_id} does not exist")
                continue
            ident = {"caseId": case_id, "referenceId": case["reference_number"]}
            try:
                with tx.savepoint():
                    if value_error is not None:
                        raise value_error
                    update_one(tx, ctx, domain_id, case, changes, rows, user=user, now_ms=now)
                outcome[case_id] = (ident, None, "")
            except ServiceError as exc:
                outcome[case_id] = (ident, _error_code(exc), exc.message)
            except Exception:
                log.exception("BatchUpdateCase failed on case %s (request %s)", case_id, ctx.request_id)
                outcome[case_id] = (ident, "INTERNAL_ERROR", f"Internal error; request id {ctx.request_id}")

        response: dict[str, Any] = {"successfulCases": [], "failedCases": []}
        for case_id, _ in targets:
            ident, code, message = outcome[case_id]
            if code is None:
                response["successfulCases"].append({"caseIdentifier": ident})
            else:
                response["failedCases"].append({"caseIdentifier": ident, "errorCode": code, "errorMessage": message})
        if token:
            idempotency.finish(tx, domain_id, OPERATION, token, response)
    return response
