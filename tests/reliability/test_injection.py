"""Injection: SQL, LIKE and full-text operators in SearchCases input are matched literally.

On both databases (the `client` fixture's server runs on SQLite and, when configured, on
PostgreSQL). `contains` and `equalTo` compare text; `searchTerm` matches words (every word of
the term is the prefix of a word of the case's text, punctuation separating words), so
operator characters never widen, narrow or break a search. An oracle in Python gives the
expected cases for each probe.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.reliability.seed import text

HOSTILE = ["' OR 1=1 --", '"', "*", "NEAR(", "AND", ":*", "&", "\\", "%", "_", "' OR '1'='1",
           "'); DROP TABLE cases; --", "a%b", "x_y", "\"quoted\"", "NOT", "OR", "title:*", "-minus", "^caret",
           "col:value", "(a OR b)", "a & !b",
           "\\%", "%%", "__", "a*", "NEAR(a b, 2)", "{x}", "$1"]
TITLES = [
    "plain words only", "alpha ' OR 1=1 -- beta", 'say "hello" now', "star * here", "NEAR( gamma",
    "AND delta", "near and far", ":* epsilon", "fish & chips", "back \\ slash", "100% sure", "snake_case x_y name",
    "abc", "a%b literal", "axb decoy", "xzy decoy", "title:* probe", "or else", "not this", "(a OR b) group",
    "$1 dollar", "{x} braces", "a*b star", "-minus sign", "^caret top", "col:value pair", "percent %% double",
    "under __ score",
]
# A word of the searchable text: letters and digits (what FTS5 and PostgreSQL index).
WORD = re.compile(r"[^\W_]+")


def _search(client: Any, domain_id: str, **kwargs: Any) -> set[str]:
    found: set[str] = set()
    token = None
    while True:
        page = client.search_cases(domainId=domain_id, maxResults=25, fields=[{"id": "title"}],
                                   **kwargs, **({"nextToken": token} if token else {}))
        found |= {c["caseId"] for c in page["cases"]}
        token = page.get("nextToken")
        if not token:
            return found


def _term_matches(term: str, words: list[str]) -> bool:
    tokens = [t.lower() for t in WORD.findall(term)]
    return all(any(w.startswith(t) for w in words) for t in tokens)


@pytest.fixture
def corpus(client: Any, domain_id: str) -> dict[str, tuple[str, list[str]]]:
    """{case id: (title, the words of its searchable text)}."""
    template_id = client.create_template(domainId=domain_id, name="T")["templateId"]
    out: dict[str, tuple[str, list[str]]] = {}
    for i, title in enumerate(TITLES):
        # A fixed reference number: a random one such as 12E45AB7C is split by PostgreSQL's
        # parser as a number and a word, unlike the oracle's words.
        case_id = client.create_case(domainId=domain_id, templateId=template_id,
                                     fields=[text("title", title), text("reference_number", f"REF{i:05d}")])["caseId"]
        # The searchable text holds every Text and SingleSelect value but the case id.
        got = client.get_case(domainId=domain_id, caseId=case_id,
                              fields=[{"id": f} for f in ("title", "reference_number", "status")])
        body = "\n".join(f["value"].get("stringValue", "") for f in got["fields"])
        out[case_id] = (title, [w.lower() for w in WORD.findall(body)])
    return out


def test_contains_and_equal_to_are_literal(client: Any, domain_id: str, corpus: dict[str, Any]) -> None:
    wrong = []
    for needle in HOSTILE + TITLES[:6]:
        expected = {cid for cid, (title, _) in corpus.items() if needle.lower() in title.lower()}
        value = {"id": "title", "value": {"stringValue": needle}}
        got = _search(client, domain_id, filter={"field": {"contains": value}})
        if got != expected:
            wrong.append(f"contains {needle!r}: {sorted(corpus[c][0] for c in got)} != "
                         f"{sorted(corpus[c][0] for c in expected)}")
        expected = {cid for cid, (title, _) in corpus.items() if title == needle}
        got = _search(client, domain_id, filter={"field": {"equalTo": value}})
        if got != expected:
            wrong.append(f"equalTo {needle!r}: {sorted(corpus[c][0] for c in got)}")
    assert not wrong, "\n".join(wrong)


def test_search_term_operators_are_words(client: Any, domain_id: str, corpus: dict[str, Any]) -> None:
    wrong = []
    for term in HOSTILE + ["near", "AND delta", "OR 1", "fish &", "chips & fish", "NEAR(gamma", "sure%", "1=1"]:
        expected = {cid for cid, (_, words) in corpus.items() if _term_matches(term, words)}
        got = _search(client, domain_id, searchTerm=term)
        if got != expected:
            wrong.append(f"searchTerm {term!r}: got {sorted(corpus[c][0] for c in got)}, "
                         f"expected {sorted(corpus[c][0] for c in expected)}")
    assert not wrong, "\n".join(wrong)
