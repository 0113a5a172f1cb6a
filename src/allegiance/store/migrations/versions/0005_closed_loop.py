"""closed loop: a complaint opened for a survey response points at it (filled by the complaints web work)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 00:00:00

Runs on SQLite and PostgreSQL. Constraint names follow
``allegiance.store.models.NAMING_CONVENTION``.

``complaints.response_id`` is the survey response a follow-up case was opened for (see
:mod:`allegiance.complaints.closed_loop`); a UNIQUE index makes it at most one case per
response, whatever process or server stores the response. Plain ADD COLUMN plus an index
on both backends (no table rebuild, so the cause_class CHECK rule stays).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("complaints", sa.Column("response_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_complaints_response_id"), "complaints", ["response_id"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_complaints_response_id"), table_name="complaints")
    op.drop_column("complaints", "response_id")
