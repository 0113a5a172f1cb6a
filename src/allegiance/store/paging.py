"""Keyset-paged reads of surveys, invitations and responses (for the REST API).

Every list is ordered by the row id and continues *after* the last id a page ended with, so
a page never repeats or skips a row when rows are added between two requests (unlike an
offset). Each function returns up to ``limit`` rows and whether more follow::

    page = invitations_page(session, "nps-2025", after_id=None, limit=50)
    page.rows, page.more          # more: ask again with after_id=page.rows[-1].id

Like :mod:`allegiance.store.surveys`, this module builds the SQL and the web only calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from allegiance.store.models import Invitation, Response, Survey, SurveyWave
from allegiance.store.repository import _session_read

__all__ = [
    "Page",
    "ResponseRecord",
    "get_response",
    "get_survey_invitation",
    "invitations_page",
    "responses_page",
    "surveys_page",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """Up to ``limit`` rows in id order, and whether rows follow the last one."""

    rows: list[T]
    more: bool


@dataclass(frozen=True)
class ResponseRecord:
    """One stored response with the name of its wave."""

    response: Response
    wave: str


def _page(session: Session, stmt: Any, limit: int, table: str) -> tuple[list[Any], bool]:
    with _session_read(session, table):
        rows = list(session.execute(stmt.limit(limit + 1)).all())
    return rows[:limit], len(rows) > limit


def surveys_page(
    session: Session, /, *, after_id: int | None = None, limit: int = 50
) -> Page[Survey]:
    """Surveys in id order (creation order), after ``after_id``."""
    stmt = select(Survey).order_by(Survey.id)
    if after_id is not None:
        stmt = stmt.where(Survey.id > after_id)
    rows, more = _page(session, stmt, limit, "surveys")
    return Page([r[0] for r in rows], more)


def invitations_page(
    session: Session,
    survey_id: int,
    /,
    *,
    after_id: int | None = None,
    limit: int = 50,
) -> Page[tuple[Invitation, str]]:
    """A survey's invitations with their wave names, in id order, after ``after_id``."""
    stmt = (
        select(Invitation, SurveyWave.name)
        .join(SurveyWave, Invitation.wave_id == SurveyWave.id)
        .where(Invitation.survey_id == survey_id)
        .order_by(Invitation.id)
    )
    if after_id is not None:
        stmt = stmt.where(Invitation.id > after_id)
    rows, more = _page(session, stmt, limit, "survey_invitations")
    return Page([(r[0], str(r[1])) for r in rows], more)


def get_survey_invitation(
    session: Session, survey_id: int, invitation_id: int, /
) -> tuple[Invitation, str] | None:
    """One invitation of a survey with its wave name, or ``None`` (also for another
    survey's invitation)."""
    stmt = (
        select(Invitation, SurveyWave.name)
        .join(SurveyWave, Invitation.wave_id == SurveyWave.id)
        .where(Invitation.survey_id == survey_id, Invitation.id == invitation_id)
    )
    with _session_read(session, "survey_invitations"):
        row = session.execute(stmt).one_or_none()
    return None if row is None else (row[0], str(row[1]))


def _responses(survey_id: int) -> Select[Response, str]:
    return (
        select(Response, SurveyWave.name)
        .join(SurveyWave, Response.wave_id == SurveyWave.id)
        .where(SurveyWave.survey_id == survey_id)
    )


def responses_page(
    session: Session,
    survey_id: int,
    /,
    *,
    wave: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> Page[ResponseRecord]:
    """A survey's responses in id order, after ``after_id``; only those of ``wave`` and
    submitted at or after ``since`` and before ``until`` when given."""
    stmt = _responses(survey_id).order_by(Response.id)
    if wave is not None:
        stmt = stmt.where(SurveyWave.name == wave)
    if since is not None:
        stmt = stmt.where(Response.submitted_at >= since)
    if until is not None:
        stmt = stmt.where(Response.submitted_at < until)
    if after_id is not None:
        stmt = stmt.where(Response.id > after_id)
    rows, more = _page(session, stmt, limit, "responses")
    return Page([ResponseRecord(r[0], str(r[1])) for r in rows], more)


def get_response(session: Session, survey_id: int, response_id: int, /) -> ResponseRecord | None:
    """One response of a survey, or ``None`` (also for another survey's response)."""
    stmt = _responses(survey_id).where(Response.id == response_id)
    with _session_read(session, "responses"):
        row = session.execute(stmt).one_or_none()
    return None if row is None else ResponseRecord(row[0], str(row[1]))
