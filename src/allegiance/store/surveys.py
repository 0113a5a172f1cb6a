"""Survey collection queries: surveys and their versions, invitations, drafts, submissions.

Every query of survey collection lives here, beside :mod:`allegiance.store.repository`
(which keeps the foundation's queries, including ``responses_frame`` and
``save_responses``); the CLI and the web app call these functions and never build SQL.

The life of a survey::

    create_survey_from_template(s, "nps", slug="nps-2025")   # status draft, version 1
    update_definition(s, "nps-2025", definition)             # version 2 (not when closed)
    publish_survey(s, "nps-2025", wave="2025Q1")             # open; invitations go to a wave
    create_invitations(s, "nps-2025", customers)             # one secret token each
    state = open_invitation(s, token)                        # definition, saved draft, status
    save_draft(s, token, answers, page="p2")                 # save and resume
    submit_response(s, token, answers, user_agent=..., language="zh")
    close_survey(s, "nps-2025")

Submissions are atomic and happen once per token. :func:`submit_response` runs in one
writer transaction (``BEGIN IMMEDIATE`` on SQLite; the invitation row locked ``FOR
UPDATE`` on PostgreSQL), checks the answers against the definition version the
respondent saw (:func:`allegiance.survey.validate_response`), stores the response with
its quality metadata, marks the invitation submitted, deletes the draft and opens the
follow-up complaint the closed loop calls for (:mod:`allegiance.complaints.closed_loop`). The
``responses.invitation_id`` column is UNIQUE, so even a submission that slipped past the
check (another process, another server) is refused by the database; either way the
second submission of a token gets the clear error ``survey.store.already_submitted``.

Errors are :class:`~allegiance.errors.StoreError` (keys ``survey.store.*``) or, for
answers that fail the definition, :class:`allegiance.survey.ResponseError` with every
problem per question in Chinese and English.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, joinedload

from allegiance.errors import AllegianceError, StoreError
from allegiance.i18n import normalize_lang
from allegiance.store.db import WRITE_OPTION
from allegiance.store.models import (
    RESPONSE_SOURCES,
    Invitation,
    Response,
    ResponseDraft,
    Survey,
    SurveyVersion,
    SurveyWave,
    utcnow,
)
from allegiance.store.repository import (
    _db_error,
    _frame,
    _insert,
    _json,
    _reading,
    _session_read,
    get_or_create_wave,
    responses_frame,
)
from allegiance.survey.definition import DefinitionError, SurveyDefinition, parse_definition

__all__ = [
    "INVITATION_COLUMNS",
    "RESPONSE_META_COLUMNS",
    "SURVEY_LIST_COLUMNS",
    "TOKEN_BYTES",
    "InvitationState",
    "anonymous_invitation",
    "check_slug",
    "close_survey",
    "create_invitations",
    "create_survey_from_definition",
    "create_survey_from_template",
    "current_wave",
    "get_invitation",
    "get_survey",
    "invitations_frame",
    "mark_reminded",
    "mark_sent",
    "open_invitation",
    "publish_survey",
    "require_survey",
    "response_meta_frame",
    "save_draft",
    "submit_response",
    "survey_analysis_frame",
    "survey_definition",
    "surveys_frame",
    "update_definition",
]

#: Random bytes in a token (``secrets.token_urlsafe``: 32 URL-safe characters).
TOKEN_BYTES = 24
#: The columns of :func:`surveys_frame`.
SURVEY_LIST_COLUMNS: tuple[str, ...] = (
    "slug",
    "title_en",
    "title_zh",
    "status",
    "version",
    "template",
    "n_waves",
    "n_invitations",
    "n_drafts",
    "n_responses",
    "created_at",
    "published_at",
    "closed_at",
)
#: The columns of :func:`invitations_frame`.
INVITATION_COLUMNS: tuple[str, ...] = (
    "invitation_id",
    "token",
    "wave",
    "customer_id",
    "email",
    "language",
    "created_at",
    "sent_at",
    "reminded_at",
    "opened_at",
    "submitted_at",
    "has_draft",
)
#: The columns of :func:`response_meta_frame`.
RESPONSE_META_COLUMNS: tuple[str, ...] = (
    "respondent_key",
    "wave",
    "customer_id",
    "invitation_id",
    "definition_version",
    "started_at",
    "submitted_at",
    "duration_s",
    "user_agent_hash",
    "language",
    "source",
)

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INVITATION_FIELDS = ("customer_id", "email", "language")


def _mask(token: str) -> str:
    """A token as shown in messages: enough to recognise, not enough to use."""
    return token[:6] + "…" if len(token) > 6 else "…"


# --------------------------------------------------------------------------------------------
# Transactions
# --------------------------------------------------------------------------------------------


@contextmanager
def _tx(session: Session, table: str, *, commit: bool) -> Iterator[None]:
    """A writer transaction: commit (or flush) on success; on any error roll back and raise
    (database errors as :class:`StoreError` naming the table)."""
    try:
        if not session.in_transaction():
            session.connection(execution_options={WRITE_OPTION: True})
        yield
        if commit:
            session.commit()
        else:
            session.flush()
    except SQLAlchemyError as exc:
        session.rollback()
        raise _db_error(exc, table) from exc
    except AllegianceError:
        session.rollback()
        raise


# --------------------------------------------------------------------------------------------
# Surveys and versions
# --------------------------------------------------------------------------------------------


def check_slug(slug: str, /) -> str:
    """``slug`` if it can be a survey's address, else a :class:`StoreError` saying why."""
    if not isinstance(slug, str) or not _SLUG.match(slug):
        raise StoreError("survey.store.bad_slug", slug=repr(slug))
    return slug


