"""Hot statements: built once, compiled once per dialect, run straight on the DBAPI cursor.

Executing a Core statement through a SQLAlchemy Connection costs tens of microseconds even
when its compiled form is cached (cache key, execution context, result object); building the
statement per call costs as much again. The reads every request makes (the domain, a case
and its values, a template, tags) are a few primary-key lookups that take the database a
microsecond or two, so for them that machinery was most of the cost of a GetCase.

A `Prepared` holds a Core statement whose values are `bindparam()`s (expanding ones for
`IN` lists). On first use with a dialect it is compiled by SQLAlchemy's own compiler
(`construct_expanded_state`, once per list length), so the SQL text, parameter style and
bind casts are exactly what SQLAlchemy would send. Rows come back as dicts keyed by column
name, converted by the column types' result processors: the values `dict(row._mapping)`
gives. It runs in the caller's transaction (a Tx), on its DBAPI connection.

A `PreparedWrite` does the same for the INSERT, UPDATE and DELETE every mutation runs (values,
search text, version, audit and outbox rows): values go through the column types' bind
processors (JSON, Boolean), as SQLAlchemy would send them; `insert_of()` gives one per table
and set of columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any, Protocol

from sqlalchemy import Connection, Select, bindparam, insert
from sqlalchemy.engine import Dialect

# IN lists longer than this run through SQLAlchemy rather than get a compilation per length.
MAX_EXPANDED = 64

Args = Callable[[Mapping[str, Any]], Any]


class Runner(Protocol):
    """What a statement runs on: the store's Tx."""

    conn: Connection  # for what SQLAlchemy runs itself (long IN lists)
    dbapi_connection: Any
    sa_dialect: Dialect


class _Sentinel:
    """A placeholder value that the compiled parameters map back to (param, list index)."""

    __slots__ = ("name", "index")

    def __init__(self, name: str, index: int | None) -> None:
        self.name = name
        self.index = index


class _Compiled:
    __slots__ = ("sql", "args", "sqlite", "keys", "processors")

    def __init__(self, sql: str, args: Args, sqlite: bool) -> None:
        self.sql = sql
        self.args = args  # params -> what the driver takes (a tuple or a dict)
        self.sqlite = sqlite
        # Set at the first execution, from the cursor description (as SQLAlchemy does).
        self.keys: tuple[str, ...] | None = None
        self.processors: tuple[tuple[str, Callable[[Any], Any]], ...] = ()


