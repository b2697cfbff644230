"""Small fixtures of real resources for the reliability checks and the bench scripts."""

from __future__ import annotations

from typing import Any


def text(field_id: str, value: str) -> dict[str, Any]:
    return {"id": field_id, "value": {"stringValue": value}}


def seed_known(client: Any) -> dict[str, list[str]]:
    """A domain with a field, layout, template, case rule, case and comment: the ids by label
    name, for the fuzzer to aim at real resources."""
    domain_id = client.create_domain(name="fuzz")["domainId"]
    field = client.create_field(domainId=domain_id, name="Notes", type="Text")
    layout = client.create_layout(
        domainId=domain_id, name="L",
        content={"basic": {"topPanel": {"sections": [{"fieldGroup": {"fields": [{"id": field["fieldId"]}]}}]}}},
    )
    template = client.create_template(domainId=domain_id, name="T")
    case = client.create_case(domainId=domain_id, templateId=template["templateId"], fields=[text("title", "fuzz")])
    item = client.create_related_item(
        domainId=domain_id, caseId=case["caseId"], type="Comment",
        content={"comment": {"body": "hello", "contentType": "Text/Plain"}},
    )
    rule = client.create_case_rule(
        domainId=domain_id, name="R",
        rule={"required": {"defaultValue": False, "conditions": [{"equalTo": {
            "operandOne": {"fieldId": "status"}, "operandTwo": {"stringValue": "open"}, "result": True}}]}},
    )
    domain_arn = client.get_domain(domainId=domain_id)["domainArn"]
    return {
        "domainId": [domain_id],
        "caseId": [case["caseId"]],
        "fieldId": [field["fieldId"], "title", "status"],
        "templateId": [template["templateId"]],
        "layoutId": [layout["layoutId"]],
        "relatedItemId": [item["relatedItemId"]],
        "caseRuleId": [rule["caseRuleId"]],
        "arn": [domain_arn, template["templateArn"], case["caseArn"]],
        "id": ["title", "status", field["fieldId"]],
    }
