"""StartMergeCases and GetMergeCasesStatus.

AWS runs a merge asynchronously; here it runs inside the request's transaction, so IN_PROGRESS
is never visible to another request (GetMergeCasesStatus answers COMPLETED for the secondary at
once). The `merges` table and `cases.merge_state` still record IN_PROGRESS while it runs, then:
the secondary keeps {"role": "secondary", "status": "COMPLETED", ...} forever (it can never be
merged again), the primary's state is cleared (GetMergeCasesStatus on it is a 404 afterwards).

What a merge does (StartMergeCases doc):
- fields: a selected field takes the secondary's value (empty clears it); an unselected field the
  primary lacks takes the secondary's value, template or not; only custom fields and
  assigned_queue, assigned_user, summary and case_reason ever merge;
- related items of the selected types move, keeping id, creator, association time and tags; a
  secondary link to a case the primary already links is removed instead, and so is a secondary
  contact the primary already has (after giving the primary's item the tag keys it lacks);
  File and SLA items never move;
- the cases are linked by a ConnectCase item on each (unless already linked), the secondary is
  closed, and both get a Case.Merged audit event. Every audit event of the merge carries
  mergeMetadata with one mergeEventId.
"""

from __future__ import annotations

from typing import Any

from opencases.errors import ConflictException, ResourceNotFoundException, ServiceQuotaExceededException
from opencases.errors import ValidationException as Invalid
from opencases.services import audit, case_link
from opencases.services import related_content as rc
from opencases.services import related_items as ri
from opencases.services.case_values import EMPTY, is_empty
from opencases.services.common import duplicates, require_domain
from opencases.services.context import RequestContext, new_id
from opencases.services.registry import operation
from opencases.store.store import Tx

MERGEABLE_SYSTEM_FIELDS = frozenset({"assigned_queue", "assigned_user", "summary", "case_reason"})
# "the primary case would have more than 500 field values" -> ValidationException.
MAX_FIELD_VALUES = 500
# relatedItemsConfiguration member -> the related item type it moves.
MOVABLE = {"comment": "Comment", "connectCase": "ConnectCase", "contact": "Contact", "custom": "Custom"}


def _mergeable(field: dict[str, Any]) -> bool:
    return field["namespace"] == "Custom" or field["field_id"] in MERGEABLE_SYSTEM_FIELDS


def _selected_fields(params: dict[str, Any], secondary: str) -> list[str]:
    configs = params.get("fieldsConfiguration") or []
    if len(configs) > 1:
        raise Invalid("fieldsConfiguration takes at most one entry, for the secondary case")
    if not configs:
        return []
    if configs[0]["sourceCaseId"] != secondary:
        raise Invalid("fieldsConfiguration[0].sourceCaseId must be the secondary case id")
    ids = [f["id"] for f in configs[0]["fieldIds"]]
    repeated = duplicates(ids)
    if repeated:
        raise Invalid(f"fieldsConfiguration[0].fieldIds lists fields more than once: {', '.join(repeated)}")
    return ids


def _check_merge_states(cases: list[dict[str, Any]]) -> None:
    for case in cases:
        state = case.get("merge_state") or {}
        if state.get("status") == "IN_PROGRESS":
            raise ConflictException(f"Case {case['case_id']} is part of a merge that is running")
        if state.get("role") == "secondary":
            raise ConflictException(
                f"Case {case['case_id']} was merged into case {state.get('primaryCaseId')} and cannot be merged again"
            )


def _template_fields(tx: Tx, domain_id: str, template_id: str) -> set[str]:
    """The fields a case of this template has: its required fields and its layout's fields."""
    template = tx.get_config("template", domain_id, template_id) or {}
    doc = template.get("doc") or {}
    ids = {r["fieldId"] for r in doc.get("requiredFields") or []}
    layout_id = (doc.get("layoutConfiguration") or {}).get("defaultLayout")
    layout = tx.get_config("layout", domain_id, layout_id) if layout_id else None
    basic = ((layout or {}).get("content") or {}).get("basic") or {}
    for panel in ("topPanel", "moreInfo"):
        for section in (basic.get(panel) or {}).get("sections") or []:
            ids.update(f["id"] for f in (section.get("fieldGroup") or {}).get("fields") or [])
    return ids