def _as_definition(definition: SurveyDefinition | Mapping[str, Any] | str) -> SurveyDefinition:
    if isinstance(definition, SurveyDefinition):
        return definition
    return parse_definition(definition)


def get_survey(session: Session, slug: str, /) -> Survey | None:
    """The survey at ``slug``, or ``None``."""
    with _session_read(session, "surveys"):
        return session.execute(select(Survey).where(Survey.slug == slug)).scalar_one_or_none()


def _require(session: Session, slug: str, *, lock: bool = False) -> Survey:
    stmt = select(Survey).where(Survey.slug == slug)
    if lock:
        stmt = stmt.with_for_update()
    survey = session.execute(stmt).scalar_one_or_none()
    if survey is None:
        slugs = session.execute(select(Survey.slug).order_by(Survey.slug)).scalars().all()
        raise StoreError("survey.store.not_found", slug=slug, available=", ".join(slugs) or "-")
    return survey


def require_survey(session: Session, slug: str, /) -> Survey:
    """The survey at ``slug``; a :class:`StoreError` naming the surveys there are if none."""
    with _session_read(session, "surveys"):
        return _require(session, slug)


def create_survey_from_definition(
    session: Session,
    definition: SurveyDefinition | Mapping[str, Any] | str,
    /,
    *,
    slug: str | None = None,
    template: str | None = None,
    commit: bool = True,
) -> Survey:
    """Store a new survey in draft from a definition (validated here), as version 1.

    ``slug`` (default: the definition's code) is the survey's address and its code in the
    response tables; the stored definition takes it as its code. A slug already in use
    raises :class:`StoreError`.
    """
    parsed = _as_definition(definition)
    name = check_slug(slug or parsed.code)
    parsed = parsed.model_copy(update={"code": name})
    data = _json(parsed.to_data(), table="surveys", row=0, field="definition")
    with _tx(session, "surveys", commit=commit):
        taken = session.execute(
            select(Survey.id).where((Survey.slug == name) | (Survey.code == name))
        ).first()
        if taken:
            raise StoreError("survey.store.slug_exists", slug=name)
        survey = Survey(
            code=name,
            slug=name,
            title_en=parsed.title.en[:500],
            title_zh=parsed.title.zh[:500],
            definition=data,
            status="draft",
            version=1,
            template=template,
        )
        session.add(survey)
        session.flush()
        session.add(SurveyVersion(survey_id=survey.id, version=1, definition=data))
        session.flush()
    return survey


