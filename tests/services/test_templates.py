"""Templates through boto3 against a live server: references, partial update, soft delete,
status filter, quotas, paging."""

from __future__ import annotations

from typing import Any

from tests.services.config_support import (
    expect_error,
    expect_not_found,
    layout_content,
    make_field,
    make_rule,
)


def _layout(client: Any, domain_id: str, name: str = "Layout") -> str:
    return str(client.create_layout(domainId=domain_id, name=name, content=layout_content(["summary"]))["layoutId"])


def _create(client: Any, domain_id: str, name: str, **kwargs: Any) -> str:
    return str(client.create_template(domainId=domain_id, name=name, **kwargs)["templateId"])


def _get(client: Any, domain_id: str, template_id: str) -> dict[str, Any]:
    got = dict(client.get_template(domainId=domain_id, templateId=template_id))
    got.pop("ResponseMetadata")
    return got


def test_create_minimal_defaults_to_active(client: Any, domain_id: str) -> None:
    created = client.create_template(domainId=domain_id, name="Basic")
    template_id = created["templateId"]
    assert created["templateArn"].endswith(f":domain/{domain_id}/template/{template_id}")
    got = _get(client, domain_id, template_id)
    assert got["name"] == "Basic"
    assert got["status"] == "Active"
    assert got["deleted"] is False
    assert got["tags"] == {}
    assert got["templateArn"] == created["templateArn"]
    assert "createdTime" in got and "lastModifiedTime" in got


def test_create_full(client: Any, domain_id: str) -> None:
    field_id = make_field(client, domain_id, "Order number")
    layout_id = _layout(client, domain_id)
    rule_id = make_rule(client, domain_id, "Required when open")
    spec = {
        "description": "Returns and refunds",
        "layoutConfiguration": {"defaultLayout": layout_id},
        "requiredFields": [{"fieldId": field_id}, {"fieldId": "customer_id"}],
        "status": "Inactive",
        "rules": [{"caseRuleId": rule_id, "fieldId": field_id}],
        "tagPropagationConfigurations": [{"resourceType": "Cases", "tagMap": {"Department": "Returns"}}],
    }
    template_id = _create(client, domain_id, "Returns", **spec)
    got = _get(client, domain_id, template_id)
    for key, value in spec.items():
        assert got[key] == value, key


def test_duplicate_name_conflicts(client: Any, domain_id: str) -> None:
    template_id = _create(client, domain_id, "Same")
    expect_error(client.create_template, "ConflictException", 409, domainId=domain_id, name="Same")
    client.delete_template(domainId=domain_id, templateId=template_id)
    assert _create(client, domain_id, "Same") != template_id


def test_references_are_checked(client: Any, domain_id: str) -> None:
    field_id = make_field(client, domain_id, "Live")
    gone_field = make_field(client, domain_id, "Gone")
    client.delete_field(domainId=domain_id, fieldId=gone_field)
    gone_layout = _layout(client, domain_id, "Gone layout")
    client.delete_layout(domainId=domain_id, layoutId=gone_layout)
    rule_id = make_rule(client, domain_id, "Rule")
    gone_rule = make_rule(client, domain_id, "Gone rule")
    client.delete_case_rule(domainId=domain_id, caseRuleId=gone_rule)

    bad: list[tuple[dict[str, Any], str]] = [
        ({"layoutConfiguration": {"defaultLayout": "no-such-layout"}}, "no-such-layout"),
        ({"layoutConfiguration": {"defaultLayout": gone_layout}}, gone_layout),
        ({"requiredFields": [{"fieldId": "no-such-field"}]}, "no-such-field"),
        ({"requiredFields": [{"fieldId": gone_field}]}, gone_field),
        ({"requiredFields": [{"fieldId": field_id}, {"fieldId": field_id}]}, field_id),
        ({"rules": [{"caseRuleId": "no-such-rule", "fieldId": field_id}]}, "no-such-rule"),
        ({"rules": [{"caseRuleId": gone_rule, "fieldId": field_id}]}, gone_rule),
        ({"rules": [{"caseRuleId": rule_id, "fieldId": "no-such-field"}]}, "no-such-field"),
        ({"rules": [{"caseRuleId": rule_id, "fieldId": gone_field}]}, gone_field),
        # A Required rule acts on a field, so it needs one.
        ({"rules": [{"caseRuleId": rule_id}]}, rule_id),
        ({"rules": [{"caseRuleId": rule_id, "fieldId": field_id}] * 2}, rule_id),
        ({"tagPropagationConfigurations": [{"resourceType": "Cases", "tagMap": {"aws:x": "y"}}]}, "aws:x"),
    ]
    for kwargs, named in bad:
        r = expect_error(client.create_template, "ValidationException", 400, domainId=domain_id, name="T", **kwargs)
        assert named in r["Error"]["Message"], kwargs
    assert client.list_templates(domainId=domain_id)["templates"] == []


