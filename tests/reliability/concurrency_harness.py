"""Concurrent clients on overlapping cases through two server processes on one database.

Every client owns one Number field (`n<i>`) and, on a shared set of cases, sets its field to
its own next counter value, so a lost update (a write that overwrote a concurrent one with
stale values) shows as a field behind its client's last acknowledged value. Clients also add
comments to the shared cases, create cases with client tokens drawn from a small shared pool
(racing each other on the same token, always with the same parameters) and with fresh
tokens, and read (GetCase, SearchCases, GetCaseAuditEvents).

Checks: no 5xx (nor any error but the idempotency race's own), every client's field holds
its last acknowledged value, each case's Case.Updated and RelatedItem.Created audit events
number exactly its acknowledged updates and comments, one case per client token, and
reference numbers unique. Used by tests/reliability/test_concurrency.py (8 x 40) and, with
`--ops 500`, by bench/load.py's sibling scripts.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from tests.reliability.crash_harness import _audit
from tests.reliability.seed import text
from tests.support import LiveServer, make_client, random_account

CONFIG = Config(retries={"total_max_attempts": 1}, read_timeout=60, max_pool_connections=4)


@dataclass
class ConcurrencyReport:
    ops: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class ConcurrencyRun:
    def __init__(self, servers: list[LiveServer], clients: int = 8, ops: int = 40, shared_cases: int = 6,
                 token_pool: int = 10, seed: int = 1) -> None:
        self.servers = servers
        self.clients = clients
        self.ops = ops
        self.seed = seed
        self.account = random_account()
        self.report = ConcurrencyReport()
        self.lock = threading.Lock()
        admin = self._client(0)
        self.domain_id = admin.create_domain(name="concurrency")["domainId"]
        self.fields = [admin.create_field(domainId=self.domain_id, name=f"n{i}", type="Number")["fieldId"]
                       for i in range(clients)]
        self.template_id = admin.create_template(domainId=self.domain_id, name="T")["templateId"]
        self.shared = [admin.create_case(domainId=self.domain_id, templateId=self.template_id,
                                         fields=[text("title", f"shared {i}")])["caseId"] for i in range(shared_cases)]
        self.tokens = [f"token-{uuid.uuid4().hex[:8]}-{i}" for i in range(token_pool)]
        # Acknowledged results.
        self.last_value: dict[tuple[str, int], int] = {}  # (case, client) -> its last acked value
        self.updates: Counter[str] = Counter()  # case -> acked updates
        self.comments: Counter[str] = Counter()  # case -> acked comments
        self.token_cases: dict[str, set[str]] = {}  # token -> case ids returned
        self.fresh_cases: list[str] = []

    def _client(self, i: int) -> Any:
        return make_client(self.servers[i % len(self.servers)].endpoint, self.account, config=CONFIG)

    def _error(self, what: str, exc: ClientError) -> None:
        status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
        code = exc.response["Error"].get("Code")
        with self.lock:
            self.report.errors.append(f"{what}: {status} {code} {exc.response['Error'].get('Message', '')[:200]}")

    def client_loop(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        clients = [self._client(index), self._client(index + 1)]  # both servers, alternately
        counter = 0
        for n in range(self.ops):
            client = clients[n % 2]
            roll = rng.random()
            case_id = rng.choice(self.shared)
            try:
                if roll < 0.40:
                    counter += 1
                    client.update_case(domainId=self.domain_id, caseId=case_id, fields=[
                        {"id": self.fields[index], "value": {"doubleValue": float(counter)}}])
                    with self.lock:
                        self.last_value[(case_id, index)] = counter
                        self.updates[case_id] += 1
                    op = "UpdateCase"
                elif roll < 0.55:
                    client.create_related_item(domainId=self.domain_id, caseId=case_id, type="Comment", content={
                        "comment": {"body": f"c{index}-{n}", "contentType": "Text/Plain"}})
                    with self.lock:
                        self.comments[case_id] += 1
                    op = "CreateRelatedItem"
                elif roll < 0.70:
                    token = rng.choice(self.tokens)
                    got = client.create_case(domainId=self.domain_id, templateId=self.template_id, clientToken=token,
                                             fields=[text("title", f"by token {token}")])
                    with self.lock:
                        self.token_cases.setdefault(token, set()).add(got["caseId"])
                    op = "CreateCase(token)"
                elif roll < 0.78:
                    got = client.create_case(domainId=self.domain_id, templateId=self.template_id,
                                             clientToken=uuid.uuid4().hex, fields=[text("title", f"fresh {index}")])
                    with self.lock:
                        self.fresh_cases.append(got["caseId"])
                    op = "CreateCase"
                elif roll < 0.88:
                    client.get_case(domainId=self.domain_id, caseId=case_id, fields=[{"id": f} for f in self.fields])
                    op = "GetCase"
                elif roll < 0.95:
                    client.search_cases(domainId=self.domain_id, maxResults=10, searchTerm="shared")
                    op = "SearchCases"
                else:
                    client.get_case_audit_events(domainId=self.domain_id, caseId=case_id, maxResults=10)
                    op = "GetCaseAuditEvents"
                with self.lock:
                    self.report.ops[op] += 1
            except ClientError as exc:
                self._error(f"client {index} op {n}", exc)

    def run(self) -> ConcurrencyReport:
        threads = [threading.Thread(target=self.client_loop, args=(i,)) for i in range(self.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.verify()
        return self.report

    def verify(self) -> None:
        client = self._client(0)
        problems = self.report.problems
        for case_id in self.shared:
            got = client.get_case(domainId=self.domain_id, caseId=case_id, fields=[{"id": f} for f in self.fields])
            values = {f["id"]: f["value"].get("doubleValue") for f in got["fields"]}
            for i, field_id in enumerate(self.fields):
                want = self.last_value.get((case_id, i))
                have = values.get(field_id)
                if want is not None and have != float(want):
                    problems.append(f"lost update: case {case_id} field n{i} is {have}, last acknowledged {want}")
            events = _audit(client, self.domain_id, case_id)
            kinds = Counter(e["type"] for e in events)
            if kinds["Case.Updated"] != self.updates[case_id]:
                problems.append(f"case {case_id}: {kinds['Case.Updated']} Case.Updated events for "
                                f"{self.updates[case_id]} acknowledged updates")
            if kinds["RelatedItem.Created"] != self.comments[case_id]:
                problems.append(f"case {case_id}: {kinds['RelatedItem.Created']} RelatedItem.Created events for "
                                f"{self.comments[case_id]} acknowledged comments")
            if kinds["Case.Created"] != 1:
                problems.append(f"case {case_id}: {kinds['Case.Created']} Case.Created events")
        token_ids = []
        for token, ids in self.token_cases.items():
            if len(ids) != 1:
                problems.append(f"client token {token} gave {len(ids)} cases: {sorted(ids)}")
            token_ids += sorted(ids)
        if len(set(token_ids)) != len(token_ids):
            problems.append("two client tokens gave the same case")
        all_cases = self.shared + token_ids + self.fresh_cases
        if len(set(all_cases)) != len(all_cases):
            problems.append("a case id was returned for two creations")
        references = []
        for case_id in set(all_cases):
            got = client.get_case(domainId=self.domain_id, caseId=case_id, fields=[{"id": "reference_number"}])
            references.append(got["fields"][0]["value"]["stringValue"])
            if case_id not in self.shared:
                kinds = Counter(e["type"] for e in _audit(client, self.domain_id, case_id))
                if kinds["Case.Created"] != 1:
                    problems.append(f"case {case_id}: {kinds['Case.Created']} Case.Created events")
        duplicates = [r for r, n in Counter(references).items() if n > 1]
        if duplicates:
            problems.append(f"reference numbers used twice: {duplicates}")
        total = client.search_cases(domainId=self.domain_id, maxResults=1)["totalCount"]
        if total != len(set(all_cases)):
            problems.append(f"the domain holds {total} cases, {len(set(all_cases))} were acknowledged")