def create_survey_from_template(
    session: Session, name: str, /, *, slug: str | None = None, commit: bool = True
) -> Survey:
    """Store a new draft survey from a shipped template (``allegiance survey templates``)."""
    from allegiance.survey.templates import load_template

    return create_survey_from_definition(
        session, load_template(name), slug=slug, template=name, commit=commit
    )


def _definition_of(session: Session, survey: Survey, version: int | None) -> SurveyDefinition:
    wanted = survey.version if version is None else version
    data: Any = survey.definition
    if wanted != survey.version:
        row = session.execute(
            select(SurveyVersion.definition).where(
                SurveyVersion.survey_id == survey.id, SurveyVersion.version == wanted
            )
        ).scalar_one_or_none()
        if row is None:
            raise StoreError(
                "survey.store.no_version", slug=survey.slug, version=wanted, latest=survey.version
            )
        data = row
    try:
        return parse_definition(data, source=f"{survey.slug} v{wanted}")
    except DefinitionError as exc:
        raise StoreError(
            "survey.store.not_a_definition", slug=survey.slug, detail=exc.render("en")
        ) from exc


def survey_definition(
    session: Session, slug: str, /, *, version: int | None = None
) -> SurveyDefinition:
    """The validated definition of a survey (its current version, or ``version``)."""
    with _session_read(session, "survey_versions"):
        return _definition_of(session, _require(session, slug), version)


def update_definition(
    session: Session,
    slug: str,
    definition: SurveyDefinition | Mapping[str, Any] | str,
    /,
    *,
    commit: bool = True,
) -> Survey:
    """Store a new version of a draft or published survey's definition (not of a closed one).

    Responses keep the version they answered (``responses.definition_version``); drafts
    saved under an older version are checked against the version they started with.
    """
    parsed = _as_definition(definition)
    with _tx(session, "survey_versions", commit=commit):
        survey = _require(session, slug, lock=True)
        if survey.status == "closed":
            raise StoreError("survey.store.closed", slug=slug)
        parsed = parsed.model_copy(update={"code": survey.slug})
        data = _json(parsed.to_data(), table="surveys", row=0, field="definition")
        survey.version = survey.version + 1
        survey.definition = data
        survey.title_en = parsed.title.en[:500]
        survey.title_zh = parsed.title.zh[:500]
        session.add(SurveyVersion(survey_id=survey.id, version=survey.version, definition=data))
        session.flush()
    return survey


def current_wave(session: Session, survey: Survey, /) -> SurveyWave | None:
    """The survey's newest wave (the one invitations go to by default), or ``None``."""
    return (
        session.execute(
            select(SurveyWave)
            .where(SurveyWave.survey_id == survey.id)
            .order_by(SurveyWave.id.desc())
        )
        .scalars()
        .first()
    )


def _wave(session: Session, survey: Survey, name: str | None, *, today: date) -> SurveyWave:
    if name is not None:
        return get_or_create_wave(session, survey.id, name, commit=False)
    wave = current_wave(session, survey)
    if wave is not None:
        return wave
    return get_or_create_wave(session, survey.id, today.isoformat(), starts_on=today, commit=False)


def publish_survey(
    session: Session,
    slug: str,
    /,
    *,
    wave: str | None = None,
    commit: bool = True,
) -> Survey:
    """Open a draft (or reopen a closed) survey for answers.

    Answers go to the wave ``wave`` (created if new); without it to the survey's newest
    wave, or to a new wave named by today's date (UTC) when it has none. The stored
    definition must be valid.
    """
    with _tx(session, "surveys", commit=commit):
        survey = _require(session, slug, lock=True)
        if survey.status == "published":
            raise StoreError("survey.store.already_published", slug=slug)
        _definition_of(session, survey, None)
        now = utcnow()
        _wave(session, survey, wave, today=now.date())
        survey.status = "published"
        survey.published_at = now
        survey.closed_at = None
        session.flush()
    return survey


