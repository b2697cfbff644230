"""Fixtures for the workspace tests: a live server on its own SQLite file, a seeded domain
(fields, options, a layout, case rules and a template), and a Chromium page through Playwright.

The browser is Debian's Chromium (`make test` installs it); Playwright's own browser downloads
are never used. Without Chromium or the playwright package the browser tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import LiveServer, make_client

CHROMIUM = os.environ.get("OPENCASES_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ACCOUNT = "123456789012"
REGION = "us-east-1"
AGENT = "arn:aws:connect:us-east-1:123456789012:instance/7d2c1e0a/agent/ana.silva"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class Seed:
    domain_id: str
    template_id: str
    fields: dict[str, str]
    client: Any
    cases: dict[str, str] = field(default_factory=dict)

    def new_case(self, title: str, **values: Any) -> str:
        entries = [{"id": "title", "value": {"stringValue": title}}]
        for key, value in values.items():
            fid = self.fields.get(key, key)
            union = {"booleanValue": value} if isinstance(value, bool) else (
                {"doubleValue": float(value)} if isinstance(value, (int, float)) else {"stringValue": value})
            if fid == "assigned_user":
                union = {"userArnValue": value}
            entries.append({"id": fid, "value": union})
        return str(self.client.create_case(domainId=self.domain_id, templateId=self.template_id, fields=entries,
                                           performedBy={"userArn": AGENT})["caseId"])

    def values(self, case_id: str) -> dict[str, Any]:
        ids = ["title", "status", "summary", *self.fields.values()]
        got = self.client.get_case(domainId=self.domain_id, caseId=case_id, fields=[{"id": i} for i in ids])
        names = {v: k for k, v in self.fields.items()}
        return {names.get(f["id"], f["id"]): f["value"] for f in got["fields"]}


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = Path(tmp_path_factory.mktemp("ui"))
    live = LiveServer(f"sqlite:///{workdir / 'ui.db'}", workdir).start()
    try:
        yield live
    finally:
        live.stop()


def seed_domain(endpoint: str, account: str = ACCOUNT, name: str = "Support desk") -> Seed:
    """A support domain whose template exercises every rule type and most field types."""
    client = make_client(endpoint, account=account, region=REGION)
    domain_id = client.create_domain(name=name)["domainId"]

    def new_field(name: str, type_: str, **kwargs: Any) -> str:
        return str(client.create_field(domainId=domain_id, name=name, type=type_, **kwargs)["fieldId"])

    def options(field_id: str, *pairs: tuple[str, str]) -> None:
        client.batch_put_field_options(domainId=domain_id, fieldId=field_id,
                                       options=[{"name": n, "value": v, "active": True} for n, v in pairs])

    fields = {
        "category": new_field("Category", "SingleSelect"),
        "subcategory": new_field("Subcategory", "SingleSelect"),
        "escalation": new_field("Escalation notes", "Text", attributes={"text": {"isMultiline": True}}),
        "runbook": new_field("Runbook link", "Url", description="Shown for technical cases only"),
        "due": new_field("Follow-up due", "DateTime"),
        "priority": new_field("Priority score", "Number"),
        "vip": new_field("VIP customer", "Boolean"),
    }
    options(fields["category"], ("Billing", "billing"), ("Technical", "technical"))
    options(fields["subcategory"], ("Invoice", "invoice"), ("Refund", "refund"), ("Outage", "outage"),
            ("Login issue", "login_issue"))
    options("status", ("Pending", "pending"))

    def is_technical(result: bool) -> dict[str, Any]:
        return {"equalTo": {"operandOne": {"fieldId": fields["category"]},
                            "operandTwo": {"stringValue": "technical"}, "result": result}}

    def rule(name: str, details: dict[str, Any]) -> str:
        return str(client.create_case_rule(domainId=domain_id, name=name, rule=details)["caseRuleId"])

    required = rule("Escalation notes for technical cases",
                    {"required": {"defaultValue": False, "conditions": [is_technical(True)]}})
    hidden = rule("Runbook only for technical cases",
                  {"hidden": {"defaultValue": True, "conditions": [is_technical(False)]}})
    narrowing = rule("Subcategories by category", {"fieldOptions": {
        "parentFieldId": fields["category"], "childFieldId": fields["subcategory"],
        "parentChildFieldOptionsMappings": [
            {"parentFieldOptionValue": "billing", "childFieldOptionValues": ["invoice", "refund"]},
            {"parentFieldOptionValue": "technical", "childFieldOptionValues": ["outage", "login_issue"]},
        ]}})
    layout = client.create_layout(domainId=domain_id, name="Support layout", content={"basic": {
        "topPanel": {"sections": [{"fieldGroup": {"name": "Classification", "fields": [
            {"id": fields["category"]}, {"id": fields["subcategory"]}, {"id": "assigned_user"}, {"id": fields["due"]},
        ]}}]},
        "moreInfo": {"sections": [{"fieldGroup": {"name": "Details", "fields": [
            {"id": "summary"}, {"id": fields["escalation"]}, {"id": fields["runbook"]}, {"id": fields["priority"]},
            {"id": fields["vip"]},
        ]}}]},
    }})["layoutId"]
    template_id = client.create_template(
        domainId=domain_id, name="Customer support", layoutConfiguration={"defaultLayout": layout},
        requiredFields=[{"fieldId": fields["category"]}], status="Active",
        rules=[{"caseRuleId": required, "fieldId": fields["escalation"]},
               {"caseRuleId": hidden, "fieldId": fields["runbook"]},
               {"caseRuleId": narrowing, "fieldId": fields["subcategory"]}],
    )["templateId"]
    return Seed(domain_id, template_id, fields, client)


@pytest.fixture(scope="module")
def seed(ui_server: LiveServer) -> Seed:
    return seed_domain(ui_server.endpoint)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install playwright")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.skip(f"Chromium not found at {CHROMIUM}: install Debian's chromium (apt-get install chromium; "
                    "`make test` does) to run the browser tests")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Any, ui_server: LiveServer, seed: Seed) -> Iterator[Any]:
    """A signed-in page in a browser context of its own (Paris time, to test UTC conversion)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Europe/Paris",
                                  locale="en-US", base_url=ui_server.endpoint)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    sign_in(tab, ACCOUNT)
    tab.wait_for_url(f"**/ui/d/{seed.domain_id}/cases")
    try:
        yield tab
    finally:
        context.close()


def sign_in(page: Any, account: str, user_arn: str = AGENT) -> None:
    """Open-auth sign-in; with one domain in the account the workspace opens its case list."""
    page.goto("/ui/signin")
    page.fill("#account", account)
    page.fill("#region", REGION)
    page.fill("#userArn", user_arn)
    page.click("button[type=submit]")
    page.wait_for_load_state()
