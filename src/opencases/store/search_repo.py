"""Search reads: SearchCases pages and counts, and the values and tags shown with results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from math import isqrt
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, func, intersect, literal_column, or_, select, true
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.visitors import replacement_traverse

from opencases.store import schema as s
from opencases.store.prepared import Prepared
from opencases.store.search import (
    CASE_COLUMNS,
    HOLDS,
    SELECTIVE_ROWS,
    Cond,
    Group,
    SortKey,
    build_query,
    compile_filter,
    compile_search_term,
    field_conditions,
    field_sort_queries,
    fts_rows,
    group_conditions,
    search_tokens,
    text_matches,
    value_rows,
)
from opencases.store.selectivity import Sizes
from opencases.store.shapes import Shapes, frozen

# Counting a broad condition's rows in full, to pick the narrowest as a count's driver.
COUNT_PROBE_ROWS = 1_000_000
# SQLite: a count merges the index ranges of an andAll's equality conditions up to this many
# times the narrowest's rows, instead of probing them per case. An equality's range is in
# case-id order, so SQLite intersects them in one pass (`MERGE (INTERSECT)`): reading a range
# costs ~0.13 µs a row, probing ~2 µs a case (300,000 cases: two equalities of 41,000 and
# 100,000 rows counted in 50 ms against 101).
MERGE_RATIO = 8


# The lookups every search page makes, built once and run on the driver (store/prepared.py):
# a Core statement with a literal IN list cost ~10 µs per element to build, more than running
# it (a page's changed cases are often a hundred or more under write load). The lists bind as
# expanding parameters.
_a, _v, _t = s.audit_events, s.case_values, s.tags
_AUDIT_BEFORE = Prepared(
    select(_a.c.case_id, _a.c.type, _a.c.performed_ms, _a.c.doc)
    .where(
        _a.c.domain_id == bindparam("domain_id"),
        _a.c.case_id.in_(bindparam("case_ids", expanding=True)),
        or_(_a.c.performed_ms < bindparam("before_ms"), _a.c.type == bindparam("created")),
    )
    .order_by(_a.c.seq),
    expanding=("case_ids",),
)
# Per case, its last change before a time. The (domain, case, time) index holds all it reads:
# over (domain, case, seq) it looked up every event's row for its time.
_LAST_CHANGE_BEFORE = Prepared(
    select(_a.c.case_id, func.max(_a.c.performed_ms).label("last_ms"))
    .where(
        _a.c.domain_id == bindparam("domain_id"),
        _a.c.case_id.in_(bindparam("case_ids", expanding=True)),
        _a.c.performed_ms < bindparam("before_ms"),
    )
    .group_by(_a.c.case_id),
    expanding=("case_ids",),
)
# The newest case write of a domain visible to this transaction: one seek of ix_cases_updated.
_LATEST_WRITE = Prepared(
    select(func.max(s.cases.c.updated_ms).label("ms")).where(s.cases.c.domain_id == bindparam("domain_id"))
)
_CASE_COUNT = Prepared(
    select(func.coalesce(func.sum(s.case_counts.c.n), 0).label("n")).where(
        s.case_counts.c.domain_id == bindparam("domain_id")
    )
)
# A case_text row of another domain, if any: two seeks of the (domain, case) index.
_OTHER_DOMAIN_TEXT = Prepared(
    select(s.case_text.c.domain_id)
    .where(or_(s.case_text.c.domain_id < bindparam("domain_id"), s.case_text.c.domain_id > bindparam("domain_id")))
    .limit(1)
)
_VALUES_FOR_CASES = Prepared(
    select(_v).where(
        _v.c.domain_id == bindparam("domain_id"),
        _v.c.case_id.in_(bindparam("case_ids", expanding=True)),
        _v.c.field_id.in_(bindparam("field_ids", expanding=True)),
    ),
    expanding=("case_ids", "field_ids"),
)
_TAGS_FOR_ARNS = Prepared(
    select(_t.c.arn, _t.c.key, _t.c.value).where(_t.c.arn.in_(bindparam("arns", expanding=True))),
    expanding=("arns",),
)


@dataclass(frozen=True)
class Plan:
    """Which conditions of a search drive it from their index (`case_id IN (...)`); the others
    are probed per case (`EXISTS`). Part of statement keys (`_SHAPES`)."""

    # (condition, drives) pairs; for a count, in the order `_count_driver` and the probes take.
    drives: tuple[tuple[Cond | Group, bool], ...] = ()
    # Whether a condition `drives` does not list drives.
    others_drive: bool = True
    term_drives: bool = False
    # SQLite counts: equality conditions whose index ranges a count intersects (MERGE_RATIO).
    merged: tuple[Cond, ...] = ()


# Every condition probed, the searchTerm too, on the cases another condition of the caller selects.
_PROBED = Plan(others_drive=False)
_SHAPES = Shapes()
_SIZES = Sizes()
# How many cases changed since a time, counting no further than SELECTIVE_ROWS: the
# (domain, updated) index only.
_RECENT_WRITES = Prepared(
    select(func.count().label("n")).select_from(
        select(s.cases.c.case_id)
        .where(s.cases.c.domain_id == bindparam("domain_id"), s.cases.c.updated_ms >= bindparam("settled_ms"))
        .limit(SELECTIVE_ROWS)
        .subquery()
    )
)


def _text_matches(domain_id: str, term: str, dialect: str) -> Select[Any]:
    """text_matches of a term that has words."""
    matches = text_matches(domain_id, term, dialect)
    assert matches is not None
    return matches


def _bucketed(values: list[str]) -> list[str]:
    """`values` padded with its last one to a power-of-two length. An expanding IN renders one
    SQL text per list length, and sqlite3 caches compiled statements per connection by text:
    a hundred lengths of five lookups churned those caches and kept ~100 MB of compiled
    statements in a server under write load. Repeats change nothing in an IN."""
    size = 1
    while size < len(values):
        size *= 2
    return values + values[-1:] * (size - len(values)) if values else values


def _conjuncts(tree: Any) -> list[Cond | Group]:
    """The field conditions every match meets: the tree's own, or its top-level AND's (as
    `field_conditions` groups them); not emptyValue, which has no index rows to read."""
    nodes = group_conditions(tree[1]) if isinstance(tree, tuple) and tree[0] == "and" else [tree]
    return [n for n in nodes if isinstance(n, (Cond, Group)) and not (isinstance(n, Cond) and n.op == "empty")]


def _in_plan_order(tree: Any, plan: Plan) -> Any:
    """The tree with its top-level conditions in the order of a count's plan (narrowest first),
    so that SQLite probes the narrowest first and skips the rest for most cases."""
    if not (isinstance(tree, tuple) and tree[0] == "and"):
        return tree
    rank: dict[Cond, int] = {}
    for i, (node, _) in enumerate(plan.drives):
        for cond in node.conds if isinstance(node, Group) else (node,):
            rank.setdefault(cond, i)
    return ("and", sorted(tree[1], key=lambda n: rank.get(n, -1) if isinstance(n, Cond) else -1))


def _equality(node: Any) -> bool:
    """An equality on one field: its value-index range lists case ids in order."""
    return isinstance(node, Cond) and node.op == "eq"


def _case_id_of(table: Any, element: Any, **_kw: Any) -> Any:
    """replacement_traverse: the cases table's case id -> `table`'s."""
    return table.c.case_id if element is s.cases.c.case_id else None


class SearchRepo:
    conn: Connection
    dbapi_connection: Any
    sa_dialect: Dialect
    dialect: str

    def search_cases(
        self,
        domain_id: str,
        tree: Any,
        search_term: str,
        sorts: list[SortKey],
        after: list[Any] | None,
        limit: int,
        case_arn_prefix: str,
        settled_ms: int,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the cases unchanged since `settled_ms`, and the count of all matches."""
        self._jit_off()
        # The count first: an exact count of one condition or searchTerm also answers the
        # page's probe of how selective it is (`_matching_rows`, `_text_rows`).
        total = self.count_matches(domain_id, tree, search_term, case_arn_prefix)
        plan = self._plan(domain_id, tree, search_term, page=limit)
        by_field = len(sorts) == 1 and sorts[0].field_id not in CASE_COLUMNS
        # Missing values change the statement; present ones are bound (after_i).
        missing = None if after is None else tuple(v is None for v in after)

        def build() -> list[Prepared]:
            where = self._where(domain_id, tree, search_term, case_arn_prefix, plan)
            stable = [*where, s.cases.c.updated_ms < bindparam("settled_ms")]
            marks: list[Any] | None = None
            if after is not None:
                marks = [None if v is None else bindparam(f"after_{i}") for i, v in enumerate(after)]
            if by_field:
                queries = field_sort_queries(domain_id, stable, sorts[0], marks, limit)
            else:
                queries = [build_query(domain_id, stable, sorts, marks, limit)]
            return [Prepared(q, custom_plan=True) for q in queries]

        key = ("page", self.dialect, domain_id, frozen(tree), search_term, case_arn_prefix, plan, tuple(sorts),
               missing, limit)
        params = {"settled_ms": settled_ms} | {f"after_{i}": v for i, v in enumerate(after or []) if v is not None}
        rows: list[dict[str, Any]] = []
        for statement in _SHAPES.get(key, build):
            rows += statement.rows(self, params)[: limit - len(rows)]
            if len(rows) >= limit:
                break
        return rows, total

    def search_changed_cases(
        self,
        domain_id: str,
        tree: Any,
        search_term: str,
        case_arn_prefix: str,
        settled_ms: int,
        snapshot_ms: int,
        cap: int,
    ) -> list[dict[str, Any]]:
        """Matching cases changed since `settled_ms` and created before `snapshot_ms` (few)."""
        self._jit_off()
        c = s.cases
        # Usually a handful of cases changed since the settled time: read them from the
        # (domain, updated) index and probe the filter on each, rather than let the filter's
        # matches drive (hundreds of rows for a common word, for one changed case).
        recent = _RECENT_WRITES.first(self, {"domain_id": domain_id, "settled_ms": settled_ms})
        few = recent is not None and recent["n"] < SELECTIVE_ROWS
        plan = _PROBED if few else self._plan(domain_id, tree, search_term)

        def build() -> Prepared:
            where = self._where(domain_id, tree, search_term, case_arn_prefix, plan)
            q = (
                select(c.c.case_id, c.c.template_id, c.c.created_ms, c.c.updated_ms)
                .where(
                    c.c.domain_id == domain_id,
                    c.c.updated_ms >= bindparam("settled_ms"),
                    c.c.created_ms < bindparam("snapshot_ms"),
                    *where,
                )
                .limit(cap)
            )
            return Prepared(q, custom_plan=True)

        key = ("changed", self.dialect, domain_id, frozen(tree), search_term, case_arn_prefix, plan, cap)
        return _SHAPES.get(key, build).rows(self, {"settled_ms": settled_ms, "snapshot_ms": snapshot_ms})

    def latest_case_write(self, domain_id: str) -> int | None:
        """The time stamp of the newest case write of the domain this transaction sees."""
        found = _LATEST_WRITE.first(self, {"domain_id": domain_id})
        return None if found is None or found["ms"] is None else int(found["ms"])

    def audit_before(self, domain_id: str, case_ids: list[str], before_ms: int) -> list[dict[str, Any]]:
        """The audit events of some cases performed before a time, and their Case.Created
        events whenever performed, oldest first."""
        params = {"domain_id": domain_id, "case_ids": _bucketed(case_ids), "before_ms": before_ms,
                  "created": "Case.Created"}
        return _AUDIT_BEFORE.rows(self, params)

    def last_change_before(self, domain_id: str, case_ids: list[str], before_ms: int) -> dict[str, int]:
        """Per case, the time of its last audit event before a time; none for a case created
        after it (its creation time is then its cases row's created_ms)."""
        params = {"domain_id": domain_id, "case_ids": _bucketed(case_ids), "before_ms": before_ms}
        return {r["case_id"]: int(r["last_ms"]) for r in _LAST_CHANGE_BEFORE.rows(self, params)}

    def _jit_off(self) -> None:
        """PostgreSQL: no JIT compilation in this transaction: the estimated cost of a count
        over a million cases triggers it, and compiling took ~65 ms of queries that run in
        tens of milliseconds.

        (Search statements are planned for their values on every run: `Prepared(custom_plan=
        True)` keeps psycopg from preparing them, so the server never switches to a generic
        plan, made without the values, which cannot tell `status = 'open'` from a rare value:
        860 ms against 140 for a count of three conditions.)
        """
        if self.dialect == "postgresql" and not self.__dict__.get("_jit_is_off"):
            self.conn.exec_driver_sql("SET LOCAL jit = off")
            self.__dict__["_jit_is_off"] = True

    def _plan(
        self, domain_id: str, tree: Any, search_term: str, for_count: bool = False, page: int | None = None
    ) -> Plan:
        """Which conditions drive a search from their index, from the selectivity probes: for
        a page of `page` rows, those with few matching rows (the rest are probed per case in
        sort order); for a count, the narrowest, and the others probed (on SQLite) or joined
        by PostgreSQL's own plan. `_where` builds from it."""
        few = SELECTIVE_ROWS
        if page is not None:
            # Driving reads, joins and sorts every match; probing in sort order reads about
            # page x cases / matches cases (matches spread evenly): past the square root of
            # page x cases, probing reads fewer (a third of a 3,000-case domain: 30 against 1,000).
            few = min(SELECTIVE_ROWS, max(page, isqrt(page * self._domain_cases(domain_id))))
        drives: tuple[tuple[Cond | Group, bool], ...] = ()
        merged: tuple[Any, ...] = ()
        if tree is not None:
            sizes = {node: self._matching_rows(domain_id, node, SELECTIVE_ROWS) for node in field_conditions(tree)}
            if for_count and len(sizes) > 1:
                # The narrowest condition drives the count: measure the broad ones in full
                # (or as measured by a recent search: `_SIZES`).
                sizes = {n: size if size < SELECTIVE_ROWS else self._all_rows(domain_id, n)
                         for n, size in sizes.items()}
            if for_count and sizes:
                # The narrowest top-level condition drives (`_count_driver` reads its index;
                # one inside a NOT or an OR would not narrow the cases read). SQLite probes the
                # others narrowest first; PostgreSQL joins them as semi-joins by its own plan.
                order = sorted(sizes, key=lambda n: sizes[n])
                conjuncts = _conjuncts(tree)
                lead = next((n for n in order if n in conjuncts), order[0])
                order = [lead, *(n for n in order if n != lead)]
                pg = self.dialect == "postgresql"
                drives = tuple((n, pg or n == lead or sizes[n] < SELECTIVE_ROWS) for n in order)
                if not pg and _equality(lead):
                    merged = tuple(
                        n for n in order
                        if n in conjuncts and _equality(n) and sizes[n] <= MERGE_RATIO * max(sizes[lead], 1)
                    )
            else:
                drives = tuple((n, size < few) for n, size in sizes.items())
        # A count always drives from the text index.
        term_drives = bool(search_term) and (
            for_count or self._text_rows(domain_id, search_term, SELECTIVE_ROWS) < few
        )
        return Plan(drives, True, term_drives, merged if len(merged) > 1 else ())

    def _where(
        self, domain_id: str, tree: Any, search_term: str, case_arn_prefix: str, plan: Plan, holds: Any = ()
    ) -> list[Any]:
        """The WHERE of a search, as `plan`; `holds` are conditions every row considered meets
        (`_count_driver`, `Plan.merged`)."""
        where = []
        if tree is not None:
            verdicts: dict[Any, Any] = dict(plan.drives)
            for node in holds:
                verdicts[node] = HOLDS
            where.append(compile_filter(
                domain_id, tree, self.dialect, case_arn_prefix, lambda n: verdicts.get(n, plan.others_drive)
            ))
        if search_term:
            term = compile_search_term(domain_id, search_term, self.dialect, plan.term_drives)
            if term is not None:
                where.append(term)
        return where

    def _matching_rows(self, domain_id: str, node: Any, cap: int) -> int:
        """How many value rows match a condition, counting no further than `cap` (memoized for
        the transaction: a search asks for the page, the changed cases and the count)."""
        if isinstance(node, Cond) and node.op == "empty":
            return cap
        memo = self._memo
        exact = memo.get(("exact", domain_id, node))
        if exact is not None:
            return min(exact, cap)
        key = (domain_id, node, cap)
        if key not in memo:
            memo[key] = self._count(("rows", *key), lambda: value_rows(domain_id, node, self.dialect).limit(cap))
        return memo[key]

    def _all_rows(self, domain_id: str, node: Any) -> int:
        """How many value rows match a condition, from a search of the last minute (`_SIZES`)
        or counted (up to COUNT_PROBE_ROWS)."""
        key = (domain_id, node)
        rows = _SIZES.get(key)
        if rows is None:
            rows = self._matching_rows(domain_id, node, COUNT_PROBE_ROWS)
            _SIZES.remember(key, rows)
        return rows

    def _count_driver(self, tree: Any, plan: Plan) -> Cond | Group | None:
        """The condition a count reads from its value index (the narrowest, if it is one of the
        tree's top-level conjuncts), or None. The count then neither reads each case's row nor
        the driver's value again. PostgreSQL then joins the other conditions to the narrowest's
        rows rather than to the whole cases table (a three-way andAll at a million cases:
        0.94 s -> 0.53 s)."""
        if not plan.drives:
            return None
        lead, drives_it = plan.drives[0]
        return lead if drives_it and lead in _conjuncts(tree) else None

    def _text_rows(self, domain_id: str, term: str, cap: int) -> int:
        """How many cases' text matches a search term, counting no further than `cap`
        (memoized for the transaction, as `_matching_rows`). For the choice of plan only: on
        SQLite, below `cap` it may count other domains' matches too."""
        memo = self._memo
        exact = memo.get(("exact", domain_id, "searchTerm", term))
        if exact is not None:
            return min(exact, cap)
        key = (domain_id, "searchTerm", term, cap)
        if key not in memo:
            tokens = search_tokens(term)
            memo[key] = 0
            if tokens and self.dialect == "sqlite":
                # The text index alone first: its matches in every domain bound this domain's,
                # without looking up each match's case_text row for its domain.
                everywhere = self._count(("fts", tuple(tokens), cap), lambda: fts_rows(tokens).limit(cap))
                if everywhere < cap or self._alone(domain_id):
                    memo[key] = everywhere
                    return everywhere
            if tokens:
                memo[key] = self._count(
                    ("text", *key), lambda: _text_matches(domain_id, term, self.dialect).limit(cap)
                )
        return memo[key]

    @property
    def _memo(self) -> dict[Any, Any]:
        """What this transaction has counted or probed, so that a search's page, changed
        cases and count ask the database once: ("exact", ...) counts of one condition or
        searchTerm (count_matches), capped counts (the probes), ("alone", domain)."""
        memo: dict[Any, Any] = self.__dict__.setdefault("_memo_", {})
        return memo

    def _count(self, key: tuple[Any, ...], rows: Callable[[], Select[Any]]) -> int:
        """How many rows `rows()` selects; the statement is built once per key (store/shapes.py)."""

        def build() -> Prepared:
            return Prepared(select(func.count().label("n")).select_from(rows().subquery()), custom_plan=True)

        found = _SHAPES.get(("count", self.dialect, *key), build).first(self, {})
        return int(found["n"]) if found else 0

    def _domain_cases(self, domain_id: str) -> int:
        """How many cases the domain has: the triggers' count (migration 0005)."""
        key = ("cases", domain_id)
        if key not in self._memo:
            found = _CASE_COUNT.first(self, {"domain_id": domain_id})
            self._memo[key] = int(found["n"]) if found else 0
        return int(self._memo[key])

    def _alone(self, domain_id: str) -> bool:
        """Whether every case_text row belongs to this domain (the usual deployment: one
        Connect instance, one Cases domain)."""
        key = ("alone", domain_id)
        if key not in self._memo:
            self._memo[key] = _OTHER_DOMAIN_TEXT.first(self, {"domain_id": domain_id}) is None
        return bool(self._memo[key])

    def count_matches(self, domain_id: str, tree: Any, search_term: str, case_arn_prefix: str) -> int:
        """totalCount. A filter on one field counts its value-index range directly (each case
        has at most one value per field); anything else counts the cases the filter selects."""
        self._jit_off()
        if tree is None and not search_term:
            # Every case of the domain: the triggers' count (migration 0005).
            return self._domain_cases(domain_id)
        node = tree
        if isinstance(node, tuple) and node[0] == "and" and len(group_conditions(node[1])) == 1:
            node = group_conditions(node[1])[0]
        if not search_term and isinstance(node, (Cond, Group)) and not (isinstance(node, Cond) and node.op == "empty"):
            key: tuple[Any, ...] = ("exact", domain_id, node)
            if key not in self._memo:
                self._memo[key] = self._count(("rows", *key[1:]), partial(value_rows, domain_id, node, self.dialect))
            return int(self._memo[key])
        if tree is None and search_term:
            # Only a searchTerm: count the text index's matches (one text row per case).
            tokens = search_tokens(search_term)
            key = ("exact", domain_id, "searchTerm", search_term)
            if tokens and key not in self._memo:
                if self.dialect == "sqlite" and self._alone(domain_id):
                    self._memo[key] = self._count(("fts", tuple(tokens)), lambda: fts_rows(tokens))
                else:
                    self._memo[key] = self._count(
                        ("text", domain_id, search_term), lambda: _text_matches(domain_id, search_term, self.dialect)
                    )
            if tokens:
                return int(self._memo[key])
        plan = self._plan(domain_id, tree, search_term, for_count=True)
        driver = self._count_driver(tree, plan)

        def cases() -> Select[Any]:
            ordered = _in_plan_order(tree, plan)
            if driver is None:
                where = self._where(domain_id, ordered, search_term, case_arn_prefix, plan)
                return select(s.cases.c.case_id).where(s.cases.c.domain_id == domain_id, *where)
            # The other conditions are probed on each row the driver (or the merge) gives.
            drv: Any
            holds: tuple[Cond | Group, ...]
            if plan.merged:
                # The equalities' ranges intersected in case-id order (ORDER BY keeps SQLite's
                # merge: without it, it builds a temporary index of one side).
                arms = [value_rows(domain_id, n, self.dialect) for n in plan.merged]
                drv = intersect(*arms).order_by(literal_column("1")).subquery("drv")
                rows, holds = select(drv.c.case_id), plan.merged
            else:
                # One value row per case matches the driver (values are per case and field,
                # and leave with their case): count those rows.
                drv = s.case_values.alias("drv")
                rows, holds = value_rows(domain_id, driver, self.dialect, table=drv), (driver,)
            where = self._where(domain_id, ordered, search_term, case_arn_prefix, plan, holds=holds)
            return rows.where(*[replacement_traverse(w, {}, partial(_case_id_of, drv)) for w in where])

        return self._count(("cases", domain_id, frozen(tree), search_term, case_arn_prefix, plan), cases)

    def list_cases_page(self, domain_id: str, after: tuple[int, str] | None, limit: int) -> list[dict[str, Any]]:
        """Cases oldest first, keyset-paged on (created_ms, case_id), for export."""
        c = s.cases
        q = select(c).where(c.c.domain_id == domain_id)
        if after is not None:
            q = q.where(or_(c.c.created_ms > after[0], and_(c.c.created_ms == after[0], c.c.case_id > after[1])))
        q = q.order_by(c.c.created_ms, c.c.case_id).limit(limit)
        return [dict(r._mapping) for r in self.conn.execute(q)]

    def related_items_page(
        self,
        domain_id: str,
        alternatives: list[tuple[str, str | None]] | None,
        sorts: list[tuple[str, bool]],
        after: list[Any] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Related items of a domain in `sorts` order (column, descending), item id last in the
        direction of the last sort; `alternatives` are OR-ed (type, search key) pairs."""
        t = s.related_items
        q = select(t).where(t.c.domain_id == domain_id)
        if alternatives is not None:
            q = q.where(or_(*[
                and_(t.c.type == type_, t.c.search_key == key) if key is not None else t.c.type == type_
                for type_, key in alternatives
            ]))
        cols = [(t.c[name], desc) for name, desc in sorts]
        id_desc = sorts[-1][1]
        if after is not None:
            clauses = []
            prefix: list[Any] = []
            for (col, desc), value in zip(cols, after[:-1], strict=True):
                clauses.append(and_(true(), *prefix, col < value if desc else col > value))
                prefix.append(col == value)
            last = t.c.related_item_id < after[-1] if id_desc else t.c.related_item_id > after[-1]
            clauses.append(and_(true(), *prefix, last))
            q = q.where(or_(*clauses))
        order = [col.desc() if desc else col.asc() for col, desc in cols]
        order.append(t.c.related_item_id.desc() if id_desc else t.c.related_item_id.asc())
        return [dict(r._mapping) for r in self.conn.execute(q.order_by(*order).limit(limit))]

    def values_for_cases(
        self, domain_id: str, case_ids: list[str], field_ids: list[str]
    ) -> dict[str, dict[str, dict[str, Any]]]:
        if not case_ids or not field_ids:
            return {}
        params = {"domain_id": domain_id, "case_ids": _bucketed(case_ids), "field_ids": _bucketed(field_ids)}
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for r in _VALUES_FOR_CASES.rows(self, params):
            out.setdefault(r["case_id"], {})[r["field_id"]] = r
        return out

    def tags_for_arns(self, arns: list[str]) -> dict[str, dict[str, str]]:
        if not arns:
            return {}
        out: dict[str, dict[str, str]] = {}
        for r in _TAGS_FOR_ARNS.rows(self, {"arns": _bucketed(arns)}):
            out.setdefault(r["arn"], {})[r["key"]] = r["value"]
        return out
