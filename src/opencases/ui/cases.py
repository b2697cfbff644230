"""The agent's pages: domains, the case list (search, filters, sorting, paging), the case page
(fields by layout, case rules, related items, SLAs, audit timeline, merge) and the new-case form.
"""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.responses import Response

from opencases.errors import ResourceNotFoundException, ServiceError, ValidationException
from opencases.ui.casefields import DETAIL_FIELDS, Catalog, display_value, is_blank, same_value
from opencases.ui.caseform import (
    TemplateBundle,
    errors_for,
    load_bundle,
    posted_values,
    rule_problems,
    rules_payload,
    section_views,
)
from opencases.ui.web import Web, all_pages, as_datetime, duration, error_text, fmt_time, redirect, url

PAGE_SIZE = 25
# SearchCases cannot filter by template; the list does it by scanning, up to this many cases.
TEMPLATE_SCAN_LIMIT = 5000
LIST_FIELDS = ["reference_number", "title", "status", "assigned_user", "last_updated_datetime", "created_datetime"]
SORTABLE = {"reference_number", "title", "status", "assigned_user", "last_updated_datetime", "created_datetime"}
# Audit entries that every change carries; the timeline's "who" and "when" already say them.
AUDIT_NOISE = {"last_updated_datetime", "last_updated_user", "relatedItemId", "case_id", "created_datetime",
               "created_by"}
_CASE_ID = re.compile(r"^[A-Za-z0-9\-._/:#=+]{1,500}$")


def _templates(w: Web, domain_id: str) -> list[dict[str, Any]]:
    return all_pages(w, "ListTemplates", "templates", domainId=domain_id, maxResults=100)


def get_domain(w: Web, domain_id: str) -> dict[str, Any]:
    return w.invoke("GetDomain", domainId=domain_id)


# -- domains -----------------------------------------------------------------------------------


def home(w: Web) -> Response:
    domains = all_pages(w, "ListDomains", "domains", maxResults=10)
    if len(domains) == 1 and not w.param("all"):
        return redirect(url("d", domains[0]["domainId"], "cases"))
    return redirect(url("domains"))


def domains_page(w: Web) -> Response:
    errors: list[str] = []
    if w.request.method == "POST":
        name = w.form.get("name").strip()
        try:
            created = w.invoke("CreateDomain", name=name)
            return redirect(url("d", created["domainId"], "admin", notice="domain"))
        except ServiceError as err:
            errors.append(error_text(err))
    domains = all_pages(w, "ListDomains", "domains", maxResults=10)
    return w.render("domains.html", domains=domains, errors=errors, name=w.form.get("name"),
                    status=400 if errors else 200)


# -- case list ---------------------------------------------------------------------------------


def _filter(status: str, assignee: str) -> dict[str, Any] | None:
    conditions = []
    if status:
        conditions.append({"field": {"equalTo": {"id": "status", "value": {"stringValue": status}}}})
    if assignee == "none":
        conditions.append({"field": {"equalTo": {"id": "assigned_user", "value": {"emptyValue": {}}}}})
    elif assignee:
        conditions.append({"field": {"equalTo": {"id": "assigned_user", "value": {"userArnValue": assignee}}}})
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else {"andAll": conditions}


