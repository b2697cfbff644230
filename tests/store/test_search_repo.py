"""store/search_repo.py: the lookups a search page makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opencases import api
from opencases.config import Settings
from opencases.services.context import RequestContext
from opencases.store import db, search_repo
from opencases.store.search import word_prefixes
from opencases.store.search_repo import _bucketed
from opencases.store.store import Store


def test_lists_are_padded_to_few_lengths_with_the_same_members() -> None:
    lengths = set()
    for n in range(0, 300):
        values = [f"c{i}" for i in range(n)]
        padded = _bucketed(values)
        assert set(padded) == set(values) and padded[:n] == values
        lengths.add(len(padded))
    # 300 list lengths become 11 (0, then 1, 2, 4, ... 512): 11 SQL texts per lookup.
    assert sorted(lengths) == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512]


def _domain_with_cases(ctx: RequestContext, titles: list[str]) -> str:
    domain_id = api.invoke(ctx, "CreateDomain", {"name": f"d{len(titles)}"})["domainId"]
    template = api.invoke(ctx, "CreateTemplate", {"domainId": domain_id, "name": "T"})["templateId"]
    for title in titles:
        fields = [{"id": "title", "value": {"stringValue": title}}]
        api.invoke(ctx, "CreateCase", {"domainId": domain_id, "templateId": template, "fields": fields})
    return str(domain_id)


def test_search_term_counts_from_the_text_index_only_while_the_domain_is_alone(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/alone.db")
    ctx = RequestContext(store=store, settings=Settings(), account="123456789012")
    try:
        first = _domain_with_cases(ctx, ["alpha one", "alpha two", "beta"])
        with store.read() as tx:
            assert tx._alone(first)
            assert tx.count_matches(first, None, "alph", "arn:") == 2
            assert tx._text_rows(first, "alpha", 1000) == 2
        # Another domain's matches must not count in the first domain's totals.
        second = _domain_with_cases(ctx, ["alpha three", "alpha four", "alpha five", "gamma"])
        with store.read() as tx:
            assert not tx._alone(first) and not tx._alone(second)
            # Five matches in all domains: below a cap of 10 that bound is the answer…
            assert tx._text_rows(first, "alpha", 10) == 5
            # …and at a cap it may reach, the domain's own rows are counted.
            assert tx._text_rows(first, "alpha", 4) == 2
        with store.read() as tx:
            assert tx.count_matches(first, None, "alpha", "arn:") == 2
            assert tx.count_matches(second, None, "alpha", "arn:") == 3
            # Once counted exactly, the count answers the probes of the transaction.
            assert tx._text_rows(first, "alpha", 10) == 2 and tx._text_rows(second, "alpha", 2) == 2
        assert api.invoke(ctx, "SearchCases", {"domainId": first, "searchTerm": "alpha"})["totalCount"] == 2
    finally:
        store.close()


def test_unfiltered_counts_follow_creates_deletes_and_domain_deletion(database_url: str) -> None:
    from sqlalchemy import func, select

    from opencases.store import schema as s

    store = Store(database_url)
    ctx = RequestContext(store=store, settings=Settings(), account="123456789012")

    def counted(domain_id: str) -> tuple[int, int]:
        """The triggers' count (what SearchCases reports) and the cases' rows."""
        with store.read() as tx:
            rows = tx.conn.execute(select(func.count()).where(s.cases.c.domain_id == domain_id)).scalar_one()
            return tx.count_matches(domain_id, None, "", "arn:"), int(rows)

    try:
        first = _domain_with_cases(ctx, [f"case {i}" for i in range(20)])
        second = _domain_with_cases(ctx, ["other"])
        assert counted(first) == (20, 20) and counted(second) == (1, 1)
        listed = api.invoke(ctx, "SearchCases", {"domainId": first, "maxResults": 3})
        assert listed["totalCount"] == 20
        for case in listed["cases"]:
            api.invoke(ctx, "DeleteCase", {"domainId": first, "caseId": case["caseId"]})
        assert counted(first) == (17, 17) and counted(second) == (1, 1)
        api.invoke(ctx, "DeleteDomain", {"domainId": second})
        assert counted(second) == (0, 0)
        with store.read() as tx:  # no row left behind for the deleted domain
            left = select(func.count()).where(s.case_counts.c.domain_id == second)
            assert tx.conn.execute(left).scalar_one() == 0
    finally:
        store.close()


@pytest.mark.parametrize("merge_ratio", [1, search_repo.MERGE_RATIO])
def test_a_count_of_several_conditions_reads_the_narrowest_from_its_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, merge_ratio: int
) -> None:
    """SQLite: an andAll's totalCount counts the narrowest top-level condition's value-index
    rows and probes the others on each (an equality by one seek of its own index), without
    reading the cases table; the broad conditions' sizes are measured once, not per search.
    An equality up to MERGE_RATIO times as broad as the narrowest is not probed: the two
    ranges are intersected in case-id order."""
    monkeypatch.setattr(search_repo, "SELECTIVE_ROWS", 30)  # 45 rows: broad, measured in full
    monkeypatch.setattr(search_repo, "MERGE_RATIO", merge_ratio)  # 1: "big" (30 rows) is probed
    store = Store(f"sqlite:///{tmp_path}/count.db")
    ctx = RequestContext(store=store, settings=Settings(), account="123456789012")
    try:
        domain_id = api.invoke(ctx, "CreateDomain", {"name": "d"})["domainId"]
        template = api.invoke(ctx, "CreateTemplate", {"domainId": domain_id, "name": "T"})["templateId"]
        num = api.invoke(ctx, "CreateField", {"domainId": domain_id, "name": "n", "type": "Number"})["fieldId"]
        colour = api.invoke(ctx, "CreateField", {"domainId": domain_id, "name": "c", "type": "Text"})["fieldId"]
        size = api.invoke(ctx, "CreateField", {"domainId": domain_id, "name": "s", "type": "Text"})["fieldId"]
        for i in range(60):
            fields = [
                {"id": "title", "value": {"stringValue": f"case {i}"}},
                {"id": num, "value": {"doubleValue": i}},
                {"id": colour, "value": {"stringValue": "red" if i % 3 == 0 else "blue"}},
                {"id": size, "value": {"stringValue": "big" if i % 2 == 0 else "small"}},
            ]
            api.invoke(ctx, "CreateCase", {"domainId": domain_id, "templateId": template, "fields": fields})
        filter_ = {"andAll": [
            {"field": {"greaterThanOrEqualTo": {"id": num, "value": {"doubleValue": 10}}}},  # 50 cases
            {"field": {"equalTo": {"id": colour, "value": {"stringValue": "red"}}}},  # 20
            {"field": {"lessThan": {"id": num, "value": {"doubleValue": 55}}}},  # with the first: 45
            {"field": {"equalTo": {"id": size, "value": {"stringValue": "big"}}}},  # 30: probed
            {"not": {"field": {"equalTo": {"id": "title", "value": {"stringValue": "case 12"}}}}},
        ]}
        expected = sum(1 for i in range(10, 55) if i % 6 == 0 and i != 12)

        def count() -> tuple[int, list[str]]:
            statements: list[str] = []
            with store.read() as tx:
                tx.dbapi_connection.set_trace_callback(statements.append)
                try:
                    total = api.invoke(ctx, "SearchCases", {"domainId": domain_id, "filter": filter_})["totalCount"]
                finally:
                    tx.dbapi_connection.set_trace_callback(None)
            return total, statements

        first, _ = count()
        assert first == expected
        with store.read() as tx:
            statements = []
            tx.dbapi_connection.set_trace_callback(statements.append)
            assert tx.count_matches(domain_id, _typed(tx, domain_id, filter_), "", "arn:") == expected
            tx.dbapi_connection.set_trace_callback(None)
            counts = [s for s in statements if "count(*)" in s]
            # Capped probes (LIMIT 30), and the count; the broad condition's full size came
            # from the first search.
            assert all("LIMIT 30 " in s for s in counts[:-1]) and "LIMIT" not in counts[-1], counts
            plan = [row[3] for row in tx.dbapi_connection.execute("EXPLAIN QUERY PLAN " + counts[-1])]
        assert not any(" cases " in step for step in plan), plan
        if merge_ratio == 1:
            assert plan[0].startswith("SEARCH drv USING COVERING INDEX ix_case_values_s"), plan
            assert any("COVERING INDEX ix_case_values_s (domain_id=? AND field_id=? AND s_value=? AND case_id=?)"
                       in step for step in plan), plan
        else:
            # red (20) and big (30) merged from their ranges, read in case-id order (no sort).
            assert plan[:2] == ["CO-ROUTINE drv", "MERGE (INTERSECT)"], plan
            arm = "SEARCH case_values USING COVERING INDEX ix_case_values_s (domain_id=? AND field_id=? AND s_value=?)"
            assert plan[2:6] == ["LEFT", arm, "RIGHT", arm], plan
            assert not any("TEMP B-TREE" in step for step in plan), plan
    finally:
        store.close()


def _typed(tx: Any, domain_id: str, filter_: dict[str, Any]) -> Any:
    from opencases.services.search import typed_tree

    return typed_tree({f["field_id"]: f for f in tx.all_fields(domain_id)}, filter_)


@pytest.mark.parametrize(
    ("body", "tokens", "expected"),
    [
        ("Printer on fire", "print", 1),
        ("Printer on fire", "fire print", 1),
        ("Printer on fire", "rinter", 0),  # not the start of a word
        ("reprint, PRINTER", "printer", 1),  # a later occurrence starts a word
        ("x_wordy", "wordy", 1),  # `_` separates words, as in FTS5's unicode61
        ("SKU-01234", "0123", 1),
        ("sku01234", "0123", 0),
        ("café", "caf", None),  # not ASCII: FTS5 decides
        (None, "a", 0),
    ],
)
def test_word_prefixes_decides_ascii_texts_as_fts5_does(body: str | None, tokens: str, expected: int | None) -> None:
    assert word_prefixes(body, tokens) == expected


def test_a_broad_search_term_probed_per_case_matches_what_the_text_index_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A searchTerm matching more cases than a page drives is tested case by case: ASCII
    texts in Python, others (diacritics folded by FTS5) by the text index."""
    tested: list[str] = []

    def counted(body: str | None, tokens: str) -> int | None:
        tested.append(tokens)
        return word_prefixes(body, tokens)

    monkeypatch.setattr(db, "word_prefixes", counted)  # what new connections register
    store = Store(f"sqlite:///{tmp_path}/term.db")
    ctx = RequestContext(store=store, settings=Settings(), account="123456789012")
    titles = ["ünïcode word", "plain word", "wordsmith", "sword", "x_wordy", "Word-play", "Çafé", "cafe late"]
    try:
        domain_id = _domain_with_cases(ctx, titles)

        def found(term: str, page_size: int) -> set[str]:
            titles_found = set()
            params: dict[str, Any] = {"domainId": domain_id, "searchTerm": term, "maxResults": page_size,
                                      "fields": [{"id": "title"}]}
            while True:
                page = api.invoke(ctx, "SearchCases", params)
                titles_found |= {c["fields"][0]["value"]["stringValue"] for c in page["cases"]}
                if not page.get("nextToken"):
                    return titles_found
                params["nextToken"] = page["nextToken"]

        # One page of 100: the text index's matches drive.
        driven = {term: found(term, 100) for term in ("word", "unicode", "caf", "cafe late")}
        assert driven["word"] == {"ünïcode word", "plain word", "wordsmith", "x_wordy", "Word-play"}
        assert driven["unicode"] == {"ünïcode word"} and driven["caf"] == {"Çafé", "cafe late"}
        # Now every term is broad (more than one match is): probed per case, same matches.
        tested.clear()
        monkeypatch.setattr(search_repo, "SELECTIVE_ROWS", 1)
        assert {term: found(term, 2) for term in driven} == driven
        assert {"word", "unicode", "caf", "cafe late"} <= set(tested)
    finally:
        store.close()


