"""SQLAlchemy Core tables: one schema for SQLite and PostgreSQL.

Times are epoch milliseconds (BigInteger) everywhere: the same on both dialects, sortable,
and exact for the millisecond ISO-8601 strings the API returns. Documents whose inner
structure is only ever read whole (layout content, rule trees, audit field lists) are JSON.
Field values live in typed columns so that search filters and sorts use indexes.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

ID = 64  # ids are UUIDs or the snake_case system field ids
ARN = 1024

domains = Table(
    "domains",
    metadata,
    Column("domain_id", String(ID), primary_key=True),
    Column("account", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(100), nullable=False),
    Column("status", String(32), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    # Domain names are unique per account (the model says so; per region too here).
    UniqueConstraint("account", "region", "name", name="uq_domains_name"),
)

fields = Table(
    "fields",
    metadata,
    Column("domain_id", String(ID), primary_key=True),
    Column("field_id", String(ID), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("type", String(16), nullable=False),
    Column("namespace", String(16), nullable=False),
    Column("description", String(255)),
    Column("attributes", JSON),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("modified_ms", BigInteger, nullable=False),
    Column("position", Integer, nullable=False),
    Index(
        "uq_fields_name_live",
        "domain_id",
        "name",
        unique=True,
        sqlite_where=text("deleted = 0"),
        postgresql_where=text("deleted = false"),
    ),
    Index("ix_fields_position", "domain_id", "position"),
)

field_options = Table(
    "field_options",
    metadata,
    Column("domain_id", String(ID), primary_key=True),
    Column("field_id", String(ID), primary_key=True),
    Column("value", String(100), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("position", Integer, nullable=False),
    Index("ix_field_options_position", "domain_id", "field_id", "position"),
)


def _config_table(name: str, id_column: str, *extra: Column) -> Table:
    """Layouts, templates and case rules share one shape: soft-deleted, named per domain."""
    return Table(
        name,
        metadata,
        Column("domain_id", String(ID), primary_key=True),
        Column(id_column, String(ID), primary_key=True),
        Column("name", String(100), nullable=False),
        *extra,
        Column("deleted", Boolean, nullable=False, default=False),
        Column("created_ms", BigInteger, nullable=False),
        Column("modified_ms", BigInteger, nullable=False),
        Index(
            f"uq_{name}_name_live",
            "domain_id",
            "name",
            unique=True,
            sqlite_where=text("deleted = 0"),
            postgresql_where=text("deleted = false"),
        ),
        Index(f"ix_{name}_created", "domain_id", "created_ms", id_column),
    )


layouts = _config_table("layouts", "layout_id", Column("content", JSON, nullable=False))

templates = _config_table(
    "templates",
    "template_id",
    Column("description", String(255)),
    Column("status", String(16), nullable=False),
    # layoutConfiguration, requiredFields, rules, tagPropagationConfigurations
    Column("doc", JSON, nullable=False),
)

case_rules = _config_table(
    "case_rules",
    "case_rule_id",
    Column("description", String(255)),
    Column("rule_type", String(16), nullable=False),
    Column("rule", JSON, nullable=False),
)

tags = Table(
    "tags",
    metadata,
    Column("arn", String(ARN), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(256), nullable=False),
    # Deleting a domain removes the tags of everything under it.
    Column("domain_id", String(ID), nullable=False),
    Index("ix_tags_domain", "domain_id"),
)

event_configs = Table(
    "event_configs",
    metadata,
    Column("domain_id", String(ID), primary_key=True),
    Column("config", JSON, nullable=False),
    Column("modified_ms", BigInteger, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("domain_id", String(ID), primary_key=True),
    Column("case_id", String(ID), primary_key=True),
    Column("template_id", String(ID), nullable=False),
    Column("reference_number", String(50), nullable=False),
    # Reference numbers compare case-insensitively: the key is the upper-cased value.
    Column("reference_key", String(50), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    # Bumped on every write; optimistic concurrency and stable audit ordering.
    Column("version", Integer, nullable=False, default=1),
    Column("merge_state", JSON),
    UniqueConstraint("domain_id", "reference_key", name="uq_cases_reference"),
    Index("ix_cases_updated", "domain_id", "updated_ms", "case_id"),
    Index("ix_cases_created", "domain_id", "created_ms", "case_id"),
)

# How many cases each domain holds, kept by triggers on `cases` (migration 0005), so that the
# totalCount of a search without filter or searchTerm reads a row instead of counting a
# million index entries. On PostgreSQL a domain has up to 16 rows, one per group of server
# connections, so concurrent writers neither queue on one row's lock nor deadlock; SQLite has
# one writer and uses row 0.
case_counts = Table(
    "case_counts",
    metadata,
    Column("domain_id", String(ID), primary_key=True),
    Column("shard", Integer, primary_key=True, autoincrement=False),
    Column("n", BigInteger, nullable=False),
)

# A number per domain that triggers on `domains` and `fields` raise in the transaction of any
# change to their rows (migration 0007): a process may keep a domain's row and fields while
# the number it read with them is the database's (config_cache.py).
config_generations = Table(
    "config_generations",
    metadata,
    Column("domain_id", String(ID), primary_key=True),
    Column("generation", BigInteger, nullable=False),
)

def value_index(column: str) -> str:
    """The name of case_values' index on (domain_id, field_id, `column`, case_id)."""
    return f"ix_case_values_{column[0]}"