def _field_changes(
    tx: Tx,
    domain_id: str,
    secondary_case: dict[str, Any],
    pvals: dict[str, dict[str, Any]],
    svals: dict[str, dict[str, Any]],
    selected: list[str],
) -> dict[str, dict[str, Any]]:
    """The primary's field changes, after checking every selected field can be merged."""
    rows = tx.get_fields(domain_id, selected + list(svals))
    on_template: set[str] | None = None
    changes: dict[str, dict[str, Any]] = {}
    for i, fid in enumerate(selected):
        where = f"fieldsConfiguration[0].fieldIds[{i}]"
        row = rows.get(fid)
        if row is None:
            raise Invalid(f"{where}: field {fid} does not exist")
        if not _mergeable(row):
            raise Invalid(
                f"{where}: field {fid} cannot be merged; only custom fields and "
                f"{', '.join(sorted(MERGEABLE_SYSTEM_FIELDS))} can"
            )
        if row["deleted"]:
            raise Invalid(f"{where}: field {fid} is deleted")
        if fid not in svals and row["namespace"] == "Custom":
            if on_template is None:
                on_template = _template_fields(tx, domain_id, secondary_case["template_id"])
            if fid not in on_template:
                raise Invalid(f"{where}: the secondary case does not have field {fid}")
        # A selected field whose secondary value is empty clears the primary's.
        value = svals.get(fid, EMPTY)
        if value != pvals.get(fid, EMPTY):
            changes[fid] = value
    for fid, value in svals.items():
        row = rows.get(fid)
        if fid in selected or row is None or row["deleted"] or not _mergeable(row):
            continue
        if fid not in pvals:
            # Filled in even when the field is not on the primary's template.
            changes[fid] = value
    after = (set(pvals) | {f for f, v in changes.items() if not is_empty(v)}) - {
        f for f, v in changes.items() if is_empty(v)
    }
    if len(after) > MAX_FIELD_VALUES:
        raise Invalid(f"After the merge the primary case would have more than {MAX_FIELD_VALUES} field values")
    return changes


class _ItemPlan:
    """Which secondary items move, which are dropped (merged into a primary item), and links."""

    def __init__(self, tx: Tx, domain_id: str, primary: str, secondary: str, config: dict[str, Any]) -> None:
        types = {t for member, t in MOVABLE.items() if config.get(member)}
        p_rows = tx.case_related_items(domain_id, primary, types=["ConnectCase", "Contact"])
        p_links = {r["content"]["caseId"] for r in p_rows if r["type"] == "ConnectCase"}
        p_contacts = {r["content"]["contactArn"]: r for r in p_rows if r["type"] == "Contact"}
        self.link_primary = secondary not in p_links
        self.move: list[dict[str, Any]] = []
        self.drop: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
        s_links: set[str] = set()
        # Oldest first, so that of two secondary items for one contact the older one moves.
        for r in reversed(tx.case_related_items(domain_id, secondary)):
            content = r["content"]
            # A secondary's link to the primary stays: it is the link the merge would add.
            if r["type"] not in types or (r["type"] == "ConnectCase" and content["caseId"] == primary):
                if r["type"] == "ConnectCase":
                    s_links.add(content["caseId"])
                continue
            if r["type"] == "ConnectCase" and content["caseId"] in p_links:
                self.drop.append((r, None))
            elif r["type"] == "Contact" and content["contactArn"] in p_contacts:
                self.drop.append((r, p_contacts[content["contactArn"]]))
            else:
                self.move.append(r)
                if r["type"] == "ConnectCase":
                    p_links.add(content["caseId"])
                elif r["type"] == "Contact":
                    p_contacts[content["contactArn"]] = r | {"case_id": primary}
        self.link_secondary = primary not in s_links

    def check_quota(self, ctx: RequestContext, tx: Tx, domain_id: str, primary: str, secondary: str) -> None:
        limit = ctx.settings.quotas["related_items_per_case"]
        # "its existing related items, plus the related items moved ..., plus the new case link".
        p_after = sum(tx.count_related_items_by_type(domain_id, primary).values()) + len(self.move) + int(
            self.link_primary
        )
        s_after = (
            sum(tx.count_related_items_by_type(domain_id, secondary).values())
            - len(self.move) - len(self.drop) + int(self.link_secondary)
        )
        for case_id, count in ((primary, p_after), (secondary, s_after)):
            if count > limit:
                raise ServiceQuotaExceededException(
                    f"Quota exceeded: after the merge case {case_id} would have {count} related items; "
                    f"the limit is {limit}"
                )