def case_list(w: Web) -> Response:
    domain_id = w.path("domain_id")
    domain = get_domain(w, domain_id)
    q = {k: w.param(k).strip() for k in ("q", "status", "template", "assignee", "sort", "order", "nextToken")}
    page_number = max(1, int(w.param("page")) if w.param("page").isdigit() else 1)
    sort = q["sort"] if q["sort"] in SORTABLE else "last_updated_datetime"
    order = "Asc" if q["order"].lower() == "asc" else "Desc"
    params: dict[str, Any] = {"domainId": domain_id, "fields": [{"id": f} for f in LIST_FIELDS],
                              "sorts": [{"fieldId": sort, "sortOrder": order}]}
    if q["q"]:
        params["searchTerm"] = q["q"]
    case_filter = _filter(q["status"], q["assignee"])
    if case_filter:
        params["filter"] = case_filter
    templates = _templates(w, domain_id)
    catalog = Catalog(w, domain_id)
    catalog.load_options(["status"])
    errors: list[str] = []
    rows: list[dict[str, Any]] = []
    total: int | None = None
    capped = False
    next_link = ""
    try:
        if q["template"]:
            rows, total, capped, more = _scan_by_template(w, params, q["template"], page_number)
            if more:
                next_link = _list_url(domain_id, q, page=str(page_number + 1), nextToken="")
        else:
            if q["nextToken"]:
                params["nextToken"] = q["nextToken"]
            result = w.invoke("SearchCases", **params, maxResults=PAGE_SIZE)
            rows, total = result["cases"], result.get("totalCount")
            if result.get("nextToken"):
                next_link = _list_url(domain_id, q, page=str(page_number + 1), nextToken=result["nextToken"])
    except ServiceError as err:
        errors.append(error_text(err))
    names = {t["templateId"]: t["name"] for t in templates}
    cases = []
    for row in rows:
        values = {f["id"]: f["value"] for f in row.get("fields") or []}
        cases.append({
            "id": row["caseId"],
            "template": names.get(row.get("templateId", ""), ""),
            **{fid: display_value(catalog, fid, values.get(fid)) for fid in LIST_FIELDS},
            "status_value": (values.get("status") or {}).get("stringValue", ""),
            "updated_iso": (values.get("last_updated_datetime") or {}).get("stringValue", ""),
        })

    def sort_link(field_id: str) -> str:
        flip = "asc" if sort == field_id and order == "Desc" else "desc"
        return _list_url(domain_id, q, sort=field_id, order=flip, page="", nextToken="")

    return w.render(
        "case_list.html", status=400 if errors else 200, domain=domain, cases=cases, total=total, capped=capped,
        q=q, sort=sort, order=order, sort_link=sort_link, page=page_number, next_link=next_link,
        first_link=_list_url(domain_id, q, page="", nextToken="") if page_number > 1 else "",
        templates=templates, status_options=catalog.fields["status"].options if "status" in catalog.fields else [],
        errors=errors, active_templates=[t for t in templates if t.get("status") == "Active"],
    )


def _list_url(domain_id: str, q: dict[str, str], **changes: str) -> str:
    return url("d", domain_id, "cases", **(q | changes))


def _scan_by_template(
    w: Web, params: dict[str, Any], template_id: str, page_number: int
) -> tuple[list[dict[str, Any]], int, bool, bool]:
    matches: list[dict[str, Any]] = []
    token: str | None = None
    scanned = 0
    capped = False
    while True:
        result = w.invoke("SearchCases", **params, maxResults=100, **({"nextToken": token} if token else {}))
        scanned += len(result["cases"])
        matches += [c for c in result["cases"] if c.get("templateId") == template_id]
        token = result.get("nextToken")
        if not token:
            break
        if scanned >= TEMPLATE_SCAN_LIMIT:
            capped = True
            break
    start = (page_number - 1) * PAGE_SIZE
    return matches[start:start + PAGE_SIZE], len(matches), capped, start + PAGE_SIZE < len(matches)


# -- case page ---------------------------------------------------------------------------------


def _case_values(w: Web, domain_id: str, case_id: str, catalog: Catalog) -> tuple[str, dict[str, dict[str, Any]]]:
    ids = list(catalog.fields)
    values: dict[str, dict[str, Any]] = {}
    template_id = ""
    for start in range(0, len(ids), 220):
        wanted = [{"id": i} for i in ids[start:start + 220]]
        got = w.invoke("GetCase", domainId=domain_id, caseId=case_id, fields=wanted)
        template_id = got["templateId"]
        values.update({f["id"]: f["value"] for f in got["fields"]})
    return template_id, values