# SQLite only (made by migration 0008): case_values' index on (domain_id, case_id, field_id,
# n_value) where n_value is set. A number or date condition checked on each case another
# condition gives (a range in an andAll) reads its value there, one seek instead of the
# primary key's and then the row's. PostgreSQL's probes did no better with it.
NUMBER_PROBE_INDEX = "ix_case_values_case_n"


# One row per (case, field) with a value. Exactly one typed column is set, by field type:
# Text, SingleSelect and Url -> s_value; Number and DateTime (epoch ms) -> n_value;
# Boolean -> b_value; User -> u_value. Strings compare by code point on both databases
# (SQLite's BINARY; the "C" collation on PostgreSQL), whatever the server's locale.
case_values = Table(
    "case_values",
    metadata,
    Column("domain_id", String(ID), primary_key=True),
    Column("case_id", String(ID), primary_key=True),
    Column("field_id", String(ID), primary_key=True),
    Column("s_value", Text().with_variant(Text(collation="C"), "postgresql")),
    Column("n_value", Float),
    Column("b_value", Boolean),
    Column("u_value", String(ARN).with_variant(String(ARN, collation="C"), "postgresql")),
    # Partial (a row sets one typed column) and ending in case_id: a filter reads case ids
    # straight from the index, and a sort on a field pages along it.
    *(
        Index(
            value_index(c),
            "domain_id",
            "field_id",
            c,
            "case_id",
            sqlite_where=text(f"{c} IS NOT NULL"),
            postgresql_where=text(f"{c} IS NOT NULL"),
        )
        for c in ("s_value", "n_value", "b_value", "u_value")
    ),
)

# The searchable text of a case (all text-like values), indexed by FTS5 on SQLite and
# tsvector/pg_trgm on PostgreSQL; the dialect-specific indexes are made by the migration.
case_text = Table(
    "case_text",
    metadata,
    # INTEGER on SQLite so that it aliases the rowid (auto-numbered; FTS5's content_rowid).
    Column("rowid_", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("domain_id", String(ID), nullable=False),
    Column("case_id", String(ID), nullable=False),
    Column("body", Text, nullable=False),
    UniqueConstraint("domain_id", "case_id", name="uq_case_text_case"),
)

related_items = Table(
    "related_items",
    metadata,
    Column("domain_id", String(ID), primary_key=True),
    Column("related_item_id", String(ID), primary_key=True),
    Column("case_id", String(ID), nullable=False),
    Column("type", String(16), nullable=False),
    Column("content", JSON, nullable=False),
    # contactArn, fileArn or linked caseId: what the filters and ListCasesForContact look up.
    Column("search_key", String(ARN)),
    Column("association_ms", BigInteger, nullable=False),
    Column("created_by", JSON),
    Column("last_updated_user", JSON),
    Column("modified_ms", BigInteger, nullable=False),
    Index("ix_related_case", "domain_id", "case_id", "association_ms"),
    Index("ix_related_case_type", "domain_id", "case_id", "type"),  # migration 0006
    Index("ix_related_key", "domain_id", "type", "search_key"),
    Index("ix_related_assoc", "domain_id", "association_ms"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("domain_id", String(ID), nullable=False),
    Column("case_id", String(ID), nullable=False),
    Column("event_id", String(ID), nullable=False),
    Column("type", String(32), nullable=False),
    Column("related_item_type", String(16)),
    Column("performed_ms", BigInteger, nullable=False),
    # {"fields": [...], "performedBy": {...}, "mergeMetadata": {...}}
    Column("doc", JSON, nullable=False),
    Index("ix_audit_case", "domain_id", "case_id", "seq"),
    # A case's last change before a time, for SearchCases' snapshot (migration 0004).
    Index("ix_audit_case_time", "domain_id", "case_id", "performed_ms"),
)

# Transactional outbox: written with the change, drained by the delivery worker.
outbox = Table(
    "outbox",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("account", String(12), nullable=False),
    Column("domain_id", String(ID), nullable=False),
    # Delivery keeps order per key (the case id).
    Column("order_key", String(ID), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("state", String(16), nullable=False, default="pending"),  # pending|delivered|dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_ms", BigInteger, nullable=False),
    Column("claimed_by", String(64)),
    Column("claimed_until_ms", BigInteger),
    Column("last_error", Text),
    Index("ix_outbox_pending", "state", "next_attempt_ms", "seq"),
    Index("ix_outbox_order", "order_key", "seq"),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("domain_id", String(ID), primary_key=True),
    Column("operation", String(64), primary_key=True),
    Column("token", String(64), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("response", JSON),
    Column("created_ms", BigInteger, nullable=False),
)

merges = Table(
    "merges",
    metadata,
    Column("domain_id", String(ID), primary_key=True),
    Column("merge_event_id", String(ID), primary_key=True),
    Column("primary_case_id", String(ID), nullable=False),
    Column("secondary_case_id", String(ID), nullable=False),
    Column("status", String(16), nullable=False),  # IN_PROGRESS | COMPLETED | FAILED
    Column("request", JSON, nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    Column("completed_ms", BigInteger),
    Index("ix_merges_primary", "domain_id", "primary_case_id"),
    Index("ix_merges_secondary", "domain_id", "secondary_case_id"),
)
