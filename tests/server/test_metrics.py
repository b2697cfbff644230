"""GET /_opencases/metrics (Prometheus text format) and `--log-format json` request logs."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.reliability.seed import text
from tests.support import LiveServer, make_client


def scrape(endpoint: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """{sample name: {sorted labels: value}}."""
    with urllib.request.urlopen(endpoint + "/_opencases/metrics", timeout=10) as r:
        assert r.status == 200
        assert r.headers["content-type"].startswith("text/plain")
        body = r.read().decode()
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def _count(metrics: dict[str, Any], operation: str, status: str) -> float:
    return float(metrics.get("opencases_requests_total", {}).get((("operation", operation), ("status", status)), 0.0))


def test_requests_latency_outbox_and_pool(server: LiveServer, client: Any, domain_id: str) -> None:
    before = scrape(server.endpoint)
    template_id = client.create_template(domainId=domain_id, name="T")["templateId"]
    client.put_case_event_configuration(domainId=domain_id, eventBridge={"enabled": True})
    for _ in range(3):
        client.create_case(domainId=domain_id, templateId=template_id, fields=[text("title", "m")])
    with contextlib.suppress(client.exceptions.ResourceNotFoundException):
        client.get_case(domainId=domain_id, caseId="nope", fields=[{"id": "title"}])
    after = scrape(server.endpoint)
    assert _count(after, "CreateCase", "200") - _count(before, "CreateCase", "200") == 3
    assert _count(after, "GetCase", "404") - _count(before, "GetCase", "404") == 1
    buckets = after["opencases_request_duration_seconds_bucket"]
    assert buckets[(("le", "+Inf"), ("operation", "CreateCase"))] >= 3
    assert after["opencases_request_duration_seconds_count"][(("operation", "CreateCase"),)] >= 3
    # No event sink is configured, so the cases' events wait in the outbox.
    assert after["opencases_outbox_pending"][()] >= 3
    pool = after["opencases_db_pool_checked_out"]
    assert len(pool) == 1 and next(iter(pool.values())) >= 0
    assert "opencases_db_pool_size" in after


def test_json_logs_one_object_per_request(database_url: str, tmp_path: Path) -> None:
    live = LiveServer(database_url, tmp_path, ["--log-format", "json"]).start()
    try:
        client = make_client(live.endpoint)
        client.list_domains()
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            client.get_domain(domainId="missing")
    finally:
        live.stop()
    records = [json.loads(line) for line in live.log().splitlines() if line.startswith("{")]
    requests = [r for r in records if r.get("logger") == "opencases.request"]
    assert [(r["operation"], r["status"]) for r in requests] == [("ListDomains", 200), ("GetDomain", 404)]
    for r in requests:
        assert {"method", "path", "operation", "status", "ms", "request_id", "time", "level"} <= set(r)
        assert r["method"] == "POST" and isinstance(r["ms"], float)
    assert requests[1]["path"] == "/domains/missing"