def close_survey(session: Session, slug: str, /, *, commit: bool = True) -> Survey:
    """Stop taking answers; the current wave ends today (UTC) unless it has an end date."""
    with _tx(session, "surveys", commit=commit):
        survey = _require(session, slug, lock=True)
        if survey.status != "published":
            raise StoreError("survey.store.not_published", slug=slug, status=survey.status)
        now = utcnow()
        survey.status = "closed"
        survey.closed_at = now
        wave = current_wave(session, survey)
        if wave is not None and wave.ends_on is None:
            wave.ends_on = now.date()
        session.flush()
    return survey


def surveys_frame(session: Session, /, *, status: str | None = None) -> pd.DataFrame:
    """Every survey with its counts: the columns of :data:`SURVEY_LIST_COLUMNS`, by slug."""
    waves = (
        select(SurveyWave.survey_id, func.count().label("n"))
        .group_by(SurveyWave.survey_id)
        .subquery()
    )
    invitations = (
        select(Invitation.survey_id, func.count().label("n"))
        .group_by(Invitation.survey_id)
        .subquery()
    )
    drafts = (
        select(Invitation.survey_id, func.count().label("n"))
        .join(ResponseDraft, ResponseDraft.invitation_id == Invitation.id)
        .group_by(Invitation.survey_id)
        .subquery()
    )
    responses = (
        select(SurveyWave.survey_id, func.count().label("n"))
        .join(Response, Response.wave_id == SurveyWave.id)
        .group_by(SurveyWave.survey_id)
        .subquery()
    )
    stmt = (
        select(
            Survey.slug,
            Survey.title_en,
            Survey.title_zh,
            Survey.status,
            Survey.version,
            Survey.template,
            func.coalesce(waves.c.n, 0),
            func.coalesce(invitations.c.n, 0),
            func.coalesce(drafts.c.n, 0),
            func.coalesce(responses.c.n, 0),
            Survey.created_at,
            Survey.published_at,
            Survey.closed_at,
        )
        .outerjoin(waves, waves.c.survey_id == Survey.id)
        .outerjoin(invitations, invitations.c.survey_id == Survey.id)
        .outerjoin(drafts, drafts.c.survey_id == Survey.id)
        .outerjoin(responses, responses.c.survey_id == Survey.id)
        .order_by(Survey.slug)
    )
    if status is not None:
        stmt = stmt.where(Survey.status == status)
    with _session_read(session, "surveys"):
        rows = session.execute(stmt).all()
    out = _frame(rows, SURVEY_LIST_COLUMNS, ("created_at", "published_at", "closed_at"))
    for name in ("version", "n_waves", "n_invitations", "n_drafts", "n_responses"):
        out[name] = out[name].astype("int64")
    return out


# --------------------------------------------------------------------------------------------
# Invitations
# --------------------------------------------------------------------------------------------


def _rows(rows: Iterable[Mapping[str, Any]] | pd.DataFrame | int) -> list[Mapping[str, Any]]:
    if isinstance(rows, bool):
        raise StoreError("survey.store.bad_invitations", kind="bool")
    if isinstance(rows, int):
        if rows < 0:
            raise StoreError("survey.store.bad_invitations", kind=str(rows))
        return [{} for _ in range(rows)]
    if isinstance(rows, pd.DataFrame):
        frame = rows.astype(object).where(rows.notna(), None)
        return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]
    return list(rows)


