"""survey collection: survey definitions with status, invitations, response quality (filled by the survey-collection work)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 00:00:00

Runs on SQLite and PostgreSQL. Constraint names follow
``allegiance.store.models.NAMING_CONVENTION``.

- ``surveys`` gains ``slug`` (unique; existing surveys take their code), ``status``
  (draft / published / closed, a CHECK rule), the current definition ``version``, the
  ``template`` it came from, ``published_at`` and ``closed_at``;
- ``survey_versions`` keeps every version of a definition (existing surveys get version 1);
- ``survey_invitations``: one token per invitation (unique), for a customer, an e-mail
  address and a language, with sent / reminded / opened / submitted times;
- ``response_drafts``: one row of saved answers per invitation (save and resume);
- ``responses`` gains ``invitation_id`` (unique: one response per token, enforced by the
  database), ``definition_version`` and the quality metadata ``started_at``,
  ``duration_s``, ``user_agent_hash``, ``language`` and ``source`` (web / import; existing
  rows are imports).

SQLite cannot add a UNIQUE or CHECK constraint to a table in place, so ``surveys`` and
``responses`` are rebuilt in batch mode (neither has a CHECK rule of its own to lose).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("surveys") as batch:
        batch.add_column(sa.Column("slug", sa.String(length=100), nullable=True))
        batch.add_column(
            sa.Column("status", sa.String(length=20), nullable=False, server_default="draft")
        )
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("template", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE surveys SET slug = code")
    with op.batch_alter_table("surveys") as batch:
        batch.alter_column("slug", existing_type=sa.String(length=100), nullable=False)
        batch.create_unique_constraint(op.f("uq_surveys_slug"), ["slug"])
        batch.create_check_constraint(
            op.f("ck_surveys_status"), "status IN ('draft', 'published', 'closed')"
        )

    op.create_table(
        "survey_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["surveys.id"], name=op.f("fk_survey_versions_survey_id_surveys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_versions")),
        sa.UniqueConstraint(
            "survey_id", "version", name=op.f("uq_survey_versions_survey_id_version")
        ),
    )
    op.execute(
        "INSERT INTO survey_versions (survey_id, version, definition, created_at) "
        "SELECT id, 1, definition, created_at FROM surveys"
    )

    op.create_table(
        "survey_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("language", sa.String(length=5), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["surveys.id"], name=op.f("fk_survey_invitations_survey_id_surveys")
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"],
            ["survey_waves.id"],
            name=op.f("fk_survey_invitations_wave_id_survey_waves"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_invitations")),
        sa.UniqueConstraint("token", name=op.f("uq_survey_invitations_token")),
    )
    op.create_index(op.f("ix_survey_invitations_survey_id"), "survey_invitations", ["survey_id"])
    op.create_index(
        op.f("ix_survey_invitations_customer_id"), "survey_invitations", ["customer_id"]
    )

    op.create_table(
        "response_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("page", sa.String(length=64), nullable=True),
        sa.Column("definition_version", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["survey_invitations.id"],
            name=op.f("fk_response_drafts_invitation_id_survey_invitations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_drafts")),
        sa.UniqueConstraint("invitation_id", name=op.f("uq_response_drafts_invitation_id")),
    )

    with op.batch_alter_table("responses") as batch:
        batch.add_column(sa.Column("invitation_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("definition_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("duration_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("user_agent_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("language", sa.String(length=5), nullable=True))
        batch.add_column(
            sa.Column("source", sa.String(length=10), nullable=False, server_default="import")
        )
        batch.create_foreign_key(
            op.f("fk_responses_invitation_id_survey_invitations"),
            "survey_invitations",
            ["invitation_id"],
            ["id"],
        )
        batch.create_unique_constraint(op.f("uq_responses_invitation_id"), ["invitation_id"])
        batch.create_check_constraint(op.f("ck_responses_source"), "source IN ('web', 'import')")


def downgrade() -> None:
    with op.batch_alter_table("responses") as batch:
        batch.drop_constraint(op.f("ck_responses_source"), type_="check")
        batch.drop_constraint(op.f("uq_responses_invitation_id"), type_="unique")
        batch.drop_constraint(
            op.f("fk_responses_invitation_id_survey_invitations"), type_="foreignkey"
        )
        for name in (
            "source",
            "language",
            "user_agent_hash",
            "duration_s",
            "started_at",
            "definition_version",
            "invitation_id",
        ):
            batch.drop_column(name)
    op.drop_table("response_drafts")
    op.drop_index(op.f("ix_survey_invitations_customer_id"), table_name="survey_invitations")
    op.drop_index(op.f("ix_survey_invitations_survey_id"), table_name="survey_invitations")
    op.drop_table("survey_invitations")
    op.drop_table("survey_versions")
    with op.batch_alter_table("surveys") as batch:
        batch.drop_constraint(op.f("ck_surveys_status"), type_="check")
        batch.drop_constraint(op.f("uq_surveys_slug"), type_="unique")
        for name in ("closed_at", "published_at", "template", "version", "status", "slug"):
            batch.drop_column(name)