class Prepared:
    """A read statement built once; `rows()` / `first()` run it in a Tx."""

    __slots__ = ("statement", "expanding", "custom_plan", "_compiled", "_columns")

    def __init__(self, statement: Select[Any], expanding: Sequence[str] = (), custom_plan: bool = False) -> None:
        """`custom_plan`: PostgreSQL plans every execution for its values instead of letting
        psycopg prepare it. A prepared statement's generic plan is made once, from the
        statistics of that moment: made while a table was nearly empty (and with no ANALYZE
        since), a lookup on a unique (domain, key) index became a scan of the domain's range
        of another index, once per row of an import (quadratic)."""
        self.statement = statement
        self.expanding = tuple(expanding)
        self.custom_plan = custom_plan
        self._compiled: dict[Any, _Compiled] = {}
        self._columns: list[Any] = list(statement.selected_columns)

    def rows(self, tx: Runner, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        dialect = tx.sa_dialect
        if self.expanding:
            compiled = self._expanded(dialect, params)
            if compiled is None:
                return [dict(r._mapping) for r in tx.conn.execute(self.statement, dict(params))]
        else:
            compiled = self._compiled.get(type(dialect))
            if compiled is None:
                compiled = self._compiled[type(dialect)] = self._compile(dialect, params)
        keys = compiled.keys
        if keys is not None and compiled.sqlite:
            # sqlite3's shortcut (its cursor holds nothing once the rows are fetched).
            fetched = tx.dbapi_connection.execute(compiled.sql, compiled.args(params)).fetchall()
        else:
            cursor = tx.dbapi_connection.cursor()
            try:
                if self.custom_plan and not compiled.sqlite:
                    cursor.execute(compiled.sql, compiled.args(params), prepare=False)
                else:
                    cursor.execute(compiled.sql, compiled.args(params))
                if compiled.keys is None:
                    self._describe(compiled, dialect, cursor.description)
                fetched = cursor.fetchall()
            finally:
                cursor.close()
            keys = compiled.keys
            assert keys is not None
        out = [dict(zip(keys, row, strict=False)) for row in fetched]  # same length: see _describe
        for key, process in compiled.processors:
            for row in out:
                value = row[key]
                if value is not None:  # result processors pass NULL through
                    row[key] = process(value)
        return out

    def first(self, tx: Runner, params: Mapping[str, Any]) -> dict[str, Any] | None:
        rows = self.rows(tx, params)
        return rows[0] if rows else None

    # -- compilation ---------------------------------------------------------------------
    def _expanded(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled | None:
        if len(self.expanding) == 1:
            lengths: Any = len(params[self.expanding[0]])
            shortest = longest = lengths
        else:
            lengths = tuple(len(params[name]) for name in self.expanding)
            shortest, longest = min(lengths), max(lengths)
        if longest > MAX_EXPANDED or shortest == 0:
            return None  # SQLAlchemy's own path (an empty IN needs its special rendering)
        key = (type(dialect), lengths)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._compile(dialect, params)
        return compiled

    def _compile(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        return _compile(self.statement, self.expanding, dialect, params)

    def _describe(self, compiled: _Compiled, dialect: Dialect, description: Sequence[Any]) -> None:
        if len(description) != len(self._columns):
            raise RuntimeError("result columns do not match the statement's selected columns")
        keys = tuple(column.key for column in self._columns)
        if len(set(keys)) != len(keys):
            raise RuntimeError(f"duplicate result column names: {keys}")
        processors = []
        for key, column, desc in zip(keys, self._columns, description, strict=True):
            process = column.type.dialect_impl(dialect).result_processor(dialect, desc[1])
            if process is not None:
                processors.append((key, process))
        compiled.processors = tuple(processors)
        compiled.keys = keys


class PreparedWrite:
    """An INSERT, UPDATE or DELETE built once; `run()` executes it in a Tx (on the DBAPI
    connection, in the transaction SQLAlchemy began) and returns the row count, `run_many()`
    executes it once per parameter set (the driver's executemany).

    Runs no RETURNING and raises the driver's own exceptions (`tx.sa_dialect.loaded_dbapi`'s),
    not SQLAlchemy's wrappers. Values the statement's columns convert (JSON, Boolean) go
    through the same bind processors SQLAlchemy would use.
    """

    __slots__ = ("statement", "expanding", "_compiled")

    def __init__(self, statement: Any, expanding: Sequence[str] = ()) -> None:
        self.statement = statement
        self.expanding = tuple(expanding)
        self._compiled: dict[Any, _Compiled] = {}

    def _lookup(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled | None:
        if self.expanding:
            lengths = tuple(len(params[name]) for name in self.expanding)
            if max(lengths) > MAX_EXPANDED or min(lengths) == 0:
                return None
            key: Any = (type(dialect), lengths)
        else:
            key = type(dialect)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _compile(self.statement, self.expanding, dialect, params)
        return compiled

    def run(self, tx: Runner, params: Mapping[str, Any]) -> int:
        compiled = self._lookup(tx.sa_dialect, params)
        if compiled is None:
            return int(tx.conn.execute(self.statement, dict(params)).rowcount)
        if compiled.sqlite:
            return int(tx.dbapi_connection.execute(compiled.sql, compiled.args(params)).rowcount)
        cursor = tx.dbapi_connection.cursor()
        try:
            cursor.execute(compiled.sql, compiled.args(params))
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def run_many(self, tx: Runner, rows: Sequence[Mapping[str, Any]]) -> None:
        """Every row has the same keys; no expanding parameters."""
        if not rows:
            return
        if len(rows) == 1:
            self.run(tx, rows[0])
            return
        compiled = self._lookup(tx.sa_dialect, rows[0])
        assert compiled is not None
        args = compiled.args
        cursor = tx.dbapi_connection.cursor()
        try:
            cursor.executemany(compiled.sql, [args(r) for r in rows])
        finally:
            cursor.close()


def _compile(statement: Any, expanding: Sequence[str], dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
    sample: dict[str, Any] = {}
    for name, value in params.items():
        if name in expanding:
            sample[name] = [_Sentinel(name, i) for i in range(len(value))]
        else:
            sample[name] = _Sentinel(name, None)
    compiler = statement.compile(dialect=dialect)
    if compiler.literal_execute_params:
        raise RuntimeError("a prepared statement cannot render parameters as literals")
    state = compiler.construct_expanded_state(sample)
    names = state.positiontup if compiler.positional else list(state.parameters)
    if names is None:
        raise RuntimeError("a positional statement without a parameter order")
    # In SQL order: (driver name, our name, list index or None), or (driver name, None,
    # fixed value) for a value the statement carries (the OFFSET 0 SQLite adds to a LIMIT).
    sources: list[tuple[str, str | None, Any]] = []
    for driver_name in names:
        value = state.parameters[driver_name]
        if isinstance(value, _Sentinel):
            sources.append((driver_name, value.name, value.index))
        else:
            sources.append((driver_name, None, value))
    # The statement's own processors (JSON, Boolean...) and those of the expanded lists' elements.
    processors = {k: v for k, v in compiler._bind_processors.items() if callable(v)}
    processors.update(state.processors)
    used = {driver_name for driver_name, _, _ in sources}
    args = _args_builder(
        sources, {k: v for k, v in processors.items() if k in used}, compiler.positional
    )
    return _Compiled(state.statement, args, dialect.name == "sqlite")


def _args_builder(
    sources: list[tuple[str, str | None, Any]], bind_processors: dict[str, Callable[[Any], Any]], positional: bool
) -> Args:
    """A function from our params to the driver's parameters, as cheap as the case allows."""
    simple = not bind_processors and all(name is not None and index is None for _, name, index in sources)
    if simple and positional:
        names = [name for _, name, _ in sources if name is not None]
        if not names:
            return lambda params: ()
        if len(names) == 1:
            only = names[0]
            return lambda params: (params[only],)
        return itemgetter(*names)

    if not bind_processors and positional:
        # (name, index): params[name], params[name][index], or the fixed value `index`.
        plan = tuple((name, index) for _, name, index in sources)

        def build_positional(params: Mapping[str, Any]) -> Any:
            return tuple(
                [
                    index if name is None else params[name] if index is None else params[name][index]
                    for name, index in plan
                ]
            )

        return build_positional

    if positional:
        # (name, index, processor): as above, then through the column type's bind processor.
        processed = tuple(
            (name, index, bind_processors.get(driver_name)) for driver_name, name, index in sources
        )

        def build_processed(params: Mapping[str, Any]) -> Any:
            values = []
            for name, index, process in processed:
                value = index if name is None else params[name] if index is None else params[name][index]
                values.append(value if process is None else process(value))
            return tuple(values)

        return build_processed

    def build(params: Mapping[str, Any]) -> Any:
        values = []
        for driver_name, name, index in sources:
            if name is None:
                value = index  # the fixed value
            elif index is None:
                value = params[name]
            else:
                value = params[name][index]
            process = bind_processors.get(driver_name)
            values.append(value if process is None else process(value))
        if positional:
            return tuple(values)
        return {driver_name: v for (driver_name, _, _), v in zip(sources, values, strict=True)}

    return build


_INSERTS: dict[tuple[str, tuple[str, ...]], PreparedWrite] = {}


def insert_of(table: Any, keys: Iterable[str]) -> PreparedWrite:
    """INSERT INTO `table` of the columns `keys` (columns left out take their scalar defaults),
    built once per table and set of keys."""
    key = (table.name, tuple(keys))
    prepared = _INSERTS.get(key)
    if prepared is None:
        prepared = _INSERTS[key] = PreparedWrite(insert(table).values({k: bindparam(k) for k in key[1]}))
    return prepared


def unique(values: Iterable[str]) -> list[str]:
    """The values without repeats, first occurrence first."""
    return list(dict.fromkeys(values))