def test_two_required_rules_on_one_field_are_rejected(client: Any, domain_id: str) -> None:
    field_id = make_field(client, domain_id, "F")
    one, two = make_rule(client, domain_id, "One"), make_rule(client, domain_id, "Two")
    expect_error(client.create_template, "ValidationException", 400, domainId=domain_id, name="T",
                 rules=[{"caseRuleId": one, "fieldId": field_id}, {"caseRuleId": two, "fieldId": field_id}])
    # One rule may act on several fields.
    other = make_field(client, domain_id, "G")
    _create(client, domain_id, "T",
            rules=[{"caseRuleId": one, "fieldId": field_id}, {"caseRuleId": one, "fieldId": other}])


def test_update_is_partial(client: Any, domain_id: str) -> None:
    field_id = make_field(client, domain_id, "F")
    layout_id = _layout(client, domain_id)
    template_id = _create(
        client, domain_id, "Original", description="d", layoutConfiguration={"defaultLayout": layout_id},
        requiredFields=[{"fieldId": field_id}],
    )
    before = _get(client, domain_id, template_id)

    client.update_template(domainId=domain_id, templateId=template_id, name="Renamed")
    after = _get(client, domain_id, template_id)
    assert after["name"] == "Renamed"
    for key in ("description", "layoutConfiguration", "requiredFields", "status", "createdTime"):
        assert after[key] == before[key], key

    client.update_template(domainId=domain_id, templateId=template_id, status="Inactive", requiredFields=[])
    after = _get(client, domain_id, template_id)
    assert (after["status"], after["requiredFields"], after["name"]) == ("Inactive", [], "Renamed")
    assert after["layoutConfiguration"] == {"defaultLayout": layout_id}


def test_rejected_updates_change_nothing(client: Any, domain_id: str) -> None:
    template_id = _create(client, domain_id, "Mine", description="keep")
    _create(client, domain_id, "Taken")
    before = _get(client, domain_id, template_id)
    d, t = domain_id, template_id
    expect_error(client.update_template, "ConflictException", 409, domainId=d, templateId=t, name="Taken")
    expect_error(client.update_template, "ValidationException", 400, domainId=d, templateId=t,
                 name="New", requiredFields=[{"fieldId": "nope"}])
    expect_error(client.update_template, "ValidationException", 400, domainId=d, templateId=t,
                 description="x", layoutConfiguration={"defaultLayout": "nope"})
    # "At least one of these attributes must not be null."
    expect_error(client.update_template, "ValidationException", 400, domainId=d, templateId=t)
    assert _get(client, domain_id, template_id) == before


def test_soft_delete(client: Any, domain_id: str) -> None:
    template_id = _create(client, domain_id, "Doomed")
    other = _create(client, domain_id, "Other")
    client.delete_template(domainId=domain_id, templateId=template_id)
    got = _get(client, domain_id, template_id)
    assert got["deleted"] is True and got["name"] == "Doomed"
    assert [x["templateId"] for x in client.list_templates(domainId=domain_id)["templates"]] == [other]
    expect_error(client.update_template, "ValidationException", 400,
                 domainId=domain_id, templateId=template_id, status="Inactive")
    client.delete_template(domainId=domain_id, templateId=template_id)  # idempotent
    assert _get(client, domain_id, template_id)["status"] == "Active"


