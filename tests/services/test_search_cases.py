"""SearchCases against an independent Python oracle, with filter trees from hypothesis."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.services.search_oracle import matches, ordered, scalar
from tests.support import LiveServer, make_client

N_CASES = 120
TEXTS = ["alpha", "Alpha beta", "gamma ray", "delta", "beta-max", "zeta_9", "ünïcode word"]
NUMBERS = [-5.5, 0.0, 1.0, 2.5, 10.0, 1e6]
DATES = ["2024-01-01T00:00:00.000Z", "2024-06-15T12:30:00.000Z", "2025-03-01T08:00:00.500Z"]
USERS = [f"arn:aws:connect:us-east-1:123456789012:instance/i-1/agent/u{i}" for i in range(3)]
URLS = ["https://example.com/a", "http://example.org/b"]
OPTIONS = ["red", "green", "blue"]


class Corpus:
    def __init__(self, client: Any, domain_id: str, types: dict[str, str], cases: list[dict[str, Any]]) -> None:
        self.client = client
        self.domain_id = domain_id
        self.types = types
        self.cases = cases
        self.ids = {n: fid for n, fid in types.items()}

    def search_all(self, **kwargs: Any) -> tuple[list[str], int]:
        ids: list[str] = []
        token = None
        total = -1
        while True:
            args = dict(kwargs, domainId=self.domain_id, maxResults=kwargs.get("maxResults", 37))
            if token:
                args["nextToken"] = token
            page = self.client.search_cases(**args)
            total = page["totalCount"]
            ids += [c["caseId"] for c in page["cases"]]
            token = page.get("nextToken")
            if not token:
                return ids, total


def _value(rng: random.Random, ftype: str) -> dict[str, Any] | None:
    if rng.random() < 0.2:
        return None
    if ftype == "Text":
        return {"stringValue": rng.choice(TEXTS)}
    if ftype == "Number":
        return {"doubleValue": rng.choice(NUMBERS)}
    if ftype == "Boolean":
        return {"booleanValue": rng.random() < 0.5}
    if ftype == "DateTime":
        return {"stringValue": rng.choice(DATES)}
    if ftype == "User":
        return {"userArnValue": rng.choice(USERS)}
    if ftype == "Url":
        return {"stringValue": rng.choice(URLS)}
    return {"stringValue": rng.choice(OPTIONS)}


@pytest.fixture(scope="module")
def corpus(server: LiveServer) -> Corpus:
    client = make_client(server.endpoint)
    domain_id = client.create_domain(name="search")["domainId"]
    types: dict[str, str] = {}
    for ftype in ["Text", "Number", "Boolean", "DateTime", "User", "Url", "SingleSelect"]:
        fid = client.create_field(domainId=domain_id, name=f"f-{ftype}", type=ftype)["fieldId"]
        types[fid] = ftype
    select_id = next(f for f, t in types.items() if t == "SingleSelect")
    client.batch_put_field_options(
        domainId=domain_id, fieldId=select_id, options=[{"name": o, "value": o, "active": True} for o in OPTIONS]
    )
    template_id = client.create_template(domainId=domain_id, name="T")["templateId"]
    rng = random.Random(7)
    cases = []
    for i in range(N_CASES):
        values = {fid: v for fid, ftype in types.items() if (v := _value(rng, ftype)) is not None}
        tags = {"team": rng.choice(["a", "b"])} if rng.random() < 0.7 else {}
        fields = [{"id": "title", "value": {"stringValue": f"case {i} {rng.choice(TEXTS)}"}}]
        fields += [{"id": fid, "value": v} for fid, v in values.items()]
        case_id = client.create_case(domainId=domain_id, templateId=template_id, fields=fields, tags=tags)["caseId"]
        # The reference number too: it is searchable text, and random.
        shown = [*types, "title", "reference_number"]
        got = client.get_case(domainId=domain_id, caseId=case_id, fields=[{"id": f} for f in shown])
        cases.append({"caseId": case_id, "values": {f["id"]: f["value"] for f in got["fields"]}, "tags": got["tags"]})
    types["title"] = "Text"
    return Corpus(client, domain_id, types, cases)


def _leaf(draw: Any, corpus: Corpus) -> dict[str, Any]:
    fid = draw(st.sampled_from(sorted(corpus.types)))
    ftype = corpus.types[fid]
    if draw(st.integers(0, 9)) == 0:
        return {"field": {"equalTo": {"id": fid, "value": {"emptyValue": {}}}}}
    ops = ["equalTo"]
    if ftype in ("Text", "SingleSelect", "Url", "User"):
        ops.append("contains")
    if ftype != "Boolean":
        ops += ["greaterThan", "greaterThanOrEqualTo", "lessThan", "lessThanOrEqualTo"]
    op = draw(st.sampled_from(ops))
    pool = {
        "Text": [{"stringValue": t} for t in [*TEXTS, "al", "BETA", "ray"]],
        "Number": [{"doubleValue": n} for n in [*NUMBERS, 3.0]],
        "Boolean": [{"booleanValue": True}, {"booleanValue": False}],
        "DateTime": [{"stringValue": d} for d in [*DATES, "2024-06-15T14:30:00+02:00"]],
        "User": [{"userArnValue": u} for u in USERS],
        "Url": [{"stringValue": u} for u in [*URLS, "example"]],
        "SingleSelect": [{"stringValue": o} for o in [*OPTIONS, "re"]],
    }[ftype]
    if op == "contains" and ftype == "User":
        pool = [{"userArnValue": "agent/u1"}]
    return {"field": {op: {"id": fid, "value": draw(st.sampled_from(pool))}}}


@st.composite
def filters(draw: Any, corpus: Corpus, depth: int = 0) -> dict[str, Any]:
    kind = draw(st.sampled_from(["leaf", "leaf", "tag", "not", "and", "or"] if depth < 3 else ["leaf", "tag"]))
    if kind == "leaf":
        return _leaf(draw, corpus)
    if kind == "tag":
        return {"tag": {"equalTo": {"key": "team", "value": draw(st.sampled_from(["a", "b", "c"]))}}}
    if kind == "not":
        return {"not": draw(filters(corpus, depth + 1))}
    children = draw(st.lists(filters(corpus, depth + 1), min_size=1, max_size=3))
    return {"andAll" if kind == "and" else "orAll": children}


def test_filters_match_the_oracle(corpus: Corpus) -> None:
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(data=st.data())
    def check(data: Any) -> None:
        node = data.draw(filters(corpus))
        ids, total = corpus.search_all(filter=node)
        expected = {c["caseId"] for c in corpus.cases if matches(c, node, corpus.types)}
        assert len(ids) == len(set(ids)), "a case appeared twice across pages"
        assert set(ids) == expected, node
        assert total == len(expected)

    check()


def _has_word_prefix(case: dict[str, Any], needle: str, types: dict[str, str]) -> bool:
    """The oracle of a one-word searchTerm: a word of a Text, SingleSelect or Url value or of
    the reference number starts with it (words are runs of letters and digits; the needles
    below are ASCII)."""
    return any(
        any(w.startswith(needle) for w in re.findall(r"[^\W_]+", v.get("stringValue", "").lower()))
        for f, v in case["values"].items()
        if types.get(f) in ("Text", "SingleSelect", "Url") or f == "reference_number"
    )


def test_filters_with_a_search_term_match_the_oracle(corpus: Corpus) -> None:
    """A filter and a searchTerm together: both hold, on every page and in totalCount (the
    count drives from a condition's index, the term a condition of its own)."""

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(data=st.data(), term=st.sampled_from(["beta", "al", "gamma", "exam"]))
    def check(data: Any, term: str) -> None:
        node = data.draw(filters(corpus))
        ids, total = corpus.search_all(filter=node, searchTerm=term)
        expected = {
            c["caseId"]
            for c in corpus.cases
            if matches(c, node, corpus.types) and _has_word_prefix(c, term, corpus.types)
        }
        assert len(ids) == len(set(ids)), "a case appeared twice across pages"
        assert set(ids) == expected, (node, term)
        assert total == len(expected)

    check()


def test_sorts_match_the_oracle(corpus: Corpus) -> None:
    fields = sorted(f for f in corpus.types if f != "title")

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(
        keys=st.lists(st.sampled_from(fields), min_size=1, max_size=2, unique=True),
        orders=st.lists(st.sampled_from(["Asc", "Desc"]), min_size=2, max_size=2),
        page=st.sampled_from([7, 25, 100]),
    )
    def check(keys: list[str], orders: list[str], page: int) -> None:
        sorts = [{"fieldId": k, "sortOrder": o} for k, o in zip(keys, orders, strict=False)]
        ids, _ = corpus.search_all(sorts=sorts, maxResults=page)
        assert ids == ordered(corpus.cases, sorts, corpus.types)

    check()


def test_every_operator_on_every_type(corpus: Corpus) -> None:
    """Deterministic coverage: each (type, operator) pair at least once, against the oracle."""
    for fid, ftype in sorted(corpus.types.items()):
        present = sorted(
            (c["values"][fid] for c in corpus.cases if fid in c["values"]), key=lambda v: str(scalar(ftype, v))
        )
        sample = present[len(present) // 2]  # a middle value, so every range operator matches some cases
        ops = ["equalTo"] + (
            ["greaterThan", "greaterThanOrEqualTo", "lessThan", "lessThanOrEqualTo"] if ftype != "Boolean" else []
        )
        if ftype in ("Text", "SingleSelect", "Url"):
            ops.append("contains")
        for op in ops:
            node = {"field": {op: {"id": fid, "value": sample}}}
            ids, _ = corpus.search_all(filter=node)
            expected = {c["caseId"] for c in corpus.cases if matches(c, node, corpus.types)}
            assert set(ids) == expected, (ftype, op)
            if op not in ("greaterThan", "lessThan"):
                assert expected, (ftype, op)  # the sample itself matches


def test_counts_of_equalities_on_every_pair_of_types(corpus: Corpus) -> None:
    """totalCount of an andAll of equalities on two fields (which SQLite counts by merging the
    two value-index ranges, store/search_repo.py MERGE_RATIO), with a third condition probed on
    what they share, for every pair of field types, against the oracle."""
    common: dict[str, dict[str, Any]] = {}
    for fid in corpus.types:
        seen = [json.dumps(c["values"][fid], sort_keys=True) for c in corpus.cases if fid in c["values"]]
        common[fid] = json.loads(max(sorted(set(seen)), key=seen.count))  # the most frequent value
    fids = sorted(corpus.types)
    for i, first in enumerate(fids):
        for second in fids[i + 1 :]:
            equalities = [{"field": {"equalTo": {"id": f, "value": common[f]}}} for f in (first, second)]
            for node in ({"andAll": equalities},
                         {"andAll": [*equalities, {"not": {"tag": {"equalTo": {"key": "team", "value": "a"}}}}]}):
                ids, total = corpus.search_all(filter=node)
                expected = {c["caseId"] for c in corpus.cases if matches(c, node, corpus.types)}
                assert set(ids) == expected and total == len(expected), (corpus.types[first], corpus.types[second])


def test_search_term_words_and_prefixes(corpus: Corpus) -> None:
    for term, needle in [("gamma", "gamma"), ("GAMM", "gamma"), ("beta", "beta"), ("ray gam", None)]:
        ids, _ = corpus.search_all(searchTerm=term)
        if needle is None:
            expected = {
                c["caseId"]
                for c in corpus.cases
                if any("gamma ray" in v.get("stringValue", "") for v in c["values"].values())
            }
        else:
            expected = {
                c["caseId"]
                for c in corpus.cases
                if any(
                    any(w.startswith(needle) for w in v.get("stringValue", "").lower().replace("-", " ").split())
                    for v in c["values"].values()
                )
            }
        assert set(ids) == expected, term


def test_fields_projection_and_default_order(corpus: Corpus) -> None:
    fid = next(f for f, t in corpus.types.items() if t == "Number")
    page = corpus.client.search_cases(domainId=corpus.domain_id, fields=[{"id": fid}, {"id": "title"}])
    assert len(page["cases"]) == 25  # the default page size
    by_id = {c["caseId"]: c for c in corpus.cases}
    for item in page["cases"]:
        expected = {k: v for k, v in by_id[item["caseId"]]["values"].items() if k in (fid, "title")}
        assert {f["id"]: f["value"] for f in item["fields"]} == expected
    # Default: most recently updated first.
    ids, _ = corpus.search_all()
    assert ids[:5] == [c["caseId"] for c in reversed(corpus.cases)][:5]


def test_search_errors(corpus: Corpus) -> None:
    from botocore.exceptions import ClientError

    number = next(f for f, t in corpus.types.items() if t == "Number")
    boolean = next(f for f, t in corpus.types.items() if t == "Boolean")
    bad = [
        {"field": {"equalTo": {"id": "no-such-field", "value": {"stringValue": "x"}}}},
        {"field": {"equalTo": {"id": number, "value": {"stringValue": "x"}}}},
        {"field": {"contains": {"id": number, "value": {"doubleValue": 1}}}},
        {"field": {"greaterThan": {"id": boolean, "value": {"booleanValue": True}}}},
    ]
    for node in bad:
        with pytest.raises(ClientError) as exc:
            corpus.client.search_cases(domainId=corpus.domain_id, filter=node)
        assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_several_contains_in_one_filter(corpus: Corpus) -> None:
    """Each `contains` keeps its own needle (they once shared one bound parameter)."""
    text_id = next(f for f, t in corpus.types.items() if t == "Text")
    node = {"orAll": [{"field": {"contains": {"id": text_id, "value": {"stringValue": needle}}}}
                      for needle in ("alpha", "gamma ray", "zeta")]}
    ids, total = corpus.search_all(filter=node)
    expected = {c["caseId"] for c in corpus.cases if matches(c, node, corpus.types)}
    assert set(ids) == expected and total == len(expected)
    assert len(expected) > len({c["caseId"] for c in corpus.cases
                                if matches(c, node["orAll"][0], corpus.types)})
