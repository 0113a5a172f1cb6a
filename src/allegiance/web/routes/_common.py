"""What the admin routes share: the page with its navigation, notices after an action,
the audit entry of an action, and the public address of the app."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from allegiance.i18n import Lang, t
from allegiance.security.accounts import Principal
from allegiance.store.admin import record_audit
from allegiance.web.deps import AppState, client_ip
from allegiance.web.render import page, pick_lang

__all__ = ["NOTICES", "admin_page", "audit", "base_url", "done", "lang_of"]

#: The notices an action may leave for the next page (``?msg=``); anything else is ignored,
#: so nothing a link carries is ever shown as text.
NOTICES: dict[str, str] = {
    "created": "web.notice.created",
    "published": "web.notice.published",
    "closed": "web.notice.closed",
    "public_on": "web.notice.public_on",
    "public_off": "web.notice.public_off",
    "invited": "web.notice.invited",
    "sent": "web.notice.sent",
    "reminded": "web.notice.reminded",
    "nothing": "web.notice.nothing",
    "signed_out": "web.notice.signed_out",
    "logged": "complaints.web.notice.logged",
    "moved": "complaints.web.notice.moved",
    "updated": "complaints.web.notice.updated",
}


def lang_of(request: Request) -> Lang:
    return pick_lang(request)


def _notice(request: Request, lang: str) -> str | None:
    key = NOTICES.get(request.query_params.get("msg", ""))
    if key is None:
        return None
    numbers = {}
    for name in ("n", "failed"):
        raw = request.query_params.get(name, "0")
        numbers[name] = int(raw) if raw.isdigit() and len(raw) < 10 else 0
    return t(key, lang, **numbers)


def admin_page(
    request: Request,
    state: AppState,
    principal: Principal | None,
    name: str,
    /,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """An admin page in the visitor's language, with the navigation the user may use."""
    lang = lang_of(request)
    return page(
        request,
        state,
        name,
        lang=lang,
        status_code=status_code,
        me=principal,
        may=(lambda permission: principal is not None and principal.can(permission)),
        notice=_notice(request, lang),
        **context,
    )


def done(path: str, msg: str, /, **numbers: int) -> RedirectResponse:
    """After a POST: go to ``path`` with a notice (Post/Redirect/Get)."""
    query = urlencode({"msg": msg, **{k: str(v) for k, v in numbers.items()}})
    return RedirectResponse(f"{path}?{query}", status_code=303)


def audit(
    state: AppState,
    request: Request,
    principal: Principal,
    action: str,
    /,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Record an admin action in the audit log (its own transaction)."""
    with state.sessions() as session:
        record_audit(
            session,
            action,
            actor=principal.actor,
            target_type=target_type,
            target_id=target_id,
            details=details or {},
            ip=client_ip(request),
        )


def base_url(request: Request, state: AppState) -> str:
    """The public address links start with: ``ALLEGIANCE_BASE_URL``, else this request's."""
    configured = state.settings.base_url
    if configured:
        return configured.rstrip("/")
    return str(request.base_url).rstrip("/")