def _move(tx: Tx, ctx: RequestContext, row: dict[str, Any], primary: str, user: Any, now: int, mm: Any) -> None:
    domain_id, secondary, item_id, type_ = row["domain_id"], row["case_id"], row["related_item_id"], row["type"]
    tx.move_related_items(domain_id, [item_id], primary)
    tx.rekey_tags(ri.item_arn(ctx, domain_id, secondary, item_id), ri.item_arn(ctx, domain_id, primary, item_id))
    attributes = rc.audit_attributes(type_, row["content"])
    for case_id, event_type, old, new in (
        (secondary, "RelatedItem.Deleted", attributes, None),
        (primary, "RelatedItem.Created", None, attributes),
    ):
        audit.record(
            tx, ctx, domain_id=domain_id, case_id=case_id, event_type=event_type,
            fields=rc.audit_fields(item_id, old, new), user=user, performed_ms=now,
            related_item_type=type_, merge_metadata=mm,
        )


def _drop(
    tx: Tx, ctx: RequestContext, row: dict[str, Any], keeper: dict[str, Any] | None, user: Any, now: int, mm: Any
) -> None:
    domain_id = row["domain_id"]
    if keeper is not None:
        # The primary's contact item "gets any tag keys that only the secondary case's item has".
        mine = tx.get_tags(ri.item_arn(ctx, domain_id, row["case_id"], row["related_item_id"]))
        keeper_arn = ri.item_arn(ctx, domain_id, keeper["case_id"], keeper["related_item_id"])
        theirs = tx.get_tags(keeper_arn)
        tx.put_tags(keeper_arn, domain_id, {k: v for k, v in mine.items() if k not in theirs})
    ri.remove_item(tx, ctx, row, user=user, now_ms=now, merge_metadata=mm)


