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
    "NAMING_CONVENTION",
    "Base",
    "Complaint",
    "Dataset",
    "ProjectMeta",
    "Response",
    "Run",
    "Survey",
    "SurveyWave",
    "UTCDateTime",
    "utcnow",
]

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


class Survey(Base):
    """A survey: its code, bilingual title and its definition (the validated YAML as JSON)."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    title_en: Mapped[str] = mapped_column(String(500))
    title_zh: Mapped[str] = mapped_column(String(500))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    waves: Mapped[list[SurveyWave]] = relationship(
        back_populates="survey", order_by="SurveyWave.id"
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
    """One respondent's answers in one wave; ``(wave_id, respondent_key)`` is unique."""

    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("wave_id", "respondent_key"),
        Index(None, "customer_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("survey_waves.id"))
    respondent_key: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[str | None] = mapped_column(String(200))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON())

    def __repr__(self) -> str:
        return f"Response(wave_id={self.wave_id}, respondent_key={self.respondent_key!r})"


class Complaint(Base):
    """One complaint with its cause and cause class (1-4, SPEC section 6)."""

    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint("cause_class BETWEEN 1 AND 4", name="cause_class"),
        Index(None, "customer_id"),
        Index(None, "received_at"),
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
    status: Mapped[str] = mapped_column(String(30), default="open")
    resolved_at: Mapped[datetime | None] = mapped_column()

    def __repr__(self) -> str:
        return f"Complaint(complaint_key={self.complaint_key!r}, cause_code={self.cause_code!r})"


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
