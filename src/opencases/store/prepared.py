"""Hot statements: built once, compiled once per dialect, run straight on the DBAPI cursor.

Executing a Core statement through a SQLAlchemy Connection costs tens of microseconds even
when its compiled form is cached (cache key, execution context, result object); building the
statement per call costs as much again. The reads every request makes (the domain, a case
and its values, a template, tags) are a few primary-key lookups that take the database a
microsecond or two, so for them that machinery was most of the cost of a GetCase.

A `Prepared` holds a Core statement whose values are `bindparam()`s (expanding ones for
`IN` lists). On first use with a dialect it is compiled with SQLAlchemy's own compiler
(`construct_expanded_state`, once per list length), so the SQL text, parameter style and
bind casts are exactly what SQLAlchemy would send. Rows come back as dicts keyed by column
name, converted by the column types' result processors, the same values `dict(row._mapping)`
gives. It runs inside the caller's transaction on the same DBAPI connection.

Not for statements with SQL functions on the result side or duplicate column names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable

# Lists longer than this are not worth a cached compilation per length.
MAX_EXPANDED = 64


class _Sentinel:
    """A placeholder value that the compiled parameters map back to (param, list index)."""

    __slots__ = ("name", "index")

    def __init__(self, name: str, index: int | None) -> None:
        self.name = name
        self.index = index


class _Compiled:
    __slots__ = ("sql", "positional", "sources", "bind_processors", "keys", "processors")

    def __init__(self, sql: str, positional: bool, sources: tuple[tuple[str, str | None, Any], ...],
                 bind_processors: dict[str, Callable[[Any], Any]]) -> None:
        self.sql = sql
        self.positional = positional
        # In SQL order: (driver parameter name, our parameter name, list index or None), or
        # (driver parameter name, None, fixed value).
        self.sources = sources
        self.bind_processors = bind_processors
        # Filled at the first execution, from the cursor description (as SQLAlchemy does).
        self.keys: tuple[str, ...] | None = None
        self.processors: tuple[tuple[int, Callable[[Any], Any]], ...] = ()


class Prepared:
    """A read statement built once; `rows()` / `first()` run it in a Connection's transaction."""

    __slots__ = ("statement", "expanding", "_compiled", "_columns")

    def __init__(self, statement: Executable, expanding: Sequence[str] = ()) -> None:
        self.statement = statement
        self.expanding = tuple(expanding)
        self._compiled: dict[tuple[Any, ...], _Compiled] = {}
        self._columns: list[Any] = list(getattr(statement, "selected_columns", ()))

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        compiled = self._for(conn.dialect, params)
        if compiled is None:
            return [dict(r._mapping) for r in conn.execute(self.statement, dict(params))]
        args = self._args(compiled, params)
        cursor = _dbapi(conn).cursor()
        try:
            cursor.execute(compiled.sql, args)
            if compiled.keys is None:
                self._describe(compiled, conn.dialect, cursor.description)
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        keys = compiled.keys
        assert keys is not None
        if not compiled.processors:
            return [dict(zip(keys, row, strict=True)) for row in fetched]
        out = []
        for row in fetched:
            values = list(row)
            for i, process in compiled.processors:
                values[i] = process(values[i])
            out.append(dict(zip(keys, values, strict=True)))
        return out

    def first(self, conn: Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        rows = self.rows(conn, params)
        return rows[0] if rows else None

    # -- compilation ---------------------------------------------------------------------
    def _for(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled | None:
        if self.expanding:
            lengths = tuple(len(params[name]) for name in self.expanding)
            if max(lengths, default=0) > MAX_EXPANDED or min(lengths, default=1) == 0:
                return None  # SQLAlchemy's own path (an empty IN needs its special rendering)
            key: tuple[Any, ...] = (type(dialect), lengths)
        else:
            key = (type(dialect),)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._compile(dialect, params)
        return compiled

    def _compile(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        sample: dict[str, Any] = {}
        for name, value in params.items():
            if name in self.expanding:
                sample[name] = [_Sentinel(name, i) for i in range(len(value))]
            else:
                sample[name] = _Sentinel(name, None)
        compiler = self.statement.compile(dialect=dialect)
        if compiler.literal_execute_params:
            raise RuntimeError("a prepared statement cannot render parameters as literals")
        state = compiler.construct_expanded_state(sample)
        names = state.positiontup if compiler.positional else list(state.parameters)
        if names is None:
            raise RuntimeError("a positional statement without a parameter order")
        sources: list[tuple[str, str | None, Any]] = []
        for driver_name in names:
            value = state.parameters[driver_name]
            if isinstance(value, _Sentinel):
                sources.append((driver_name, value.name, value.index))
            else:
                # A value fixed in the statement, e.g. the OFFSET 0 SQLite adds to a bound LIMIT.
                sources.append((driver_name, None, value))
        return _Compiled(state.statement, compiler.positional, tuple(sources), dict(state.processors))

    def _describe(self, compiled: _Compiled, dialect: Dialect, description: Sequence[Any]) -> None:
        if len(description) != len(self._columns):
            raise RuntimeError("result columns do not match the statement's selected columns")
        keys = tuple(column.key for column in self._columns)
        if len(set(keys)) != len(keys):
            raise RuntimeError(f"duplicate result column names: {keys}")
        processors = []
        for i, (column, desc) in enumerate(zip(self._columns, description, strict=True)):
            process = column.type.dialect_impl(dialect).result_processor(dialect, desc[1])
            if process is not None:
                processors.append((i, process))
        compiled.processors = tuple(processors)
        compiled.keys = keys

    @staticmethod
    def _args(compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        values = []
        for _, name, index in compiled.sources:
            if name is None:
                values.append(index)  # the fixed value
            elif index is None:
                values.append(params[name])
            else:
                values.append(params[name][index])
        if compiled.bind_processors:
            values = [
                compiled.bind_processors[driver](v) if driver in compiled.bind_processors else v
                for (driver, _, _), v in zip(compiled.sources, values, strict=True)
            ]
        if compiled.positional:
            return tuple(values)
        return {driver: v for (driver, _, _), v in zip(compiled.sources, values, strict=True)}


def _dbapi(conn: Connection) -> Any:
    dbapi_connection = conn.connection.dbapi_connection
    if dbapi_connection is None:  # pragma: no cover - a live Connection always has one
        raise RuntimeError("the connection is closed")
    return dbapi_connection


def unique(values: Iterable[str]) -> list[str]:
    """The values without repeats, first occurrence first."""
    return list(dict.fromkeys(values))
