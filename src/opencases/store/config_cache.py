"""A domain's row and fields kept per process, valid while its configuration generation is.

Reads of a domain's cases start from its row and fields (a search reads all ~20 fields for
its filters and sorts: 55 us of the ~700 us it cost). Triggers raise the domain's number in
`config_generations` in the transaction of any change to those rows (migration 0007), so a
read transaction that finds the number an entry was read under has the entry's rows (the
entry's rows were read after its number, so they are never older than it): one primary-key
lookup instead of two queries, whoever changed the configuration (another server process,
import).

Only read transactions fill or use it (store.py `_ReadTx`): a write transaction may read
its own uncommitted changes and then roll back, and case writes keep their own reads. Callers
get copies of the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Domains kept per process (Database.config_cache): a deployment usually has one (one Connect
# instance).
MAX_DOMAINS = 256


@dataclass(frozen=True)
class ConfigEntry:
    generation: int
    domain: dict[str, Any] | None  # None: the domain was deleted
    fields: list[dict[str, Any]]  # all of them, deleted ones too, by position
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)

    @staticmethod
    def of(generation: int, domain: dict[str, Any] | None, fields: list[dict[str, Any]]) -> ConfigEntry:
        return ConfigEntry(generation, domain, fields, {f["field_id"]: f for f in fields})
