"""A boto3 scenario recorded call by call, run unchanged against the mock and a live server.

`record` runs the configuration scenario (domain, fields, options, layout, template, tags,
and some modeled errors) and, when the case operations exist, the case scenario (case,
update, comment, audit history). `masked` makes two recordings comparable: ids become
<id1>, <id2>... in order of first appearance (so references must agree, not just shapes),
times become <time>, and reference numbers <reference>.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from opencases import api  # noqa: F401  (importing it registers the handlers)
from opencases.services.registry import HANDLERS

CASE_OPERATIONS = ("CreateCase", "GetCase", "UpdateCase", "CreateRelatedItem", "GetCaseAuditEvents")


def missing_case_operations() -> list[str]:
    return [name for name in CASE_OPERATIONS if name not in HANDLERS]


Recording = list[tuple[str, Any]]


def _call(log: Recording, label: str, fn: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    try:
        out = fn(**kwargs)
    except ClientError as exc:
        err = exc.response
        log.append((label, {"error": err["Error"]["Code"], "status": err["ResponseMetadata"]["HTTPStatusCode"],
                            "message": err["Error"].get("Message")}))
        return {}
    out = {k: v for k, v in out.items() if k != "ResponseMetadata"}
    log.append((label, out))
    return out


def config_scenario(client: Any, log: Recording) -> dict[str, str]:
    c = client
    domain = _call(log, "CreateDomain", c.create_domain, name="Support")["domainId"]
    _call(log, "CreateDomain duplicate", c.create_domain, name="Support")
    _call(log, "GetDomain", c.get_domain, domainId=domain)
    _call(log, "GetDomain missing", c.get_domain, domainId="no-such-domain")
    priority = _call(log, "CreateField", c.create_field, domainId=domain, name="Priority", type="SingleSelect",
                     description="How urgent")["fieldId"]
    notes = _call(log, "CreateField text", c.create_field, domainId=domain, name="Notes", type="Text",
                  attributes={"text": {"isMultiline": True}})["fieldId"]
    _call(log, "BatchPutFieldOptions", c.batch_put_field_options, domainId=domain, fieldId=priority, options=[
        {"name": "High", "value": "high", "active": True},
        {"name": "Low", "value": "low", "active": True},
    ])
    _call(log, "ListFieldOptions", c.list_field_options, domainId=domain, fieldId=priority)
    _call(log, "BatchGetField", c.batch_get_field, domainId=domain,
          fields=[{"id": priority}, {"id": notes}, {"id": "no-such-field"}])
    _call(log, "ListFields", c.list_fields, domainId=domain, maxResults=100)
    layout = _call(log, "CreateLayout", c.create_layout, domainId=domain, name="Default", content={
        "basic": {"topPanel": {"sections": [{"fieldGroup": {"name": "Top", "fields": [{"id": priority}]}}]},
                  "moreInfo": {"sections": [{"fieldGroup": {"name": "More", "fields": [{"id": notes}]}}]}}})["layoutId"]
    _call(log, "GetLayout", c.get_layout, domainId=domain, layoutId=layout)
    template = _call(log, "CreateTemplate", c.create_template, domainId=domain, name="Incident",
                     description="Something broke", layoutConfiguration={"defaultLayout": layout},
                     requiredFields=[{"fieldId": priority}])["templateId"]
    _call(log, "GetTemplate", c.get_template, domainId=domain, templateId=template)
    _call(log, "UpdateTemplate", c.update_template, domainId=domain, templateId=template, status="Active")
    _call(log, "ListTemplates", c.list_templates, domainId=domain)
    arn = c.get_template(domainId=domain, templateId=template)["templateArn"]
    _call(log, "TagResource", c.tag_resource, arn=arn, tags={"team": "support"})
    _call(log, "ListTagsForResource", c.list_tags_for_resource, arn=arn)
    _call(log, "CreateTemplate invalid", c.create_template, domainId=domain, name="Bad",
          requiredFields=[{"fieldId": "no-such-field"}])
    return {"domain": domain, "priority": priority, "notes": notes, "layout": layout, "template": template}


def case_scenario(client: Any, log: Recording, ids: dict[str, str]) -> None:
    c = client
    domain, priority = ids["domain"], ids["priority"]
    case = _call(log, "CreateCase", c.create_case, domainId=domain, templateId=ids["template"], fields=[
        {"id": "title", "value": {"stringValue": "Printer on fire"}},
        {"id": priority, "value": {"stringValue": "high"}},
    ])["caseId"]
    wanted = [{"id": "title"}, {"id": "status"}, {"id": priority}]
    _call(log, "GetCase", c.get_case, domainId=domain, caseId=case, fields=wanted)
    _call(log, "UpdateCase", c.update_case, domainId=domain, caseId=case, fields=[
        {"id": priority, "value": {"stringValue": "low"}},
        {"id": "status", "value": {"stringValue": "closed"}},
    ])
    _call(log, "GetCase updated", c.get_case, domainId=domain, caseId=case, fields=wanted)
    _call(log, "CreateRelatedItem", c.create_related_item, domainId=domain, caseId=case, type="Comment",
          content={"comment": {"body": "Turned it off and on again", "contentType": "Text/Plain"}})
    _call(log, "GetCaseAuditEvents", c.get_case_audit_events, domainId=domain, caseId=case)


def record(client: Any, with_cases: bool | None = None) -> Recording:
    log: Recording = []
    ids = config_scenario(client, log)
    if with_cases is None:
        with_cases = not missing_case_operations()
    if with_cases:
        case_scenario(client, log, ids)
    return log


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def masked(recording: Recording) -> Recording:
    names: dict[str, str] = {}

    def name_id(m: re.Match[str]) -> str:
        return names.setdefault(m.group(0).lower(), f"<id{len(names) + 1}>")

    def walk(value: Any) -> Any:
        if isinstance(value, datetime):
            return "<time>"
        if isinstance(value, dict):
            if "reference_number" in (value.get("id"), value.get("eventFieldId")):
                # Reference numbers are random; the key names say where one is.
                return {k: v if k in ("id", "eventFieldId") else "<reference>" for k, v in value.items()}
            return {walk(k): walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str):
            if _ISO_TIME.match(value):
                return "<time>"
            return _UUID.sub(name_id, value)
        return value

    return [(label, walk(out)) for label, out in recording]