def test_a_number_or_date_probed_per_case_is_read_from_one_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: a Number or DateTime condition checked on each case another condition gives
    is one seek of NUMBER_PROBE_INDEX (it holds the value), not the primary key then the row;
    in the count and in the page, and with the right cases."""
    from opencases.store.schema import NUMBER_PROBE_INDEX

    monkeypatch.setattr(search_repo, "SELECTIVE_ROWS", 30)  # red (10 rows) drives; the ranges are broad
    store = Store(f"sqlite:///{tmp_path}/probe.db")
    ctx = RequestContext(store=store, settings=Settings(), account="123456789012")
    try:
        domain_id = api.invoke(ctx, "CreateDomain", {"name": "d"})["domainId"]
        template = api.invoke(ctx, "CreateTemplate", {"domainId": domain_id, "name": "T"})["templateId"]
        ids = {
            name: api.invoke(ctx, "CreateField", {"domainId": domain_id, "name": name, "type": ftype})["fieldId"]
            for name, ftype in (("colour", "Text"), ("num", "Number"), ("when", "DateTime"))
        }
        cases = {}
        for i in range(100):
            fields = [
                {"id": "title", "value": {"stringValue": f"case {i}"}},
                {"id": ids["colour"], "value": {"stringValue": "red" if i % 10 == 0 else "blue"}},
                {"id": ids["when"], "value": {"stringValue": f"2025-01-{1 + i % 28:02d}T10:00:00Z"}},
            ]
            if i % 4:  # a case without a number matches no range on it
                fields.append({"id": ids["num"], "value": {"doubleValue": i}})
            created = api.invoke(ctx, "CreateCase", {"domainId": domain_id, "templateId": template, "fields": fields})
            cases[created["caseId"]] = i
        filter_ = {"andAll": [
            {"field": {"equalTo": {"id": ids["colour"], "value": {"stringValue": "red"}}}},
            {"field": {"greaterThan": {"id": ids["num"], "value": {"doubleValue": 15}}}},
            {"field": {"lessThanOrEqualTo": {"id": ids["when"], "value": {"stringValue": "2025-01-20T10:00:00Z"}}}},
        ]}
        expected = {i for i in range(100) if i % 10 == 0 and i % 4 and i > 15 and 1 + i % 28 <= 20}
        assert expected  # 30, 50, 70 (90: the 7th of January; 10: not over 15; 20, 40, 60, 80: no number)

        # This thread's reads keep one connection (as the server's event loop does): trace it.
        store.db.keep_reader()
        with store.read() as tx:
            conn = tx.dbapi_connection
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        try:
            out = api.invoke(ctx, "SearchCases", {"domainId": domain_id, "filter": filter_})
        finally:
            conn.set_trace_callback(None)
        plans = {
            sql: [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)] for sql in statements if "EXISTS" in sql
        }
        assert out["totalCount"] == len(expected)
        assert {cases[c["caseId"]] for c in out["cases"]} == expected
        probe = f"USING COVERING INDEX {NUMBER_PROBE_INDEX} (domain_id=? AND case_id=? AND field_id=? AND n_value"
        count = [sql for sql in plans if "count(*)" in sql and "LIMIT" not in sql]
        page = [sql for sql in plans if "count(*)" not in sql]
        assert count and page, statements
        for sql in count + page:
            assert sum(probe in step for step in plans[sql]) == 2, plans[sql]
            assert not any("sqlite_autoindex_case_values" in step for step in plans[sql]), plans[sql]
    finally:
        store.close()
