"""The mock's before-call shortcut answers exactly as its HTTP-level path (sign, send, parse)."""

from __future__ import annotations

import json
import socket
from datetime import datetime
from typing import Any

import boto3
import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from opencases.config import Settings
from opencases.testing import mock as mock_module
from opencases.testing import mock_connectcases

ACCOUNT = "123456789012"


def new_client(**kwargs: Any) -> Any:
    return boto3.client("connectcases", region_name="us-east-1", aws_access_key_id=ACCOUNT,
                        aws_secret_access_key="secret", **kwargs)


def http_level_client(**kwargs: Any) -> Any:
    """A client the shortcut leaves alone: every call is signed, 'sent' and parsed."""
    client = new_client(**kwargs)
    client.meta.events.unregister(mock_module.CALL_EVENT, mock_module._before_call)
    return client


class Sends:
    """Counts the requests botocore signs and sends (the HTTP-level path)."""

    def __init__(self, client: Any) -> None:
        self.count = 0
        client.meta.events.register("before-send.connectcases", self._seen)

    def _seen(self, **_kwargs: Any) -> None:
        self.count += 1


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **_kwargs: Any) -> None:
        raise AssertionError(f"network connection attempted: {args[-1]!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def without_request_id(response: dict[str, Any]) -> dict[str, Any]:
    out = dict(response)
    meta = dict(out.pop("ResponseMetadata"))
    assert meta.pop("RequestId")
    headers = dict(meta.pop("HTTPHeaders"))
    assert headers.pop("x-amzn-requestid")
    return {**out, "ResponseMetadata": {**meta, "HTTPHeaders": headers}}


def setup_case(client: Any) -> dict[str, str]:
    domain = client.create_domain(name="Support")["domainId"]
    text = client.create_field(domainId=domain, name="Notes", type="Text")["fieldId"]
    number = client.create_field(domainId=domain, name="Score", type="Number")["fieldId"]
    flag = client.create_field(domainId=domain, name="Urgent", type="Boolean")["fieldId"]
    when = client.create_field(domainId=domain, name="Due", type="DateTime")["fieldId"]
    template = client.create_template(domainId=domain, name="Incident")["templateId"]
    client.tag_resource(arn=client.get_template(domainId=domain, templateId=template)["templateArn"],
                        tags={"team": "support"})
    case = client.create_case(domainId=domain, templateId=template, fields=[
        {"id": "title", "value": {"stringValue": "Printer on fire \N{FIRE}"}},
        {"id": text, "value": {"stringValue": "line one"}},
        {"id": number, "value": {"doubleValue": 3}},
        {"id": flag, "value": {"booleanValue": True}},
        {"id": when, "value": {"stringValue": "2024-03-16T23:16:57.893+01:00"}},
    ])["caseId"]
    client.update_case(domainId=domain, caseId=case, fields=[{"id": text, "value": {"emptyValue": {}}}])
    client.create_related_item(domainId=domain, caseId=case, type="Comment",
                               content={"comment": {"body": "Turned it off", "contentType": "Text/Plain"}})
    return {"domain": domain, "template": template, "case": case, "text": text, "number": number,
            "flag": flag, "when": when}


def reads(client: Any, ids: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    d = ids["domain"]
    fields = [{"id": f} for f in ("title", "status", ids["text"], ids["number"], ids["flag"], ids["when"],
                                  "created_datetime", "no-such-field")]
    return [
        ("GetDomain", client.get_domain(domainId=d)),
        ("ListDomains", client.list_domains()),
        ("GetTemplate", client.get_template(domainId=d, templateId=ids["template"])),
        ("ListFields", client.list_fields(domainId=d)),
        ("GetCase", client.get_case(domainId=d, caseId=ids["case"], fields=fields)),
        ("GetCaseAuditEvents", client.get_case_audit_events(domainId=d, caseId=ids["case"])),
        ("SearchCases", client.search_cases(domainId=d, fields=fields[:3])),
        ("SearchRelatedItems", client.search_related_items(domainId=d, caseId=ids["case"])),
        ("ListTagsForResource", client.list_tags_for_resource(
            arn=client.get_template(domainId=d, templateId=ids["template"])["templateArn"])),
        ("UntagResource", client.untag_resource(arn=f"arn:aws:cases:us-east-1:{ACCOUNT}:domain/{d}",
                                                tagKeys=["none"])),
    ]


def test_reads_equal_the_http_level_path_exactly() -> None:
    with mock_connectcases():
        shortcut, http = new_client(), http_level_client()
        ids = setup_case(shortcut)
        sent = Sends(shortcut)
        mine, theirs = reads(shortcut, ids), reads(http, ids)
        assert sent.count == 0
    for (label, a), (_, b) in zip(mine, theirs, strict=True):
        assert without_request_id(a) == without_request_id(b), label
        # Same types too: datetimes with the same tzinfo, floats where the model has doubles.
        assert repr(without_request_id(a)) == repr(without_request_id(b)), label
    case = dict(mine)["GetCase"]
    assert list(case) == ["ResponseMetadata", "fields", "templateId", "tags"]
    values = {f["id"]: f["value"] for f in case["fields"]}
    assert values[ids["number"]] == {"doubleValue": 3.0} and isinstance(values[ids["number"]]["doubleValue"], float)
    assert values[ids["when"]] == {"stringValue": "2024-03-16T22:16:57.893Z"}
    assert isinstance(dict(mine)["GetDomain"]["createdTime"], datetime)


def test_errors_take_the_http_level_path_with_the_same_responses() -> None:
    with mock_connectcases():
        shortcut, http = new_client(), http_level_client()
        domain = shortcut.create_domain(name="d")["domainId"]
        sent = Sends(shortcut)
        calls = [
            lambda c: c.get_domain(domainId="missing"),
            lambda c: c.create_domain(name="d"),
            lambda c: c.get_case(domainId=domain, caseId="nope", fields=[{"id": "title"}]),
            lambda c: c.get_case(domainId=domain, caseId="bad case id!", fields=[{"id": "title"}]),
            lambda c: c.list_domains(nextToken="not-a-token"),
        ]
        for call in calls:
            with pytest.raises(ClientError) as mine:
                call(shortcut)
            with pytest.raises(ClientError) as theirs:
                call(http)
            assert type(mine.value) is type(theirs.value)
            assert without_request_id(mine.value.response) == without_request_id(theirs.value.response)
        assert sent.count == len(calls)


def test_the_http_response_body_is_the_servers() -> None:
    bodies: list[bytes] = []
    with mock_connectcases():
        client = new_client()
        client.meta.events.register("after-call.connectcases",
                                    lambda http_response, **_: bodies.append(http_response.content))
        out = client.create_domain(name="d")
    assert json.loads(bodies[0]) == {k: v for k, v in out.items() if k != "ResponseMetadata"}


def test_a_stubber_on_the_client_answers_before_the_mock() -> None:
    with mock_connectcases():
        client = new_client()
        with Stubber(client) as stubber:
            stubber.add_response("list_domains", {"domains": [{"domainId": "x", "domainArn": "arn:x", "name": "n"}]})
            assert client.list_domains()["domains"][0]["domainId"] == "x"
        assert client.list_domains()["domains"] == []


def test_unsigned_clients_get_the_default_account_as_over_http() -> None:
    with mock_connectcases():
        unsigned = new_client(config=Config(signature_version=botocore.UNSIGNED))
        sent = Sends(unsigned)
        arn = unsigned.create_domain(name="x")["domainArn"]
    assert sent.count == 1
    assert arn.startswith("arn:aws:cases:us-east-1:000000000000:domain/")


def test_account_and_region_come_from_the_credentials_and_region() -> None:
    with mock_connectcases():
        west = boto3.client("connectcases", region_name="eu-west-2", aws_access_key_id="210987654321",
                            aws_secret_access_key="s")
        other = boto3.client("connectcases", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
                             aws_secret_access_key="s")
        assert west.create_domain(name="x")["domainArn"].startswith("arn:aws:cases:eu-west-2:210987654321:")
        assert other.create_domain(name="x")["domainArn"].startswith("arn:aws:cases:us-east-1:000000000000:")
        assert [d["name"] for d in west.list_domains()["domains"]] == ["x"]


def test_strict_auth_verifies_signatures_over_the_http_level_path(tmp_path: Any) -> None:
    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps({"credentials": [
        {"accessKeyId": "AKIDALICE", "secretAccessKey": "alice-secret", "accountId": "111122223333",
         "principalArn": "arn:aws:iam::111122223333:user/alice"},
    ]}))
    settings = Settings(database_url="sqlite://", auth="strict", credentials_file=str(creds))
    with mock_connectcases(settings):
        alice = boto3.client("connectcases", region_name="us-east-1", aws_access_key_id="AKIDALICE",
                             aws_secret_access_key="alice-secret")
        mallory = boto3.client("connectcases", region_name="us-east-1", aws_access_key_id="AKIDALICE",
                               aws_secret_access_key="wrong", config=Config(retries={"max_attempts": 1}))
        sent = Sends(alice)
        assert alice.create_domain(name="x")["domainArn"].startswith("arn:aws:cases:us-east-1:111122223333:")
        assert sent.count == 1
        with pytest.raises(ClientError) as refused:
            mallory.list_domains()
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
