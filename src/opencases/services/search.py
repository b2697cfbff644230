"""SearchCases: the filter tree typed against the domain's fields, then compiled by the store.

Paging returns every match exactly once while cases are written. The first page's snapshot
time T goes into the nextToken; every page leaves out cases created at or after T, orders
cases unchanged since the settled time T - SNAPSHOT_LAG_MS by their current values, and
orders the others by their values as of the settled time (or, for cases created since, as
created), rebuilt from the audit history (search_snapshot.py). The settled time precedes
every write the first page could not see, so all pages agree on each case's place. Filters
and searchTerm match current values.

Decisions (DESIGN.md and SPEC.md 3.7): default order `last_updated_datetime` descending;
`contains` is a case-insensitive substring match on text-like values; range operators
compare numbers and date-times by value and strings lexically; Boolean fields take
`equalTo` only; `emptyValue` under `equalTo` matches cases without a value; values of
deleted fields still match (the DeleteField doc).
"""

from __future__ import annotations

from typing import Any

from opencases.errors import ValidationException
from opencases.services import pagination
from opencases.services import search_snapshot as snapshot
from opencases.services.case_values import MEMBER, from_row, parse_datetime
from opencases.services.common import require_domain
from opencases.services.context import RequestContext
from opencases.services.registry import operation
from opencases.store.search import Cond, SortKey
from opencases.store.store import Tx

OPS = {
    "equalTo": "eq",
    "contains": "contains",
    "greaterThan": "gt",
    "greaterThanOrEqualTo": "ge",
    "lessThan": "lt",
    "lessThanOrEqualTo": "le",
}
COLUMN = {
    "Text": "s_value",
    "SingleSelect": "s_value",
    "Url": "s_value",
    "DateTime": "n_value",
    "Number": "n_value",
    "Boolean": "b_value",
    "User": "u_value",
}
TEXTUAL = frozenset({"Text", "SingleSelect", "Url", "User"})
# Cases changed since a search's snapshot are re-placed from their audit history; past this
# many (a bulk update during a long paging), they are placed by their current values.
CHANGED_CAP = 5000
# Case writes take their time stamp inside their transaction. On PostgreSQL writers run side
# by side and a commit can wait on other locks after its stamp: the lag is longer than any
# write transaction, so a write stamped before T - lag has committed when the first page
# reads. On SQLite writers take the only write lock before stamping, so stamps follow commit
# order and a write the first page cannot see is stamped no earlier than the newest one it
# sees, M: T is M + 1 and the settled time M (`_snapshot_ms`). Better still, when this
# process is the database's only writer and its writer was free just before the read began
# (at time R), every write the read cannot see is stamped R or later: T is R + 1. Every case
# changed since the settled time is placed from its audit history by every page (the newest
# write, with M: for a searchTerm that evaluates the term once more, 4 ms at 100,000 cases).
SNAPSHOT_LAG_MS = {"sqlite": 1, "postgresql": 2000}


def _field(fields: dict[str, dict[str, Any]], field_id: str, path: str) -> dict[str, Any]:
    row = fields.get(field_id)
    if row is None:
        raise ValidationException(f"{path}: field {field_id} does not exist in this domain")
    return row


def typed_condition(fields: dict[str, dict[str, Any]], op_name: str, fv: dict[str, Any], path: str) -> Cond:
    """One FieldFilter member -> a Cond on the typed column of the field's type."""
    field = _field(fields, fv["id"], f"{path}.id")
    ftype, value = field["type"], fv["value"]
    op = OPS[op_name]
    if value.get("emptyValue") is not None:
        if op != "eq":
            raise ValidationException(f"{path}.value: emptyValue can only be used with equalTo")
        return Cond(field["field_id"], COLUMN[ftype], "empty", None)
    member = next(k for k, v in value.items() if v is not None)
    expected = MEMBER[ftype]
    # A User value may also be given as a plain ARN string.
    if member != expected and not (ftype == "User" and member == "stringValue"):
        raise ValidationException(f"{path}.value: field {fv['id']} is {ftype}, which takes {expected}, not {member}")
    if op == "contains" and ftype not in TEXTUAL:
        raise ValidationException(f"{path}: contains applies to text fields; field {fv['id']} is {ftype}")
    if ftype == "Boolean" and op != "eq":
        raise ValidationException(f"{path}: Boolean field {fv['id']} supports equalTo only")
    raw = value[member]
    if ftype == "DateTime":
        try:
            raw = float(parse_datetime(raw))
        except (TypeError, ValueError) as exc:
            raise ValidationException(f"{path}.value.stringValue: expected an ISO-8601 date-time") from exc
    elif ftype == "Number":
        raw = float(raw)
    return Cond(field["field_id"], COLUMN[ftype], op, raw)


