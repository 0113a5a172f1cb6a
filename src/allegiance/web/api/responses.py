"""``/v1/surveys/{slug}/responses``: list (paged; filters wave, since, until), one response,
and submitting the answers of an invitation token.

Responses are answers tied to a person (the customer id, and the answers themselves), so
reading needs ``responses.view_personal``: a viewer's token gets 403, never a response.
Submitting needs ``responses.import``; the answers are checked against the definition the
invitation's respondent saw (:func:`allegiance.survey.validate_response`: 422 with every
problem per question), a token answers once (409 after that) and the submission is audited
as ``responses.submit``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from allegiance.store import paging
from allegiance.store import surveys as store
from allegiance.store.models import Response
from allegiance.web.api.auth import ApiPrincipal, needs
from allegiance.web.api.common import api_audit, survey_or_404
from allegiance.web.api.errors import ApiError
from allegiance.web.api.schemas import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    Paged,
    ResponseCreate,
    ResponsePublic,
    RowId,
    decode_cursor,
    encode_cursor,
)
from allegiance.web.deps import StateDep

__all__ = ["router"]

router = APIRouter(prefix="/v1/surveys/{slug}/responses", tags=["responses"])


def _public(response: Response, wave: str) -> ResponsePublic:
    return ResponsePublic(
        id=response.id,
        wave=wave,
        invitation_id=response.invitation_id,
        customer_id=response.customer_id,
        submitted_at=response.submitted_at,
        started_at=response.started_at,
        duration_s=response.duration_s,
        language=response.language,
        source=response.source,
        definition_version=response.definition_version,
        answers=dict(response.answers),
    )


@router.get("", response_model=Paged[ResponsePublic], **needs("responses.view_personal", 404))
def list_responses(
    slug: str,
    state: StateDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    wave: Annotated[str | None, Query(max_length=100, description="Only this wave.")] = None,
    since: Annotated[
        datetime | None, Query(description="Submitted at or after (ISO 8601; UTC if no zone).")
    ] = None,
    until: Annotated[datetime | None, Query(description="Submitted before (ISO 8601).")] = None,
) -> Paged[ResponsePublic]:
    """A survey's responses, oldest first. Keep the same filters from page to page."""
    after = decode_cursor(cursor)
    with state.sessions() as session:
        survey = survey_or_404(session, slug)
        page = paging.responses_page(
            session,
            survey.id,
            wave=wave,
            since=_utc(since),
            until=_utc(until),
            after_id=after,
            limit=limit,
        )
    items = [_public(r.response, r.wave) for r in page.rows]
    return Paged[ResponsePublic](
        items=items, next_cursor=encode_cursor(items[-1].id) if page.more else None
    )


def _utc(moment: datetime | None) -> datetime | None:
    """A time in UTC (one without a zone is taken as UTC); 422 when it has no UTC form."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is past the year 9999 in UTC
        raise ApiError(422, details=[{"code": "datetime_out_of_range"}]) from None


@router.get(
    "/{response_id}", response_model=ResponsePublic, **needs("responses.view_personal", 404)
)
def get_response(slug: str, response_id: RowId, state: StateDep) -> ResponsePublic:
    """One response of the survey."""
    with state.sessions() as session:
        survey = survey_or_404(session, slug)
        found = paging.get_response(session, survey.id, response_id)
    if found is None:
        raise ApiError(404, "api.error.no_response", id=response_id, slug=slug[:100])
    return _public(found.response, found.wave)


@router.post(
    "",
    status_code=201,
    response_model=ResponsePublic,
    **needs("responses.import", 404, 409, 413),
)
def submit_response(
    slug: str,
    body: ResponseCreate,
    request: Request,
    state: StateDep,
    principal: ApiPrincipal,
) -> ResponsePublic:
    """Store the answers of one invitation (its ``token``), once."""
    with state.sessions() as session:
        survey = survey_or_404(session, slug)
        invitation = store.get_invitation(session, body.token)
        if invitation is None or invitation.survey_id != survey.id:
            raise ApiError(404, "api.error.no_token", slug=slug[:100])
        response = store.submit_response(
            session,
            body.token,
            body.answers,
            started_at=_utc(body.started_at),
            user_agent=request.headers.get("user-agent"),
            language=body.language,
            source="web",
            accept_inconsistent=body.accept_inconsistent,
            commit=False,
        )
        api_audit(
            session,
            request,
            principal,
            "responses.submit",
            target_type="survey",
            target_id=slug,
            details={"invitation_id": invitation.id},
        )
        session.commit()
        found = paging.get_response(session, survey.id, response.id)
    if found is None:  # pragma: no cover - just written in this transaction
        raise ApiError(500)
    return _public(found.response, found.wave)