def _sla_view(catalog: Catalog, item: dict[str, Any], now: float) -> dict[str, Any]:
    config = item["content"]["sla"]["slaConfiguration"]
    field_id = str(config.get("fieldId", ""))
    info = catalog.get(field_id)
    target = as_datetime(config.get("targetTime"))
    status = config.get("status", "")
    left = target.timestamp() - now if target else 0
    if status == "Active":
        tone, text = ("warn", f"Due soon · {duration(left)} left") if left < 86400 else ("ok", f"{duration(left)} left")
    elif status == "Overdue":
        tone, text = "bad", f"Overdue by {duration(left)}"
    elif status == "Met":
        tone, text = "ok", "Met"
    else:
        tone, text = "bad", "Not met"
    return {"name": config.get("name"), "status": status, "tone": tone, "text": text,
            "target": fmt_time(config.get("targetTime")), "target_iso": config.get("targetTime"),
            "field_name": info.name if info else field_id,
            "targets": ", ".join(display_value(catalog, field_id, v)
                                 for v in config.get("targetFieldValues") or [])}


def _who(performed_by: dict[str, Any] | None) -> str:
    """Who did something: the Connect user (or custom entity), else the IAM principal. Audit
    events nest the user under `user`; related items carry the UserUnion itself."""
    performed_by = performed_by or {}
    user = performed_by.get("user") or performed_by
    return str(user.get("userArn") or user.get("customEntity") or performed_by.get("iamPrincipalArn") or "")


EVENT_LABELS = {
    "Case.Created": "created the case",
    "Case.Updated": "updated the case",
    "Case.Merged": "merged cases",
    "RelatedItem.Created": "added",
    "RelatedItem.Updated": "updated",
    "RelatedItem.Deleted": "removed",
}
ITEM_NOUNS = {"Comment": "a comment", "Sla": "an SLA", "Contact": "a contact", "ConnectCase": "a case link",
              "File": "a file", "Custom": "a custom item"}
# Related-item attributes as the timeline names them (the audit uses "<type>.<attribute>").
ATTRIBUTE_LABELS = {"comment.body": "Comment", "comment.contentType": "", "sla.name": "SLA", "sla.type": "",
                    "sla.fieldId": "SLA field", "sla.targetFieldValues": "SLA target value",
                    "sla.targetSlaMinutes": "SLA minutes", "sla.targetTime": "SLA due", "sla.status": "SLA status",
                    "sla.completionTime": "SLA completed"}


def _audit_value(catalog: Catalog, field_id: str, value: dict[str, Any]) -> str:
    # Related-item times (sla.targetTime) are ISO strings, not values of a DateTime field.
    if field_id.endswith("Time") and catalog.get(field_id) is None:
        return fmt_time(value.get("stringValue")) or display_value(catalog, field_id, value)
    return display_value(catalog, field_id, value)


