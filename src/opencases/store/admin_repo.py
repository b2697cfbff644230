"""Emulator housekeeping: wipe all data (or one account's) and count what each domain holds.

Used by `POST /_opencases/reset`, `GET /_opencases/summary` and the in-process mock; never
by an API operation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, select

from opencases.store import schema as s
from opencases.store.config_repo import DOMAIN_TABLES


class AdminRepo:
    conn: Connection

    if TYPE_CHECKING:
        # Provided by ConfigRepo in Tx; declared for the type checker only, so that this
        # mixin can never shadow the real method whatever the order of Tx's bases.
        def delete_domain(self, domain_id: str) -> None: ...

    def reset_data(self, account: str | None = None) -> int:
        """Delete every domain (of `account`, or of all accounts); returns how many went."""
        q = select(s.domains.c.domain_id)
        if account is not None:
            q = q.where(s.domains.c.account == account)
        domain_ids = [r.domain_id for r in self.conn.execute(q)]
        for domain_id in domain_ids:
            self.delete_domain(domain_id)
        # Rows that outlive their domain's row or are not keyed by domain at all: events
        # still queued for an account, and any table added later outside DOMAIN_TABLES.
        keyed = set(DOMAIN_TABLES)
        for table in reversed(s.metadata.sorted_tables):
            if account is None:
                self.conn.execute(delete(table))
            elif ("account" in table.c and table not in keyed) or table is s.outbox:
                self.conn.execute(delete(table).where(table.c.account == account))
        return len(domain_ids)

    def summary(self) -> list[dict[str, Any]]:
        """One row per domain: account, region, id, name and live counts of its contents."""
        counts: dict[str, dict[str, int]] = {}
        live = (
            ("fields", s.fields, s.fields.c.deleted.is_(False)),
            ("templates", s.templates, s.templates.c.deleted.is_(False)),
            ("layouts", s.layouts, s.layouts.c.deleted.is_(False)),
            ("cases", s.cases, None),
        )
        for name, table, where in live:
            q = select(table.c.domain_id, func.count()).group_by(table.c.domain_id)
            if where is not None:
                q = q.where(where)
            for domain_id, n in self.conn.execute(q):
                counts.setdefault(domain_id, {})[name] = int(n)
        d = s.domains
        q = select(d.c.account, d.c.region, d.c.domain_id, d.c.name).order_by(
            d.c.account, d.c.region, d.c.created_ms, d.c.domain_id
        )
        rows = []
        for r in self.conn.execute(q):
            got = counts.get(r.domain_id, {})
            rows.append(
                {
                    "account": r.account,
                    "region": r.region,
                    "domainId": r.domain_id,
                    "name": r.name,
                    **{name: got.get(name, 0) for name, _, _ in live},
                }
            )
        return rows
