"""SearchAllRelatedItems: related items across every case of a domain.

The database narrows by type (and by contactArn, fileArn or linked case id where a filter
gives one, through the (domain, type, search_key) index), in the requested order; the exact
filter (contact channels, SLA status as of now, Custom field trees) is then applied in Python
with the same evaluator as SearchRelatedItems, reading further chunks until a page is full.
Sorts: at most 2 of AssociationTime / CaseId, the first taking precedence; the default is
AssociationTime descending (the agent feed's order); the item id breaks ties.
"""

from __future__ import annotations

from typing import Any

from opencases.errors import ValidationException
from opencases.services import pagination
from opencases.services.common import require_domain
from opencases.services.context import RequestContext
from opencases.services.registry import operation
from opencases.services.related_items import describe
from opencases.services.related_search import matches_any

TYPE_OF = {
    "contact": "Contact",
    "comment": "Comment",
    "file": "File",
    "sla": "Sla",
    "connectCase": "ConnectCase",
    "custom": "Custom",
}
# The filter member that the search_key column holds, per type.
KEY_OF = {"contact": "contactArn", "file": "fileArn", "connectCase": "caseId"}
SORT_COLUMN = {"AssociationTime": "association_ms", "CaseId": "case_id"}
CHUNK = 200


def prefilter(filters: list[dict[str, Any]]) -> list[tuple[str, str | None]] | None:
    """(type, search key or None) alternatives for the database; None means every item."""
    if not filters:
        return None
    out = []
    for f in filters:
        member, spec = next((k, v) for k, v in f.items() if v is not None)
        key = (spec or {}).get(KEY_OF.get(member, ""))
        out.append((TYPE_OF[member], key))
    return out


def sort_spec(sorts: list[dict[str, Any]] | None) -> list[tuple[str, bool]]:
    if not sorts:
        return [("association_ms", True)]
    spec = [(SORT_COLUMN[s["sortProperty"]], s["sortOrder"] == "Desc") for s in sorts]
    if len({c for c, _ in spec}) != len(spec):
        raise ValidationException("sorts: each sortProperty may appear once")
    return spec


def _check_position(after: Any, spec: list[tuple[str, bool]]) -> list[Any] | None:
    if after is None:
        return None
    if not (isinstance(after, list) and len(after) == len(spec) + 1 and all(isinstance(v, (str, int)) for v in after)):
        raise ValidationException("Invalid nextToken for this request")
    return after


@operation("SearchAllRelatedItems")
def search_all_related_items(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id = params["domainId"]
    limit = pagination.page_size(params, 25)
    filters = params.get("filters") or []
    spec = sort_spec(params.get("sorts"))
    position = _check_position(pagination.decode("SearchAllRelatedItems", params), spec)
    now = ctx.now_ms()
    found: list[dict[str, Any]] = []
    more = False
    with ctx.store.read() as tx:
        require_domain(ctx, tx, domain_id)
        alternatives = prefilter(filters)
        while True:
            rows = tx.related_items_page(domain_id, alternatives, spec, position, CHUNK)
            for row in rows:
                if matches_any(row, filters, now):
                    if len(found) == limit:
                        more = True
                        break
                    found.append(row)
            if more or len(rows) < CHUNK:
                break
            last = rows[-1]
            position = [last[c] for c, _ in spec] + [last["related_item_id"]]
        items = []
        for row in found:
            d = describe(ctx, tx, row, now)
            item = {k: d[k] for k in ("relatedItemId", "type", "associationTime", "content", "tags")}
            item["caseId"] = row["case_id"]
            if "createdBy" in d:
                item["performedBy"] = d["createdBy"]
            items.append(item)
    out: dict[str, Any] = {"relatedItems": items}
    if more:
        last = found[-1]
        out["nextToken"] = pagination.encode(
            "SearchAllRelatedItems", params, [last[c] for c, _ in spec] + [last["related_item_id"]]
        )
    return out
