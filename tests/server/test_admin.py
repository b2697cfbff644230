"""Emulator controls: POST /_opencases/reset (all, or one account) and GET /_opencases/summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import LiveServer, PostgresSchema, make_client, postgres_url

A, B = "111111111111", "222222222222"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of its own: a reset of everything must not touch other modules' data."""
    workdir = Path(tmp_path_factory.mktemp("admin"))
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{workdir / 'admin.db'}"
    else:
        base = postgres_url()
        if base is None:
            pytest.skip("OPENCASES_TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
        schema = PostgresSchema(base)
        url = schema.url
    server = LiveServer(url, workdir).start()
    try:
        yield server
    finally:
        server.stop()
        if schema is not None:
            schema.drop()


def populate(client: Any, name: str, cases: int = 0) -> str:
    domain = str(client.create_domain(name=name)["domainId"])
    field = client.create_field(domainId=domain, name="Notes", type="Text")["fieldId"]
    layout = client.create_layout(domainId=domain, name="L", content={
        "basic": {"topPanel": {"sections": [{"fieldGroup": {"name": "g", "fields": [{"id": field}]}}]}}})["layoutId"]
    template = client.create_template(domainId=domain, name="T", layoutConfiguration={"defaultLayout": layout})
    client.create_template(domainId=domain, name="T2")
    for i in range(cases):
        client.create_case(domainId=domain, templateId=template["templateId"],
                           fields=[{"id": "title", "value": {"stringValue": f"case {i}"}}])
    client.tag_resource(arn=template["templateArn"], tags={"k": "v"})
    return domain


def test_summary_counts_per_account_and_region(live: LiveServer) -> None:
    live.reset()
    a_east = populate(make_client(live.endpoint, A), "a-east", cases=2)
    a_west = populate(make_client(live.endpoint, A, region="us-west-2"), "a-west")
    b_east = populate(make_client(live.endpoint, B), "b-east", cases=1)
    r = httpx.get(live.endpoint + "/_opencases/summary")
    assert r.status_code == 200
    accounts = r.json()["accounts"]
    assert sorted(accounts) == [A, B]
    assert sorted(accounts[A]) == ["us-east-1", "us-west-2"]
    (east,) = accounts[A]["us-east-1"]["domains"]
    system_fields = east["fields"] - 1
    assert east == {"domainId": a_east, "name": "a-east", "fields": system_fields + 1,
                    "templates": 2, "layouts": 1, "cases": 2}
    assert [d["domainId"] for d in accounts[A]["us-west-2"]["domains"]] == [a_west]
    assert accounts[A]["us-west-2"]["domains"][0]["cases"] == 0
    assert accounts[B]["us-east-1"]["domains"][0]["domainId"] == b_east
    assert accounts[B]["us-east-1"]["domains"][0]["cases"] == 1


def test_reset_one_account_then_everything(live: LiveServer) -> None:
    live.reset()
    a, b = make_client(live.endpoint, A), make_client(live.endpoint, B)
    a_domain = populate(a, "a", cases=1)
    b_domain = populate(b, "b", cases=1)

    r = httpx.post(live.endpoint + f"/_opencases/reset?account={A}")
    assert r.status_code == 200
    assert r.json()["domainsDeleted"] == 1
    assert a.list_domains()["domains"] == []
    with pytest.raises(a.exceptions.ResourceNotFoundException):
        a.get_domain(domainId=a_domain)
    assert [d["domainId"] for d in b.list_domains()["domains"]] == [b_domain]
    assert list(live.summary()["accounts"]) == [B]
    # The account starts over: the same names are free again.
    populate(a, "a")

    r = httpx.post(live.endpoint + "/_opencases/reset")
    assert r.status_code == 200
    assert r.json()["domainsDeleted"] == 2
    assert live.summary() == {"accounts": {}}
    assert b.list_domains()["domains"] == []
    populate(b, "b")


def test_reset_rejects_a_malformed_account(live: LiveServer) -> None:
    r = httpx.post(live.endpoint + "/_opencases/reset?account=12")
    assert r.status_code == 400
    assert httpx.get(live.endpoint + "/_opencases/reset").status_code == 405


def test_controls_are_refused_unless_auth_is_open(tmp_path: Path) -> None:
    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps({"credentials": [{
        "accessKeyId": "AKIDEXAMPLE", "secretAccessKey": "s", "accountId": A,
        "principalArn": f"arn:aws:iam::{A}:user/ana"}]}))
    server = LiveServer(f"sqlite:///{tmp_path / 'strict.db'}", tmp_path,
                        ["--auth", "strict", "--credentials", str(creds)]).start()
    try:
        assert httpx.post(server.endpoint + "/_opencases/reset").status_code == 403
        assert httpx.get(server.endpoint + "/_opencases/summary").status_code == 403
        assert httpx.get(server.endpoint + "/_opencases/health").status_code == 200
    finally:
        server.stop()