def typed_tree(fields: dict[str, dict[str, Any]], node: dict[str, Any], path: str = "filter") -> Any:
    """CaseFilter -> the store's tree of ("and"|"or", [...]), ("not", n), ("tag", k, v) and Cond."""
    if "field" in node:
        ((op_name, fv),) = [(k, v) for k, v in node["field"].items() if v is not None]
        return typed_condition(fields, op_name, fv, f"{path}.field.{op_name}")
    if "not" in node:
        return ("not", typed_tree(fields, node["not"], f"{path}.not"))
    if "tag" in node:
        eq = node["tag"]["equalTo"]
        return ("tag", eq.get("key", ""), eq.get("value", ""))
    if "andAll" in node:
        return ("and", [typed_tree(fields, n, f"{path}.andAll[{i}]") for i, n in enumerate(node["andAll"])])
    if "orAll" in node:
        return ("or", [typed_tree(fields, n, f"{path}.orAll[{i}]") for i, n in enumerate(node["orAll"])])
    raise ValidationException(f"{path}: a CaseFilter must set exactly one member")


def sort_keys(fields: dict[str, dict[str, Any]], sorts: list[dict[str, Any]] | None) -> list[SortKey]:
    if not sorts:
        return [SortKey("last_updated_datetime", "", True)]
    keys = []
    for i, sort in enumerate(sorts):
        field = _field(fields, sort["fieldId"], f"sorts[{i}].fieldId")
        keys.append(SortKey(field["field_id"], COLUMN[field["type"]], sort["sortOrder"] == "Desc"))
    return keys


def _check_position(after: Any, keys: list[SortKey]) -> tuple[int, list[Any]] | None:
    """A decoded nextToken: the snapshot time, then the sort values and case id of the last row."""
    if after is None:
        return None
    ok = (
        isinstance(after, list)
        and len(after) == len(keys) + 2
        and isinstance(after[0], int)
        and isinstance(after[-1], str)
        and all(v is None or isinstance(v, (str, int, float)) for v in after[1:-1])
    )
    if not ok:
        raise ValidationException("Invalid nextToken for this request")
    return after[0], [int(v) if isinstance(v, bool) else v for v in after[1:]]


def _snapshot_ms(ctx: RequestContext, tx: Tx, domain_id: str, before: tuple[int, bool]) -> int:
    """T for a first page (see SNAPSHOT_LAG_MS): one past a stamp, so the cases created in
    that millisecond are on the pages. `before`: the time, and whether the writer was idle
    (Database.writer_idle), taken before the read began."""
    started_ms, idle = before
    if ctx.store.dialect == "sqlite" and not idle:
        latest = tx.latest_case_write(domain_id)
        if latest is not None:
            return latest + 1
    return started_ms + 1


@operation("SearchCases")
def search_cases(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id = params["domainId"]
    limit = pagination.page_size(params, 25)
    after = pagination.decode("SearchCases", params)
    # In this order, before the read's first statement fixes its snapshot.
    before = ctx.now_ms(), ctx.store.db.writer_idle()
    with ctx.store.read() as tx:
        require_domain(ctx, tx, domain_id)
        fields = {f["field_id"]: f for f in tx.all_fields(domain_id)}
        tree = typed_tree(fields, params["filter"]) if params.get("filter") else None
        keys = sort_keys(fields, params.get("sorts"))
        position = _check_position(after, keys)
        snapshot_ms, after = position if position else (_snapshot_ms(ctx, tx, domain_id, before), None)
        case_prefix = ctx.arn(f"domain/{domain_id}/case/")
        term = params.get("searchTerm") or ""
        settled_ms = snapshot_ms - SNAPSHOT_LAG_MS.get(ctx.store.dialect, 2000)
        rows, total = tx.search_cases(domain_id, tree, term, keys, after, limit + 1, case_prefix, settled_ms)
        changed = tx.search_changed_cases(domain_id, tree, term, case_prefix, settled_ms, snapshot_ms, CHANGED_CAP)
        if changed:
            rows = snapshot.merge(tx, domain_id, fields, keys, rows, changed, after, settled_ms, limit + 1)
        page = rows[:limit]
        wanted = [f["id"] for f in params.get("fields") or []]
        values = tx.values_for_cases(domain_id, [r["case_id"] for r in page], wanted) if wanted else {}
        tags = tx.tags_for_arns([case_prefix + r["case_id"] for r in page])
    items = []
    for r in page:
        case_values = values.get(r["case_id"], {})
        out_fields = [
            {"id": fid, "value": from_row(fields[fid]["type"], case_values[fid])}
            for fid in dict.fromkeys(wanted)
            if fid in case_values and fid in fields
        ]
        items.append(
            {
                "caseId": r["case_id"],
                "templateId": r["template_id"],
                "fields": out_fields,
                "tags": tags.get(case_prefix + r["case_id"], {}),
            }
        )
    out: dict[str, Any] = {"cases": items, "totalCount": total}
    if len(rows) > limit:
        last = rows[limit - 1]
        out["nextToken"] = pagination.encode(
            "SearchCases", params, [snapshot_ms] + [last[f"sort_{i}"] for i in range(len(keys))] + [last["case_id"]]
        )
    return out
