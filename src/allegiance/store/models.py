"""The relational model of a project: SQLAlchemy 2 typed ORM classes.

Small, relational, often-written facts live here (surveys, waves, responses,
complaints, the run audit, project facts, the dataset register). Large tables
(customer activity, per-customer results) live as Parquet files in the project
folder; the ``datasets`` table only registers them.

Every schema change is an Alembic migration in ``store/migrations/versions``;
a test compares these classes with the migrated database and fails on any
difference.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "JOB_STATUSES",
    "NAMING_CONVENTION",
    "RESPONSE_SOURCES",
    "SURVEY_STATUSES",
    "USER_ROLES",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Complaint",
    "ComplaintEvent",
    "Dataset",
    "Invitation",
    "Job",
    "ProjectMeta",
    "Response",
    "ResponseDraft",
    "Run",
    "Survey",
    "SurveyVersion",
    "SurveyWave",
    "UTCDateTime",
    "User",
    "utcnow",
]

#: The states of a survey: drafted, open for answers, closed (migration 0002).
SURVEY_STATUSES: tuple[str, ...] = ("draft", "published", "closed")
#: Where a stored response came from: a web form or an import (migration 0002).
RESPONSE_SOURCES: tuple[str, ...] = ("web", "import")

#: Constraint names are fixed by convention, so migrations can name what they alter
#: and SQLite (which cannot alter a constraint in place) and PostgreSQL agree.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (UTC).

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so the value is
    converted to UTC before it is written and marked as UTC when it is read.
    A naive ``datetime`` given to the store is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base: one metadata with the naming convention, portable JSON and UTC times."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        date: Date(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class ProjectMeta(Base):
    """Project-level facts: name, created, lang, seed ... (one JSON value per key)."""

    __tablename__ = "project_meta"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON())

    def __repr__(self) -> str:
        return f"ProjectMeta(key={self.key!r}, value={self.value!r})"


class Dataset(Base):
    """A data table kept as a Parquet file in the project folder, registered here."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(50))
    #: Path of the Parquet file relative to the project folder (POSIX separators).
    path: Mapped[str] = mapped_column(String(500))
    n_rows: Mapped[int] = mapped_column(Integer)
    #: Column names and types, e.g. ``[{"name": "customer_id", "type": "string"}]``.
    columns: Mapped[list[Any]] = mapped_column(JSON())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Which generator module or import produced the data.
    source: Mapped[str] = mapped_column(String(200))
    #: The generator's true parameters (synthetic data only).
    truth: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))

    def __repr__(self) -> str:
        return f"Dataset(name={self.name!r}, kind={self.kind!r}, n_rows={self.n_rows})"


def _slug_from_code(context: Any) -> Any:
    return context.get_current_parameters()["code"]


