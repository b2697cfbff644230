"""store/search_repo.py: the lookups a search page makes."""

from __future__ import annotations

from pathlib import Path

from opencases import api
from opencases.config import Settings
from opencases.services.context import RequestContext
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