def _invitation_values(index: int, row: Any, default_lang: str | None) -> dict[str, Any]:
    if not isinstance(row, Mapping):
        raise StoreError(
            "store.row_not_mapping",
            table="survey_invitations",
            row=index,
            field="-",
            found=type(row).__name__,
        )
    unknown = sorted(str(k) for k in row if k not in _INVITATION_FIELDS)
    if unknown:
        raise StoreError(
            "store.row_unknown_fields",
            table="survey_invitations",
            row=index,
            fields=", ".join(unknown),
            allowed=", ".join(_INVITATION_FIELDS),
        )
    out: dict[str, Any] = {}
    customer = row.get("customer_id")
    if customer is not None and str(customer).strip():
        text = (
            str(int(customer))
            if isinstance(customer, float) and customer.is_integer()
            else str(customer).strip()
        )
        if len(text) > 200:
            raise StoreError(
                "survey.store.bad_invitation",
                row=index,
                field="customer_id",
                value=text[:40],
                expected="≤ 200",
            )
        out["customer_id"] = text
    email = row.get("email")
    if email is not None and str(email).strip():
        text = str(email).strip()
        if len(text) > 320 or not _EMAIL.match(text):
            raise StoreError(
                "survey.store.bad_invitation",
                row=index,
                field="email",
                value=text[:60],
                expected="name@example.com",
            )
        out["email"] = text
    lang = row.get("language")
    if lang is not None and str(lang).strip():
        norm = normalize_lang(str(lang))
        if norm is None:
            raise StoreError(
                "survey.store.bad_invitation",
                row=index,
                field="language",
                value=str(lang)[:20],
                expected="zh, en",
            )
        out["language"] = norm
    elif default_lang is not None:
        out["language"] = default_lang
    return out


def create_invitations(
    session: Session,
    slug: str,
    rows: Iterable[Mapping[str, Any]] | pd.DataFrame | int,
    /,
    *,
    wave: str | None = None,
    language: str | None = None,
    commit: bool = True,
) -> list[Invitation]:
    """Invitations for a draft or published survey, one per row, each with a new token.

    ``rows`` are mappings (or a frame's rows) with optional ``customer_id``, ``email`` and
    ``language`` (``zh``/``en``; default ``language``), or a number of anonymous
    invitations. Every row is checked first; a bad one stops the batch before anything is
    written, and the error names the row (counting from 0). Tokens come from
    :func:`secrets.token_urlsafe` (:data:`TOKEN_BYTES` random bytes). Invitations go to the
    wave ``wave`` (created if new), else to the survey's newest wave (one named by today's
    date is created when there is none).
    """
    default_lang = None
    if language is not None:
        default_lang = normalize_lang(language)
        if default_lang is None:
            raise StoreError(
                "survey.store.bad_invitation",
                row="-",
                field="language",
                value=language,
                expected="zh, en",
            )
    values = [_invitation_values(i, row, default_lang) for i, row in enumerate(_rows(rows))]
    with _tx(session, "survey_invitations", commit=commit):
        survey = _require(session, slug)
        if survey.status == "closed":
            raise StoreError("survey.store.closed", slug=slug)
        target = _wave(session, survey, wave, today=utcnow().date())
        made = [
            Invitation(
                survey_id=survey.id,
                wave_id=target.id,
                token=secrets.token_urlsafe(TOKEN_BYTES),
                **v,
            )
            for v in values
        ]
        session.add_all(made)
        session.flush()
    return made


def anonymous_invitation(
    session: Session, slug: str, /, *, language: str | None = None, commit: bool = True
) -> Invitation:
    """A fresh invitation for a visitor of the public link of a published survey.

    The web form keeps its token (e.g. in a cookie) so the visitor can save and resume and
    can submit once, exactly like a personal invitation.
    """
    with _session_read(session, "surveys"):
        survey = _require(session, slug)
        status = survey.status
    if status != "published":
        raise StoreError("survey.store.not_open", slug=slug, status=status)
    return create_invitations(session, slug, [{"language": language}], commit=commit)[0]


def get_invitation(session: Session, token: str, /) -> Invitation | None:
    """The invitation with ``token``, or ``None``."""
    with _session_read(session, "survey_invitations"):
        return session.execute(
            select(Invitation).where(Invitation.token == token)
        ).scalar_one_or_none()


