"""GetCase through mock_connectcases() against botocore's Stubber (the client-side floor).

The Stubber answers a canned response from inside the client (at `before-call`: no signing,
sending or parsing), so it is the least any in-process fake can cost; the mock answers at the
same point and adds our whole pipeline (route, parse, validate, SQLite read, the parsed
result). A third line splits the difference: the same client answered at `before-send` with
the mock's recorded response bytes, i.e. botocore's own serialize-sign-parse, the floor of
any mock that works at the HTTP level. Rounds of the three alternate, so that a busy machine
slows them alike; prints the median time per call (wall clock, and CPU time in brackets) and
the ratios. Uses GetTemplate when GetCase is not implemented yet.

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
from opencases.testing import mock as mock_module
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


def per_call(fn: Callable[[], Any], calls: int) -> tuple[float, float]:
    """(wall, CPU) seconds per call over `calls` calls."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls


def interleaved(contenders: dict[str, Callable[[], Any]], calls: int, rounds: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) per call of each contender, measured in alternating rounds so that
    a busy machine slows them alike; warm-up first (model loading, caches, page cache)."""
    for fn in contenders.values():
        for _ in range(min(calls, 200)):
            fn()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            times[name].append(per_call(fn, calls))
    return {
        name: (statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts))
        for name, ts in times.items()
    }


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

        # The same recorded bytes handed back at before-send, by a client the mock leaves alone.
        http_client = new_client()
        for event, handler in (("CALL_EVENT", "_before_call"), ("EVENT", "_before_send")):
            if hasattr(mock_module, event):  # (older mocks have no before-call handler)
                http_client.meta.events.unregister(getattr(mock_module, event), getattr(mock_module, handler))
        http_client.meta.events.register(
            "before-send.connectcases",
            lambda request, **_: AWSResponse(request.url, recorded["status"], recorded["headers"],
                                             _Body(recorded["body"])),
        )
        http_method = getattr(http_client, method_name)

        # The Stubber answers at before-call ahead of the mock (it registers first).
        stub_client = new_client()
        stub_method = getattr(stub_client, method_name)
        with Stubber(stub_client) as stubber:
            # Queue every canned response outside the timed loops (add_response validates each).
            for _ in range(min(args.calls, 200) + args.calls * args.rounds):
                stubber.add_response(method_name, canned, params)
            results = interleaved(
                {
                    "mock": lambda: method(**params),
                    "canned": lambda: http_method(**params),
                    "stub": lambda: stub_method(**params),
                },
                args.calls,
                args.rounds,
            )

    (mock_wall, mock_cpu), (canned_wall, canned_cpu), (stub_wall, stub_cpu) = (
        results["mock"], results["canned"], results["stub"]
    )
    print(f"operation: {operation}; {args.rounds} interleaved rounds of {args.calls} calls; "
          "median per call, wall (CPU)")
    print(f"  mock_connectcases:               {mock_wall * 1e6:8.1f} us ({mock_cpu * 1e6:6.1f})")
    print(f"  botocore, canned at before-send: {canned_wall * 1e6:8.1f} us ({canned_cpu * 1e6:6.1f})"
          "  (serialize, sign, parse only)")
    print(f"  botocore Stubber:                {stub_wall * 1e6:8.1f} us ({stub_cpu * 1e6:6.1f})  (client-side floor)")
    print(f"  ratio mock/Stubber: {mock_wall / stub_wall:.2f} (CPU {mock_cpu / stub_cpu:.2f}; target <= 2.0); "
          f"canned/Stubber: {canned_wall / stub_wall:.2f}; mock/canned: {mock_wall / canned_wall:.2f}")


if __name__ == "__main__":
    main()
