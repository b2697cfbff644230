"""Fields as the case forms see them: the domain's field catalog (read through the API), the
sections a template's layout puts them in, the control that fits each type, and the
conversion between FieldValueUnion values and form inputs.

Form inputs are named `f.<fieldId>`; a Boolean's checkbox also posts `b.<fieldId>` so that an
unchecked box (which posts nothing) can be told from a field that was not on the form.
DateTime inputs post the ISO-8601 UTC value the page's script computed from the
datetime-local control (browsers give local wall time, the API stores UTC).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from opencases.services.system_fields import READ_ONLY_FIELDS
from opencases.ui.web import Form, Web, as_datetime, fmt_time, iso_time

# Without a layout "system fields display in a default order" (admin guide, case layouts).
DEFAULT_TOP = ["assigned_user", "assigned_queue", "case_reason", "customer_id"]
DEFAULT_MORE = ["summary"]
# Shown read-only beside the form, in this order.
DETAIL_FIELDS = [
    "reference_number", "created_datetime", "created_by", "last_updated_datetime", "last_updated_user",
    "last_closed_datetime", "last_reopened_datetime", "next_sla_breach_datetime", "case_id",
]
# Fields the service sets; never editable, even when a layout lists them.
READ_ONLY = READ_ONLY_FIELDS | {"reference_number"}

CONTROL = {
    "Text": "text",
    "Number": "number",
    "Boolean": "checkbox",
    "DateTime": "datetime",
    "SingleSelect": "select",
    "Url": "url",
    "User": "user",
}


@dataclass
class FieldInfo:
    id: str
    name: str
    type: str
    namespace: str
    description: str = ""
    multiline: bool = False
    deleted: bool = False
    options: list[dict[str, Any]] = field(default_factory=list)

    @property
    def control(self) -> str:
        if self.type == "Text" and self.multiline:
            return "textarea"
        return CONTROL.get(self.type, "text")


class FieldInputError(ValueError):
    pass


class Catalog:
    """The domain's fields (ListFields + BatchGetField), with options loaded on demand."""

    def __init__(self, w: Web, domain_id: str) -> None:
        self.w = w
        self.domain_id = domain_id
        ids: list[str] = []
        token: str | None = None
        while True:
            page = w.invoke("ListFields", domainId=domain_id, maxResults=100, **({"nextToken": token} if token else {}))
            ids += [f["fieldId"] for f in page["fields"]]
            token = page.get("nextToken")
            if not token:
                break
        self.fields: dict[str, FieldInfo] = {}
        for start in range(0, len(ids), 50):
            got = w.invoke("BatchGetField", domainId=domain_id, fields=[{"id": i} for i in ids[start:start + 50]])
            for f in got["fields"]:
                text = (f.get("attributes") or {}).get("text") or {}
                self.fields[f["fieldId"]] = FieldInfo(
                    f["fieldId"], f["name"], f["type"], f["namespace"], f.get("description") or "",
                    bool(text.get("isMultiline")), bool(f.get("deleted")),
                )
        self._options_loaded: set[str] = set()

    def get(self, field_id: str) -> FieldInfo | None:
        return self.fields.get(field_id)

    def names(self) -> dict[str, str]:
        return {fid: f.name for fid, f in self.fields.items()}

    def load_options(self, field_ids: list[str]) -> None:
        for fid in field_ids:
            info = self.fields.get(fid)
            if info is None or info.type != "SingleSelect" or fid in self._options_loaded:
                continue
            options: list[dict[str, Any]] = []
            token: str | None = None
            while True:
                page = self.w.invoke("ListFieldOptions", domainId=self.domain_id, fieldId=fid, maxResults=100,
                                     **({"nextToken": token} if token else {}))
                options += page["options"]
                token = page.get("nextToken")
                if not token:
                    break
            info.options = options
            self._options_loaded.add(fid)

    def option_name(self, field_id: str, value: str) -> str:
        info = self.fields.get(field_id)
        for option in info.options if info else []:
            if option["value"] == value:
                return str(option["name"])
        return value


@dataclass
class Section:
    name: str
    field_ids: list[str]


