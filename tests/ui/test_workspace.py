"""The agent workspace in a real browser: create and edit cases, case rules applied live and on
save, comments, the audit timeline, search, and escaping of user data. Also writes the
screenshots the README shows (docs/screenshots/)."""

from __future__ import annotations

import re
from typing import Any

from tests.support import LiveServer
from tests.ui.conftest import AGENT, SCREENSHOTS, Seed, seed_domain, sign_in

DEMO_ACCOUNT = "210987654321"


def box(page: Any, field_id: str) -> Any:
    return page.locator(f'.field[data-field-id="{field_id}"]')


def select_values(page: Any, field_id: str) -> list[str]:
    return page.eval_on_selector_all(f'[name="f.{field_id}"] option', "els => els.map(e => e.value)")


def open_case(page: Any, seed: Seed, case_id: str) -> None:
    page.goto(f"/ui/d/{seed.domain_id}/cases/{case_id}")
    page.wait_for_selector("#case-form")


def test_create_case_from_template(page: Any, seed: Seed) -> None:
    page.click("text=New case")
    # One active template: the form opens directly, with the template's required field marked.
    page.wait_for_selector("#case-form")
    assert box(page, seed.fields["category"]).locator(".req").is_visible()
    page.fill('[name="f.title"]', "Invoice shows the wrong VAT rate")
    page.select_option(f'[name="f.{seed.fields["category"]}"]', "billing")
    page.select_option(f'[name="f.{seed.fields["subcategory"]}"]', "invoice")
    page.fill('[name="f.summary"]', "Customer was charged 23% instead of 6%.")
    page.click("#save")
    page.wait_for_selector(".notice")
    assert page.inner_text(".notice") == "Case created."
    assert page.inner_text("#case-title") == "Invoice shows the wrong VAT rate"
    case_id = page.url.rstrip("/").split("/")[-1].split("?")[0]
    values = seed.values(case_id)
    assert values["category"] == {"stringValue": "billing"}
    assert values["subcategory"] == {"stringValue": "invoice"}
    assert values["status"] == {"stringValue": "open"}


def test_edit_fields_and_audit_timeline(page: Any, seed: Seed) -> None:
    case_id = seed.new_case("Refund request", category="billing")
    open_case(page, seed, case_id)
    page.fill('[name="f.title"]', "Refund request for order 4411")
    page.fill(f'[name="f.{seed.fields["priority"]}"]', "3")
    page.check(f'[name="f.{seed.fields["vip"]}"]')
    # Browser local time is Europe/Paris (UTC+1 in January): the API gets UTC.
    page.fill(f'#f-{seed.fields["due"]}', "2027-01-15T09:30")
    page.click("#save")
    page.wait_for_selector(".notice")
    assert page.inner_text(".notice") == "Case saved."
    values = seed.values(case_id)
    assert values["title"] == {"stringValue": "Refund request for order 4411"}
    assert values["priority"] == {"doubleValue": 3.0}
    assert values["vip"] == {"booleanValue": True}
    assert values["due"] == {"stringValue": "2027-01-15T08:30:00.000Z"}
    # The datetime-local control shows the stored UTC value in local time again.
    assert page.input_value(f'#f-{seed.fields["due"]}') == "2027-01-15T09:30"

    newest = page.locator(".timeline .event").first
    assert "updated the case" in newest.inner_text()
    row = newest.locator("tr", has_text="Title")
    assert row.locator(".old").inner_text() == "Refund request"
    assert row.locator(".new").inner_text() == "Refund request for order 4411"
    assert newest.locator("tr", has_text="Priority score").locator(".new").inner_text() == "3"
    assert "ana.silva" in newest.locator(".who").inner_text()


def test_required_rule_blocks_save(page: Any, seed: Seed) -> None:
    case_id = seed.new_case("Cannot log in after password reset", category="billing")
    open_case(page, seed, case_id)
    escalation = box(page, seed.fields["escalation"])
    assert not escalation.locator(".req").is_visible()
    page.select_option(f'[name="f.{seed.fields["category"]}"]', "technical")
    assert escalation.locator(".req").is_visible()
    page.click("#save")
    assert escalation.locator(".field-error").inner_text() == "This field is required."
    assert "Fill in the required fields" in page.inner_text("#form-status")
    assert seed.values(case_id)["category"] == {"stringValue": "billing"}, "the browser must not have saved"

    # The server refuses it too (no script involved), with the message next to the field.
    csrf = page.input_value('#case-form [name="csrf"]')
    response = page.request.post(f"/ui/d/{seed.domain_id}/cases/{case_id}", form={
        "csrf": csrf, "f.title": "Cannot log in after password reset", "f.status": "open",
        f"f.{seed.fields['category']}": "technical", f"f.{seed.fields['escalation']}": "",
    })
    assert response.status == 400
    page.set_content(response.text())
    message = box(page, seed.fields["escalation"]).locator(".field-error").inner_text()
    assert "Escalation notes" in message and "required" in message
    assert seed.values(case_id)["category"] == {"stringValue": "billing"}

    open_case(page, seed, case_id)
    page.select_option(f'[name="f.{seed.fields["category"]}"]', "technical")
    page.fill(f'[name="f.{seed.fields["escalation"]}"]', "Tier 2 to reset the MFA device.")
    page.click("#save")
    page.wait_for_selector(".notice")
    values = seed.values(case_id)
    assert values["category"] == {"stringValue": "technical"}
    assert values["escalation"] == {"stringValue": "Tier 2 to reset the MFA device."}