def _invitation(session: Session, token: str, *, lock: bool = False) -> Invitation:
    # The survey and the draft come in the same query (the form needs both every time), so
    # from one snapshot: read apart, a submission committing in between would give a "not
    # submitted" invitation without the draft it still had (PostgreSQL's READ COMMITTED reads
    # each statement afresh).
    stmt = (
        select(Invitation)
        .where(Invitation.token == token)
        .options(joinedload(Invitation.survey), joinedload(Invitation.draft))
    )
    if lock:
        stmt = stmt.with_for_update(of=Invitation)
    found = session.execute(stmt).scalar_one_or_none()
    if found is None:
        raise StoreError("survey.store.token_unknown", token=_mask(str(token)))
    return found


@dataclass(frozen=True)
class InvitationState:
    """What the form needs when a respondent opens their link."""

    invitation_id: int
    token: str
    survey: str
    survey_status: str
    version: int
    definition: SurveyDefinition
    customer_id: str | None
    language: str | None
    opened_at: datetime | None
    submitted_at: datetime | None
    draft_answers: dict[str, Any] = field(default_factory=dict)
    draft_page: str | None = None

    @property
    def submitted(self) -> bool:
        return self.submitted_at is not None

    @property
    def can_answer(self) -> bool:
        """Open for answers: the survey is published and this token has not submitted."""
        return self.survey_status == "published" and not self.submitted


def open_invitation(
    session: Session, token: str, /, *, mark_opened: bool = True, commit: bool = True
) -> InvitationState:
    """The survey, definition version and saved draft behind a token (and, the first time,
    record when it was opened). Works for closed surveys and used tokens too: the form
    then shows a "closed" or "already answered" page (see :attr:`InvitationState.can_answer`).

    It only reads (no write lock) unless it has to record the first opening."""
    with _session_read(session, "survey_invitations"):
        inv = _invitation(session, token)
        survey = inv.survey
        draft = inv.draft
        version = draft.definition_version if draft and draft.definition_version else survey.version
        definition = _definition_of(session, survey, version)
        state = InvitationState(
            invitation_id=inv.id,
            token=inv.token,
            survey=survey.slug,
            survey_status=survey.status,
            version=version,
            definition=definition,
            customer_id=inv.customer_id,
            language=inv.language,
            opened_at=inv.opened_at,
            submitted_at=inv.submitted_at,
            draft_answers=dict(draft.answers) if draft else {},
            draft_page=draft.page if draft else None,
        )
    if mark_opened and state.opened_at is None and state.survey_status == "published":
        now = utcnow()
        with _tx(session, "survey_invitations", commit=commit):
            session.execute(
                update(Invitation)
                .where(Invitation.id == state.invitation_id, Invitation.opened_at.is_(None))
                .values(opened_at=now)
            )
        state = dataclasses.replace(state, opened_at=now)
    return state


def _open_for_answers(inv: Invitation) -> Survey:
    survey = inv.survey
    if inv.submitted_at is not None:
        raise StoreError("survey.store.already_submitted", token=_mask(inv.token), slug=survey.slug)
    if survey.status != "published":
        raise StoreError("survey.store.not_open", slug=survey.slug, status=survey.status)
    return survey


def save_draft(
    session: Session,
    token: str,
    answers: Mapping[str, Any],
    /,
    *,
    page: str | None = None,
    commit: bool = True,
) -> ResponseDraft:
    """Keep the answers given so far under a token (replacing the last draft).

    The answers are stored as given (a form checks them with ``validate_response(...,
    partial=True)`` to show problems early); only a JSON-safe mapping is required. A token
    that has submitted, or a survey that is not published, is refused.
    """
    if not isinstance(answers, Mapping):
        raise StoreError(
            "store.row_not_mapping",
            table="response_drafts",
            row=0,
            field="answers",
            found=type(answers).__name__,
        )
    clean = _json(dict(answers), table="response_drafts", row=0, field="answers")
    table = ResponseDraft.__table__
    with _tx(session, "response_drafts", commit=commit):
        inv = _invitation(session, token, lock=True)
        survey = _open_for_answers(inv)
        now = utcnow()
        if inv.opened_at is None:
            inv.opened_at = now
        stmt = _insert(session.connection(), table)  # type: ignore[arg-type]
        stmt = stmt.on_conflict_do_update(
            index_elements=["invitation_id"],
            set_={"answers": stmt.excluded.answers, "page": stmt.excluded.page, "updated_at": now},
        )
        session.execute(
            stmt,
            [
                {
                    "invitation_id": inv.id,
                    "answers": clean,
                    "page": page,
                    "definition_version": survey.version,
                    "started_at": now,
                    "updated_at": now,
                }
            ],
        )
        session.expire(inv, ["draft"])
        return session.execute(
            select(ResponseDraft)
            .where(ResponseDraft.invitation_id == inv.id)
            .execution_options(populate_existing=True)
        ).scalar_one()