@operation("StartMergeCases")
def start_merge_cases(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, primary = params["domainId"], params["caseId"]
    if len(params["secondaryCaseIds"]) != 1:
        raise Invalid("secondaryCaseIds must hold exactly one case id")
    secondary = params["secondaryCaseIds"][0]
    selected = _selected_fields(params, secondary)
    user = params.get("performedBy")
    with ctx.store.write() as tx:
        now = ctx.now_ms()  # stamped holding the writer: see SNAPSHOT_LAG_MS
        require_domain(ctx, tx, domain_id)
        if primary == secondary:
            raise Invalid("The primary case and the secondary case are the same case")
        # Lock both rows in id order, so that two merges of the same cases cannot deadlock.
        cases = {
            cid: case_link.load_case(tx, ctx, domain_id, cid, for_update=True)
            for cid in sorted((primary, secondary))
        }
        _check_merge_states([cases[primary], cases[secondary]])
        pvals = case_link.case_values(tx, domain_id, primary)
        svals = case_link.case_values(tx, domain_id, secondary)
        for cid, vals in ((primary, pvals), (secondary, svals)):
            if vals.get("status", {}).get("stringValue") == "closed":
                raise Invalid(f"Case {cid} is closed; closed cases cannot be merged")
        p_customer, s_customer = pvals.get("customer_id"), svals.get("customer_id")
        if p_customer and s_customer and p_customer != s_customer:
            raise Invalid("Both cases have a customer and the customers differ")
        changes = _field_changes(tx, domain_id, cases[secondary], pvals, svals, selected)
        plan = _ItemPlan(tx, domain_id, primary, secondary, params.get("relatedItemsConfiguration") or {})
        plan.check_quota(ctx, tx, domain_id, primary, secondary)

        merge_event_id = new_id()
        mm = {"mergeEventId": merge_event_id, "primaryCaseId": primary, "secondaryCaseId": secondary}
        state = {"status": "IN_PROGRESS", "mergeEventId": merge_event_id, "primaryCaseId": primary,
                 "secondaryCaseIds": [secondary]}
        tx.insert_merge({
            "domain_id": domain_id, "merge_event_id": merge_event_id, "primary_case_id": primary,
            "secondary_case_id": secondary, "status": "IN_PROGRESS",
            "request": {k: v for k, v in params.items() if k != "domainId"}, "started_ms": now,
        })
        tx.set_merge_state(domain_id, primary, state | {"role": "primary"})
        tx.set_merge_state(domain_id, secondary, state | {"role": "secondary"})

        if changes:
            case_link.apply_field_changes(
                tx, ctx, domain_id=domain_id, case_id=primary, changes=changes, user=user, now_ms=now,
                merge_metadata=mm,
            )
        for row in plan.move:
            _move(tx, ctx, row, primary, user, now, mm)
        for row, keeper in plan.drop:
            _drop(tx, ctx, row, keeper, user, now, mm)
        for case_id, other, needed in ((primary, secondary, plan.link_primary),
                                       (secondary, primary, plan.link_secondary)):
            if needed:
                ri.insert_item(
                    tx, ctx, domain_id=domain_id, case_id=case_id, type_="ConnectCase",
                    stored={"caseId": other}, search_key=other, user=user, now_ms=now, merge_metadata=mm,
                )
        if not changes:
            case_link.touch_case(tx, domain_id, primary, user, now)
        # The secondary is closed by the merge (its Case.Updated event carries mergeMetadata).
        case_link.apply_field_changes(
            tx, ctx, domain_id=domain_id, case_id=secondary, changes={"status": {"stringValue": "closed"}},
            user=user, now_ms=now, merge_metadata=mm,
        )
        for case_id in (primary, secondary):
            audit.record(
                tx, ctx, domain_id=domain_id, case_id=case_id, event_type="Case.Merged", fields=[],
                user=user, performed_ms=now, merge_metadata=mm,
            )
        tx.update_merge(domain_id, merge_event_id, {"status": "COMPLETED", "completed_ms": now})
        tx.set_merge_state(domain_id, primary, None)
        tx.set_merge_state(domain_id, secondary, state | {"role": "secondary", "status": "COMPLETED"})
    return {}


@operation("GetMergeCasesStatus")
def get_merge_cases_status(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id, case_id = params["domainId"], params["caseId"]
    with ctx.store.read() as tx:
        require_domain(ctx, tx, domain_id)
        case = case_link.load_case(tx, ctx, domain_id, case_id)
    state = case.get("merge_state") or {}
    running = state.get("status") == "IN_PROGRESS"
    if running or (state.get("role") == "secondary" and state.get("status") == "COMPLETED"):
        return {
            "status": state["status"],
            "primaryCaseId": state["primaryCaseId"],
            "secondaryCaseIds": state["secondaryCaseIds"],
        }
    # "For any other case ... ResourceNotFoundException. This includes the primary case after
    # its merge finishes."
    raise ResourceNotFoundException(
        f"Case {case_id} is not part of a running merge and was not merged into another case",
        resource_id=case_id, resource_type="Merge",
    )
