"""service operations: the complaint register's fields, handling workflow, action plans (filled by the complaints work)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 00:00:00

Runs on SQLite and PostgreSQL. Constraint names follow
``allegiance.store.models.NAMING_CONVENTION``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The complaint register's fields (allegiance.complaints): all nullable, so complaints stored
# before this migration stay valid. Plain ADD COLUMN on both backends (no table rebuild).
_COMPLAINT_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("product", sa.String(length=100)),
    ("cause_text", sa.Text()),
    ("severity", sa.String(length=30)),
    ("owner", sa.String(length=200)),
    ("first_response_at", sa.DateTime(timezone=True)),
    ("resolution", sa.Text()),
    ("compensation", sa.Float()),
    ("satisfaction_after", sa.Float()),
    ("escalated_to", sa.String(length=30)),
    ("lang", sa.String(length=10)),
)


def upgrade() -> None:
    for name, type_ in _COMPLAINT_COLUMNS:
        op.add_column("complaints", sa.Column(name, type_, nullable=True))
    op.create_table(
        "complaint_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_status", sa.String(length=30), nullable=True),
        sa.Column("to_status", sa.String(length=30), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=50), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_events_complaint_id_complaints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_events")),
    )
    op.create_index(op.f("ix_complaint_events_complaint_id"), "complaint_events", ["complaint_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_complaint_events_complaint_id"), table_name="complaint_events")
    op.drop_table("complaint_events")
    # SQLite drops columns in place (3.35+); batch mode would rebuild the table and lose the
    # cause_class CHECK rule, which table reflection does not carry over.
    for name, _ in reversed(_COMPLAINT_COLUMNS):
        op.drop_column("complaints", name)
