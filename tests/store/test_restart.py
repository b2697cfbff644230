"""Durability: everything the configuration API wrote is there, unchanged, after a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support import LiveServer, make_client


def _snapshot(client: Any, domain_id: str) -> dict[str, Any]:
    """Every configuration resource of a domain, as the API returns it."""

    def strip(resp: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in resp.items() if k != "ResponseMetadata"}

    fields = client.list_fields(domainId=domain_id)["fields"]
    field_ids = [f["fieldId"] for f in fields]
    layouts = client.list_layouts(domainId=domain_id)["layouts"]
    templates = client.list_templates(domainId=domain_id)["templates"]
    rules = client.list_case_rules(domainId=domain_id)["caseRules"]
    domain = strip(client.get_domain(domainId=domain_id))
    return {
        "domain": domain,
        "fields": strip(client.batch_get_field(domainId=domain_id, fields=[{"id": f} for f in field_ids[:50]])),
        "options": {
            f["fieldId"]: client.list_field_options(domainId=domain_id, fieldId=f["fieldId"])["options"]
            for f in fields
            if f["type"] == "SingleSelect"
        },
        "layouts": [strip(client.get_layout(domainId=domain_id, layoutId=x["layoutId"])) for x in layouts],
        "templates": [strip(client.get_template(domainId=domain_id, templateId=x["templateId"])) for x in templates],
        "rules": strip(
            client.batch_get_case_rule(domainId=domain_id, caseRules=[{"id": r["caseRuleId"]} for r in rules])
        )
        if rules
        else {},
        "events": strip(client.get_case_event_configuration(domainId=domain_id)),
        "tags": {
            arn: client.list_tags_for_resource(arn=arn)["tags"]
            for arn in [domain["domainArn"], *[x["layoutArn"] for x in layouts], *[x["templateArn"] for x in templates]]
        },
    }


def test_configuration_survives_restart(database_url: str, tmp_path: Path) -> None:
    """On each backend (the `database_url` fixture runs SQLite and, when set, PostgreSQL)."""
    live = LiveServer(database_url, tmp_path).start()
    try:
        client = make_client(live.endpoint)
        domain_id = client.create_domain(name="durable")["domainId"]
        priority = client.create_field(domainId=domain_id, name="Priority", type="SingleSelect")["fieldId"]
        client.batch_put_field_options(
            domainId=domain_id,
            fieldId=priority,
            options=[
                {"name": "High", "value": "high", "active": True},
                {"name": "Low", "value": "low", "active": False},
            ],
        )
        notes = client.create_field(
            domainId=domain_id, name="Notes", type="Text", attributes={"text": {"isMultiline": True}}
        )["fieldId"]
        gone = client.create_field(domainId=domain_id, name="Gone", type="Number")["fieldId"]
        client.delete_field(domainId=domain_id, fieldId=gone)
        layout = client.create_layout(
            domainId=domain_id,
            name="L",
            content={
                "basic": {
                    "topPanel": {"sections": [{"fieldGroup": {"name": "Top", "fields": [{"id": priority}]}}]},
                    "moreInfo": {"sections": [{"fieldGroup": {"name": "More", "fields": [{"id": notes}]}}]},
                }
            },
        )
        rule = client.create_case_rule(
            domainId=domain_id,
            name="R",
            rule={
                "required": {
                    "defaultValue": False,
                    "conditions": [
                        {
                            "equalTo": {
                                "operandOne": {"fieldId": "status"},
                                "operandTwo": {"stringValue": "open"},
                                "result": True,
                            }
                        }
                    ],
                }
            },
        )
        template = client.create_template(
            domainId=domain_id,
            name="T",
            description="d",
            layoutConfiguration={"defaultLayout": layout["layoutId"]},
            requiredFields=[{"fieldId": priority}],
            rules=[{"caseRuleId": rule["caseRuleId"], "fieldId": notes}],
            tagPropagationConfigurations=[{"resourceType": "Cases", "tagMap": {"team": "blue"}}],
        )
        client.tag_resource(arn=template["templateArn"], tags={"env": "test"})
        client.tag_resource(arn=layout["layoutArn"], tags={"k": "v"})
        client.put_case_event_configuration(
            domainId=domain_id,
            eventBridge={
                "enabled": True,
                "includedData": {
                    "caseData": {"fields": [{"id": priority}]},
                    "relatedItemData": {"includeContent": True},
                },
            },
        )
        before = _snapshot(client, domain_id)
        live.restart()
        after = _snapshot(client, domain_id)  # same port, same account
        assert after == before
        assert before["options"][priority][1]["active"] is False
        assert before["tags"][template["templateArn"]] == {"env": "test"}
    finally:
        live.stop()
