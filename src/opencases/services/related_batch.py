"""BatchCreateRelatedItem: one comment added to up to 100 cases.

As the model documents it, the whole request fails (nothing is created) when the domain does
not exist, a referenceId matches no case, the request names a case twice, or the content is not
a comment. Otherwise each case succeeds or fails on its own, with the errorCode set shared with
BatchUpdateCase. A clientToken makes a retry return the original response; the same token with
different parameters is a ConflictException.
"""

from __future__ import annotations

import logging
from typing import Any

from opencases.errors import ResourceNotFoundException, ServiceError, ValidationException
from opencases.services import case_link, idempotency
from opencases.services import related_items as ri
from opencases.services.common import duplicates, require_domain
from opencases.services.context import RequestContext
from opencases.services.registry import operation

log = logging.getLogger("opencases.services")

# ServiceError code -> the batch errorCode of failedItems.
ERROR_CODES = {
    "ResourceNotFoundException": "CASE_NOT_FOUND",
    "ValidationException": "VALIDATION_ERROR",
    "ConflictException": "CONFLICT",
    "ThrottlingException": "THROTTLED",
    "AccessDeniedException": "ACCESS_DENIED",
    "ServiceQuotaExceededException": "SERVICE_QUOTA_EXCEEDED",
}


@operation("BatchCreateRelatedItem")
def batch_create_related_item(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, content = params["domainId"], params["content"]
    user = params.get("performedBy")
    token = params.get("clientToken")
    with ctx.store.write() as tx:
        now = ctx.now_ms()  # stamped holding the writer: see SNAPSHOT_LAG_MS
        require_domain(ctx, tx, domain_id)
        if token:
            original = idempotency.claim(tx, domain_id, "BatchCreateRelatedItem", token, params, now)
            if original is not None:
                return original
        if set(k for k, v in content.items() if v is not None) != {"comment"}:
            raise ValidationException("BatchCreateRelatedItem supports only comment content")
        stored = {"body": content["comment"]["body"], "contentType": content["comment"]["contentType"]}

        # Resolve reference ids first: one that matches no case fails the whole request.
        identifiers = [c["caseIdentifier"] for c in params["cases"]]
        ref_ids = [i["referenceId"] for i in identifiers if i.get("referenceId") is not None]
        refs = tx.get_cases_by_reference(domain_id, [r.upper() for r in ref_ids])
        unknown = [r for r in ref_ids if r.upper() not in refs]
        if unknown:
            raise ResourceNotFoundException(
                f"No case in domain {domain_id} has reference ID {unknown[0]}",
                resource_id=unknown[0], resource_type="Case",
            )
        case_ids = [
            i["caseId"] if i.get("caseId") is not None else refs[i["referenceId"].upper()]["case_id"]
            for i in identifiers
        ]
        repeated = duplicates(case_ids)
        if repeated:
            raise ValidationException(f"The request names these cases more than once: {', '.join(repeated)}")

        cases = tx.get_cases(domain_id, case_ids)
        succeeded: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for case_id in case_ids:
            identifier = {"caseId": case_id}
            if case_id in cases:
                # Batch responses carry caseId and referenceId, never referenceNumber.
                identifier["referenceId"] = cases[case_id]["reference_number"]
            try:
                with tx.savepoint():
                    # Locks the case (PostgreSQL); 404 for an unknown caseId.
                    ri.writable_case(tx, ctx, domain_id, case_id)
                    ri.check_item_quotas(ctx, tx.count_related_items_by_type(domain_id, case_id), "Comment")
                    related_item_id = ri.insert_item(
                        tx, ctx, domain_id=domain_id, case_id=case_id, type_="Comment", stored=stored,
                        search_key=None, user=user, now_ms=now,
                    )
                    case_link.touch_case(tx, domain_id, case_id, user, now)
            except ServiceError as exc:
                failed.append({"caseIdentifier": identifier,
                               "errorCode": ERROR_CODES.get(exc.code, "INTERNAL_ERROR"),
                               "errorMessage": exc.message})
                continue
            except Exception:
                log.exception("BatchCreateRelatedItem failed for case %s (request %s)", case_id, ctx.request_id)
                failed.append({"caseIdentifier": identifier, "errorCode": "INTERNAL_ERROR",
                               "errorMessage": f"Internal error; request id {ctx.request_id}"})
                continue
            succeeded.append({
                "caseIdentifier": identifier,
                "relatedItemId": related_item_id,
                "relatedItemArn": ri.item_arn(ctx, domain_id, case_id, related_item_id),
            })
        out = {"successfulItems": succeeded, "failedItems": failed}
        if token:
            idempotency.finish(tx, domain_id, "BatchCreateRelatedItem", token, out)
    return out

