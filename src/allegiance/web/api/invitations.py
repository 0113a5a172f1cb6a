"""``/v1/surveys/{slug}/invitations``: list (paged), create in bulk, one invitation.

Invitations carry customer ids, e-mail addresses and the secret token of each link, so every
route needs ``invitations.manage``; creating them is audited as ``invitations.create``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from allegiance.store import paging
from allegiance.store import surveys as store
from allegiance.store.models import Invitation, SurveyWave
from allegiance.web.api.auth import ApiPrincipal, needs
from allegiance.web.api.common import api_audit, link_root, survey_or_404
from allegiance.web.api.errors import ApiError
from allegiance.web.api.schemas import (
    DEFAULT_LIMIT,
    Batch,
    Cursor,
    InvitationPublic,
    InvitationsCreate,
    Limit,
    Paged,
    RowId,
    decode_cursor,
    encode_cursor,
)
from allegiance.web.deps import StateDep

__all__ = ["router"]

router = APIRouter(prefix="/v1/surveys/{slug}/invitations", tags=["invitations"])


def _public(inv: Invitation, wave: str, root: str) -> InvitationPublic:
    return InvitationPublic(
        id=inv.id,
        wave=wave,
        token=inv.token,
        link=f"{root}/i/{inv.token}",
        customer_id=inv.customer_id,
        email=inv.email,
        language=inv.language,
        created_at=inv.created_at,
        sent_at=inv.sent_at,
        reminded_at=inv.reminded_at,
        opened_at=inv.opened_at,
        submitted_at=inv.submitted_at,
    )


@router.get("", response_model=Paged[InvitationPublic], **needs("invitations.manage", 404))
def list_invitations(
    slug: str,
    request: Request,
    state: StateDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Paged[InvitationPublic]:
    """A survey's invitations, oldest first (anonymous ones of the public link too)."""
    after = decode_cursor(cursor)
    root = link_root(request, state)
    with state.sessions() as session:
        survey = survey_or_404(session, slug)
        page = paging.invitations_page(session, survey.id, after_id=after, limit=limit)
    items = [_public(inv, wave, root) for inv, wave in page.rows]
    return Paged[InvitationPublic](
        items=items, next_cursor=encode_cursor(items[-1].id) if page.more else None
    )


@router.post(
    "",
    status_code=201,
    response_model=Batch[InvitationPublic],
    **needs("invitations.manage", 404, 409, 413),
)
def create_invitations(
    slug: str,
    body: InvitationsCreate,
    request: Request,
    state: StateDep,
    principal: ApiPrincipal,
) -> Batch[InvitationPublic]:
    """One invitation (with its own token) per row; all or none: a bad row stops the batch
    and the error names it (counting from 0)."""
    rows = [row.model_dump(exclude_none=True) for row in body.invitations]
    root = link_root(request, state)
    with state.sessions() as session:
        survey_or_404(session, slug)
        made = store.create_invitations(session, slug, rows, wave=body.wave, commit=False)
        api_audit(
            session,
            request,
            principal,
            "invitations.create",
            target_type="survey",
            target_id=slug,
            details={"n": len(made), "wave": body.wave},
        )
        session.commit()
        wave = session.get(SurveyWave, made[0].wave_id)
        name = wave.name if wave is not None else ""
        return Batch[InvitationPublic](items=[_public(inv, name, root) for inv in made])


@router.get("/{invitation_id}", response_model=InvitationPublic, **needs("invitations.manage", 404))
def get_invitation(
    slug: str, invitation_id: RowId, request: Request, state: StateDep
) -> InvitationPublic:
    """One invitation of the survey."""
    with state.sessions() as session:
        survey = survey_or_404(session, slug)
        found = paging.get_survey_invitation(session, survey.id, invitation_id)
    if found is None:
        raise ApiError(404, "api.error.no_invitation", id=invitation_id, slug=slug[:100])
    return _public(found[0], found[1], link_root(request, state))
