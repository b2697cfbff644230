"""Administration pages of a domain: fields and their options, templates, layouts, case rules,
event configuration, and deleting the domain. Plain forms; layouts and rule definitions are
JSON in a textarea (the API's own shapes), checked by the API's validation like any request.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from opencases.errors import ServiceError
from opencases.ui.casefields import READ_ONLY, Catalog
from opencases.ui.cases import get_domain
from opencases.ui.web import Web, all_pages, error_text, form_member_errors, redirect, url

FIELD_TYPES = ["Text", "Number", "Boolean", "DateTime", "SingleSelect", "Url", "User"]
NEW_OPTION_ROWS = 3
NEW_RULE_ROWS = 3

LAYOUT_EXAMPLE = {
    "basic": {
        "topPanel": {"sections": [{"fieldGroup": {"name": "Summary", "fields": [{"id": "assigned_user"}]}}]},
        "moreInfo": {"sections": [{"fieldGroup": {"name": "More info", "fields": [{"id": "summary"}]}}]},
    }
}
RULE_EXAMPLE = {
    "required": {
        "defaultValue": False,
        "conditions": [{"equalTo": {"operandOne": {"fieldId": "status"}, "operandTwo": {"stringValue": "closed"},
                                    "result": True}}],
    }
}


class JsonInputError(ValueError):
    pass


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise JsonInputError(f"{what} is not valid JSON: {exc}") from None


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


def _render(w: Web, name: str, /, *, err: ServiceError | None = None, members: tuple[str, ...] = (),
            errors: dict[str, list[str]] | None = None, top: list[str] | None = None, **context: Any) -> Response:
    by_member, top_errors = ({}, []) if err is None else form_member_errors(err, members)
    by_member |= errors or {}
    top_errors += top or []
    status = err.status if err is not None else (400 if by_member or top_errors else 200)
    return w.render(name, status=status, errors=by_member, top_errors=top_errors,
                    domain=context.pop("domain", None) or get_domain(w, w.path("domain_id")), **context)


def _back(w: Web, *parts: str, notice: str = "updated") -> Response:
    return redirect(url("d", w.path("domain_id"), "admin", *parts, notice=notice))


# -- overview and domain -----------------------------------------------------------------------


def overview(w: Web) -> Response:
    domain_id = w.path("domain_id")
    if w.request.method == "POST":
        if w.form.get("confirm") != w.path("domain_id"):
            return _render(w, "admin_overview.html", top=["Type the domain id to confirm deletion."],
                           counts=_counts(w, domain_id))
        try:
            w.invoke("DeleteDomain", domainId=domain_id)
        except ServiceError as err:
            return _render(w, "admin_overview.html", err=err, counts=_counts(w, domain_id))
        return redirect(url("domains", notice="domain-deleted"))
    return _render(w, "admin_overview.html", counts=_counts(w, domain_id))


def _counts(w: Web, domain_id: str) -> dict[str, int]:
    return {
        "fields": len(all_pages(w, "ListFields", "fields", domainId=domain_id, maxResults=100)),
        "templates": len(all_pages(w, "ListTemplates", "templates", domainId=domain_id, maxResults=100)),
        "layouts": len(all_pages(w, "ListLayouts", "layouts", domainId=domain_id, maxResults=100)),
        "rules": len(all_pages(w, "ListCaseRules", "caseRules", domainId=domain_id, maxResults=100)),
    }


# -- fields ------------------------------------------------------------------------------------


def fields_page(w: Web) -> Response:
    domain_id = w.path("domain_id")
    err = None
    if w.request.method == "POST":
        params: dict[str, Any] = {"domainId": domain_id, "name": w.form.get("name").strip(),
                                  "type": w.form.get("type")}
        if w.form.get("description").strip():
            params["description"] = w.form.get("description").strip()
        if params["type"] == "Text":
            params["attributes"] = {"text": {"isMultiline": w.form.get("multiline") == "true"}}
        try:
            created = w.invoke("CreateField", **params)
            return _back(w, "fields", created["fieldId"], notice="created-item")
        except ServiceError as exc:
            err = exc
    catalog = Catalog(w, domain_id)
    fields = sorted(catalog.fields.values(), key=lambda f: (f.namespace != "Custom", f.name.lower()))
    return _render(w, "admin_fields.html", err=err, members=("name", "type", "description"),
                   fields=fields, types=FIELD_TYPES, form=w.form)


def field_page(w: Web) -> Response:
    domain_id, field_id = w.path("domain_id"), w.path("field_id")
    err: ServiceError | None = None
    top: list[str] = []
    action = w.form.get("action")
    if w.request.method == "POST":
        try:
            if action == "delete":
                w.invoke("DeleteField", domainId=domain_id, fieldId=field_id)
                return _back(w, "fields", notice="deleted")
            if action == "options":
                top = _save_options(w, domain_id, field_id)
                if not top:
                    return _back(w, "fields", field_id)
            else:
                params: dict[str, Any] = {"domainId": domain_id, "fieldId": field_id,
                                          "name": w.form.get("name").strip(),
                                          "description": w.form.get("description").strip()}
                if "multiline" in w.form or w.form.get("type") == "Text":
                    params["attributes"] = {"text": {"isMultiline": w.form.get("multiline") == "true"}}
                w.invoke("UpdateField", **params)
                return _back(w, "fields", field_id)
        except ServiceError as exc:
            err = exc
    catalog = Catalog(w, domain_id)
    info = catalog.get(field_id)
    if info is None:
        return w.render("error.html", status=404, title="Not found", message=f"Field {field_id} does not exist")
    catalog.load_options([field_id])
    return _render(w, "admin_field.html", err=err, members=("name", "description"), top=top, field=info,
                   new_rows=range(NEW_OPTION_ROWS), posted=w.form if err and action != "options" else None)


def _save_options(w: Web, domain_id: str, field_id: str) -> list[str]:
    """BatchPutFieldOptions with every row of the options table; per-option errors come back."""
    options = []
    names, values = w.form.getlist("option_name"), w.form.getlist("option_value")
    active = set(w.form.getlist("option_active"))
    for i, (name, value) in enumerate(zip(names, values, strict=False)):
        if not name.strip() and not value.strip():
            continue
        options.append({"name": name.strip(), "value": value.strip(), "active": str(i) in active})
    if not options:
        return ["Add at least one option."]
    result = w.invoke("BatchPutFieldOptions", domainId=domain_id, fieldId=field_id, options=options)
    return [f"{e.get('valueId', '')}: {e.get('message', '')}" for e in result.get("errors") or []]


# -- templates ---------------------------------------------------------------------------------


def templates_page(w: Web) -> Response:
    domain_id = w.path("domain_id")
    err = None
    if w.request.method == "POST":
        params = {"domainId": domain_id, "name": w.form.get("name").strip()}
        if w.form.get("description").strip():
            params["description"] = w.form.get("description").strip()
        try:
            created = w.invoke("CreateTemplate", **params)
            return _back(w, "templates", created["templateId"], notice="created-item")
        except ServiceError as exc:
            err = exc
    templates = all_pages(w, "ListTemplates", "templates", domainId=domain_id, maxResults=100)
    return _render(w, "admin_templates.html", err=err, members=("name", "description"), templates=templates,
                   form=w.form)


def template_page(w: Web) -> Response:
    domain_id, template_id = w.path("domain_id"), w.path("template_id")
    err = None
    if w.request.method == "POST":
        try:
            if w.form.get("action") == "delete":
                w.invoke("DeleteTemplate", domainId=domain_id, templateId=template_id)
                return _back(w, "templates", notice="deleted")
            rules = [
                {"caseRuleId": rule, "fieldId": fid}
                for rule, fid in zip(w.form.getlist("rule_id"), w.form.getlist("rule_field"), strict=False)
                if rule and fid
            ]
            w.invoke(
                "UpdateTemplate", domainId=domain_id, templateId=template_id, name=w.form.get("name").strip(),
                description=w.form.get("description").strip(), status=w.form.get("status"),
                layoutConfiguration={"defaultLayout": w.form.get("layout")} if w.form.get("layout") else {},
                requiredFields=[{"fieldId": f} for f in w.form.getlist("required")], rules=rules,
            )
            return _back(w, "templates", template_id)
        except ServiceError as exc:
            err = exc
    template = w.invoke("GetTemplate", domainId=domain_id, templateId=template_id)
    catalog = Catalog(w, domain_id)
    fields = sorted((f for f in catalog.fields.values() if not f.deleted and f.id not in READ_ONLY),
                    key=lambda f: f.name.lower())
    layouts = all_pages(w, "ListLayouts", "layouts", domainId=domain_id, maxResults=100)
    rules = all_pages(w, "ListCaseRules", "caseRules", domainId=domain_id, maxResults=100)
    return _render(w, "admin_template.html", err=err, members=("name", "description", "status"),
                   template=template, fields=fields, layouts=layouts, rules=rules,
                   required={r["fieldId"] for r in template.get("requiredFields") or []},
                   attached=template.get("rules") or [], new_rows=range(NEW_RULE_ROWS))


# -- layouts and case rules (JSON definitions) -------------------------------------------------


def layouts_page(w: Web) -> Response:
    return _json_list(w, kind="layouts")


def rules_page(w: Web) -> Response:
    return _json_list(w, kind="rules")


# kind -> (list op, list key, id key, create op, get op, update op, delete op, id param, body member)
KINDS = {
    "layouts": ("ListLayouts", "layouts", "layoutId", "CreateLayout", "GetLayout", "UpdateLayout", "DeleteLayout",
                "layoutId", "content", LAYOUT_EXAMPLE),
    # There is no GetCaseRule: _get_rule() reads one rule through BatchGetCaseRule.
    "rules": ("ListCaseRules", "caseRules", "caseRuleId", "CreateCaseRule", "BatchGetCaseRule", "UpdateCaseRule",
              "DeleteCaseRule", "caseRuleId", "rule", RULE_EXAMPLE),
}


def _json_list(w: Web, kind: str) -> Response:
    list_op, key, id_key, create_op, _, _, _, _, member, example = KINDS[kind]
    domain_id = w.path("domain_id")
    err, errors = None, {}
    if w.request.method == "POST":
        params: dict[str, Any] = {"domainId": domain_id, "name": w.form.get("name").strip()}
        if kind == "rules" and w.form.get("description").strip():
            params["description"] = w.form.get("description").strip()
        try:
            params[member] = _json(w.form.get("definition"), "The definition")
            created = w.invoke(create_op, **params)
            return _back(w, kind, created[id_key], notice="created-item")
        except JsonInputError as exc:
            errors = {"definition": [str(exc)]}
        except ServiceError as exc:
            err = exc
    items = all_pages(w, list_op, key, domainId=domain_id, maxResults=100)
    definition = w.form.get("definition") if w.request.method == "POST" else _pretty(example)
    return _render(w, "admin_json_list.html", err=err, errors=errors, members=("name", "description", member),
                   kind=kind, items=items, id_key=id_key, definition=definition, form=w.form)


def _get_rule(w: Web, domain_id: str, rule_id: str) -> dict[str, Any] | None:
    got = w.invoke("BatchGetCaseRule", domainId=domain_id, caseRules=[{"id": rule_id}])
    return (got.get("caseRules") or [None])[0]


def json_item_page(w: Web, kind: str) -> Response:
    _, _, _, _, get_op, update_op, delete_op, id_param, member, _ = KINDS[kind]
    domain_id, item_id = w.path("domain_id"), w.path("item_id")
    err, errors = None, {}
    if w.request.method == "POST":
        try:
            if w.form.get("action") == "delete":
                w.invoke(delete_op, domainId=domain_id, **{id_param: item_id})
                return _back(w, kind, notice="deleted")
            params: dict[str, Any] = {"domainId": domain_id, id_param: item_id, "name": w.form.get("name").strip()}
            if kind == "rules":
                params["description"] = w.form.get("description").strip()
            params[member] = _json(w.form.get("definition"), "The definition")
            w.invoke(update_op, **params)
            return _back(w, kind, item_id)
        except JsonInputError as exc:
            errors = {"definition": [str(exc)]}
        except ServiceError as exc:
            err = exc
    item = _get_rule(w, domain_id, item_id) if kind == "rules" else w.invoke(get_op, domainId=domain_id,
                                                                             **{id_param: item_id})
    if item is None:
        return w.render("error.html", status=404, title="Not found", message=f"Case rule {item_id} does not exist")
    posted = w.request.method == "POST"
    definition = w.form.get("definition") if posted else _pretty(item.get(member))
    return _render(w, "admin_json_item.html", err=err, errors=errors, members=("name", "description", member),
                   kind=kind, item=item, item_id=item_id, definition=definition,
                   name=w.form.get("name") if posted else item.get("name", ""),
                   description=w.form.get("description") if posted else item.get("description") or "")


def layout_page(w: Web) -> Response:
    return json_item_page(w, "layouts")


def rule_page(w: Web) -> Response:
    return json_item_page(w, "rules")


# -- event configuration -----------------------------------------------------------------------


def events_page(w: Web) -> Response:
    domain_id = w.path("domain_id")
    err = None
    if w.request.method == "POST":
        case_data: dict[str, Any] = {"fields": [{"id": f} for f in w.form.getlist("fields")]}
        if w.form.get("autoIncludeFields"):
            case_data["autoIncludeFields"] = w.form.get("autoIncludeFields")
        try:
            w.invoke("PutCaseEventConfiguration", domainId=domain_id, eventBridge={
                "enabled": w.form.get("enabled") == "true",
                "includedData": {"caseData": case_data,
                                 "relatedItemData": {"includeContent": w.form.get("includeContent") == "true"}},
            })
            return _back(w, "events")
        except ServiceError as exc:
            err = exc
    config = w.invoke("GetCaseEventConfiguration", domainId=domain_id)["eventBridge"]
    included = config.get("includedData") or {}
    case_data = included.get("caseData") or {}
    catalog = Catalog(w, domain_id)
    fields = sorted((f for f in catalog.fields.values() if not f.deleted), key=lambda f: f.name.lower())
    return _render(w, "admin_events.html", err=err, config=config, fields=fields,
                   selected={f["id"] for f in case_data.get("fields") or []},
                   auto=case_data.get("autoIncludeFields") or "",
                   include_content=bool((included.get("relatedItemData") or {}).get("includeContent")),
                   message=error_text(err) if err else "")