def _ua_hash(user_agent: str | None) -> str | None:
    if user_agent is None or not user_agent.strip():
        return None
    return hashlib.sha256(user_agent.strip().encode("utf-8")).hexdigest()


def submit_response(
    session: Session,
    token: str,
    answers: Mapping[str, Any],
    /,
    *,
    started_at: datetime | None = None,
    user_agent: str | None = None,
    language: str | None = None,
    source: str = "web",
    accept_inconsistent: Collection[str] = (),
    commit: bool = True,
) -> Response:
    """Store the response of a token, once; atomic (see the module documentation).

    The answers are checked against the definition version the respondent saw (that of
    their draft, else the current one); a failing check raises
    :class:`allegiance.survey.ResponseError` and nothing is written. The stored answers are
    the cleaned ones (skipped questions dropped, text digits made numbers). ``started_at``
    defaults to the draft's start, else the time the link was opened; ``duration_s`` is the
    time from then to now. The user agent is kept only as its SHA-256.
    """
    from allegiance.survey.responses import ResponseError, validate_response

    if source not in RESPONSE_SOURCES:
        raise StoreError(
            "survey.store.bad_source", value=repr(source), allowed=", ".join(RESPONSE_SOURCES)
        )
    lang = normalize_lang(language) if language else None
    try:
        with _tx(session, "responses", commit=commit):
            inv = _invitation(session, token, lock=True)
            survey = _open_for_answers(inv)
            draft = inv.draft
            version = (
                draft.definition_version if draft and draft.definition_version else survey.version
            )
            definition = _definition_of(session, survey, version)
            check = validate_response(definition, answers, accept_inconsistent=accept_inconsistent)
            if not check.ok:
                raise ResponseError(check)
            now = utcnow()
            started = started_at or (draft.started_at if draft else None) or inv.opened_at
            duration = None
            if started is not None:
                duration = max((now - _aware(started)).total_seconds(), 0.0)
            response = Response(
                wave_id=inv.wave_id,
                respondent_key=f"invitation-{inv.id}",
                customer_id=inv.customer_id,
                submitted_at=now,
                answers=_json(check.answers, table="responses", row=0, field="answers"),
                invitation_id=inv.id,
                definition_version=version,
                started_at=started,
                duration_s=duration,
                user_agent_hash=_ua_hash(user_agent),
                language=lang or inv.language,
                source=source,
            )
            session.add(response)
            inv.submitted_at = now
            if inv.opened_at is None:
                inv.opened_at = started or now
            if draft is not None:
                session.delete(draft)
            session.flush()
            # The closed loop: a dissatisfied answer opens its case in this transaction.
            from allegiance.complaints.closed_loop import follow_up

            follow_up(session, response, definition, survey=survey.slug)
    except StoreError as exc:
        cause = exc.__cause__
        if isinstance(cause, IntegrityError) and _already_answered(session, token):
            raise StoreError(
                "survey.store.already_submitted", token=_mask(str(token)), slug="-"
            ) from None
        raise
    return response


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _already_answered(session: Session, token: str) -> bool:
    stmt = (
        select(Response.id)
        .join(Invitation, Response.invitation_id == Invitation.id)
        .where(Invitation.token == token)
    )
    with _session_read(session, "responses"):
        return session.execute(stmt).first() is not None


