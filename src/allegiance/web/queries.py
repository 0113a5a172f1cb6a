"""The few queries the web pages need beyond :mod:`allegiance.store.surveys`.

Kept here (not in the routes): response rates per survey, one page of responses (or
unfinished drafts) with filters, a survey's waves, and whether a survey's public link is
open (a project fact, ``public:<slug>`` in ``project_meta``; switched by an admin and
audited in the same transaction).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session

from allegiance.store import repository
from allegiance.store.admin import record_audit
from allegiance.store.models import Invitation, Response, ResponseDraft, Survey, SurveyWave

__all__ = [
    "ResponseRow",
    "ResponsesPage",
    "public_link_enabled",
    "response_rates",
    "responses_page",
    "set_public_link",
    "survey_waves",
]

Complete = Literal["yes", "no", "all"]


def _public_key(slug: str) -> str:
    key = f"public:{slug}"
    if len(key) <= 100:
        return key
    return "public:#" + hashlib.sha256(slug.encode("utf-8")).hexdigest()[:40]


def public_link_enabled(session: Session, slug: str, /) -> bool:
    """Whether anyone with the survey's public link (``/s/<slug>``) may answer it."""
    return bool(repository.get_meta(session, _public_key(slug), False))


def set_public_link(
    session: Session, slug: str, enabled: bool, /, *, actor: str, ip: str | None
) -> None:
    """Open or close the public link, with its audit entry, in one transaction."""
    repository.set_meta(session, _public_key(slug), bool(enabled), commit=False)
    record_audit(
        session,
        "survey.public_link",
        actor=actor,
        target_type="survey",
        target_id=slug,
        details={"enabled": bool(enabled)},
        ip=ip,
        commit=False,
    )
    session.commit()


def response_rates(engine: Engine, /) -> dict[str, tuple[int, int]]:
    """Per survey slug: (personal invitations, of them answered).

    A personal invitation names a customer or an e-mail address; the invitations made for
    visitors of the public link are not counted (they only exist once someone starts).
    """
    personal = or_(Invitation.customer_id.is_not(None), Invitation.email.is_not(None))
    stmt = (
        select(
            Survey.slug,
            func.count(Invitation.id),
            func.count(Invitation.submitted_at),
        )
        .join(Invitation, Invitation.survey_id == Survey.id)
        .where(personal)
        .group_by(Survey.slug)
    )
    with engine.connect() as conn:
        return {str(slug): (int(n), int(done)) for slug, n, done in conn.execute(stmt)}


def survey_waves(engine: Engine, slug: str, /) -> list[str]:
    """The names of a survey's waves, oldest first."""
    stmt = (
        select(SurveyWave.name)
        .join(Survey, SurveyWave.survey_id == Survey.id)
        .where(Survey.slug == slug)
        .order_by(SurveyWave.id)
    )
    with engine.connect() as conn:
        return [str(name) for name in conn.execute(stmt).scalars()]


@dataclass(frozen=True)
class ResponseRow:
    """One response (complete) or draft (not yet submitted) as the browse page shows it."""

    complete: bool
    id: int
    wave: str
    at: datetime | None
    language: str | None
    customer_id: str | None
    duration_s: float | None
    answers: dict[str, Any]


@dataclass(frozen=True)
class ResponsesPage:
    rows: list[ResponseRow]
    total: int
    offset: int
    limit: int


def responses_page(
    engine: Engine,
    slug: str,
    /,
    *,
    wave: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    language: str | None = None,
    complete: Complete = "yes",
    offset: int = 0,
    limit: int = 50,
) -> ResponsesPage:
    """One page of a survey's responses (``complete="yes"``), unfinished drafts (``"no"``)
    or both, newest first, filtered by wave, time (submitted, or last saved) and language."""
    rows: list[ResponseRow] = []
    total = 0
    want_done = complete in ("yes", "all")
    want_drafts = complete in ("no", "all")
    with engine.connect() as conn:
        done_rows: list[Any] = []
        draft_rows: list[Any] = []
        if want_done:
            where = [Survey.slug == slug]
            if wave:
                where.append(SurveyWave.name == wave)
            if since is not None:
                where.append(Response.submitted_at >= since)
            if until is not None:
                where.append(Response.submitted_at < until)
            if language:
                where.append(Response.language == language)
            base = (
                select(Response.id)
                .join(SurveyWave, Response.wave_id == SurveyWave.id)
                .join(Survey, SurveyWave.survey_id == Survey.id)
                .where(*where)
            )
            n_done = int(
                conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
            )
            total += n_done
            stmt = (
                select(
                    Response.id,
                    SurveyWave.name,
                    Response.submitted_at,
                    Response.language,
                    Response.customer_id,
                    Response.duration_s,
                    Response.answers,
                )
                .join(SurveyWave, Response.wave_id == SurveyWave.id)
                .join(Survey, SurveyWave.survey_id == Survey.id)
                .where(*where)
                .order_by(Response.submitted_at.desc(), Response.id.desc())
                .offset(offset)
                .limit(limit)
            )
            done_rows = list(conn.execute(stmt))
        if want_drafts:
            where = [Survey.slug == slug]
            if wave:
                where.append(SurveyWave.name == wave)
            if since is not None:
                where.append(ResponseDraft.updated_at >= since)
            if until is not None:
                where.append(ResponseDraft.updated_at < until)
            if language:
                where.append(Invitation.language == language)
            joined = (
                select(ResponseDraft.id)
                .join(Invitation, ResponseDraft.invitation_id == Invitation.id)
                .join(SurveyWave, Invitation.wave_id == SurveyWave.id)
                .join(Survey, Invitation.survey_id == Survey.id)
                .where(*where)
            )
            n_drafts = int(
                conn.execute(select(func.count()).select_from(joined.subquery())).scalar_one()
            )
            total += n_drafts
            left = max(limit - len(done_rows), 0)
            draft_offset = max(offset - (total - n_drafts), 0) if want_done else offset
            if left:
                stmt = (
                    select(
                        ResponseDraft.id,
                        SurveyWave.name,
                        ResponseDraft.updated_at,
                        Invitation.language,
                        Invitation.customer_id,
                        ResponseDraft.answers,
                    )
                    .join(Invitation, ResponseDraft.invitation_id == Invitation.id)
                    .join(SurveyWave, Invitation.wave_id == SurveyWave.id)
                    .join(Survey, Invitation.survey_id == Survey.id)
                    .where(*where)
                    .order_by(ResponseDraft.updated_at.desc(), ResponseDraft.id.desc())
                    .offset(draft_offset)
                    .limit(left)
                )
                draft_rows = list(conn.execute(stmt))
    for rid, wave_name, at, lang, customer, duration, answers in done_rows:
        rows.append(
            ResponseRow(True, int(rid), str(wave_name), at, lang, customer, duration, dict(answers))
        )
    for rid, wave_name, at, lang, customer, answers in draft_rows:
        rows.append(
            ResponseRow(False, int(rid), str(wave_name), at, lang, customer, None, dict(answers))
        )
    return ResponsesPage(rows=rows, total=total, offset=offset, limit=limit)


def invitation_link_data(session: Session, invitation_id: int, /) -> tuple[str, str] | None:
    """The token and survey slug of an invitation (for its QR code), or ``None``."""
    found = session.get(Invitation, invitation_id)
    if found is None:
        return None
    return found.token, found.survey.slug