def test_hidden_rule_hides_field(page: Any, seed: Seed) -> None:
    case_id = seed.new_case("Dashboard is slow", category="billing")
    open_case(page, seed, case_id)
    runbook = box(page, seed.fields["runbook"])
    assert runbook.is_hidden()
    page.select_option(f'[name="f.{seed.fields["category"]}"]', "technical")
    assert runbook.is_visible()
    page.select_option(f'[name="f.{seed.fields["category"]}"]', "billing")
    assert runbook.is_hidden()


def test_field_options_rule_narrows_options(page: Any, seed: Seed) -> None:
    case_id = seed.new_case("Charged twice", category="billing", subcategory="refund")
    open_case(page, seed, case_id)
    sub = seed.fields["subcategory"]
    assert select_values(page, sub) == ["", "invoice", "refund"]
    assert page.input_value(f'[name="f.{sub}"]') == "refund"
    page.select_option(f'[name="f.{seed.fields["category"]}"]', "technical")
    assert select_values(page, sub) == ["", "outage", "login_issue"]
    # "refund" is no longer allowed, so it is cleared rather than saved against the rule.
    assert page.input_value(f'[name="f.{sub}"]') == ""
    page.select_option(f'[name="f.{seed.fields["category"]}"]', "")
    assert select_values(page, sub) == ["", "invoice", "refund", "outage", "login_issue"]


def test_comment_and_script_rendered_as_text(page: Any, seed: Seed) -> None:
    hostile_title = "</script><script>window.__pwnedTitle = 1</script>"
    case_id = seed.new_case(hostile_title, category="billing", summary="<img src=x onerror=alert(1)>")
    open_case(page, seed, case_id)
    assert page.inner_text("#case-title") == hostile_title
    body = "<script>window.__pwned = 1</script><b>not bold</b>\nsecond line"
    page.fill("#comment-body", body)
    page.click("#add-comment")
    page.wait_for_selector(".notice")
    assert page.inner_text(".notice") == "Comment added."
    comment = page.locator(".comment-body").first
    assert comment.inner_text() == body
    assert comment.locator("b, script").count() == 0
    assert page.evaluate("window.__pwned === undefined && window.__pwnedTitle === undefined")
    assert page.locator("img[src=x]").count() == 0
    # The page's rule data still parses: its script ran and set up the form.
    assert box(page, seed.fields["runbook"]).is_hidden()
    items = seed.client.search_related_items(domainId=seed.domain_id, caseId=case_id)["relatedItems"]
    assert items[0]["content"]["comment"]["body"] == body
    newest = page.locator(".timeline .event").first
    assert "added a comment" in newest.inner_text()


def test_search_filters_and_sorting(page: Any, seed: Seed) -> None:
    wanted = seed.new_case("Zanzibar office printer offline", category="technical", escalation="On site visit")
    seed.new_case("Zanzibar invoice copy", category="billing", status="closed")
    page.goto(f"/ui/d/{seed.domain_id}/cases")
    page.fill("#q", "zanzibar printer")
    page.click("button:has-text('Search')")
    page.wait_for_url(re.compile(r".*q=zanzibar.*"))
    rows = page.locator("table.cases tbody tr")
    assert rows.count() == 1
    assert rows.first.inner_text().find("Zanzibar office printer offline") >= 0
    assert page.inner_text("#total-count") == "1 case"
    rows.first.locator("a", has_text="Zanzibar office printer offline").click()
    page.wait_for_selector("#case-form")
    assert wanted in page.url

    page.goto(f"/ui/d/{seed.domain_id}/cases?q=zanzibar&status=closed")
    assert page.locator("table.cases tbody tr").count() == 1
    assert "Zanzibar invoice copy" in page.inner_text("table.cases tbody")

    page.goto(f"/ui/d/{seed.domain_id}/cases?q=zanzibar&sort=title&order=asc")
    titles = page.locator("table.cases tbody .title-cell").all_inner_texts()
    assert titles == sorted(titles)
    page.click("th a.sort:has-text('Title')")
    titles = page.locator("table.cases tbody .title-cell").all_inner_texts()
    assert titles == sorted(titles, reverse=True)