def _audit_view(catalog: Catalog, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for event in reversed(events):  # newest first, as an activity feed reads
        label = EVENT_LABELS.get(event["type"], event["type"])
        if event.get("relatedItemType"):
            item = event["relatedItemType"]
            label = f"{label} {ITEM_NOUNS.get(item, 'a ' + item.lower() + ' item')}"
        changes = []
        for entry in event.get("fields") or []:
            fid = entry["eventFieldId"]
            if fid in AUDIT_NOISE or ATTRIBUTE_LABELS.get(fid) == "":
                continue
            info = catalog.get(fid)
            changes.append({
                "field": info.name if info else ATTRIBUTE_LABELS.get(fid, fid),
                "old": _audit_value(catalog, fid, entry["oldValue"]) if entry.get("oldValue") else "",
                "had_old": "oldValue" in entry,
                "new": _audit_value(catalog, fid, entry.get("newValue") or {}),
            })
        out.append({"type": event["type"], "label": label, "who": _who(event.get("performedBy")),
                    "when": fmt_time(event.get("performedTime")), "when_iso": event.get("performedTime"),
                    "changes": changes, "has_old": any(c["had_old"] for c in changes)})
    return out


def _related_view(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        content = item.get("content") or {}
        entry = {"id": item["relatedItemId"], "type": item["type"], "when": fmt_time(item.get("associationTime")),
                 "when_iso": item.get("associationTime"), "who": _who(item.get("performedBy")), "content": content}
        grouped.setdefault(item["type"], []).append(entry)
    return grouped


def render_case(
    w: Web,
    domain_id: str,
    case_id: str,
    *,
    posted: bool = False,
    field_errors: dict[str, list[str]] | None = None,
    top_errors: list[str] | None = None,
    comment_error: str = "",
    merge_error: str = "",
    status: int = 200,
) -> Response:
    domain = get_domain(w, domain_id)
    catalog = Catalog(w, domain_id)
    template_id, values = _case_values(w, domain_id, case_id, catalog)
    bundle = load_bundle(w, domain_id, template_id, catalog)
    head, sections = section_views(catalog, bundle, values, w.form if posted else None, field_errors or {})
    related = all_pages(w, "SearchRelatedItems", "relatedItems", limit=20,
                         domainId=domain_id, caseId=case_id, maxResults=25)
    events = all_pages(w, "GetCaseAuditEvents", "auditEvents", limit=40,
                        domainId=domain_id, caseId=case_id, maxResults=25)
    try:
        merge = w.invoke("GetMergeCasesStatus", domainId=domain_id, caseId=case_id)
    except ResourceNotFoundException:
        merge = None
    now = time.time()
    details = [(catalog.fields[f].name, display_value(catalog, f, values.get(f)), f,
                (values[f].get("stringValue") or "") if catalog.fields[f].type == "DateTime" else "")
               for f in DETAIL_FIELDS if f in catalog.fields and not is_blank(values.get(f))]
    grouped = _related_view(related)
    return w.render(
        "case.html", status=status, domain=domain, case_id=case_id, template=bundle.template,
        title=display_value(catalog, "title", values.get("title")),
        status_name=display_value(catalog, "status", values.get("status")),
        status_value=(values.get("status") or {}).get("stringValue", ""),
        reference=display_value(catalog, "reference_number", values.get("reference_number")),
        head=head, sections=sections, details=details, rules=rules_payload(catalog, bundle, values),
        comments=grouped.pop("Comment", []), slas=[_sla_view(catalog, i, now) for i in grouped.pop("Sla", [])],
        other_items=[i for items in grouped.values() for i in items], audit=_audit_view(catalog, events),
        merge=merge, top_errors=top_errors or [], comment_error=comment_error, merge_error=merge_error,
        comment_body=w.form.get("body") if comment_error else "", merge_target=w.form.get("target"),
    )


def case_page(w: Web) -> Response:
    domain_id, case_id = w.path("domain_id"), w.path("case_id")
    if w.request.method == "GET":
        return render_case(w, domain_id, case_id)
    catalog = Catalog(w, domain_id)
    template_id, values = _case_values(w, domain_id, case_id, catalog)
    bundle = load_bundle(w, domain_id, template_id, catalog)
    posted, field_errors = posted_values(catalog, bundle, w.form)
    if field_errors:
        return render_case(w, domain_id, case_id, posted=True, field_errors=field_errors, status=400)
    changes = {fid: v for fid, v in posted.items() if not same_value(catalog.fields[fid], values.get(fid), v)}
    if not changes:
        return redirect(url("d", domain_id, "cases", case_id, notice="saved"))
    order = list(changes)
    problems = rule_problems(w, bundle, values | changes)
    if problems:
        by_field, top = errors_for(problems, order, catalog)
        return render_case(w, domain_id, case_id, posted=True, field_errors=by_field, top_errors=top, status=400)
    try:
        w.invoke("UpdateCase", domainId=domain_id, caseId=case_id,
                 fields=[{"id": fid, "value": changes[fid]} for fid in order],
                 **({"performedBy": w.performed_by()} if w.performed_by() else {}))
    except ServiceError as err:
        by_field, top = errors_for([error_text(err)], order, catalog)
        return render_case(w, domain_id, case_id, posted=True, field_errors=by_field, top_errors=top,
                           status=err.status)
    return redirect(url("d", domain_id, "cases", case_id, notice="saved"))


def add_comment(w: Web) -> Response:
    domain_id, case_id = w.path("domain_id"), w.path("case_id")
    # Browsers submit a textarea's line breaks as CRLF; the API stores what it is given.
    body = w.form.get("body").replace("\r\n", "\n")
    if not body.strip():
        return render_case(w, domain_id, case_id, comment_error="Write a comment first.", status=400)
    try:
        w.invoke("CreateRelatedItem", domainId=domain_id, caseId=case_id, type="Comment",
                 content={"comment": {"body": body, "contentType": "Text/Plain"}},
                 **({"performedBy": w.performed_by()} if w.performed_by() else {}))
    except ServiceError as err:
        return render_case(w, domain_id, case_id, comment_error=error_text(err), status=err.status)
    return redirect(url("d", domain_id, "cases", case_id, notice="comment") + "#comments")


def _resolve_case(w: Web, domain_id: str, target: str) -> str:
    """A case id, or the id of the case with that reference number."""
    found = w.invoke("SearchCases", domainId=domain_id, maxResults=2, filter={
        "field": {"equalTo": {"id": "reference_number", "value": {"stringValue": target}}}})
    if len(found["cases"]) == 1:
        return str(found["cases"][0]["caseId"])
    if not _CASE_ID.match(target):
        raise ValidationException("Enter a case id or reference number.")
    return target


def merge_case(w: Web) -> Response:
    """This case (the secondary) is merged into the target (the primary)."""
    domain_id, case_id = w.path("domain_id"), w.path("case_id")
    target = w.form.get("target").strip()
    if not target:
        return render_case(w, domain_id, case_id, merge_error="Enter the case to merge into.", status=400)
    items = {kind: w.form.get(kind) == "true" for kind in ("comment", "contact", "connectCase", "custom")}
    try:
        primary = _resolve_case(w, domain_id, target)
        w.invoke("StartMergeCases", domainId=domain_id, caseId=primary, secondaryCaseIds=[case_id],
                 relatedItemsConfiguration=items,
                 **({"performedBy": w.performed_by()} if w.performed_by() else {}))
    except ServiceError as err:
        return render_case(w, domain_id, case_id, merge_error=error_text(err), status=err.status)
    return redirect(url("d", domain_id, "cases", primary, notice="merged"))


# -- new case ----------------------------------------------------------------------------------


def new_case(w: Web) -> Response:
    domain_id = w.path("domain_id")
    domain = get_domain(w, domain_id)
    template_id = w.form.get("templateId") or w.param("templateId")
    active = [t for t in _templates(w, domain_id) if t.get("status") == "Active"]
    if not template_id and len(active) == 1:
        template_id = active[0]["templateId"]
    if not template_id:
        return w.render("case_new.html", domain=domain, templates=active, bundle=None)
    catalog = Catalog(w, domain_id)
    bundle = load_bundle(w, domain_id, template_id, catalog)
    if w.request.method == "GET":
        return _render_new(w, domain, catalog, bundle)
    posted, field_errors = posted_values(catalog, bundle, w.form)
    if field_errors:
        return _render_new(w, domain, catalog, bundle, field_errors=field_errors, status=400)
    values = {fid: v for fid, v in posted.items() if not is_blank(v)}
    if catalog.get("status") and "status" not in values:
        values["status"] = {"stringValue": "open"}
    order = list(values)
    problems = rule_problems(w, bundle, values)
    if problems:
        by_field, top = errors_for(problems, order, catalog)
        return _render_new(w, domain, catalog, bundle, field_errors=by_field, top_errors=top, status=400)
    try:
        created = w.invoke("CreateCase", domainId=domain_id, templateId=bundle.id,
                           fields=[{"id": fid, "value": values[fid]} for fid in order],
                           **({"performedBy": w.performed_by()} if w.performed_by() else {}))
    except ServiceError as err:
        by_field, top = errors_for([error_text(err)], order, catalog)
        return _render_new(w, domain, catalog, bundle, field_errors=by_field, top_errors=top, status=err.status)
    return redirect(url("d", domain_id, "cases", created["caseId"], notice="created"))


def _render_new(
    w: Web,
    domain: dict[str, Any],
    catalog: Catalog,
    bundle: TemplateBundle,
    *,
    field_errors: dict[str, list[str]] | None = None,
    top_errors: list[str] | None = None,
    status: int = 200,
) -> Response:
    posted = w.form if w.request.method == "POST" else None
    defaults = {"status": {"stringValue": "open"}}
    head, sections = section_views(catalog, bundle, defaults, posted, field_errors or {})
    return w.render("case_new.html", status=status, domain=domain, bundle=bundle, template=bundle.template,
                    head=head, sections=sections, rules=rules_payload(catalog, bundle, {}),
                    top_errors=top_errors or [])
