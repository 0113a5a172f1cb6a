"""``/v1/surveys``: list, one survey with its definition, create from a template, publish,
close. Reading needs ``analyses.view``; changing needs ``surveys.manage`` and is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from sqlalchemy.orm import Session

from allegiance.store import paging
from allegiance.store import surveys as store
from allegiance.store.models import Survey
from allegiance.survey.templates import template_names
from allegiance.web.api.auth import ApiPrincipal, needs
from allegiance.web.api.common import api_audit, survey_or_404
from allegiance.web.api.errors import ApiError
from allegiance.web.api.schemas import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    Paged,
    SurveyCreate,
    SurveyDetail,
    SurveyPublic,
    Title,
    WaveAction,
    decode_cursor,
    encode_cursor,
)
from allegiance.web.deps import StateDep

__all__ = ["router", "survey_public"]

router = APIRouter(prefix="/v1/surveys", tags=["surveys"])


def survey_public(survey: Survey, /) -> SurveyPublic:
    return SurveyPublic(
        id=survey.id,
        slug=survey.slug,
        title=Title(en=survey.title_en, zh=survey.title_zh),
        status=survey.status,
        version=survey.version,
        template=survey.template,
        created_at=survey.created_at,
        published_at=survey.published_at,
        closed_at=survey.closed_at,
    )


def _detail(session: Session, slug: str) -> SurveyDetail:
    survey = survey_or_404(session, slug)
    frame = store.surveys_frame(session)
    row = frame[frame["slug"] == slug].iloc[0]
    wave = store.current_wave(session, survey)
    return SurveyDetail(
        **survey_public(survey).model_dump(),
        wave=wave.name if wave is not None else None,
        n_invitations=int(row["n_invitations"]),
        n_responses=int(row["n_responses"]),
        definition=store.survey_definition(session, slug).to_data(),
    )


@router.get("", response_model=Paged[SurveyPublic], **needs("analyses.view"))
def list_surveys(
    state: StateDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Paged[SurveyPublic]:
    """Every survey, oldest first."""
    after = decode_cursor(cursor)
    with state.sessions() as session:
        page = paging.surveys_page(session, after_id=after, limit=limit)
    items = [survey_public(s) for s in page.rows]
    return Paged[SurveyPublic](
        items=items, next_cursor=encode_cursor(items[-1].id) if page.more else None
    )


@router.get("/{slug}", response_model=SurveyDetail, **needs("analyses.view", 404))
def get_survey(slug: str, state: StateDep) -> SurveyDetail:
    """One survey with its current definition and counts."""
    with state.sessions() as session:
        return _detail(session, slug)


@router.post("", status_code=201, response_model=SurveyDetail, **needs("surveys.manage", 409, 413))
def create_survey(
    body: SurveyCreate, request: Request, state: StateDep, principal: ApiPrincipal
) -> SurveyDetail:
    """A new draft survey from a shipped template (audited as ``survey.create``)."""
    if body.template not in template_names():
        raise ApiError(
            422,
            "api.error.no_template",
            name=body.template[:100],
            available=", ".join(template_names()),
        )
    with state.sessions() as session:
        survey = store.create_survey_from_template(
            session, body.template, slug=body.slug, commit=False
        )
        api_audit(
            session,
            request,
            principal,
            "survey.create",
            target_type="survey",
            target_id=survey.slug,
            details={"template": body.template},
        )
        session.commit()
        return _detail(session, survey.slug)


@router.post(
    "/{slug}/publish", response_model=SurveyDetail, **needs("surveys.manage", 404, 409, 413)
)
def publish_survey(
    slug: str,
    request: Request,
    state: StateDep,
    principal: ApiPrincipal,
    body: Annotated[WaveAction | None, Body()] = None,
) -> SurveyDetail:
    """Open a draft (or reopen a closed) survey for answers (audited as ``survey.publish``)."""
    wave = body.wave if body is not None else None
    with state.sessions() as session:
        survey_or_404(session, slug)
        store.publish_survey(session, slug, wave=wave, commit=False)
        api_audit(
            session,
            request,
            principal,
            "survey.publish",
            target_type="survey",
            target_id=slug,
            details={"wave": wave},
        )
        session.commit()
        return _detail(session, slug)


@router.post("/{slug}/close", response_model=SurveyDetail, **needs("surveys.manage", 404, 409))
def close_survey(
    slug: str, request: Request, state: StateDep, principal: ApiPrincipal
) -> SurveyDetail:
    """Stop taking answers (audited as ``survey.close``)."""
    with state.sessions() as session:
        survey_or_404(session, slug)
        store.close_survey(session, slug, commit=False)
        api_audit(session, request, principal, "survey.close", target_type="survey", target_id=slug)
        session.commit()
        return _detail(session, slug)
