"""Tags on any Cases resource: TagResource, UntagResource, ListTagsForResource.

The ARN names the resource (SPEC.md section 7); it is parsed strictly. A malformed ARN is a
ValidationException; a well-formed ARN of another partition, region or account, or of a
resource that does not exist, is a ResourceNotFoundException, so ids of other tenants leak
nothing. Soft-deleted fields, layouts, templates and case rules can still be tagged: Get and
BatchGet still return them, tags included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from opencases.errors import ResourceNotFoundException, ValidationException
from opencases.services.common import require_domain
from opencases.services.context import RequestContext
from opencases.services.registry import operation
from opencases.store.store import Tx

_ARN = re.compile(r"arn:([^:]+):([^:]+):([^:]*):([^:]*):(.+)", re.DOTALL)

# ARN path segment -> (resourceType in a 404, kind for the configuration repository).
_CHILD_KINDS = {
    "field": ("Field", None),
    "layout": ("Layout", "layout"),
    "template": ("Template", "template"),
    "case-rule": ("CaseRule", "case_rule"),
    "case": ("Case", None),
}

# Connect-wide tag rules (admin guide, "Add tags to resources").
MAX_KEY = 128
MAX_VALUE = 256


@dataclass(frozen=True)
class Resource:
    arn: str
    domain_id: str
    resource_type: str
    resource_id: str
    segment: str  # "domain", a _CHILD_KINDS key or "related-item"
    case_id: str | None = None


def _malformed(arn: str, why: str) -> ValidationException:
    return ValidationException(f"Invalid ARN '{arn}': {why}")


def parse_arn(ctx: RequestContext, arn: str) -> Resource:
    """The resource an ARN names; ValidationException if malformed, 404 if foreign."""
    m = _ARN.fullmatch(arn)
    if m is None:
        raise _malformed(arn, "expected arn:<partition>:cases:<region>:<account>:domain/<domainId>[/...]")
    partition, service, region, account, path = m.groups()
    if service != "cases":
        raise _malformed(arn, f"the service is '{service}', not 'cases'")
    if not re.fullmatch(r"[a-z0-9-]+", region):
        raise _malformed(arn, f"'{region}' is not a region")
    if not re.fullmatch(r"\d{12}", account):
        raise _malformed(arn, f"'{account}' is not a 12-digit account id")
    parts = path.split("/")
    if parts[0] != "domain" or len(parts) not in (2, 4, 6) or not all(parts):
        raise _malformed(arn, "the resource must be domain/<id>, domain/<id>/<type>/<id> or a related item")
    resource = _resource(arn, parts)
    if (partition, region, account) != (ctx.partition, ctx.region, ctx.account):
        raise _missing(resource)
    return resource


def _resource(arn: str, parts: list[str]) -> Resource:
    domain_id = parts[1]
    if len(parts) == 2:
        return Resource(arn, domain_id, "Domain", domain_id, "domain")
    segment, item_id = parts[2], parts[3]
    if segment not in _CHILD_KINDS:
        raise _malformed(arn, f"'{segment}' is not a taggable Cases resource type")
    if len(parts) == 4:
        return Resource(arn, domain_id, _CHILD_KINDS[segment][0], item_id, segment)
    if segment != "case" or parts[4] != "related-item":
        raise _malformed(arn, "only a case has nested resources: domain/<id>/case/<id>/related-item/<id>")
    return Resource(arn, domain_id, "RelatedItem", parts[5], "related-item", case_id=item_id)


def _missing(resource: Resource) -> ResourceNotFoundException:
    return ResourceNotFoundException(
        f"Resource {resource.arn} does not exist",
        resource_id=resource.resource_id,
        resource_type=resource.resource_type,
    )


def _require_resource(ctx: RequestContext, tx: Tx, resource: Resource) -> None:
    try:
        require_domain(ctx, tx, resource.domain_id)
    except ResourceNotFoundException:
        raise _missing(resource) from None
    d, item = resource.domain_id, resource.resource_id
    if resource.segment == "domain":
        exists = True
    elif resource.segment == "field":
        exists = tx.get_field(d, item) is not None
    elif resource.segment == "case":
        exists = tx.case_exists(d, item)
    elif resource.segment == "related-item":
        assert resource.case_id is not None
        exists = tx.related_item_exists(d, resource.case_id, item)
    else:
        kind = _CHILD_KINDS[resource.segment][1]
        assert kind is not None
        exists = tx.get_config(kind, d, item) is not None
    if not exists:
        raise _missing(resource)


def _check_key(key: str) -> None:
    if not key:
        raise ValidationException("A tag key must not be empty")
    if len(key) > MAX_KEY:
        raise ValidationException(f"Tag key '{key[:40]}...' is longer than {MAX_KEY} characters")
    if key.lower().startswith("aws:"):
        # The aws: prefix is reserved for AWS use (Connect tagging rules; TagKey pattern).
        raise ValidationException(f"Tag key '{key}' uses the reserved prefix 'aws:'")


def _check_tags(tags: dict[str, Any]) -> None:
    for key, value in tags.items():
        _check_key(key)
        if not isinstance(value, str):
            # Tags is a sparse map in the model, so a null value gets past the wire layer.
            raise ValidationException(f"The value of tag '{key}' must be a string")
        if len(value) > MAX_VALUE:
            raise ValidationException(f"The value of tag '{key}' is longer than {MAX_VALUE} characters")


@operation("TagResource")
def tag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    resource = parse_arn(ctx, params["arn"])
    tags: dict[str, Any] = params["tags"]
    _check_tags(tags)
    with ctx.store.write() as tx:
        _require_resource(ctx, tx, resource)
        existing = tx.get_tags(resource.arn)
        limit = ctx.settings.quotas["tags_per_resource"]
        total = len(set(existing) | set(tags))
        if total > limit:
            # TagResource's error list has no ServiceQuotaExceededException.
            raise ValidationException(
                f"A resource can have at most {limit} tags; this request would leave it with {total}"
            )
        # An existing key takes the new value: keys are case-sensitive, so "Team" and "team" differ.
        tx.put_tags(resource.arn, resource.domain_id, tags)
    return {}


@operation("UntagResource")
def untag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    resource = parse_arn(ctx, params["arn"])
    keys: list[str] = params["tagKeys"]
    for key in keys:
        _check_key(key)
    with ctx.store.write() as tx:
        _require_resource(ctx, tx, resource)
        # Keys the resource does not carry are ignored, as AWS untag operations do.
        tx.remove_tags(resource.arn, keys)
    return {}


@operation("ListTagsForResource")
def list_tags_for_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    resource = parse_arn(ctx, params["arn"])
    with ctx.store.read() as tx:
        _require_resource(ctx, tx, resource)
        return {"tags": tx.get_tags(resource.arn)}
