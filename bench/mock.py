"""GetCase through mock_connectcases() against botocore's Stubber (the client-side floor).

The Stubber answers a canned response from inside the client (no serialization, signing,
or parsing), so it is the least any in-process fake can cost; the mock adds botocore's
serialize-sign-parse and our whole pipeline (route, parse, validate, SQLite read, serialize).
Prints the median time per call over several rounds for each, and the ratio mock / Stubber.
Uses GetTemplate when GetCase is not implemented yet (and says so).

    .venv/bin/python bench/mock.py [--calls 2000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import boto3
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


def per_call(fn: Any, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()

    operation = "GetCase" if "GetCase" in HANDLERS else "GetTemplate"
    if operation != "GetCase":
        print("GetCase is not implemented yet: measuring GetTemplate instead")

    with mock_connectcases():
        client = new_client()
        method_name, params = setup(client, operation)
        method = getattr(client, method_name)
        canned = {k: v for k, v in method(**params).items() if k != "ResponseMetadata"}
        for _ in range(200):  # warm-up: model loading, caches, SQLite page cache
            method(**params)
        mock_times = [per_call(lambda: method(**params), args.calls) for _ in range(args.rounds)]

    stub_client = new_client()
    stub_method = getattr(stub_client, method_name)
    stub_times = []
    with Stubber(stub_client) as stubber:
        for round_ in range(args.rounds + 1):
            # Queue the canned responses outside the timed loop (add_response validates each).
            for _ in range(args.calls):
                stubber.add_response(method_name, canned, params)
            elapsed = per_call(lambda: stub_method(**params), args.calls)
            if round_ > 0:  # the first round is the warm-up
                stub_times.append(elapsed)

    mock_median = statistics.median(mock_times)
    stub_median = statistics.median(stub_times)
    print(f"operation: {operation}; {args.rounds} rounds of {args.calls} calls; median per call")
    print(f"  mock_connectcases: {mock_median * 1e6:8.1f} us")
    print(f"  botocore Stubber:  {stub_median * 1e6:8.1f} us  (client-side floor)")
    print(f"  ratio mock/Stubber: {mock_median / stub_median:.2f}  (target <= 2.0)")


if __name__ == "__main__":
    main()
