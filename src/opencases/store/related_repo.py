"""Reads and writes of related items, their tags when a merge moves them, merges, and the
merge state of cases. Case rows and values are CaseRepo's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Dialect

from opencases.store import schema as s
from opencases.store.prepared import Prepared, insert_of

_r = s.related_items
_OF_CASE = (_r.c.domain_id == bindparam("domain_id"), _r.c.case_id == bindparam("case_id"))
_GET_RELATED_ITEM = Prepared(select(_r).where(*_OF_CASE, _r.c.related_item_id == bindparam("related_item_id")))
# Newest association first.
_NEWEST_FIRST = (_r.c.association_ms.desc(), _r.c.related_item_id.desc())
_CASE_RELATED_ITEMS = Prepared(select(_r).where(*_OF_CASE).order_by(*_NEWEST_FIRST))
_CASE_RELATED_ITEMS_OF_TYPES = Prepared(
    select(_r).where(*_OF_CASE, _r.c.type.in_(bindparam("types", expanding=True))).order_by(*_NEWEST_FIRST),
    expanding=("types",),
)

_COUNT_BY_TYPE = Prepared(
    select(_r.c.type, func.count().label("n")).where(*_OF_CASE).group_by(_r.c.type)
)


class RelatedRepo:
    conn: Connection
    dialect: str
    dbapi_connection: Any
    sa_dialect: Dialect

    def savepoint(self) -> Any:
        """A nested transaction: leaving it by an exception undoes only its own writes."""
        return self.conn.begin_nested()

    # -- related items ---------------------------------------------------------------------
    def insert_related_item(self, row: dict[str, Any]) -> None:
        insert_of(s.related_items, row).run(self, row)

    def get_related_item(self, domain_id: str, case_id: str, related_item_id: str) -> dict[str, Any] | None:
        params = {"domain_id": domain_id, "case_id": case_id, "related_item_id": related_item_id}
        return _GET_RELATED_ITEM.first(self, params)

    def update_related_item(self, domain_id: str, related_item_id: str, values: dict[str, Any]) -> None:
        t = s.related_items
        self.conn.execute(
            update(t).where(t.c.domain_id == domain_id, t.c.related_item_id == related_item_id).values(**values)
        )

    def delete_related_items(self, domain_id: str, related_item_ids: Iterable[str]) -> None:
        ids = list(related_item_ids)
        if ids:
            t = s.related_items
            self.conn.execute(delete(t).where(t.c.domain_id == domain_id, t.c.related_item_id.in_(ids)))

    def move_related_items(self, domain_id: str, related_item_ids: Iterable[str], case_id: str) -> None:
        ids = list(related_item_ids)
        if ids:
            t = s.related_items
            self.conn.execute(
                update(t).where(t.c.domain_id == domain_id, t.c.related_item_id.in_(ids)).values(case_id=case_id)
            )

    def count_related_items_by_type(self, domain_id: str, case_id: str) -> dict[str, int]:
        rows = _COUNT_BY_TYPE.rows(self, {"domain_id": domain_id, "case_id": case_id})
        return {r["type"]: int(r["n"]) for r in rows}

    def case_related_items(
        self, domain_id: str, case_id: str, types: Iterable[str] | None = None
    ) -> list[dict[str, Any]]:
        """All items of a case (optionally of some types), newest association first."""
        params: dict[str, Any] = {"domain_id": domain_id, "case_id": case_id}
        if types is None:
            return _CASE_RELATED_ITEMS.rows(self, params)
        wanted = list(types)
        if not wanted:
            return []
        return _CASE_RELATED_ITEMS_OF_TYPES.rows(self, params | {"types": wanted})

    # -- tags of related items (their ARN embeds the case id, so a moved item is re-keyed) --
    def rekey_tags(self, old_arn: str, new_arn: str) -> None:
        t = s.tags
        self.conn.execute(update(t).where(t.c.arn == old_arn).values(arn=new_arn))

    # -- cases: merge state ------------------------------------------------------------------
    def set_merge_state(self, domain_id: str, case_id: str, state: dict[str, Any] | None) -> None:
        t = s.cases
        self.conn.execute(
            update(t).where(t.c.domain_id == domain_id, t.c.case_id == case_id).values(merge_state=state)
        )

    # -- merges ----------------------------------------------------------------------------
    def insert_merge(self, row: dict[str, Any]) -> None:
        self.conn.execute(insert(s.merges).values(**row))

    def update_merge(self, domain_id: str, merge_event_id: str, values: dict[str, Any]) -> None:
        t = s.merges
        self.conn.execute(
            update(t).where(t.c.domain_id == domain_id, t.c.merge_event_id == merge_event_id).values(**values)
        )