def test_get_omits_deleted_fields(client: Any, domain_id: str) -> None:
    keep, drop = make_field(client, domain_id, "Keep"), make_field(client, domain_id, "Drop")
    rule_id = make_rule(client, domain_id, "Rule")
    template_id = _create(
        client, domain_id, "T",
        requiredFields=[{"fieldId": keep}, {"fieldId": drop}],
        rules=[{"caseRuleId": rule_id, "fieldId": drop}, {"caseRuleId": rule_id, "fieldId": keep}],
    )
    client.delete_field(domainId=domain_id, fieldId=drop)
    got = _get(client, domain_id, template_id)
    assert got["requiredFields"] == [{"fieldId": keep}]
    assert got["rules"] == [{"caseRuleId": rule_id, "fieldId": keep}]


def test_unknown_template_and_domain(client: Any, domain_id: str) -> None:
    for call, extra in (
        (client.get_template, {}),
        (client.update_template, {"name": "x"}),
        (client.delete_template, {}),
    ):
        expect_not_found(call, "nope", "Template", domainId=domain_id, templateId="nope", **extra)
        expect_not_found(call, "no-domain", "Domain", domainId="no-domain", templateId="x", **extra)
    expect_not_found(client.create_template, "no-domain", "Domain", domainId="no-domain", name="T")
    expect_not_found(client.list_templates, "no-domain", "Domain", domainId="no-domain")


def test_list_status_filter_and_summary(client: Any, domain_id: str) -> None:
    tags = [{"resourceType": "Cases", "tagMap": {"Team": "Blue"}}]
    active = _create(client, domain_id, "A", tagPropagationConfigurations=tags)
    inactive = _create(client, domain_id, "I", status="Inactive")

    def ids(**kwargs: Any) -> list[str]:
        return [x["templateId"] for x in client.list_templates(domainId=domain_id, **kwargs)["templates"]]

    assert ids() == [active, inactive]
    assert ids(status=["Active"]) == [active]
    assert ids(status=["Inactive"]) == [inactive]
    assert ids(status=["Active", "Inactive"]) == [active, inactive]
    summaries = client.list_templates(domainId=domain_id)["templates"]
    assert summaries[0] == {
        "templateId": active,
        "templateArn": client.get_template(domainId=domain_id, templateId=active)["templateArn"],
        "name": "A",
        "status": "Active",
        "tagPropagationConfigurations": tags,
    }
    assert "tagPropagationConfigurations" not in summaries[1]


def test_list_pages(client: Any, domain_id: str) -> None:
    made = [_create(client, domain_id, f"T{i}", status="Active" if i % 2 == 0 else "Inactive") for i in range(7)]
    active = made[0::2]
    seen: list[str] = []
    kwargs: dict[str, Any] = {"domainId": domain_id, "maxResults": 2}
    pages = 0
    while True:
        page = client.list_templates(**kwargs)
        pages += 1
        seen += [x["templateId"] for x in page["templates"]]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert seen == made and pages == 4

    first = client.list_templates(domainId=domain_id, status=["Active"], maxResults=3)
    assert [x["templateId"] for x in first["templates"]] == active[:3]
    rest = client.list_templates(domainId=domain_id, status=["Active"], maxResults=3, nextToken=first["nextToken"])
    assert [x["templateId"] for x in rest["templates"]] == active[3:]
    assert "nextToken" not in rest

    expect_error(client.list_templates, "ValidationException", 400, domainId=domain_id, nextToken="%%%")
    # A token is bound to its query: the status filter may not change between pages.
    expect_error(client.list_templates, "ValidationException", 400,
                 domainId=domain_id, status=["Inactive"], nextToken=first["nextToken"])


def test_template_quotas(quota_client: Any, quota_domain_id: str) -> None:
    c, d = quota_client, quota_domain_id
    one, two, three = (_create(c, d, n) for n in ("One", "Two", "Three"))
    r = expect_error(c.create_template, "ServiceQuotaExceededException", 402, domainId=d, name="Four")
    assert "templates per domain" in r["Error"]["Message"]
    c.delete_template(domainId=d, templateId=one)
    four = _create(c, d, "Four")
    c.delete_template(domainId=d, templateId=two)
    # deleted_templates_per_domain is 2; DeleteTemplate has no quota error in its list.
    r = expect_error(c.delete_template, "ValidationException", 400, domainId=d, templateId=three)
    assert "delete up to 2 templates" in r["Error"]["Message"]
    assert c.get_template(domainId=d, templateId=three)["deleted"] is False
    assert {x["templateId"] for x in c.list_templates(domainId=d)["templates"]} == {three, four}
