"""Administration pages over plain HTTP: every form is one API call, and the API's validation
errors come back next to the input they concern."""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import LiveServer, make_client
from tests.ui.test_auth import csrf_of

ADMIN_ACCOUNT = "313131313131"


@pytest.fixture
def http(ui_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ui_server.endpoint) as client:
        token = csrf_of(client.get("/ui/signin").text)
        done = client.post("/ui/signin", data={"csrf": token, "account": ADMIN_ACCOUNT, "region": "us-west-2"})
        assert done.status_code == 303
        yield client


def post(http: httpx.Client, path: str, data: dict[str, Any]) -> httpx.Response:
    """POST a form the way the page would: with the CSRF token of the page at `path`."""
    token = csrf_of(http.get(path).text)
    return http.post(path, data={"csrf": token, **data})


def error_near(html: str, input_id: str) -> str:
    """The text of the error paragraph in the same .field as the input with `input_id`."""
    match = re.search(rf'id="{input_id}".*?<p class="field-error"[^>]*>(.*?)</p>', html, re.S)
    assert match, f"no error slot after #{input_id}"
    return html_lib.unescape(match.group(1))


def test_configure_a_domain(http: httpx.Client, ui_server: LiveServer) -> None:
    api = make_client(ui_server.endpoint, account=ADMIN_ACCOUNT, region="us-west-2")
    created = post(http, "/ui/domains", {"name": "Admin desk"})
    assert created.status_code == 303
    domain_id = created.headers["location"].split("/")[3]
    base = f"/ui/d/{domain_id}/admin"

    refused = post(http, f"{base}/fields", {"name": "", "type": "Text"})
    assert refused.status_code == 400
    assert "name" in error_near(refused.text, "name")
    made = post(http, f"{base}/fields", {"name": "Product", "type": "SingleSelect", "description": "What it is about"})
    assert made.status_code == 303
    field_id = made.headers["location"].split("/")[-1].split("?")[0]
    options = post(http, f"{base}/fields/{field_id}", {
        "action": "options", "option_name": ["Phone", "Laptop", ""], "option_value": ["phone", "laptop", ""],
        "option_active": ["0", "1"]})
    assert options.status_code == 303
    got = api.list_field_options(domainId=domain_id, fieldId=field_id)["options"]
    assert [(o["value"], o["active"]) for o in got] == [("phone", True), ("laptop", True)]

    bad_json = post(http, f"{base}/layouts", {"name": "Main", "definition": "{not json"})
    assert bad_json.status_code == 400
    assert "not valid JSON" in error_near(bad_json.text, "definition")
    content = {"basic": {"topPanel": {"sections": [{"fieldGroup": {"name": "Top", "fields": [{"id": field_id}]}}]},
                         "moreInfo": {"sections": []}}}
    layout = post(http, f"{base}/layouts", {"name": "Main", "definition": json.dumps(content)})
    assert layout.status_code == 303, layout.text
    layout_id = layout.headers["location"].split("/")[-1].split("?")[0]

    wrong_rule = post(http, f"{base}/rules", {"name": "Bad", "definition": json.dumps({"required": {}})})
    assert wrong_rule.status_code == 400
    assert "defaultValue" in wrong_rule.text
    rule = post(http, f"{base}/rules", {"name": "Product when open", "definition": json.dumps(
        {"required": {"defaultValue": False, "conditions": [{"equalTo": {
            "operandOne": {"fieldId": "status"}, "operandTwo": {"stringValue": "open"}, "result": True}}]}})})
    assert rule.status_code == 303
    rule_id = rule.headers["location"].split("/")[-1].split("?")[0]

    template = post(http, f"{base}/templates", {"name": "Hardware"})
    assert template.status_code == 303
    template_id = template.headers["location"].split("/")[-1].split("?")[0]
    saved = post(http, f"{base}/templates/{template_id}", {
        "action": "save", "name": "Hardware", "description": "Device issues", "status": "Active",
        "layout": layout_id, "required": [field_id], "rule_id": [rule_id, ""], "rule_field": [field_id, ""]})
    assert saved.status_code == 303, saved.text
    got_template = api.get_template(domainId=domain_id, templateId=template_id)
    assert got_template["layoutConfiguration"]["defaultLayout"] == layout_id
    assert got_template["requiredFields"] == [{"fieldId": field_id}]
    assert got_template["rules"] == [{"caseRuleId": rule_id, "fieldId": field_id}]

    events = post(http, f"{base}/events", {"enabled": "true", "autoIncludeFields": "System", "fields": [field_id],
                                           "includeContent": "true"})
    assert events.status_code == 303
    bridge = api.get_case_event_configuration(domainId=domain_id)["eventBridge"]
    assert bridge["enabled"] is True
    assert bridge["includedData"]["caseData"]["fields"] == [{"id": field_id}]
    assert bridge["includedData"]["relatedItemData"]["includeContent"] is True

    overview = http.get(base)
    assert overview.status_code == 200 and "Admin desk" in overview.text