def layout_sections(layout: dict[str, Any] | None, extra: list[str], catalog: Catalog) -> list[Section]:
    """[top panel, more info] from a layout's content, or the default order without one.
    `extra` (template-required fields the layout leaves out) join the top panel: an agent
    must be able to fill what the template requires."""
    sections: list[Section] = []
    basic = ((layout or {}).get("content") or {}).get("basic")
    if basic:
        for key, default_name in (("topPanel", "Top panel"), ("moreInfo", "More info")):
            for section in (basic.get(key) or {}).get("sections") or []:
                group = section.get("fieldGroup") or {}
                ids = [f["id"] for f in group.get("fields") or []]
                sections.append(Section(group.get("name") or default_name, ids))
    else:
        sections = [Section("Top panel", list(DEFAULT_TOP)), Section("More info", list(DEFAULT_MORE))]
    while len(sections) < 1:
        sections.append(Section("Top panel", []))
    placed = {fid for s in sections for fid in s.field_ids}
    sections[0].field_ids += [fid for fid in extra if fid not in placed]
    for section in sections:
        # Title and status have their own place at the head of the page.
        section.field_ids = [
            fid for fid in dict.fromkeys(section.field_ids)
            if fid in catalog.fields and fid not in ("title", "status") and not catalog.fields[fid].deleted
        ]
    return sections


# -- values <-> inputs -------------------------------------------------------------------------


def is_blank(value: dict[str, Any] | None) -> bool:
    return not value or "emptyValue" in value or value.get("stringValue") == ""


def input_value(info: FieldInfo, value: dict[str, Any] | None) -> str:
    """The string a form control starts with."""
    if is_blank(value):
        return ""
    assert value is not None
    if "doubleValue" in value:
        number = float(value["doubleValue"])
        return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    if "booleanValue" in value:
        return "true" if value["booleanValue"] else ""
    if "userArnValue" in value:
        return str(value["userArnValue"])
    if info.type == "DateTime":
        return iso_time(value.get("stringValue"))
    return str(value.get("stringValue", ""))


def display_value(catalog: Catalog, field_id: str, value: dict[str, Any] | None) -> str:
    """A value as text for people (option names, readable times)."""
    if is_blank(value):
        return ""
    assert value is not None
    info = catalog.get(field_id)
    if "booleanValue" in value:
        return "Yes" if value["booleanValue"] else "No"
    if info is not None and info.type == "DateTime":
        return fmt_time(value.get("stringValue")) or str(value.get("stringValue"))
    if info is not None and info.type == "SingleSelect" and "stringValue" in value:
        return catalog.option_name(field_id, value["stringValue"])
    return input_value(info or FieldInfo(field_id, field_id, "Text", "Custom"), value)


def parse_input(info: FieldInfo, form: Form) -> dict[str, Any] | None:
    """The value union a form posts for a field; None when the field was not on the form."""
    name = f"f.{info.id}"
    if info.type == "Boolean":
        if f"b.{info.id}" not in form:
            return None
        return {"booleanValue": form.get(name) == "true"}
    if name not in form:
        return None
    # Browsers submit a textarea's line breaks as CRLF.
    raw = form.get(name).strip() if info.type != "Text" else form.get(name).replace("\r\n", "\n")
    if info.type == "Text" and not raw.strip():
        raw = ""
    if raw == "":
        return {"emptyValue": {}}
    if info.type == "Number":
        try:
            number = float(raw)
        except ValueError:
            raise FieldInputError("Enter a number.") from None
        if not math.isfinite(number):
            raise FieldInputError("Enter a finite number.")
        return {"doubleValue": number}
    if info.type == "User":
        return {"userArnValue": raw}
    if info.type == "DateTime":
        moment = as_datetime(raw)
        if moment is None:
            raise FieldInputError("Enter a date and time.")
        return {"stringValue": iso_time(moment)}
    return {"stringValue": raw}


def same_value(info: FieldInfo, old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    if is_blank(old) and is_blank(new):
        return True
    if is_blank(old) != is_blank(new):
        # An unchecked box where there was no value is still "no value".
        return info.type == "Boolean" and is_blank(old) and new.get("booleanValue") is False
    assert old is not None
    if info.type == "DateTime":
        return as_datetime(old.get("stringValue")) == as_datetime(new.get("stringValue"))
    if info.type == "Number":
        return float(old.get("doubleValue", math.nan)) == float(new.get("doubleValue", math.nan))
    return input_value(info, old) == input_value(info, new)