def _mark(session: Session, ids: Iterable[int], column: str, at: datetime | None) -> int:
    wanted = [int(i) for i in ids]
    moment = at or utcnow()
    with _tx(session, "survey_invitations", commit=True):
        rows = session.execute(select(Invitation).where(Invitation.id.in_(wanted))).scalars().all()
        for inv in rows:
            setattr(inv, column, moment)
        session.flush()
    return len(rows)


def mark_sent(
    session: Session, invitation_ids: Iterable[int], /, *, at: datetime | None = None
) -> int:
    """Record that invitations were sent (for the e-mail sender); returns how many were found."""
    return _mark(session, invitation_ids, "sent_at", at)


def mark_reminded(
    session: Session, invitation_ids: Iterable[int], /, *, at: datetime | None = None
) -> int:
    """Record that a reminder was sent (the latest reminder's time is kept)."""
    return _mark(session, invitation_ids, "reminded_at", at)


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------


def _survey_id(engine: Engine, slug: str) -> int:
    with Session(engine) as session, _reading("surveys"):
        return int(_require(session, slug).id)


def invitations_frame(engine: Engine, slug: str, /) -> pd.DataFrame:
    """A survey's invitations (with their tokens, for sending links): :data:`INVITATION_COLUMNS`."""
    survey_id = _survey_id(engine, slug)
    stmt = (
        select(
            Invitation.id,
            Invitation.token,
            SurveyWave.name,
            Invitation.customer_id,
            Invitation.email,
            Invitation.language,
            Invitation.created_at,
            Invitation.sent_at,
            Invitation.reminded_at,
            Invitation.opened_at,
            Invitation.submitted_at,
            ResponseDraft.id.is_not(None),
        )
        .join(SurveyWave, Invitation.wave_id == SurveyWave.id)
        .outerjoin(ResponseDraft, ResponseDraft.invitation_id == Invitation.id)
        .where(Invitation.survey_id == survey_id)
        .order_by(Invitation.id)
    )
    with _reading("survey_invitations"), engine.connect() as conn:
        rows = conn.execute(stmt).all()
    times = ("created_at", "sent_at", "reminded_at", "opened_at", "submitted_at")
    out = _frame(rows, INVITATION_COLUMNS, times)
    out["invitation_id"] = out["invitation_id"].astype("int64")
    out["has_draft"] = out["has_draft"].astype("bool")
    return out


def response_meta_frame(engine: Engine, slug: str, /) -> pd.DataFrame:
    """The quality metadata of a survey's responses: :data:`RESPONSE_META_COLUMNS`."""
    survey_id = _survey_id(engine, slug)
    stmt = (
        select(
            Response.respondent_key,
            SurveyWave.name,
            Response.customer_id,
            Response.invitation_id,
            Response.definition_version,
            Response.started_at,
            Response.submitted_at,
            Response.duration_s,
            Response.user_agent_hash,
            Response.language,
            Response.source,
        )
        .join(SurveyWave, Response.wave_id == SurveyWave.id)
        .where(SurveyWave.survey_id == survey_id)
        .order_by(Response.id)
    )
    with _reading("responses"), engine.connect() as conn:
        rows = conn.execute(stmt).all()
    out = _frame(rows, RESPONSE_META_COLUMNS, ("started_at", "submitted_at"))
    out["duration_s"] = out["duration_s"].astype("float64")
    return out


def survey_analysis_frame(engine: Engine, slug: str, /, *, meta: bool = True) -> pd.DataFrame:
    """A survey's stored responses as the analysis-ready table of
    :func:`allegiance.survey.analysis_frame` (columns of the current definition)."""
    from allegiance.survey.analysis import analysis_frame

    with Session(engine) as session:
        definition = survey_definition(session, slug)
    frame = responses_frame(engine, survey_code=slug)
    return analysis_frame(definition, frame, meta=meta)
