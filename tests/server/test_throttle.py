"""Throttling at AWS's documented rates: token buckets counted with an injected clock, never
by timing; then one live server started with --rate-limits aws."""

from __future__ import annotations

from pathlib import Path

import boto3
import httpx
import pytest
from botocore.config import Config

from opencases.config import Settings
from opencases.errors import ThrottlingException
from opencases.server.throttle import AWS_LIMITS, Limit, Throttle, throttle_for
from opencases.testing import mock_connectcases
from tests.support import LiveServer

# SPEC.md section 2.2, first table, restated independently of throttle.py.
DOCUMENTED = {
    "CreateCase": (2, 10), "SearchCases": (2, 10), "ListTemplates": (2, 10), "ListLayouts": (2, 10),
    "CreateRelatedItem": (2, 10), "SearchRelatedItems": (2, 10), "ListCaseRules": (2, 10),
    "ListTagsForResource": (2, 10), "TagResource": (2, 10), "UntagResource": (2, 10),
    "GetCaseAuditEvents": (2, 10), "GetCaseEventConfiguration": (2, 10), "PutCaseEventConfiguration": (2, 10),
    "GetCase": (4, 10),
    "UpdateCase": (2, 2), "ListCasesForContact": (2, 2),
    "CreateField": (2, 5), "ListFields": (2, 5), "UpdateField": (2, 5), "BatchPutFieldOptions": (2, 5),
    "CreateDomain": (2, 5), "GetDomain": (2, 5), "ListDomains": (2, 5), "CreateTemplate": (2, 5),
    "UpdateTemplate": (2, 5), "CreateLayout": (2, 5), "UpdateLayout": (2, 5), "CreateCaseRule": (2, 5),
    "UpdateCaseRule": (2, 5), "DeleteCaseRule": (2, 5),
    "BatchGetField": (8, 25), "BatchGetCaseRule": (8, 25),
    "ListFieldOptions": (6, 16),
    "GetTemplate": (6, 20), "GetLayout": (6, 20),
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def attempt(throttle: Throttle, n: int, operation: str, account: str = "111111111111",
            region: str = "us-east-1") -> int:
    """Make n calls at the current instant; return how many were throttled."""
    refused = 0
    for _ in range(n):
        try:
            throttle.check(account, region, operation)
        except ThrottlingException:
            refused += 1
    return refused


def test_table_matches_the_documentation() -> None:
    for operation, (rate, burst) in DOCUMENTED.items():
        assert AWS_LIMITS[operation] == Limit(rate, burst), operation


@pytest.mark.parametrize("operation", sorted(DOCUMENTED))
def test_burst_then_refill_at_the_documented_rate(operation: str) -> None:
    rate, burst = DOCUMENTED[operation]
    clock = FakeClock()
    throttle = Throttle(clock=clock)
    k = 3
    assert attempt(throttle, burst + k, operation) == k
    for seconds in (0.5, 1.0, 2.0):
        clock.advance(seconds)
        allowed = min(burst, int(rate * seconds))  # refilled, up to the burst
        assert attempt(throttle, allowed, operation) == 0
        assert attempt(throttle, 1, operation) == 1
    # A long pause refills to the burst, never beyond.
    clock.advance(3600)
    assert attempt(throttle, burst + k, operation) == k


def test_buckets_are_per_account_region_and_operation() -> None:
    clock = FakeClock()
    throttle = Throttle(clock=clock)
    assert attempt(throttle, 6, "ListDomains") == 1
    assert attempt(throttle, 5, "ListDomains", account="222222222222") == 0
    assert attempt(throttle, 5, "ListDomains", region="eu-west-2") == 0
    assert attempt(throttle, 5, "GetDomain") == 0
    throttle.reset("111111111111")
    assert attempt(throttle, 5, "ListDomains") == 0
    assert attempt(throttle, 1, "ListDomains", account="222222222222") == 1


def test_operations_without_a_documented_rate_are_not_throttled() -> None:
    throttle = Throttle(clock=FakeClock())
    assert attempt(throttle, 1000, "DeleteDomain") == 0


def test_modes() -> None:
    assert throttle_for("off") is None
    assert isinstance(throttle_for("aws"), Throttle)
    with pytest.raises(ValueError):
        throttle_for("fast")


def test_setting_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCASES_RATE_LIMITS", "AWS")
    assert Settings.from_env().rate_limits == "aws"


def test_through_the_mock_with_an_injected_clock() -> None:
    clock = FakeClock()
    cases = boto3.client("connectcases", region_name="us-east-1", aws_access_key_id="123456789012",
                         aws_secret_access_key="s", config=Config(retries={"max_attempts": 1}))
    with mock_connectcases(throttle=Throttle(clock=clock)) as mock:
        refused = 0
        for _ in range(8):
            try:
                cases.list_domains()
            except cases.exceptions.ThrottlingException:
                refused += 1
        assert refused == 3  # ListDomains: burst 5
        clock.advance(1.5)  # rate 2/s: 3 more
        for _ in range(3):
            cases.list_domains()
        with pytest.raises(cases.exceptions.ThrottlingException):
            cases.list_domains()
        mock.reset()  # a reset also refills the buckets
        for _ in range(5):
            cases.list_domains()


def test_live_server_with_aws_rate_limits(tmp_path: Path) -> None:
    server = LiveServer(f"sqlite:///{tmp_path / 'throttle.db'}", tmp_path, ["--rate-limits", "aws"]).start()
    try:
        auth = ("AWS4-HMAC-SHA256 Credential=123456789012/20260101/us-east-1/cases/aws4_request, "
                "SignedHeaders=host, Signature=0")
        # ListDomains: burst 5, 2 per second. 20 calls in well under 7 seconds must meet a 429.
        statuses = []
        throttled = None
        for _ in range(20):
            r = httpx.post(server.endpoint + "/domains-list", headers={"authorization": auth})
            statuses.append(r.status_code)
            if r.status_code == 429:
                throttled = r
                break
        assert statuses[:5] == [200] * 5
        assert throttled is not None, statuses
        assert throttled.headers["x-amzn-ErrorType"] == "ThrottlingException"
        assert throttled.json()["message"]

        cases = boto3.client("connectcases", region_name="us-east-1", endpoint_url=server.endpoint,
                             aws_access_key_id="123456789012", aws_secret_access_key="s",
                             config=Config(retries={"max_attempts": 1}))
        with pytest.raises(cases.exceptions.ThrottlingException):
            for _ in range(20):
                cases.list_domains()
    finally:
        server.stop()
