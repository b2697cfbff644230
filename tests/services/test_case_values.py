"""Field values by type through CreateCase/UpdateCase/GetCase, and the value helpers in-process."""

from __future__ import annotations

from typing import Any

import pytest

from opencases.errors import ValidationException
from opencases.services import case_values as cv
from tests.services.case_support import USER, fv, new_case, new_template, values
from tests.services.config_support import expect_error


@pytest.fixture
def typed(client: Any, domain_id: str) -> dict[str, str]:
    """One custom field per type (plus a multiline text), and a template."""
    ids = {
        t: client.create_field(domainId=domain_id, name=f"F {t}", type=t)["fieldId"]
        for t in ("Text", "Number", "Boolean", "DateTime", "SingleSelect", "Url", "User")
    }
    ids["Multiline"] = client.create_field(
        domainId=domain_id, name="F multi", type="Text", attributes={"text": {"isMultiline": True}}
    )["fieldId"]
    client.batch_put_field_options(domainId=domain_id, fieldId=ids["SingleSelect"], options=[
        {"name": "Red", "value": "red", "active": True}, {"name": "Old", "value": "old", "active": False},
    ])
    ids["template"] = new_template(client, domain_id)
    return ids


GOOD = [
    ("Text", {"stringValue": "x" * 500}, None),
    ("Multiline", {"stringValue": "y" * 4100}, None),
    ("Number", {"doubleValue": 12.5}, None),
    ("Number", {"doubleValue": -3.0}, None),
    ("Boolean", {"booleanValue": False}, None),
    ("DateTime", {"stringValue": "2024-03-16T23:16:57.893Z"}, None),
    ("DateTime", {"stringValue": "2024-03-17T00:16:57.893+01:00"}, {"stringValue": "2024-03-16T23:16:57.893Z"}),
    ("DateTime", {"stringValue": "2024-03-16T23:16:57Z"}, {"stringValue": "2024-03-16T23:16:57.000Z"}),
    ("DateTime", {"stringValue": "2024-03-16T23:16:57.123456"}, {"stringValue": "2024-03-16T23:16:57.123Z"}),
    ("SingleSelect", {"stringValue": "red"}, None),
    ("Url", {"stringValue": "https://example.com/a?b=c"}, None),
    ("Url", {"stringValue": "http://localhost:8080"}, None),
    ("User", {"userArnValue": USER}, None),
]

BAD = [
    ("Text", {"stringValue": "x" * 501}),
    ("Text", {"doubleValue": 1.0}),
    ("Multiline", {"stringValue": "y" * 4101}),
    ("Number", {"stringValue": "12"}),
    ("Boolean", {"stringValue": "true"}),
    ("DateTime", {"stringValue": "yesterday"}),
    ("DateTime", {"stringValue": "2024-03-16"}),
    ("DateTime", {"stringValue": "2024-02-30T00:00:00Z"}),
    ("DateTime", {"doubleValue": 1710631017893.0}),
    ("SingleSelect", {"stringValue": "blue"}),
    ("SingleSelect", {"stringValue": "old"}),
    ("SingleSelect", {"stringValue": "Red"}),
    ("Url", {"stringValue": "example.com"}),
    ("Url", {"stringValue": "ftp://example.com/x"}),
    ("Url", {"stringValue": "https://exa mple.com"}),
    ("User", {"stringValue": USER}),
    ("User", {"userArnValue": "bob"}),
]


@pytest.mark.parametrize(("kind", "value", "stored"), GOOD)
def test_valid_values_round_trip(
    client: Any, domain_id: str, typed: dict[str, str], kind: str, value: dict[str, Any], stored: Any
) -> None:
    field_id = typed[kind]
    case_id = new_case(client, domain_id, typed["template"], values={field_id: value})
    assert values(client, domain_id, case_id, [field_id]) == {field_id: stored or value}


@pytest.mark.parametrize(("kind", "value"), BAD)
def test_invalid_values_are_refused(
    client: Any, domain_id: str, typed: dict[str, str], kind: str, value: dict[str, Any]
) -> None:
    field_id = typed[kind]
    resp = expect_error(client.create_case, "ValidationException", 400, domainId=domain_id,
                        templateId=typed["template"], fields=[fv("title", "x"), fv(field_id, value)])
    # The model's own limits (4100 characters) answer first, naming the member path.
    assert field_id in resp["Error"]["Message"] or "fields[1].value" in resp["Error"]["Message"]
    case_id = new_case(client, domain_id, typed["template"])
    expect_error(client.update_case, "ValidationException", 400, domainId=domain_id, caseId=case_id,
                 fields=[fv(field_id, value)])
    assert field_id not in values(client, domain_id, case_id, [field_id])


def test_summary_and_title_limits(client: Any, domain_id: str) -> None:
    template_id = new_template(client, domain_id)
    new_case(client, domain_id, template_id, title="t" * 500, values={"summary": "s" * 3000})
    for fields in ([fv("title", "t" * 501)], [fv("title", "t"), fv("summary", "s" * 3001)]):
        expect_error(client.create_case, "ValidationException", 400, domainId=domain_id, templateId=template_id,
                     fields=fields)


def test_value_helpers_round_trip() -> None:
    row = {"field_id": "f", "type": "DateTime", "attributes": None}
    cv.validate_value(row, None, {"stringValue": "1999-12-31T23:59:59.999-05:00"}, path="p")
    cols = cv.to_columns("DateTime", {"stringValue": "1999-12-31T23:59:59.999-05:00"})
    assert cv.from_row("DateTime", cols) == {"stringValue": "2000-01-01T04:59:59.999Z"}
    assert cv.normalize("Number", {"doubleValue": 3}) == {"doubleValue": 3.0}
    assert cv.normalize("Text", {"emptyValue": {}}) == {"emptyValue": {}}
    assert cv.from_row("Boolean", cv.to_columns("Boolean", {"booleanValue": False})) == {"booleanValue": False}
    with pytest.raises(ValidationException, match="fields\\[3\\].value"):
        cv.validate_value({"field_id": "n", "type": "Number", "attributes": None}, None,
                          {"doubleValue": float("inf")}, path="fields[3].value")
    for text in ("2024-01-01T00:00:00+24:00", "0999-01-01T00:00:00Z", "2024-01-01T00:00:00Z\n"):
        with pytest.raises(ValueError):
            cv.parse_datetime(text)
