"""What the case page and the new-case form share: a template with its layout and case rules,
the form's field views, reading the posted values, and the case-rule check.

Case rules are evaluated twice, by the same semantics: in the browser (static/case.js, from the
rules embedded in the page as JSON) for live feedback, and here on save with the evaluator the
API uses (services/case_rules_engine.py) when the server does not enforce them itself, so a
save that breaks a Required or FieldOptions rule is refused even without the script.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opencases.errors import ServiceError
from opencases.services import case_rules_engine
from opencases.ui.casefields import (
    READ_ONLY,
    Catalog,
    FieldInfo,
    FieldInputError,
    Section,
    input_value,
    is_blank,
    layout_sections,
    parse_input,
)
from opencases.ui.web import Form, Web, humanize, place_errors


@dataclass
class TemplateBundle:
    template: dict[str, Any]
    layout: dict[str, Any] | None
    # [{caseRuleId, fieldId, rule}]: the shape case_rules_engine.violations() takes.
    rules: list[dict[str, Any]]
    required: list[str]
    sections: list[Section]

    @property
    def id(self) -> str:
        return str(self.template["templateId"])

    def editable_ids(self, catalog: Catalog) -> list[str]:
        ids = ["title", "status"] + [fid for s in self.sections for fid in s.field_ids]
        return [fid for fid in dict.fromkeys(ids) if fid in catalog.fields and fid not in READ_ONLY]


def load_bundle(w: Web, domain_id: str, template_id: str, catalog: Catalog) -> TemplateBundle:
    template = w.invoke("GetTemplate", domainId=domain_id, templateId=template_id)
    layout_id = (template.get("layoutConfiguration") or {}).get("defaultLayout")
    layout = None
    if layout_id:
        try:
            layout = w.invoke("GetLayout", domainId=domain_id, layoutId=layout_id)
        except ServiceError:
            # A layout that cannot be read falls back to the default order, as no layout does.
            layout = None
    refs = template.get("rules") or []
    rules: list[dict[str, Any]] = []
    for start in range(0, len(refs), 50):
        chunk = refs[start:start + 50]
        got = w.invoke("BatchGetCaseRule", domainId=domain_id, caseRules=[{"id": r["caseRuleId"]} for r in chunk])
        by_id = {r["caseRuleId"]: r for r in got.get("caseRules") or [] if not r.get("deleted")}
        rules += [
            {"caseRuleId": r["caseRuleId"], "fieldId": r.get("fieldId"), "rule": by_id[r["caseRuleId"]]["rule"]}
            for r in chunk if r["caseRuleId"] in by_id
        ]
    required = ["title"] + [r["fieldId"] for r in template.get("requiredFields") or []]
    sections = layout_sections(layout, required, catalog)
    catalog.load_options(["status"] + [fid for s in sections for fid in s.field_ids])
    return TemplateBundle(template, layout, rules, list(dict.fromkeys(required)), sections)


@dataclass
class FieldView:
    info: FieldInfo
    value: str
    required: bool
    errors: list[str] = field(default_factory=list)
    options: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.info.id


def field_view(
    info: FieldInfo, value: str, bundle: TemplateBundle, errors: dict[str, list[str]]
) -> FieldView:
    options: list[dict[str, Any]] = []
    if info.type == "SingleSelect":
        options = [o for o in info.options if o.get("active", True)]
        current = next((o for o in info.options if o["value"] == value), None)
        # A case may hold an option since made inactive: show it rather than lose it.
        if current is not None and not current.get("active", True):
            options.append({"name": f"{current['name']} (inactive)", "value": current["value"], "active": False})
    return FieldView(info, value, info.id in bundle.required, errors.get(info.id, []), options)


def section_views(
    catalog: Catalog,
    bundle: TemplateBundle,
    values: dict[str, dict[str, Any]],
    posted: Form | None,
    errors: dict[str, list[str]],
) -> tuple[dict[str, FieldView], list[tuple[str, list[FieldView]]]]:
    """The head (title, status) and the sections, with each control's starting value: what
    was posted when a refused form is shown again, else the case's value."""

    def start(info: FieldInfo) -> str:
        if posted is not None and (f"f.{info.id}" in posted or f"b.{info.id}" in posted):
            return posted.get(f"f.{info.id}")
        return input_value(info, values.get(info.id))

    head: dict[str, FieldView] = {fid: field_view(catalog.fields[fid], start(catalog.fields[fid]), bundle, errors)
            for fid in ("title", "status") if fid in catalog.fields}
    sections = []
    for section in bundle.sections:
        views = [field_view(catalog.fields[fid], start(catalog.fields[fid]), bundle, errors)
                 for fid in section.field_ids if fid not in READ_ONLY]
        sections.append((section.name, views))
    return head, sections


def posted_values(
    catalog: Catalog, bundle: TemplateBundle, form: Form
) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """field id -> the value union posted for it (emptyValue for a cleared control), and the
    inputs that do not parse."""
    out: dict[str, dict[str, Any]] = {}
    errors: dict[str, list[str]] = {}
    for fid in bundle.editable_ids(catalog):
        try:
            value = parse_input(catalog.fields[fid], form)
        except FieldInputError as exc:
            errors[fid] = [str(exc)]
            continue
        if value is not None:
            out[fid] = value
    return out, errors


def rule_problems(w: Web, bundle: TemplateBundle, values: dict[str, dict[str, Any]]) -> list[str]:
    """Case-rule violations of the resulting values, when the API will not check them itself."""
    if w.ui.settings.enforce_case_rules:
        return []
    present = {fid: v for fid, v in values.items() if not is_blank(v)}
    return case_rules_engine.violations(bundle.rules, present)


def errors_for(
    messages: list[str], request_order: list[str], catalog: Catalog
) -> tuple[dict[str, list[str]], list[str]]:
    """API or rule messages -> (field id -> messages, top messages), with field names for ids."""
    by_field: dict[str, list[str]] = {}
    top: list[str] = []
    names = catalog.names()
    for message in messages:
        fields, rest = place_errors(message, request_order, catalog.fields)
        for fid, texts in fields.items():
            by_field.setdefault(fid, []).extend(humanize(t, names) for t in texts)
        top += [humanize(t, names) for t in rest]
    return by_field, top


def rules_payload(catalog: Catalog, bundle: TemplateBundle, values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What static/case.js needs to evaluate the rules: the rules, the always-required fields,
    each field's type, and the case's values for fields that have no control on the page."""
    return {
        "rules": bundle.rules,
        "required": bundle.required,
        "types": {fid: info.type for fid, info in catalog.fields.items()},
        "values": {fid: v for fid, v in values.items() if not is_blank(v)},
        "names": {fid: info.name for fid, info in catalog.fields.items()},
    }
