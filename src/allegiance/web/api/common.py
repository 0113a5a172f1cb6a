"""What the API routers share: the survey a path names, the audit entry of an API action,
and the public address links start with."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from allegiance.security.accounts import Principal
from allegiance.store import surveys as store
from allegiance.store.admin import record_audit
from allegiance.store.models import Survey
from allegiance.web.api.errors import ApiError
from allegiance.web.deps import AppState, client_ip

__all__ = ["api_audit", "link_root", "survey_or_404"]


def survey_or_404(session: Session, slug: str, /) -> Survey:
    """The survey at ``slug``, or a 404 naming it."""
    survey = store.get_survey(session, slug)
    if survey is None:
        raise ApiError(404, "api.error.no_survey", slug=slug[:100])
    return survey


def api_audit(
    session: Session,
    request: Request,
    principal: Principal,
    action: str,
    /,
    *,
    target_type: str,
    target_id: str | int,
    details: dict[str, Any] | None = None,
) -> None:
    """Add the audit entry of an action done through the API to the caller's transaction
    (the same actions as on the admin pages, with ``via: api`` and the token's id)."""
    record_audit(
        session,
        action,
        actor=principal.actor,
        target_type=target_type,
        target_id=target_id,
        details={**(details or {}), "via": "api", "token_id": principal.token_id},
        ip=client_ip(request),
        commit=False,
    )


def link_root(request: Request, state: AppState, /) -> str:
    """The address survey links start with: ``ALLEGIANCE_BASE_URL``, else this request's
    scheme and host (the API's own mount point is not part of it)."""
    if state.settings.base_url:
        return state.settings.base_url.rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}"
