"""GetCase through mock_connectcases() against botocore's Stubber (the client-side floor).

The Stubber answers a canned response from inside the client (no serialization, signing,
or parsing), so it is the least any in-process fake can cost; the mock adds botocore's
serialize-sign-parse and our whole pipeline (route, parse, validate, SQLite read, serialize).
Prints the median time per call over several rounds for each, and the ratio mock / Stubber.
A third line splits the difference: the same client answered at `before-send` with the
mock's recorded response bytes, i.e. botocore's own serialize-sign-parse, the floor of any
mock that works at the HTTP level. Uses GetTemplate when GetCase is not implemented yet.

    .venv/bin/python bench/mock.py [--calls 2000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from opencases import api  # noqa: F401  (importing it registers the handlers)
from opencases.services.registry import HANDLERS
from opencases.testing import mock_connectcases

ACCOUNT = "123456789012"


def new_client() -> Any:
    return boto3.client(
        "connectcases", region_name="us-east-1", aws_access_key_id=ACCOUNT, aws_secret_access_key="secret"
    )


def setup(client: Any, operation: str) -> tuple[str, dict[str, Any]]:
    """Create what one call reads; returns the client method name and its parameters."""
    domain_id = client.create_domain(name="bench")["domainId"]
    field_id = client.create_field(domainId=domain_id, name="Priority", type="Text")["fieldId"]
    layout_id = client.create_layout(
        domainId=domain_id,
        name="Default",
        content={"basic": {"topPanel": {"sections": [{"fieldGroup": {"name": "g", "fields": [{"id": field_id}]}}]}}},
    )["layoutId"]
    template_id = client.create_template(
        domainId=domain_id, name="Incident", layoutConfiguration={"defaultLayout": layout_id},
        requiredFields=[{"fieldId": field_id}],
    )["templateId"]
    if operation == "GetCase":
        case_id = client.create_case(
            domainId=domain_id, templateId=template_id,
            fields=[{"id": "title", "value": {"stringValue": "Printer on fire"}},
                    {"id": field_id, "value": {"stringValue": "high"}}],
        )["caseId"]
        return "get_case", {"domainId": domain_id, "caseId": case_id, "fields": [{"id": "title"}, {"id": field_id}]}
    return "get_template", {"domainId": domain_id, "templateId": template_id}


def median_per_call(fn: Callable[[], Any], calls: int, rounds: int) -> float:
    for _ in range(min(calls, 200)):  # warm-up: model loading, caches, SQLite page cache
        fn()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - started) / calls)
    return statistics.median(times)


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_kwargs: Any) -> Any:
        yield self.data


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()

    operation = "GetCase" if "GetCase" in HANDLERS else "GetTemplate"
    if operation != "GetCase":
        print("GetCase is not implemented yet: measuring GetTemplate instead")

    recorded: dict[str, Any] = {}

    def record(http_response: Any, **_kwargs: Any) -> None:
        recorded.update(status=http_response.status_code, headers=dict(http_response.headers),
                        body=http_response.content)

    with mock_connectcases():
        client = new_client()
        method_name, params = setup(client, operation)
        method = getattr(client, method_name)
        client.meta.events.register("after-call.connectcases", record)
        canned = {k: v for k, v in method(**params).items() if k != "ResponseMetadata"}
        client.meta.events.unregister("after-call.connectcases", record)
        mock_time = median_per_call(lambda: method(**params), args.calls, args.rounds)

    # Outside the mock: the same recorded bytes handed back at before-send.
    http_client = new_client()
    http_client.meta.events.register(
        "before-send.connectcases",
        lambda request, **_: AWSResponse(request.url, recorded["status"], recorded["headers"],
                                         _Body(recorded["body"])),
    )
    http_method = getattr(http_client, method_name)
    http_floor = median_per_call(lambda: http_method(**params), args.calls, args.rounds)

    stub_client = new_client()
    stub_method = getattr(stub_client, method_name)
    with Stubber(stub_client) as stubber:
        # Queue every canned response outside the timed loops (add_response validates each).
        for _ in range(min(args.calls, 200) + args.calls * args.rounds):
            stubber.add_response(method_name, canned, params)
        stub_time = median_per_call(lambda: stub_method(**params), args.calls, args.rounds)

    print(f"operation: {operation}; {args.rounds} rounds of {args.calls} calls; median per call")
    print(f"  mock_connectcases:              {mock_time * 1e6:8.1f} us")
    print(f"  botocore, canned at before-send: {http_floor * 1e6:8.1f} us  (serialize, sign, parse only)")
    print(f"  botocore Stubber:               {stub_time * 1e6:8.1f} us  (client-side floor)")
    print(f"  ratio mock/Stubber: {mock_time / stub_time:.2f}  (target <= 2.0); "
          f"canned/Stubber: {http_floor / stub_time:.2f}; mock/canned: {mock_time / http_floor:.2f}")


if __name__ == "__main__":
    main()
