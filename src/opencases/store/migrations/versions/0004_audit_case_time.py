"""An index on audit events by case and time, for SearchCases' snapshot.

Every search places the cases changed in the last moments by their last update before its
settled time: the latest audit event of each such case performed before that time. With only
(domain, case, seq) that read every event of the case (hundreds on a busy case); with
(domain, case, performed_ms) it is one index seek per case.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_case_time", "audit_events", ["domain_id", "case_id", "performed_ms"])


def downgrade() -> None:
    op.drop_index("ix_audit_case_time", table_name="audit_events")
