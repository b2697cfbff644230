"""The SearchCases filter tree compiled to SQL, on SQLite (FTS5) and PostgreSQL (tsvector).

Every field condition is an `IN (SELECT case_id FROM case_values ...)` on the typed-value
indexes (domain, field, value), so a selective filter starts from the index; `emptyValue`
is the complement. Sorts join the value of the sort field (LEFT JOIN, so cases without a
value still appear: after those with one, in either direction). Paging is keyset on the sort
values plus the case id.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    bindparam,
    cast,
    false,
    func,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.sql import Select

from opencases.store import schema as s

C = s.cases
V = s.case_values

# Sorts on these fields read the cases table's own indexed columns.
CASE_COLUMNS = {"created_datetime": C.c.created_ms, "last_updated_datetime": C.c.updated_ms}


@dataclass(frozen=True)
class Cond:
    """One field condition, already typed by the service layer.

    `column` is s_value, n_value, b_value or u_value; `op` is eq, contains, gt, ge, lt, le or
    empty; `value` is the stored form (epoch ms for DateTime).
    """

    field_id: str
    column: str
    op: str
    value: Any


# A condition matching fewer value rows than this drives the query from its value index
# (`case_id IN (...)`); a broader one is probed per case (`EXISTS`) while the cases are read
# in sort order, so a page of a common filter stops after a page's worth of matches.
# (OPENCASES_SEARCH_SELECTIVE_ROWS tunes it; the test suite sets it low to exercise both plans.)
SELECTIVE_ROWS = int(os.environ.get("OPENCASES_SEARCH_SELECTIVE_ROWS", "2000"))


@dataclass(frozen=True)
class Group:
    """Conditions of one AND on the same field: one value-index range instead of several."""

    field_id: str
    column: str
    conds: tuple[Cond, ...]


def _predicate(col: Any, cond: Cond, dialect: str) -> ColumnElement[bool]:
    if cond.op == "eq":
        return col == cond.value
    if cond.op == "contains":
        return _contains(col, str(cond.value), dialect)
    return {"gt": col > cond.value, "ge": col >= cond.value, "lt": col < cond.value, "le": col <= cond.value}[cond.op]


def value_rows(domain_id: str, node: Cond | Group, dialect: str, table: Any = V) -> Select[Any]:
    """The case_values rows (of `table`, or an alias of it) matching a condition (or a
    same-field group)."""
    conds = node.conds if isinstance(node, Group) else (node,)
    col = table.c[node.column]
    preds = [_predicate(col, c, dialect) for c in conds]
    # The explicit IS NOT NULL lets the planner use the partial value index for any predicate.
    return select(table.c.case_id).where(
        table.c.domain_id == domain_id, table.c.field_id == node.field_id, col.is_not(None), *preds
    )


# What a plan's `selective(node)` may answer besides drives (True) and probed (False): the
# condition holds for every row considered (a count reads them from its index), so it
# compiles to TRUE wherever it appears.
HOLDS = "holds"


def _field_condition(domain_id: str, node: Cond | Group, dialect: str, selective: Any) -> ColumnElement[bool]:
    if isinstance(node, Cond) and node.op == "empty":
        present = select(literal(1)).where(
            V.c.domain_id == domain_id, V.c.case_id == C.c.case_id, V.c.field_id == node.field_id
        )
        return ~present.exists()
    verdict = selective(node)
    if verdict == HOLDS:
        return true()
    rows = value_rows(domain_id, node, dialect)
    if verdict:
        return C.c.case_id.in_(rows)
    index = _probe_index(node) if dialect == "sqlite" else None
    if index is not None:
        return _indexed_probe(domain_id, node, index)
    return _probe(rows.with_only_columns(literal(1)).where(V.c.case_id == C.c.case_id), dialect)


def _probe_index(node: Cond | Group) -> str | None:
    """SQLite: the index holding all a per-case check of `node` reads, if there is one: the
    typed value index (domain, field, value, case) for an equality, NUMBER_PROBE_INDEX
    (domain, case, field, number) for a number or date. SQLite's planner prefers the unique
    primary key (domain, case, field), then reads the row for its value: two seeks per case."""
    if isinstance(node, Cond) and node.op == "eq":
        return s.value_index(node.column)
    return s.NUMBER_PROBE_INDEX if node.column == "n_value" else None


def _indexed_probe(domain_id: str, node: Cond | Group, index: str) -> ColumnElement[bool]:
    """SQLite: `EXISTS` of a condition, one seek of `index` (`_probe_index`), named with
    INDEXED BY."""
    names = ("domain_id", "field_id", "case_id", node.column)
    col: dict[str, Any] = {name: literal_column(f"case_values.{name}", type_=V.c[name].type) for name in names}
    value = col[node.column]
    conds = node.conds if isinstance(node, Group) else (node,)
    return (
        select(literal(1))
        .select_from(text(f"case_values INDEXED BY {index}"))
        .where(
            col["domain_id"] == domain_id,
            col["field_id"] == node.field_id,
            value.is_not(None),
            *[_predicate(value, c, "sqlite") for c in conds],
            col["case_id"] == C.c.case_id,
        )
        .exists()
    )


def _probe(sub: Select[Any], dialect: str) -> ColumnElement[bool]:
    """`EXISTS (sub)`, evaluated per case as the cases are read.

    PostgreSQL would otherwise pull an EXISTS up into a semi-join and choose its plan by its
    own estimate of the matches: where that estimate is low (ranges, substrings, words), it
    reads every match, joins and sorts them all for one page. OFFSET 0 keeps the subquery a
    per-row probe (a SubPlan), as the selectivity probes decided.
    """
    return (sub.offset(0) if dialect == "postgresql" else sub).exists()


def _contains(col: Any, needle: str, dialect: str) -> ColumnElement[bool]:
    """Case-insensitive substring match; the needle is matched literally (no LIKE wildcards)."""
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if dialect == "postgresql":
        # ILIKE uses the pg_trgm index on s_value.
        return col.ilike(f"%{escaped}%", escape="\\")
    exact = func.instr(func.lower(col), needle.lower()) > 0
    if len(needle) < 3 or getattr(col, "name", None) != "s_value":
        return exact  # shorter than a trigram, or a User value (not indexed): scanned
    # Candidates from the trigram index (folds case at least as widely as lower()), then the
    # exact test; the quoted phrase makes FTS syntax in the needle literal.
    phrase = '"' + needle.replace('"', '""') + '"'
    candidates = (
        select(text("rowid"))
        .select_from(text("value_trgm"))
        .where(
            # unique: an orAll may hold several contains, each with its own needle.
            text("value_trgm MATCH :needle").bindparams(bindparam("needle", phrase, unique=True))
        )
    )
    return and_(literal_column(f"{col.table.name}.rowid").in_(candidates), exact)


def group_conditions(nodes: list[Any]) -> list[Any]:
    """Within one AND, fold conditions on the same field into a Group (emptyValue excluded)."""
    out: list[Any] = []
    groups: dict[tuple[str, str], list[Cond]] = {}
    for n in nodes:
        if isinstance(n, Cond) and n.op != "empty":
            groups.setdefault((n.field_id, n.column), []).append(n)
        else:
            out.append(n)
    for (field_id, column), conds in groups.items():
        out.append(conds[0] if len(conds) == 1 else Group(field_id, column, tuple(conds)))
    return out


def field_conditions(node: Any) -> list[Cond | Group]:
    """Every field condition of a tree (after grouping), for the selectivity probes."""
    if isinstance(node, (Cond, Group)):
        return [node]
    if node[0] in ("and", "or"):
        children = group_conditions(node[1]) if node[0] == "and" else node[1]
        return [c for child in children for c in field_conditions(child)]
    if node[0] == "not":
        return field_conditions(node[1])
    return []


def compile_filter(
    domain_id: str, node: Any, dialect: str, tag_arn_prefix: str, selective: Any = lambda _n: True
) -> ColumnElement[bool]:
    """`node` is the tree from the service layer: ("and", [..]), ("or", [..]), ("not", n),
    ("tag", key, value) or a Cond. `selective(cond)` says whether a condition drives the query."""
    if isinstance(node, (Cond, Group)):
        return _field_condition(domain_id, node, dialect, selective)
    kind = node[0]
    if kind == "and":
        parts = [compile_filter(domain_id, n, dialect, tag_arn_prefix, selective) for n in group_conditions(node[1])]
        return and_(true(), *parts) if parts else true()
    if kind == "or":
        parts = [compile_filter(domain_id, n, dialect, tag_arn_prefix, selective) for n in node[1]]
        return or_(false(), *parts) if parts else false()
    if kind == "not":
        return not_(compile_filter(domain_id, node[1], dialect, tag_arn_prefix, selective))
    if kind == "tag":
        t = s.tags
        arn = literal(tag_arn_prefix) + C.c.case_id
        sub = select(t.c.arn).where(t.c.domain_id == domain_id, t.c.key == node[1], t.c.value == node[2])
        return arn.in_(sub)
    raise ValueError(f"unknown filter node {kind!r}")


# Letters and digits: FTS5's unicode61 and PostgreSQL's parser both split words at `_` too.
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def search_tokens(term: str) -> list[str]:
    """Words of a search term; punctuation separates words, exactly as the indexers do."""
    return [t.lower() for t in _TOKEN.findall(term)][:32]


def text_matches(domain_id: str, term: str, dialect: str) -> Select[Any] | None:
    """Case ids whose text has every word of the term as a word prefix (case-insensitive).

    Words are quoted, so FTS5 and tsquery operators in the term are matched literally.
    """
    tokens = search_tokens(term)
    if not tokens:
        return None
    t = s.case_text
    if dialect == "postgresql":
        query = " & ".join(f"'{tok}':*" for tok in tokens)
        pred = text("to_tsvector('simple', case_text.body) @@ to_tsquery('simple', :q)").bindparams(
            bindparam("q", query, unique=True)
        )
        return select(t.c.case_id).where(t.c.domain_id == domain_id, pred)
    fts = fts_rows(tokens)
    return select(t.c.case_id).where(t.c.domain_id == domain_id, t.c.rowid_.in_(fts))


def fts_rows(tokens: list[str]) -> Select[Any]:
    """SQLite: the case_text rows (of every domain) whose text has every token as a word prefix."""
    query = " AND ".join(f'"{tok}"*' for tok in tokens)
    return (
        select(text("rowid"))
        .select_from(text("case_fts"))
        .where(text("case_fts MATCH :q").bindparams(bindparam("q", query, unique=True)))
    )


def compile_search_term(domain_id: str, term: str, dialect: str, selective: bool = True) -> ColumnElement[bool] | None:
    """The searchTerm condition: driven from the text index when few cases match, else probed
    per case (the case's own text row) while cases are read in sort order."""
    matches = text_matches(domain_id, term, dialect)
    if matches is None:
        return None
    if selective:
        return C.c.case_id.in_(matches)
    tokens = search_tokens(term)
    if dialect == "sqlite" and all(tok.isascii() for tok in tokens):
        # FTS5 cannot test one row cheaply (~100 µs a probe: it walks the word's doclist),
        # and `rowid IN (its matches)` lists every match first (430,000 rowids, 45 ms, for a
        # common word at a million cases). An ASCII text is tested in Python, exactly as
        # FTS5 would (`word_prefixes`); another falls back to the list, built when first used.
        t = s.case_text
        tested = func.opencases_word_prefixes(t.c.body, " ".join(tokens))
        return (
            select(literal(1))
            .where(
                t.c.domain_id == domain_id,
                t.c.case_id == C.c.case_id,
                func.coalesce(tested, t.c.rowid_.in_(fts_rows(tokens))),
            )
            .exists()
        )
    return _probe(matches.with_only_columns(literal(1)).where(s.case_text.c.case_id == C.c.case_id), dialect)


def word_prefixes(body: str | None, tokens: str) -> int | None:
    """SQLite function `opencases_word_prefixes(body, tokens)`: whether every one of the
    space-separated ASCII search tokens begins a word of an ASCII body (1 or 0), as FTS5's
    unicode61 tokenizer and a `"token"*` query decide: in ASCII, words are runs of letters and
    digits, compared case-insensitively. NULL for a body with other characters (the
    tokenizer's rules for them, diacritics folded, are its own): the caller asks FTS5."""
    if body is None:
        return 0
    if not body.isascii():
        return None
    lowered = body.lower()
    for token in tokens.split():
        at = lowered.find(token)
        while at > 0 and lowered[at - 1].isalnum():
            at = lowered.find(token, at + 1)
        if at < 0:
            return 0
    return 1


@dataclass(frozen=True)
class SortKey:
    field_id: str
    column: str  # the case_values column holding this field's type (unused for case columns)
    descending: bool


def _sort_column(q: Select[Any], i: int, key: SortKey) -> tuple[Select[Any], Any, bool]:
    """The column to order by, the query joined to it, and whether it can be missing."""
    if key.field_id in CASE_COLUMNS:
        return q, CASE_COLUMNS[key.field_id], False
    alias = V.alias(f"sv{i}")
    q = q.outerjoin(
        alias,
        and_(alias.c.domain_id == C.c.domain_id, alias.c.case_id == C.c.case_id, alias.c.field_id == key.field_id),
    )
    col = alias.c[key.column]
    # Booleans order as 0/1 (PostgreSQL has no < on boolean parameters of unknown type).
    return q, (cast(col, Integer) if key.column == "b_value" else col), True


def build_query(
    domain_id: str,
    where: list[ColumnElement[bool]],
    sorts: list[SortKey],
    after: list[Any] | None,
    limit: int,
) -> Select[Any]:
    """Page query returning case rows plus one `sort_i` column per sort key.

    The case id breaks ties in the direction of the last sort key, so that a sort on a case
    column (created or updated time) is one backward or forward scan of its index.
    """
    q: Select[Any] = select(C.c.case_id, C.c.template_id).select_from(C)
    cols: list[tuple[Any, bool]] = []
    for i, key in enumerate(sorts):
        q, col, nullable = _sort_column(q, i, key)
        cols.append((col, nullable))
        q = q.add_columns(col.label(f"sort_{i}"))
    q = q.where(C.c.domain_id == domain_id, *where)
    id_desc = sorts[-1].descending if sorts else False
    if after is not None:
        q = q.where(_after(sorts, cols, after, id_desc))
    order: list[Any] = []
    for key, (col, nullable) in zip(sorts, cols, strict=True):
        if nullable:
            order.append(col.is_(None))  # cases without a value last, in either direction
        order.append(col.desc() if key.descending else col.asc())
    order.append(C.c.case_id.desc() if id_desc else C.c.case_id.asc())
    return q.order_by(*order).limit(limit)


def field_sort_queries(
    domain_id: str,
    where: list[ColumnElement[bool]],
    key: SortKey,
    after: list[Any] | None,
    limit: int,
) -> list[Select[Any]]:
    """A sort on one field, as up to two index-ordered queries (same order as build_query).

    First the cases with a value, read in order from the (domain, field, value, case) index;
    then the cases without one, by case id. A page that starts among the cases without a
    value skips the first query.
    """
    id_desc = key.descending
    # An alias: the filter's own subqueries on case_values must not correlate to this one.
    sv = V.alias("sv")
    value_col = sv.c[key.column]
    sort_col = cast(value_col, Integer) if key.column == "b_value" else value_col
    queries: list[Select[Any]] = []
    if after is None or after[0] is not None:
        q = (
            select(C.c.case_id, C.c.template_id, sort_col.label("sort_0"))
            .select_from(sv.join(C, and_(C.c.domain_id == sv.c.domain_id, C.c.case_id == sv.c.case_id)))
            .where(sv.c.domain_id == domain_id, sv.c.field_id == key.field_id, value_col.is_not(None), *where)
        )
        if after is not None:
            value, case_id = after[0], after[1]
            beyond = sort_col < value if key.descending else sort_col > value
            tie = sv.c.case_id < case_id if id_desc else sv.c.case_id > case_id
            q = q.where(or_(beyond, and_(sort_col == value, tie)))
        order = [sort_col.desc(), sv.c.case_id.desc()] if key.descending else [sort_col.asc(), sv.c.case_id.asc()]
        queries.append(q.order_by(*order).limit(limit))
    present = select(literal(1)).where(
        V.c.domain_id == domain_id, V.c.case_id == C.c.case_id, V.c.field_id == key.field_id
    )
    q = select(C.c.case_id, C.c.template_id, null().label("sort_0")).where(
        C.c.domain_id == domain_id, ~present.exists(), *where
    )
    if after is not None and after[0] is None:
        q = q.where(C.c.case_id < after[1] if id_desc else C.c.case_id > after[1])
    queries.append(q.order_by(C.c.case_id.desc() if id_desc else C.c.case_id.asc()).limit(limit))
    return queries


def _after(sorts: list[SortKey], cols: list[tuple[Any, bool]], after: list[Any], id_desc: bool) -> ColumnElement[bool]:
    """Rows strictly after the previous page's last row, in build_query's ORDER BY.

    `after` holds that row's sort values then its case id; the lexicographic comparison is
    spelled out as OR-of-ANDs, with a missing value ordered after every present one.
    """
    clauses: list[ColumnElement[bool]] = []
    prefix: list[ColumnElement[bool]] = []
    for key, (col, nullable), value in zip(sorts, cols, after[:-1], strict=True):
        if value is None:
            prefix.append(col.is_(None))  # only other missing values can follow
            continue
        beyond: ColumnElement[bool] = col < value if key.descending else col > value
        if nullable:
            beyond = or_(beyond, col.is_(None))
        clauses.append(and_(true(), *prefix, beyond))
        prefix.append(col == value)
    last = C.c.case_id < after[-1] if id_desc else C.c.case_id > after[-1]
    clauses.append(and_(true(), *prefix, last))
    return or_(*clauses)


def count_query(domain_id: str, where: list[ColumnElement[bool]]) -> Select[Any]:
    return select(func.count()).select_from(C).where(C.c.domain_id == domain_id, *where)
