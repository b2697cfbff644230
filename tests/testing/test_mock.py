"""mock_connectcases(): boto3 served in process, as a context manager, decorator and fixture."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import unittest
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, HTTPClientError

from opencases.testing import current_mock, mock_connectcases
from tests.testing.scenario import CASE_OPERATIONS, config_scenario, missing_case_operations, record

ACCOUNT = "123456789012"


def new_client(account: str = ACCOUNT, region: str = "us-east-1") -> Any:
    return boto3.client(
        "connectcases", region_name=region, aws_access_key_id=account, aws_secret_access_key="secret"
    )


def domain_names(client: Any) -> list[str]:
    return [d["name"] for d in client.list_domains()["domains"]]


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mock must never open a connection: any attempt fails the test."""

    def refuse(*args: Any, **_kwargs: Any) -> None:
        raise AssertionError(f"network connection attempted: {args[-1]!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_config_scenario_runs_unchanged_under_the_mock() -> None:
    with mock_connectcases():
        log: list[tuple[str, Any]] = []
        ids = config_scenario(new_client(), log)
    results = dict(log)
    assert results["CreateDomain duplicate"]["error"] == "ConflictException"
    assert results["GetDomain missing"] == {
        "error": "ResourceNotFoundException", "status": 404, "message": results["GetDomain missing"]["message"]
    }
    assert results["CreateTemplate invalid"]["error"] == "ValidationException"
    assert [o["value"] for o in results["ListFieldOptions"]["options"]] == ["high", "low"]
    assert results["GetTemplate"]["layoutConfiguration"] == {"defaultLayout": ids["layout"]}
    assert results["ListTagsForResource"]["tags"] == {"team": "support"}
    assert [e["id"] for e in results["BatchGetField"]["errors"]] == ["no-such-field"]


@pytest.mark.skipif(
    bool(missing_case_operations()),
    reason=f"case operations not implemented yet: {', '.join(missing_case_operations())}",
)
def test_case_scenario_runs_unchanged_under_the_mock() -> None:
    with mock_connectcases():
        results = dict(record(new_client(), with_cases=True))
    for name in CASE_OPERATIONS:
        assert "error" not in results[name], results[name]
    fields = {f["id"]: f["value"] for f in results["GetCase updated"]["fields"]}
    assert fields["status"] == {"stringValue": "closed"}
    assert results["GetCaseAuditEvents"]["auditEvents"]


def test_fresh_state_per_mock_and_reset() -> None:
    m = mock_connectcases()
    with m:
        client = new_client()
        client.create_domain(name="one")
        assert domain_names(client) == ["one"]
        m.reset()
        assert domain_names(client) == []
        client.create_domain(name="two")
    with m:
        assert domain_names(new_client()) == []


def test_reset_of_one_account_leaves_the_others() -> None:
    with mock_connectcases() as m:
        a, b = new_client("111111111111"), new_client("222222222222")
        a.create_domain(name="a")
        b.create_domain(name="b")
        m.reset("111111111111")
        assert domain_names(a) == []
        assert domain_names(b) == ["b"]
        assert list(m.summary()["accounts"]) == ["222222222222"]


def test_client_created_before_the_mock_is_served() -> None:
    client = new_client()
    with mock_connectcases():
        assert client.create_domain(name="early")["domainStatus"] == "Active"
        assert domain_names(client) == ["early"]


def test_inert_outside_the_mock() -> None:
    client = new_client()
    with mock_connectcases():
        pass
    # No mock: botocore would send the request, and the autouse fixture refuses the socket.
    with pytest.raises(HTTPClientError, match="network connection attempted"):
        client.list_domains()


def test_nested_mocks_innermost_serves_and_outer_is_restored() -> None:
    client = new_client()
    with mock_connectcases() as outer:
        client.create_domain(name="outer")
        with mock_connectcases() as inner:
            assert current_mock() is inner
            assert domain_names(client) == []
            client.create_domain(name="inner")
            assert domain_names(client) == ["inner"]
        assert current_mock() is outer
        assert domain_names(client) == ["outer"]
    assert current_mock() is None


def test_reentering_the_same_mock_shares_its_state() -> None:
    m = mock_connectcases()

    @m
    def inner() -> list[str]:
        return domain_names(new_client())

    with m:
        new_client().create_domain(name="shared")
        assert inner() == ["shared"]
        assert m.active
    assert not m.active


def test_clients_in_worker_threads_are_served() -> None:
    with mock_connectcases():
        client = new_client()

        def create(i: int) -> str:
            # boto3 clients are thread-safe; the default session is not, so threads share one client.
            return str(client.create_domain(name=f"d{i}")["domainId"])

        with ThreadPoolExecutor(max_workers=4) as pool:
            ids = list(pool.map(create, range(5)))
        assert len(set(ids)) == 5
        assert sorted(domain_names(client)) == [f"d{i}" for i in range(5)]

        seen: list[list[str]] = []
        worker = threading.Thread(target=lambda: seen.append(domain_names(new_client())))
        worker.start()
        worker.join()
        assert sorted(seen[0]) == [f"d{i}" for i in range(5)]


def test_errors_are_modeled_client_errors() -> None:
    with mock_connectcases():
        client = new_client()
        with pytest.raises(client.exceptions.ResourceNotFoundException) as err:
            client.get_domain(domainId="missing")
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert err.value.response["resourceType"]
        with pytest.raises(ClientError) as verr:
            client.create_domain(name="   ")
        assert verr.value.response["Error"]["Code"] == "ValidationException"


def test_fake_credentials_and_region_only_when_none_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    with mock_connectcases():
        # A session of its own: boto3's default session may have cached other credentials.
        client = boto3.session.Session().client("connectcases")
        arn = client.create_domain(name="x")["domainArn"]
        assert arn.startswith("arn:aws:cases:us-east-1:123456789012:domain/")
    assert "AWS_ACCESS_KEY_ID" not in os.environ
    assert "AWS_DEFAULT_REGION" not in os.environ

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "210987654321")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    with mock_connectcases():
        arn = boto3.session.Session().client("connectcases").create_domain(name="x")["domainArn"]
        assert arn.startswith("arn:aws:cases:eu-west-2:210987654321:domain/")
    assert os.environ["AWS_ACCESS_KEY_ID"] == "210987654321"


