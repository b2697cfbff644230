"""Reads and writes of domain configuration: domains, fields, options, layouts, templates,
case rules, tags and the case event configuration.

Rows come back as plain dicts keyed by column name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.engine import Dialect

from opencases.store import schema as s
from opencases.store.prepared import Prepared, unique

# Resource kind -> (table, id column); the service layer names kinds, never tables.
CONFIG_TABLES: dict[str, tuple[Table, str]] = {
    "layout": (s.layouts, "layout_id"),
    "template": (s.templates, "template_id"),
    "case_rule": (s.case_rules, "case_rule_id"),
}

# Everything keyed by domain_id, in the order DeleteDomain empties it.
DOMAIN_TABLES: Sequence[Table] = (
    s.audit_events,
    s.related_items,
    s.case_text,
    s.case_values,
    s.cases,
    s.case_counts,  # after cases: their delete triggers count down first
    s.idempotency,
    s.merges,
    # Not s.outbox: events committed before DeleteDomain are still delivered (at least once).
    s.tags,
    s.event_configs,
    s.field_options,
    s.fields,
    s.layouts,
    s.templates,
    s.case_rules,
    s.domains,
)


# Hot reads as statements built once and run on the DBAPI cursor (prepared.py): building and
# executing the expression through SQLAlchemy per call cost several times the query itself.
_GET_DOMAIN = Prepared(select(s.domains).where(s.domains.c.domain_id == bindparam("domain_id")))
_GET_FIELD = Prepared(
    select(s.fields).where(s.fields.c.domain_id == bindparam("domain_id"), s.fields.c.field_id == bindparam("item_id"))
)
_GET_FIELDS = Prepared(
    select(s.fields).where(
        s.fields.c.domain_id == bindparam("domain_id"), s.fields.c.field_id.in_(bindparam("ids", expanding=True))
    ),
    expanding=("ids",),
)
_GET_CONFIG = {
    kind: Prepared(select(t).where(t.c.domain_id == bindparam("domain_id"), t.c[col] == bindparam("item_id")))
    for kind, (t, col) in CONFIG_TABLES.items()
}
_GET_CONFIGS = {
    kind: Prepared(
        select(t).where(t.c.domain_id == bindparam("domain_id"), t.c[col].in_(bindparam("ids", expanding=True))),
        expanding=("ids",),
    )
    for kind, (t, col) in CONFIG_TABLES.items()
}
_CONFIG_GENERATION = Prepared(
    select(s.config_generations.c.generation).where(s.config_generations.c.domain_id == bindparam("domain_id"))
)
_ALL_FIELDS = Prepared(
    select(s.fields).where(s.fields.c.domain_id == bindparam("domain_id")).order_by(s.fields.c.position)
)
_GET_OPTIONS = Prepared(
    select(s.field_options)
    .where(s.field_options.c.domain_id == bindparam("domain_id"), s.field_options.c.field_id == bindparam("field_id"))
    .order_by(s.field_options.c.position)
)
_GET_EVENT_CONFIG = Prepared(
    select(s.event_configs.c.config).where(s.event_configs.c.domain_id == bindparam("domain_id"))
)
_GET_TAGS = Prepared(
    select(s.tags.c.key, s.tags.c.value).where(s.tags.c.arn == bindparam("arn")).order_by(s.tags.c.key)
)


class ConfigRepo:
    conn: Connection
    dbapi_connection: Any
    sa_dialect: Dialect

    # -- domains ---------------------------------------------------------------------------
    def insert_domain(self, row: dict[str, Any]) -> None:
        self._insert(s.domains, row)

    def get_domain(self, domain_id: str) -> dict[str, Any] | None:
        return _GET_DOMAIN.first(self, {"domain_id": domain_id})

    def count_domains(self, account: str, region: str) -> int:
        q = select(func.count()).where(s.domains.c.account == account, s.domains.c.region == region)
        return int(self.conn.execute(q).scalar_one())

    def list_domains(
        self, account: str, region: str, after: tuple[int, str] | None, limit: int
    ) -> list[dict[str, Any]]:
        t = s.domains
        q = select(t).where(t.c.account == account, t.c.region == region)
        if after is not None:
            q = q.where(tuple_(t.c.created_ms, t.c.domain_id) > tuple_(*after))
        q = q.order_by(t.c.created_ms, t.c.domain_id).limit(limit)
        return [dict(r._mapping) for r in self.conn.execute(q)]

    def delete_domain(self, domain_id: str) -> None:
        for table in DOMAIN_TABLES:
            self.conn.execute(delete(table).where(table.c.domain_id == domain_id))

    # -- fields ----------------------------------------------------------------------------
    def insert_field(self, row: dict[str, Any]) -> None:
        self._insert(s.fields, row)

    def get_field(self, domain_id: str, field_id: str) -> dict[str, Any] | None:
        return _GET_FIELD.first(self, {"domain_id": domain_id, "item_id": field_id})

    def get_fields(self, domain_id: str, field_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = unique(field_ids)
        if not ids:
            return {}
        return {r["field_id"]: r for r in _GET_FIELDS.rows(self, {"domain_id": domain_id, "ids": ids})}

    def all_fields(self, domain_id: str) -> list[dict[str, Any]]:
        return _ALL_FIELDS.rows(self, {"domain_id": domain_id})

    def config_generation(self, domain_id: str) -> int | None:
        """The domain's configuration generation (migration 0007); None if it never existed."""
        found = _CONFIG_GENERATION.first(self, {"domain_id": domain_id})
        return None if found is None else int(found["generation"])

    def list_fields(self, domain_id: str, after: int | None, limit: int) -> list[dict[str, Any]]:
        t = s.fields
        q = select(t).where(t.c.domain_id == domain_id, t.c.deleted.is_(False))
        if after is not None:
            q = q.where(t.c.position > after)
        return [dict(r._mapping) for r in self.conn.execute(q.order_by(t.c.position).limit(limit))]

    def count_fields(self, domain_id: str, deleted: bool) -> int:
        t = s.fields
        q = select(func.count()).where(t.c.domain_id == domain_id, t.c.deleted.is_(deleted))
        return int(self.conn.execute(q).scalar_one())

    def next_field_position(self, domain_id: str) -> int:
        t = s.fields
        q = select(func.coalesce(func.max(t.c.position), 0)).where(t.c.domain_id == domain_id)
        return int(self.conn.execute(q).scalar_one()) + 1

    def update_field(self, domain_id: str, field_id: str, values: dict[str, Any]) -> None:
        t = s.fields
        self._update(t, and_(t.c.domain_id == domain_id, t.c.field_id == field_id), values)

    # -- field options ---------------------------------------------------------------------
    def get_options(self, domain_id: str, field_id: str) -> dict[str, dict[str, Any]]:
        rows = _GET_OPTIONS.rows(self, {"domain_id": domain_id, "field_id": field_id})
        return {r["value"]: r for r in rows}

    def upsert_option(self, row: dict[str, Any], exists: bool) -> None:
        t = s.field_options
        if exists:
            where = and_(
                t.c.domain_id == row["domain_id"], t.c.field_id == row["field_id"], t.c.value == row["value"]
            )
            self.conn.execute(update(t).where(where).values(name=row["name"], active=row["active"]))
        else:
            self._insert(t, row)

    def list_options(
        self, domain_id: str, field_id: str, values: list[str] | None, after: int | None, limit: int
    ) -> list[dict[str, Any]]:
        t = s.field_options
        q = select(t).where(t.c.domain_id == domain_id, t.c.field_id == field_id)
        if values:
            q = q.where(t.c.value.in_(values))
        if after is not None:
            q = q.where(t.c.position > after)
        return [dict(r._mapping) for r in self.conn.execute(q.order_by(t.c.position).limit(limit))]

    # -- layouts, templates, case rules ----------------------------------------------------
    def insert_config(self, kind: str, row: dict[str, Any]) -> None:
        self._insert(CONFIG_TABLES[kind][0], row)

    def get_config(self, kind: str, domain_id: str, item_id: str) -> dict[str, Any] | None:
        return _GET_CONFIG[kind].first(self, {"domain_id": domain_id, "item_id": item_id})

    def get_configs(self, kind: str, domain_id: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        id_col = CONFIG_TABLES[kind][1]
        wanted = unique(ids)
        if not wanted:
            return {}
        return {r[id_col]: r for r in _GET_CONFIGS[kind].rows(self, {"domain_id": domain_id, "ids": wanted})}

    def update_config(self, kind: str, domain_id: str, item_id: str, values: dict[str, Any]) -> None:
        t, id_col = CONFIG_TABLES[kind]
        self._update(t, and_(t.c.domain_id == domain_id, t.c[id_col] == item_id), values)

    def count_config(self, kind: str, domain_id: str, deleted: bool) -> int:
        t, _ = CONFIG_TABLES[kind]
        q = select(func.count()).where(t.c.domain_id == domain_id, t.c.deleted.is_(deleted))
        return int(self.conn.execute(q).scalar_one())

    def list_config(
        self,
        kind: str,
        domain_id: str,
        after: tuple[int, str] | None,
        limit: int,
        statuses: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        t, id_col = CONFIG_TABLES[kind]
        q = select(t).where(t.c.domain_id == domain_id, t.c.deleted.is_(False))
        if statuses:
            q = q.where(t.c.status.in_(statuses))
        if after is not None:
            # Row-value comparison spelled out: portable, and uses the (created, id) index.
            q = q.where(
                or_(t.c.created_ms > after[0], and_(t.c.created_ms == after[0], t.c[id_col] > after[1]))
            )
        q = q.order_by(t.c.created_ms, t.c[id_col]).limit(limit)
        return [dict(r._mapping) for r in self.conn.execute(q)]

    def templates_using_rule(self, domain_id: str, case_rule_id: str) -> list[str]:
        t = s.templates
        q = select(t.c.template_id, t.c.doc).where(t.c.domain_id == domain_id, t.c.deleted.is_(False))
        return [
            r.template_id
            for r in self.conn.execute(q)
            if any(rule.get("caseRuleId") == case_rule_id for rule in (r.doc or {}).get("rules") or [])
        ]

    # -- tags ------------------------------------------------------------------------------
    def get_tags(self, arn: str) -> dict[str, str]:
        return {r["key"]: r["value"] for r in _GET_TAGS.rows(self, {"arn": arn})}

    def put_tags(self, arn: str, domain_id: str, tags: dict[str, str]) -> None:
        t = s.tags
        if not tags:
            return
        self.conn.execute(delete(t).where(t.c.arn == arn, t.c.key.in_(list(tags))))
        self.conn.execute(
            insert(t), [{"arn": arn, "key": k, "value": v, "domain_id": domain_id} for k, v in tags.items()]
        )

    def remove_tags(self, arn: str, keys: Iterable[str]) -> None:
        t = s.tags
        self.conn.execute(delete(t).where(t.c.arn == arn, t.c.key.in_(list(keys))))

    def delete_tags_under(self, arn_prefix: str) -> None:
        t = s.tags
        self.conn.execute(delete(t).where(or_(t.c.arn == arn_prefix, t.c.arn.startswith(arn_prefix + "/"))))

    # -- case event configuration ----------------------------------------------------------
    def get_event_config(self, domain_id: str) -> dict[str, Any] | None:
        r = _GET_EVENT_CONFIG.first(self, {"domain_id": domain_id})
        return r["config"] if r is not None else None

    def put_event_config(self, domain_id: str, config: dict[str, Any], now_ms: int) -> None:
        t = s.event_configs
        self.conn.execute(delete(t).where(t.c.domain_id == domain_id))
        self._insert(t, {"domain_id": domain_id, "config": config, "modified_ms": now_ms})

    # -- helpers ---------------------------------------------------------------------------
    def _insert(self, table: Table, row: dict[str, Any]) -> None:
        from sqlalchemy.exc import IntegrityError

        from opencases.store.errors import UniqueViolation

        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(table).values(**row))
        except IntegrityError as exc:
            raise UniqueViolation(table.name) from exc

    def _update(self, table: Table, where: Any, values: dict[str, Any]) -> None:
        from sqlalchemy.exc import IntegrityError

        from opencases.store.errors import UniqueViolation

        try:
            with self.conn.begin_nested():
                self.conn.execute(update(table).where(where).values(**values))
        except IntegrityError as exc:
            raise UniqueViolation(table.name) from exc
