"""`opencases export` and `opencases import`: a domain's cases survive a round trip."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support import LiveServer, make_client


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opencases", *args], capture_output=True, text=True)


def _case_view(client: Any, domain_id: str, case_id: str, field_ids: list[str]) -> dict[str, Any]:
    got = client.get_case(domainId=domain_id, caseId=case_id, fields=[{"id": f} for f in field_ids])
    items = client.search_related_items(domainId=domain_id, caseId=case_id)["relatedItems"]
    return {
        "fields": {f["id"]: f["value"] for f in got["fields"]},
        "tags": got["tags"],
        "items": sorted(json.dumps(i["content"], sort_keys=True, default=str) for i in items if i["type"] != "Contact"),
        "types": sorted(i["type"] for i in items),
    }


def test_export_then_import_round_trip(database_url: str, tmp_path: Path) -> None:
    live = LiveServer(database_url, tmp_path).start()
    try:
        client = make_client(live.endpoint)
        domain_id = client.create_domain(name="source")["domainId"]
        number = client.create_field(domainId=domain_id, name="Amount", type="Number")["fieldId"]
        when = client.create_field(domainId=domain_id, name="Due", type="DateTime")["fieldId"]
        template = client.create_template(domainId=domain_id, name="T")["templateId"]
        ids = []
        for i in range(5):
            ids.append(
                client.create_case(
                    domainId=domain_id,
                    templateId=template,
                    tags={"n": str(i)},
                    fields=[
                        {"id": "title", "value": {"stringValue": f"Case {i}"}},
                        {"id": number, "value": {"doubleValue": i * 1.5}},
                        {"id": when, "value": {"stringValue": "2025-01-02T03:04:05.678Z"}},
                    ],
                )["caseId"]
            )
        client.create_related_item(
            domainId=domain_id,
            caseId=ids[0],
            type="Comment",
            content={"comment": {"body": "hello", "contentType": "Text/Plain"}},
        )
        client.create_related_item(
            domainId=domain_id, caseId=ids[0], type="ConnectCase", content={"connectCase": {"caseId": ids[1]}}
        )
        client.create_related_item(
            domainId=domain_id,
            caseId=ids[2],
            type="Contact",
            content={"contact": {"contactArn": "arn:aws:connect:us-east-1:123456789012:instance/i/contact/c"}},
        )
        export = tmp_path / "cases.jsonl"
        out = _run("export", "--domain", domain_id, "--database-url", database_url, "--output", str(export))
        assert out.returncode == 0, out.stderr
        lines = export.read_text().splitlines()
        assert len(lines) == 5

        target = client.create_domain(name="target")["domainId"]
        # The target needs the same fields and template: ids differ, so rewrite them.
        number2 = client.create_field(domainId=target, name="Amount", type="Number")["fieldId"]
        when2 = client.create_field(domainId=target, name="Due", type="DateTime")["fieldId"]
        template2 = client.create_template(domainId=target, name="T")["templateId"]
        text = export.read_text().replace(number, number2).replace(when, when2).replace(template, template2)
        (tmp_path / "rewritten.jsonl").write_text(text + "not json\n")
        out = _run("import", str(tmp_path / "rewritten.jsonl"), "--domain", target, "--database-url", database_url)
        assert out.returncode == 1  # the bad line
        assert "imported 5 cases and 3 related items" in out.stdout, out.stdout + out.stderr
        assert "line 6: not JSON" in out.stderr

        new_ids = [c["caseId"] for c in client.search_cases(domainId=target, maxResults=100)["cases"]]
        assert len(new_ids) == 5
        def view(domain: str, case_id: str, names: dict[str, str]) -> str:
            fields = _case_view(client, domain, case_id, [*names, "title", "reference_number"])["fields"]
            return json.dumps({names.get(k, k): v for k, v in fields.items()}, sort_keys=True)

        src = sorted(view(domain_id, c, {number: "N", when: "W"}) for c in ids)
        dst = sorted(view(target, c, {number2: "N", when2: "W"}) for c in new_ids)
        assert src == dst  # values and reference numbers survive
        # Imported cases get a Case.Created audit like CreateCase's.
        events = client.get_case_audit_events(domainId=target, caseId=new_ids[0])["auditEvents"]
        assert [e["type"] for e in events][0] == "Case.Created"
        # The ConnectCase link points at the new copy of the linked case.
        linked = [
            i
            for c in new_ids
            for i in client.search_related_items(domainId=target, caseId=c)["relatedItems"]
            if i["type"] == "ConnectCase"
        ]
        assert len(linked) == 1 and linked[0]["content"]["connectCase"]["caseId"] in new_ids
    finally:
        live.stop()


def test_import_rejects_bad_cases_without_writing_them(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    live = LiveServer(db, tmp_path).start()
    try:
        client = make_client(live.endpoint)
        domain_id = client.create_domain(name="d")["domainId"]
        template = client.create_template(domainId=domain_id, name="T")["templateId"]
        good = {"templateId": template, "fields": [{"id": "title", "value": {"stringValue": "ok"}}]}
        bad_field = {"templateId": template, "fields": [{"id": "nope", "value": {"stringValue": "x"}}]}
        no_title = {"templateId": template, "fields": []}
        bad_item = good | {"relatedItems": [{"type": "Comment", "content": {"comment": {"body": ""}}}]}
        path = tmp_path / "in.jsonl"
        path.write_text("\n".join(json.dumps(r) for r in [good, bad_field, no_title, bad_item, good]) + "\n")
        out = _run("import", str(path), "--domain", domain_id, "--database-url", db)
        assert "imported 2 cases" in out.stdout, out.stdout + out.stderr
        assert out.stderr.count("line ") == 3
        assert client.search_cases(domainId=domain_id)["totalCount"] == 2
    finally:
        live.stop()


def test_import_refuses_a_batch_size_below_one_or_not_a_number(tmp_path: Path) -> None:
    for given, message in (("0", "must be at least 1, not 0"), ("ten", "must be a whole number, not 'ten'")):
        out = _run("import", str(tmp_path / "in.jsonl"), "--domain", "d", "--batch-size", given)
        assert out.returncode == 2 and f"argument --batch-size: {message}" in out.stderr, out.stderr