# -- decorators ---------------------------------------------------------------------------------

@mock_connectcases()
def test_decorated_function() -> None:
    client = new_client()
    client.create_domain(name="decorated")
    assert domain_names(client) == ["decorated"]


def test_decorated_async_function() -> None:
    @mock_connectcases()
    async def scenario() -> list[str]:
        client = new_client()
        # botocore is synchronous; a coroutine that calls it (directly or in a thread) is served.
        await asyncio.to_thread(client.create_domain, name="async")
        return domain_names(client)

    assert asyncio.run(scenario()) == ["async"]
    assert current_mock() is None


def test_each_call_of_a_decorated_function_starts_fresh() -> None:
    @mock_connectcases()
    def count_and_add() -> int:
        client = new_client()
        n = len(domain_names(client))
        client.create_domain(name="once")
        return n

    assert [count_and_add(), count_and_add()] == [0, 0]


@mock_connectcases()
class TestDecoratedClass:
    def test_one(self) -> None:
        new_client().create_domain(name="one")
        assert domain_names(new_client()) == ["one"]

    def test_two_starts_fresh(self) -> None:
        assert domain_names(new_client()) == []

    def helper_is_not_wrapped(self) -> bool:
        return current_mock() is not None


def test_class_decorator_leaves_other_methods_alone() -> None:
    assert TestDecoratedClass().helper_is_not_wrapped() is False


@mock_connectcases()
class TestDecoratedClassWithSetupMethod:
    def setup_method(self) -> None:
        self.client = new_client()
        self.client.create_domain(name="from-setup")

    def test_setup_data_is_visible(self) -> None:
        assert domain_names(self.client) == ["from-setup"]

    def teardown_method(self) -> None:
        assert domain_names(self.client) == ["from-setup"]


def test_unittest_case_decorated_from_setup_to_cleanup() -> None:
    outcomes: list[Any] = []

    @mock_connectcases()
    class Case(unittest.TestCase):
        def setUp(self) -> None:
            self.client = new_client()
            self.client.create_domain(name="setup")

        def test_sees_setup(self) -> None:
            outcomes.append(domain_names(self.client))

        def tearDown(self) -> None:
            outcomes.append(current_mock() is not None)

    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(Case).run(result)
    assert result.wasSuccessful(), result.errors + result.failures
    assert outcomes == [["setup"], True]
    assert current_mock() is None


def test_stop_without_start_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        mock_connectcases().stop()
    with pytest.raises(RuntimeError, match="not active"):
        mock_connectcases().reset()


def test_default_session_created_before_import_is_served(tmp_path: Any) -> None:
    """boto3's default session existing before `import opencases.testing` gets the hook too;
    a session of its own created before the import does not (documented)."""
    script = tmp_path / "early.py"
    script.write_text(
        "import boto3, botocore.session\n"
        "boto3.setup_default_session(region_name='us-east-1', aws_access_key_id='123456789012',\n"
        "                            aws_secret_access_key='s')\n"
        "own = botocore.session.get_session()\n"
        "from opencases.testing import mock_connectcases\n"
        "with mock_connectcases():\n"
        "    print(boto3.client('connectcases').create_domain(name='x')['domainStatus'])\n"
        "    early = own.create_client('connectcases', region_name='us-east-1', endpoint_url='http://127.0.0.1:9',\n"
        "        aws_access_key_id='k', aws_secret_access_key='s',\n"
        "        config=botocore.config.Config(retries={'max_attempts': 1}, connect_timeout=1))\n"
        "    try:\n"
        "        early.list_domains()\n"
        "    except Exception as exc:\n"
        "        print(type(exc).__name__)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["Active", "EndpointConnectionError"]
