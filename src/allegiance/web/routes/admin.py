"""Admin sign-in and surveys: ``/admin/login``, ``/admin/logout``, ``/admin/surveys`` (list,
create from a template), ``/admin/surveys/{slug}`` (publish, close, the public link and its
QR code).

Every route asks :func:`allegiance.web.deps.require` for a permission of the security
module; every change is recorded in the audit log in the same transaction as the change.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from allegiance.errors import AllegianceError
from allegiance.security.accounts import Principal, authenticate
from allegiance.store import surveys as store
from allegiance.store.admin import record_audit
from allegiance.survey.templates import templates_summary
from allegiance.web.deps import AdminDep, FormDep, PageError, StateDep, client_ip, require
from allegiance.web.qr import qr_svg
from allegiance.web.queries import public_link_enabled, response_rates, set_public_link
from allegiance.web.routes._common import admin_page, base_url, done, lang_of
from allegiance.web.security import CSRF_COOKIE, SESSION_COOKIE, SessionData, new_nonce

__all__ = ["router"]

router = APIRouter(prefix="/admin")

Viewer = Annotated[Principal, Depends(require("analyses.view"))]
Manager = Annotated[Principal, Depends(require("surveys.manage"))]


def _safe_next(value: Any) -> str:
    if (
        isinstance(value, str)
        and value.startswith("/admin")
        and "//" not in value
        and "\\" not in value
    ):
        return value
    return "/admin/surveys"


# ------------------------------------------------------------------------------ sign-in


@router.get("")
@router.get("/")
def admin_home(principal: AdminDep) -> Response:
    if principal is None:
        return RedirectResponse("/admin/login", status_code=303)
    if principal.can("analyses.view"):
        return RedirectResponse("/admin/surveys", status_code=303)
    if principal.can("complaints.view"):
        return RedirectResponse("/admin/complaints", status_code=303)
    return RedirectResponse("/admin/account", status_code=303)


@router.get("/account")
def account(request: Request, state: StateDep, principal: AdminDep) -> Response:
    if principal is None:
        return RedirectResponse("/admin/login", status_code=303)
    return admin_page(request, state, principal, "admin/account.html.j2")


@router.get("/login")
def login_form(request: Request, state: StateDep, principal: AdminDep) -> Response:
    if principal is not None:
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    return admin_page(
        request,
        state,
        None,
        "admin/login.html.j2",
        next=_safe_next(request.query_params.get("next")),
        failed=False,
        username="",
    )


@router.post("/login")
def login(request: Request, state: StateDep, form: FormDep) -> Response:
    username = form.get("username")
    password = form.get("password")
    target = _safe_next(form.get("next"))
    principal = None
    if isinstance(username, str) and isinstance(password, str) and username and password:
        with state.sessions() as session:
            principal = authenticate(
                session, username[:200], password[:1000], ip=client_ip(request)
            )
    if principal is None:
        return admin_page(
            request,
            state,
            None,
            "admin/login.html.j2",
            status_code=401,
            next=target,
            failed=True,
            username=username if isinstance(username, str) else "",
        )
    cookie = SessionData(user_id=principal.user_id, issued_at=time.time()).write(state.signer)
    response = RedirectResponse(target, status_code=303)
    secure = not state.settings.dev
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(state.session_max_age_s),
        path="/admin",
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    # A new CSRF nonce at sign-in: a token planted before it is worthless after it.
    response.set_cookie(
        CSRF_COOKIE, new_nonce(), path="/", httponly=True, samesite="lax", secure=secure
    )
    return response


@router.post("/logout")
def logout(request: Request, state: StateDep, principal: AdminDep, form: FormDep) -> Response:
    if principal is not None:
        with state.sessions() as session:
            record_audit(
                session,
                "auth.logout",
                actor=principal.actor,
                target_type="user",
                target_id=principal.username,
                ip=client_ip(request),
            )
    response = done("/admin/login", "signed_out")
    response.delete_cookie(SESSION_COOKIE, path="/admin")
    return response


# ------------------------------------------------------------------------------ surveys


def _rate(rates: dict[str, tuple[int, int]], slug: str) -> float | None:
    n, answered = rates.get(slug, (0, 0))
    return answered / n if n else None


@router.get("/surveys")
def surveys_list(request: Request, state: StateDep, principal: Viewer) -> Response:
    with state.sessions() as session:
        frame = store.surveys_frame(session)
    rates = response_rates(state.engine)
    lang = lang_of(request)
    records: list[Any] = list(frame.itertuples(index=False))
    rows = [
        {
            "slug": r.slug,
            "title": r.title_zh if lang == "zh" else r.title_en,
            "status": r.status,
            "version": int(r.version),
            "template": r.template if isinstance(r.template, str) else "",
            "n_responses": int(r.n_responses),
            "n_invitations": int(r.n_invitations),
            "rate": _rate(rates, r.slug),
            "personal": rates.get(r.slug, (0, 0))[0],
        }
        for r in records
    ]
    templates = [
        {"name": s.name, "title": s.title.get(lang), "n_questions": s.n_questions}
        for s in templates_summary()
    ]
    return admin_page(
        request, state, principal, "admin/surveys.html.j2", surveys=rows, templates=templates
    )


def _action_error(
    request: Request, state: StateDep, principal: Principal, exc: AllegianceError, back: str
) -> Response:
    return admin_page(
        request,
        state,
        principal,
        "admin/error.html.j2",
        status_code=409 if exc.key.startswith("survey.store.") else 400,
        message=exc.render(lang_of(request)),
        back=back,
    )


@router.post("/surveys")
def survey_create(request: Request, state: StateDep, principal: Manager, form: FormDep) -> Response:
    template = form.get("template")
    slug = form.get("slug")
    name = str(template or "").strip()
    wanted = str(slug or "").strip().lower() or None
    try:
        with state.sessions() as session:
            survey = store.create_survey_from_template(session, name, slug=wanted, commit=False)
            record_audit(
                session,
                "survey.create",
                actor=principal.actor,
                target_type="survey",
                target_id=survey.slug,
                details={"template": name},
                ip=client_ip(request),
                commit=False,
            )
            session.commit()
            created = survey.slug
    except AllegianceError as exc:
        return _action_error(request, state, principal, exc, "/admin/surveys")
    return done(f"/admin/surveys/{created}", "created")


def _survey_or_404(state: StateDep, slug: str) -> Any:
    with state.sessions() as session:
        survey = store.get_survey(session, slug)
        if survey is None:
            raise PageError(404, "web.error.no_survey")
        return survey


@router.get("/surveys/{slug}")
def survey_detail(request: Request, slug: str, state: StateDep, principal: Viewer) -> Response:
    survey = _survey_or_404(state, slug)
    with state.sessions() as session:
        definition = store.survey_definition(session, slug)
        public = public_link_enabled(session, slug)
        wave = store.current_wave(session, survey)
        wave_name = wave.name if wave is not None else None
    frame = None
    with state.sessions() as session:
        frame = store.surveys_frame(session)
    row = frame[frame["slug"] == slug].iloc[0]
    rates = response_rates(state.engine)
    lang = lang_of(request)
    return admin_page(
        request,
        state,
        principal,
        "admin/survey.html.j2",
        slug=slug,
        title=definition.title.get(lang),
        status=survey.status,
        survey_version=int(survey.version),
        template=survey.template or "",
        wave=wave_name,
        n_responses=int(row["n_responses"]),
        n_invitations=int(row["n_invitations"]),
        n_drafts=int(row["n_drafts"]),
        rate=_rate(rates, slug),
        n_pages=len(definition.pages),
        n_questions=len(definition.questions()),
        public=public,
        public_url=f"{base_url(request, state)}/s/{slug}",
    )


def _survey_action(
    request: Request,
    state: StateDep,
    principal: Principal,
    slug: str,
    action: str,
    run: Any,
    details: dict[str, Any] | None = None,
) -> Response | None:
    _survey_or_404(state, slug)
    try:
        with state.sessions() as session:
            run(session)
            record_audit(
                session,
                action,
                actor=principal.actor,
                target_type="survey",
                target_id=slug,
                details=details or {},
                ip=client_ip(request),
                commit=False,
            )
            session.commit()
    except AllegianceError as exc:
        return _action_error(request, state, principal, exc, f"/admin/surveys/{slug}")
    return None


@router.post("/surveys/{slug}/publish")
def survey_publish(
    request: Request, slug: str, state: StateDep, principal: Manager, form: FormDep
) -> Response:
    raw = form.get("wave")
    wave = raw.strip() if isinstance(raw, str) and raw.strip() else None
    failed = _survey_action(
        request,
        state,
        principal,
        slug,
        "survey.publish",
        lambda s: store.publish_survey(s, slug, wave=wave, commit=False),
        {"wave": wave},
    )
    return failed or done(f"/admin/surveys/{slug}", "published")


@router.post("/surveys/{slug}/close")
def survey_close(
    request: Request, slug: str, state: StateDep, principal: Manager, form: FormDep
) -> Response:
    failed = _survey_action(
        request,
        state,
        principal,
        slug,
        "survey.close",
        lambda s: store.close_survey(s, slug, commit=False),
    )
    return failed or done(f"/admin/surveys/{slug}", "closed")


@router.post("/surveys/{slug}/public-link")
def survey_public_link(
    request: Request, slug: str, state: StateDep, principal: Manager, form: FormDep
) -> Response:
    _survey_or_404(state, slug)
    enabled = form.get("enabled") == "1"
    with state.sessions() as session:
        set_public_link(session, slug, enabled, actor=principal.actor, ip=client_ip(request))
    return done(f"/admin/surveys/{slug}", "public_on" if enabled else "public_off")


@router.get("/surveys/{slug}/qr.svg")
def survey_qr(request: Request, slug: str, state: StateDep, principal: Manager) -> Response:
    _survey_or_404(state, slug)
    url = f"{base_url(request, state)}/s/{slug}"
    return Response(qr_svg(url, title=slug), media_type="image/svg+xml")