def test_paging_and_template_filter(page: Any, seed: Seed) -> None:
    for n in range(27):
        seed.new_case(f"Paging probe {n:02d}", category="billing")
    page.goto(f"/ui/d/{seed.domain_id}/cases?q=paging+probe&sort=title&order=asc")
    assert page.inner_text("#total-count") == "27 cases"
    titles = page.locator("table.cases tbody .title-cell").all_inner_texts()
    assert titles == [f"Paging probe {n:02d}" for n in range(25)]
    page.click("a[rel=next]")
    page.wait_for_url(re.compile(r".*nextToken=.*"))
    assert page.locator("table.cases tbody .title-cell").all_inner_texts() == ["Paging probe 25", "Paging probe 26"]
    assert page.locator("a[rel=next]").count() == 0

    # SearchCases has no template filter: the list filters by scanning, with the same paging.
    other = seed.client.create_template(domainId=seed.domain_id, name="Internal", status="Active")["templateId"]
    internal = seed.client.create_case(domainId=seed.domain_id, templateId=other,
                                       fields=[{"id": "title", "value": {"stringValue": "Paging probe internal"}}])
    # Inactive again, so that "New case" still opens the one active template's form.
    seed.client.update_template(domainId=seed.domain_id, templateId=other, status="Inactive")
    page.goto(f"/ui/d/{seed.domain_id}/cases?q=paging+probe")
    page.select_option("#template", other)
    page.click("button:has-text('Search')")
    page.wait_for_url(re.compile(r".*template=.*"))
    assert page.inner_text("#total-count") == "1 case"
    assert internal["caseId"] in page.locator("table.cases tbody a").first.get_attribute("href")


def test_merge_into_another_case(page: Any, seed: Seed) -> None:
    primary = seed.new_case("VPN drops every hour", category="technical", escalation="Check the MTU")
    secondary = seed.new_case("VPN disconnects", category="technical", escalation="Same as the other one")
    comment = {"comment": {"body": "Started after the update", "contentType": "Text/Plain"}}
    seed.client.create_related_item(domainId=seed.domain_id, caseId=secondary, type="Comment", content=comment)
    open_case(page, seed, secondary)
    reference = seed.client.get_case(domainId=seed.domain_id, caseId=primary,
                                     fields=[{"id": "reference_number"}])["fields"][0]["value"]["stringValue"]
    page.fill("#merge-target", reference)
    page.click("#merge")
    page.wait_for_selector(".notice")
    assert primary in page.url
    assert "Started after the update" in page.inner_text("#comments")
    assert seed.values(secondary)["status"] == {"stringValue": "closed"}


def test_screenshots(page: Any, ui_server: LiveServer) -> None:
    """The README's pictures: a case list and a busy case page, in a domain of their own."""
    demo = seed_domain(ui_server.endpoint, account=DEMO_ACCOUNT, name="Acme support")
    colleague = AGENT.replace("ana.silva", "li.wei")
    demo.new_case("Card payment declined at checkout", category="billing", subcategory="refund",
                  assigned_user=colleague, summary="Customer retried three times.")
    demo.new_case("Mobile app crashes on launch", category="technical", subcategory="outage",
                  escalation="Crash logs attached by the customer.", status="pending", assigned_user=AGENT)
    demo.new_case("Update billing address", category="billing", status="closed", assigned_user=colleague)
    demo.new_case("Duplicate charge on March invoice", category="billing", subcategory="invoice")
    demo.new_case("Cannot export reports to CSV", category="technical", subcategory="outage",
                  escalation="Reproduced on staging.", assigned_user=colleague)
    case_id = demo.new_case(
        "Password reset email never arrives", category="technical", subcategory="login_issue",
        assigned_user=AGENT, priority=2, summary="Customer checked spam. Two resets requested since Monday.",
        escalation="Mail provider may be rejecting our sender domain.",
    )
    client = demo.client
    client.update_case(domainId=demo.domain_id, caseId=case_id, performedBy={"userArn": colleague},
                       fields=[{"id": "summary", "value": {"stringValue":
                               "Customer checked spam. Three resets requested since Monday."}},
                               {"id": demo.fields["priority"], "value": {"doubleValue": 1.0}}])
    client.create_related_item(domainId=demo.domain_id, caseId=case_id, type="Sla", content={"sla": {
        "slaInputConfiguration": {"name": "First response", "type": "CaseField", "fieldId": "status",
                                  "targetFieldValues": [{"stringValue": "closed"}], "targetSlaMinutes": 240}}})
    for who, body in ((colleague, "Asked the customer for the exact address they use."),
                      (AGENT, "Address confirmed. Our mail logs show a 550 from their provider.")):
        client.create_related_item(domainId=demo.domain_id, caseId=case_id, type="Comment",
                                   performedBy={"userArn": who},
                                   content={"comment": {"body": body, "contentType": "Text/Plain"}})

    page.click("text=Sign out")
    sign_in(page, DEMO_ACCOUNT)
    page.wait_for_url(f"**/ui/d/{demo.domain_id}/cases")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "case-list.png"))
    open_case(page, demo, case_id)
    page.screenshot(path=str(SCREENSHOTS / "case-page.png"), full_page=True)
    assert (SCREENSHOTS / "case-list.png").stat().st_size > 10_000
    assert (SCREENSHOTS / "case-page.png").stat().st_size > 10_000