class Survey(Base):
    """A survey: its code, bilingual title and its definition (the validated YAML as JSON).

    ``definition`` is the current version's definition (``version``); every version is kept
    in ``survey_versions``. ``slug`` is the survey's web address (``/s/{slug}``); ``status``
    is ``draft``, ``published`` (open for answers) or ``closed``.
    """

    __tablename__ = "surveys"
    __table_args__ = (CheckConstraint("status IN ('draft', 'published', 'closed')", name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    title_en: Mapped[str] = mapped_column(String(500))
    title_zh: Mapped[str] = mapped_column(String(500))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # --- survey collection (migration 0002) ---
    #: Defaults to the code (so :func:`~allegiance.store.repository.create_survey` needs no slug).
    slug: Mapped[str] = mapped_column(String(100), unique=True, default=_slug_from_code)
    status: Mapped[str] = mapped_column(String(20), default="draft", server_default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: The shipped template it was made from, if any.
    template: Mapped[str | None] = mapped_column(String(100))
    published_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()

    waves: Mapped[list[SurveyWave]] = relationship(
        back_populates="survey", order_by="SurveyWave.id"
    )
    versions: Mapped[list[SurveyVersion]] = relationship(
        back_populates="survey", order_by="SurveyVersion.version"
    )

    def __repr__(self) -> str:
        return f"Survey(code={self.code!r})"


class SurveyWave(Base):
    """One fielding of a survey (e.g. ``2024Q1``)."""

    __tablename__ = "survey_waves"
    __table_args__ = (UniqueConstraint("survey_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    name: Mapped[str] = mapped_column(String(100))
    starts_on: Mapped[date | None] = mapped_column()
    ends_on: Mapped[date | None] = mapped_column()

    survey: Mapped[Survey] = relationship(back_populates="waves")

    def __repr__(self) -> str:
        return f"SurveyWave(id={self.id}, survey_id={self.survey_id}, name={self.name!r})"


class Response(Base):
    """One respondent's answers in one wave; ``(wave_id, respondent_key)`` is unique.

    A response given through an invitation points at it (``invitation_id``), and the
    database allows one response per invitation (a UNIQUE constraint), so a token can never
    be used twice, even by two submissions at the same moment. The quality metadata
    (``started_at``, ``duration_s``, ``user_agent_hash``, ``language``, ``source``) is filled
    by web submissions; imports set ``source="import"``.
    """

    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("wave_id", "respondent_key"),
        Index(None, "customer_id"),
        CheckConstraint("source IN ('web', 'import')", name="source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("survey_waves.id"))
    respondent_key: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[str | None] = mapped_column(String(200))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON())
    # --- survey collection (migration 0002) ---
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_invitations.id"), unique=True
    )
    #: The definition version the respondent answered.
    definition_version: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column()
    duration_s: Mapped[float | None] = mapped_column(Float)
    #: SHA-256 (hex) of the browser's user agent: enough to spot duplicates, not to identify.
    user_agent_hash: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(5))
    source: Mapped[str] = mapped_column(String(10), default="import", server_default="import")

    def __repr__(self) -> str:
        return f"Response(wave_id={self.wave_id}, respondent_key={self.respondent_key!r})"


class SurveyVersion(Base):
    """One version of a survey's definition; responses name the version they answered."""

    __tablename__ = "survey_versions"
    __table_args__ = (UniqueConstraint("survey_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    survey: Mapped[Survey] = relationship(back_populates="versions")

    def __repr__(self) -> str:
        return f"SurveyVersion(survey_id={self.survey_id}, version={self.version})"


class Invitation(Base):
    """A personal invitation: a unique token that opens the survey once, for one wave.

    The token is the secret in the link; ``customer_id``, ``email`` and ``language`` say
    whom it is for (all optional: an anonymous visitor of the public link gets one too).
    ``sent_at``/``reminded_at`` are set by the e-mail sender, ``opened_at`` when the form is
    first opened, ``submitted_at`` with the response.
    """

    __tablename__ = "survey_invitations"
    __table_args__ = (Index(None, "survey_id"), Index(None, "customer_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    wave_id: Mapped[int] = mapped_column(ForeignKey("survey_waves.id"))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    language: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()
    opened_at: Mapped[datetime | None] = mapped_column()
    submitted_at: Mapped[datetime | None] = mapped_column()

    survey: Mapped[Survey] = relationship()
    draft: Mapped[ResponseDraft | None] = relationship(back_populates="invitation")

    def __repr__(self) -> str:
        return f"Invitation(id={self.id}, survey_id={self.survey_id})"


class ResponseDraft(Base):
    """The answers saved so far under one invitation (save and resume); one per token."""

    __tablename__ = "response_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("survey_invitations.id"), unique=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON())
    #: The page the respondent was on (to resume there).
    page: Mapped[str | None] = mapped_column(String(64))
    definition_version: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    invitation: Mapped[Invitation] = relationship(back_populates="draft")

    def __repr__(self) -> str:
        return f"ResponseDraft(invitation_id={self.invitation_id}, page={self.page!r})"


class Complaint(Base):
    """One complaint of the register: received, channel, customer, product, cause and cause
    class (1-4, SPEC section 6), severity, handling status and owner, first response and
    resolution, compensation, satisfaction after recovery, and where else the customer went."""

    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint("cause_class BETWEEN 1 AND 4", name="cause_class"),
        Index(None, "customer_id"),
        Index(None, "received_at"),
        Index(None, "response_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_key: Mapped[str] = mapped_column(String(200), unique=True)
    customer_id: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column()
    channel: Mapped[str] = mapped_column(String(50))
    cause_code: Mapped[str] = mapped_column(String(100))
    #: 1 product quality, function or price; 2 service and handling skill;
    #: 3 the customer's own side; 4 force majeure or unknown.
    cause_class: Mapped[int] = mapped_column(SmallInteger)
    text: Mapped[str] = mapped_column(Text)
    #: A state of the handling workflow (allegiance.complaints.handling), ``open`` by default.
    status: Mapped[str] = mapped_column(String(30), default="open")
    resolved_at: Mapped[datetime | None] = mapped_column()
    # --- the register's fields (migration 0003) ---
    product: Mapped[str | None] = mapped_column(String(100))
    #: The cause in the complainant's or agent's own words (the code is ``cause_code``).
    cause_text: Mapped[str | None] = mapped_column(Text)
    #: A severity code of the workflow (critical, high, medium, low by default).
    severity: Mapped[str | None] = mapped_column(String(30))
    #: Who works the complaint (an agent's id or name).
    owner: Mapped[str | None] = mapped_column(String(200))
    first_response_at: Mapped[datetime | None] = mapped_column()
    #: How it was resolved (a code such as ``refunded`` or free text).
    resolution: Mapped[str | None] = mapped_column(Text)
    #: Compensation paid or credited, in the company's currency (0: none).
    compensation: Mapped[float | None] = mapped_column(Float)
    #: The complainant's satisfaction after the recovery, on the workflow's recovery scale.
    satisfaction_after: Mapped[float | None] = mapped_column(Float)
    #: Where else the customer went: none, consumer_association, media, regulator, court.
    escalated_to: Mapped[str | None] = mapped_column(String(30))
    #: The complainant's language (``zh``, ``en``).
    lang: Mapped[str | None] = mapped_column(String(10))
    # --- the closed loop (migration 0005) ---
    #: The survey response this follow-up case was opened for (at most one case each).
    response_id: Mapped[int | None] = mapped_column(Integer)

    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.id", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"Complaint(complaint_key={self.complaint_key!r}, cause_code={self.cause_code!r})"


class ComplaintEvent(Base):
    """One move of a complaint through the handling workflow: from, to, when, who."""

    __tablename__ = "complaint_events"
    __table_args__ = (Index(None, "complaint_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    #: Who made the move (an agent's id or name) and in which workflow role.
    actor: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(Text)

    complaint: Mapped[Complaint] = relationship(back_populates="events")

    def __repr__(self) -> str:
        return (
            f"ComplaintEvent(complaint_id={self.complaint_id}, "
            f"{self.from_status!r} -> {self.to_status!r})"
        )


class Run(Base):
    """The audit of one analysis run (a CLI command, a web request, an API call)."""

    __tablename__ = "runs"
    __table_args__ = (Index(None, "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    command: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    duration_s: Mapped[float | None] = mapped_column(Float)
    params: Mapped[dict[str, Any]] = mapped_column(JSON())
    #: ``running`` until finished, then ``ok`` or ``error``.
    status: Mapped[str] = mapped_column(String(20), default="running")
    message: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"Run(id={self.id}, command={self.command!r}, status={self.status!r})"


# ------------------------------------------- administration and security (migration 0004)

#: The roles a user can have; what each may do is :data:`allegiance.security.ROLE_PERMISSIONS`.
USER_ROLES: tuple[str, ...] = ("admin", "analyst", "viewer", "agent")


class User(Base):
    """A person (or a service account) who signs in to the web pages or owns API tokens.

    ``username`` is stored normalised (NFKC, lower case). ``password_hash`` is an argon2id
    hash (PHC string); it is empty for an account without a password (API tokens only, or
    single sign-on later). A disabled user (``active`` false) can neither sign in nor use
    a token; users are disabled, never deleted, so the audit log keeps its meaning.
    """

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'analyst', 'viewer', 'agent')", name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()
    password_changed_at: Mapped[datetime | None] = mapped_column()

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", order_by="ApiToken.id")

    def __repr__(self) -> str:
        return f"User(username={self.username!r}, role={self.role!r}, active={self.active})"


class ApiToken(Base):
    """An API token of a user: only its SHA-256 is stored (the token is shown once).

    ``prefix`` (the token's first characters) lets people recognise a token in lists;
    ``scopes`` are permission names (a token may do what its scopes *and* its user's
    current role allow). A token is usable until ``expires_at`` and until ``revoked_at``
    is set.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (Index(None, "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    #: SHA-256 of the whole token, as 64 hex digits.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(JSON())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship(back_populates="tokens")

    def __repr__(self) -> str:
        return f"ApiToken(id={self.id}, user_id={self.user_id}, name={self.name!r})"


class AuditEntry(Base):
    """One administrative action: when, who (``actor``), what (``action``), on what
    (``target_type``/``target_id``), details (JSON) and from where (``ip``).

    Append-only: the store has no function that changes or deletes an entry, and
    migration 0004 adds triggers that refuse UPDATE and DELETE on both databases.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "occurred_at"), Index(None, "actor"), Index(None, "action"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    target_type: Mapped[str | None] = mapped_column(String(50))
    target_id: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON())
    ip: Mapped[str | None] = mapped_column(String(45))

    def __repr__(self) -> str:
        return f"AuditEntry(id={self.id}, actor={self.actor!r}, action={self.action!r})"


# ------------------------------------------------------------ background jobs (migration 0006)

#: The states of a background job (:mod:`allegiance.jobs`).
JOB_STATUSES: tuple[str, ...] = ("queued", "running", "finished", "failed")


class Job(Base):
    """One background job (:mod:`allegiance.jobs`): what (``name``, ``params``), who asked,
    on which backend, its state and progress, and its result or error.

    Kept in the store for both backends (the in-process thread pool and rq on Redis), so a
    page or ``allegiance jobs list`` shows every job the same way. ``params`` and ``result``
    are JSON and hold no personal data (ids of invitations, counts, file names).
    """

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'finished', 'failed')", name="status"),
        Index(None, "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    backend: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(JSON())
    actor: Mapped[str | None] = mapped_column(String(200))
    #: The permission a person needs to see the job (that of the work it does).
    permission: Mapped[str | None] = mapped_column(String(50))
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    #: ``{"key": ..., "params": {...}}``: a catalogue message, shown in the reader's language.
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()

    def __repr__(self) -> str:
        return f"Job(id={self.id!r}, name={self.name!r}, status={self.status!r})"
