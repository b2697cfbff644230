"""TagResource, UntagResource and ListTagsForResource through boto3 against a live server."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.services.config_support import (
    expect_error,
    expect_not_found,
    layout_content,
    make_field,
    make_rule,
)
from tests.support import make_client


def _arns(client: Any, domain_id: str) -> dict[str, str]:
    """One ARN of each configuration kind, from the Create* responses."""
    field = client.create_field(domainId=domain_id, name="F", type="Text")
    layout = client.create_layout(domainId=domain_id, name="L", content=layout_content(["summary"]))
    template = client.create_template(domainId=domain_id, name="T")
    rule = client.create_case_rule(
        domainId=domain_id, name="R",
        rule={"required": {"defaultValue": True, "conditions": []}},
    )
    return {
        "domain": client.get_domain(domainId=domain_id)["domainArn"],
        "field": field["fieldArn"],
        "layout": layout["layoutArn"],
        "template": template["templateArn"],
        "case-rule": rule["caseRuleArn"],
    }


def _tags(client: Any, arn: str) -> dict[str, str]:
    return dict(client.list_tags_for_resource(arn=arn)["tags"])


def test_tag_list_untag_every_configuration_kind(client: Any, domain_id: str) -> None:
    for kind, arn in _arns(client, domain_id).items():
        assert _tags(client, arn) == {}, kind
        client.tag_resource(arn=arn, tags={"Team": "Blue", "Kind": kind})
        assert _tags(client, arn) == {"Team": "Blue", "Kind": kind}
        client.tag_resource(arn=arn, tags={"Team": "Red", "Env": ""})  # overwrite one, add one
        assert _tags(client, arn) == {"Team": "Red", "Kind": kind, "Env": ""}
        # Keys the resource does not carry are ignored.
        client.untag_resource(arn=arn, tagKeys=["Team", "NotThere"])
        assert _tags(client, arn) == {"Kind": kind, "Env": ""}


def test_get_operations_return_tags(client: Any, domain_id: str) -> None:
    arns = _arns(client, domain_id)
    for arn in arns.values():
        client.tag_resource(arn=arn, tags={"k": "v"})
    ids = {kind: arn.rsplit("/", 1)[1] for kind, arn in arns.items()}
    assert client.get_domain(domainId=domain_id)["tags"] == {"k": "v"}
    assert client.get_layout(domainId=domain_id, layoutId=ids["layout"])["tags"] == {"k": "v"}
    assert client.get_template(domainId=domain_id, templateId=ids["template"])["tags"] == {"k": "v"}
    fields = client.batch_get_field(domainId=domain_id, fields=[{"id": ids["field"]}])["fields"]
    assert fields[0]["tags"] == {"k": "v"}
    rules = client.batch_get_case_rule(domainId=domain_id, caseRules=[{"id": ids["case-rule"]}])["caseRules"]
    assert rules[0]["tags"] == {"k": "v"}


def test_keys_are_case_sensitive(client: Any, domain_id: str) -> None:
    arn = client.get_domain(domainId=domain_id)["domainArn"]
    client.tag_resource(arn=arn, tags={"Team": "a", "team": "b"})
    client.tag_resource(arn=arn, tags={"TEAM": "c"})
    assert _tags(client, arn) == {"Team": "a", "team": "b", "TEAM": "c"}
    client.untag_resource(arn=arn, tagKeys=["team"])
    assert _tags(client, arn) == {"Team": "a", "TEAM": "c"}


def test_soft_deleted_resources_keep_their_tags(client: Any, domain_id: str) -> None:
    layout = client.create_layout(domainId=domain_id, name="L", content=layout_content([]))
    client.tag_resource(arn=layout["layoutArn"], tags={"k": "v"})
    client.delete_layout(domainId=domain_id, layoutId=layout["layoutId"])
    assert _tags(client, layout["layoutArn"]) == {"k": "v"}
    assert client.get_layout(domainId=domain_id, layoutId=layout["layoutId"])["tags"] == {"k": "v"}


def test_invalid_tags_change_nothing(client: Any, domain_id: str) -> None:
    arn = client.get_domain(domainId=domain_id)["domainArn"]
    client.tag_resource(arn=arn, tags={"keep": "me"})
    for tags in (
        {"aws:reserved": "x"},
        {"AWS:Reserved": "x"},
        {"ok": "fine", "k" * 129: "too long a key"},
        {"": "empty key"},
        {"long": "v" * 257},
    ):
        expect_error(client.tag_resource, "ValidationException", 400, arn=arn, tags=tags)
    expect_error(client.untag_resource, "ValidationException", 400, arn=arn, tagKeys=["aws:reserved"])
    assert _tags(client, arn) == {"keep": "me"}
    client.tag_resource(arn=arn, tags={"k" * 128: "v" * 256})  # the limits themselves are fine
    assert len(_tags(client, arn)) == 2


def test_fifty_tags_per_resource(client: Any, domain_id: str) -> None:
    arn = client.create_field(domainId=domain_id, name="F", type="Text")["fieldArn"]
    r = expect_error(client.tag_resource, "ValidationException", 400,
                     arn=arn, tags={f"k{i}": "v" for i in range(51)})
    assert "50" in r["Error"]["Message"]
    assert _tags(client, arn) == {}
    client.tag_resource(arn=arn, tags={f"k{i}": "v" for i in range(50)})
    expect_error(client.tag_resource, "ValidationException", 400, arn=arn, tags={"one-more": "v"})
    # Overwriting existing keys does not add to the count.
    client.tag_resource(arn=arn, tags={"k0": "new", "k49": "new"})
    tags = _tags(client, arn)
    assert len(tags) == 50 and tags["k0"] == "new" and "one-more" not in tags


def test_tags_per_resource_quota_setting(quota_client: Any, quota_domain_id: str) -> None:
    arn = quota_client.get_domain(domainId=quota_domain_id)["domainArn"]
    quota_client.tag_resource(arn=arn, tags={f"k{i}": "v" for i in range(5)})
    expect_error(quota_client.tag_resource, "ValidationException", 400, arn=arn, tags={"k5": "v"})
    quota_client.untag_resource(arn=arn, tagKeys=["k0"])
    quota_client.tag_resource(arn=arn, tags={"k5": "v"})


@pytest.mark.parametrize(
    "arn",
    [
        "not-an-arn",
        "arn:aws:s3:::bucket",
        "arn:aws:connect:us-east-1:123456789012:instance/x",
        "arn:aws:cases:us-east-1:12345:domain/d",
        "arn:aws:cases:us-east-1:123456789012:",
        "arn:aws:cases:us-east-1:123456789012:domain",
        "arn:aws:cases:us-east-1:123456789012:domain/",
        "arn:aws:cases:us-east-1:123456789012:template/t",
        "arn:aws:cases:us-east-1:123456789012:domain/d/widget/w",
        "arn:aws:cases:us-east-1:123456789012:domain/d/field",
        "arn:aws:cases:us-east-1:123456789012:domain/d/field/f/extra/x",
        "arn:aws:cases:us-east-1:123456789012:domain/d/layout/l/related-item/r",
        "arn:aws:cases:us-east-1:123456789012:domain/d//f",
    ],
)
def test_malformed_arns(client: Any, arn: str) -> None:
    expect_error(client.list_tags_for_resource, "ValidationException", 400, arn=arn)
    expect_error(client.tag_resource, "ValidationException", 400, arn=arn, tags={"k": "v"})
    expect_error(client.untag_resource, "ValidationException", 400, arn=arn, tagKeys=["k"])


def test_missing_resources(client: Any, domain_id: str) -> None:
    domain_arn = client.get_domain(domainId=domain_id)["domainArn"]
    cases = [
        (f"{domain_arn}/field/nope", "nope", "Field"),
        (f"{domain_arn}/layout/nope", "nope", "Layout"),
        (f"{domain_arn}/template/nope", "nope", "Template"),
        (f"{domain_arn}/case-rule/nope", "nope", "CaseRule"),
        (f"{domain_arn}/case/nope", "nope", "Case"),
        (f"{domain_arn}/case/c/related-item/nope", "nope", "RelatedItem"),
        (domain_arn.replace(domain_id, "no-domain"), "no-domain", "Domain"),
        (domain_arn.replace(domain_id, "no-domain") + "/field/title", "title", "Field"),
    ]
    for arn, resource_id, resource_type in cases:
        expect_not_found(client.list_tags_for_resource, resource_id, resource_type, arn=arn)
        expect_not_found(client.tag_resource, resource_id, resource_type, arn=arn, tags={"k": "v"})
        expect_not_found(client.untag_resource, resource_id, resource_type, arn=arn, tagKeys=["k"])


def test_other_accounts_and_regions_are_not_found(client: Any, domain_id: str, server: Any) -> None:
    arns = _arns(client, domain_id)
    for arn in arns.values():
        client.tag_resource(arn=arn, tags={"owner": "me"})
    account = arns["domain"].split(":")[4]
    stranger = make_client(server.endpoint)
    elsewhere = make_client(server.endpoint, account=account, region="eu-west-1")
    for kind, arn in arns.items():
        resource_type = {"domain": "Domain", "field": "Field", "layout": "Layout",
                         "template": "Template", "case-rule": "CaseRule"}[kind]
        resource_id = arn.rsplit("/", 1)[1]
        for other in (stranger, elsewhere):
            expect_not_found(other.list_tags_for_resource, resource_id, resource_type, arn=arn)
            expect_not_found(other.tag_resource, resource_id, resource_type, arn=arn, tags={"owner": "them"})
            expect_not_found(other.untag_resource, resource_id, resource_type, arn=arn, tagKeys=["owner"])
        # The same path under another partition, region or account names nothing of ours.
        for foreign in (arn.replace("arn:aws:", "arn:aws-cn:"), arn.replace(":us-east-1:", ":eu-west-1:"),
                        arn.replace(f":{account}:", ":000000000001:")):
            expect_not_found(client.list_tags_for_resource, resource_id, resource_type, arn=foreign)
        assert _tags(client, arn) == {"owner": "me"}


def _or_skip(call: Any, **kwargs: Any) -> Any:
    """Call an operation another module provides; skip the test while it is not implemented."""
    try:
        return call(**kwargs)
    except ClientError as exc:
        if "not implemented" in str(exc):
            pytest.skip(f"{exc.operation_name} is not implemented yet")
        raise


def test_case_and_related_item_tags(client: Any, domain_id: str) -> None:
    template_id = client.create_template(domainId=domain_id, name="T")["templateId"]
    case = _or_skip(
        client.create_case,
        domainId=domain_id, templateId=template_id, fields=[{"id": "title", "value": {"stringValue": "Hi"}}],
    )
    client.tag_resource(arn=case["caseArn"], tags={"k": "v"})
    assert _tags(client, case["caseArn"]) == {"k": "v"}
    client.untag_resource(arn=case["caseArn"], tagKeys=["k"])
    assert _tags(client, case["caseArn"]) == {}
    expect_not_found(client.list_tags_for_resource, "nope", "RelatedItem", arn=f"{case['caseArn']}/related-item/nope")
    item = _or_skip(
        client.create_related_item,
        domainId=domain_id, caseId=case["caseId"], type="Comment",
        content={"comment": {"body": "hello", "contentType": "Text/Plain"}},
    )
    client.tag_resource(arn=item["relatedItemArn"], tags={"a": "b"})
    assert _tags(client, item["relatedItemArn"]) == {"a": "b"}
    client.untag_resource(arn=item["relatedItemArn"], tagKeys=["a"])
    assert _tags(client, item["relatedItemArn"]) == {}


def test_arns_built_from_ids(client: Any, domain_id: str) -> None:
    # ARNs built from ids (system fields included) name the same resources as the Create* ARNs.
    field_id = make_field(client, domain_id, "X")
    rule_id = make_rule(client, domain_id, "Y")
    domain_arn = client.get_domain(domainId=domain_id)["domainArn"]
    for arn in (f"{domain_arn}/field/{field_id}", f"{domain_arn}/case-rule/{rule_id}", f"{domain_arn}/field/title"):
        client.tag_resource(arn=arn, tags={"x": "y"})
        assert _tags(client, arn) == {"x": "y"}
