"""The public survey form: ``/s/{slug}`` (the public link) and ``/i/{token}`` (an invitation).

Both work without JavaScript, page by page (see :mod:`allegiance.web.forms`). Every "Next"
checks the page's answers and saves them as the invitation's draft (so a respondent can
leave and come back through the same link); "Save" saves without checking; "Submit" stores
the response with :func:`allegiance.store.surveys.submit_response`, which allows one
response per token in the database, and the thank-you page is shown only after that
transaction has committed.

A visitor of the public link gets an invitation of their own when they press "Start"
(kept in an HttpOnly cookie for that survey's address), and from then on answers exactly
like an invited respondent.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import text
from starlette.datastructures import FormData

from allegiance._version import __version__
from allegiance.errors import StoreError
from allegiance.i18n import Lang, normalize_lang
from allegiance.store import surveys as store
from allegiance.survey.responses import ResponseCheck, ResponseError, validate_response
from allegiance.web import forms
from allegiance.web.deps import FormDep, PageError, StateDep
from allegiance.web.queries import public_link_enabled
from allegiance.web.render import page, pick_lang

__all__ = ["ANON_COOKIE_PREFIX", "router"]

router = APIRouter()

ANON_COOKIE_PREFIX = "al_s_"
ACTIONS = frozenset({"next", "back", "save", "submit"})


# ------------------------------------------------------------------------------ health


@router.get("/healthz", include_in_schema=True)
def healthz(state: StateDep) -> JSONResponse:
    """200 when the database answers, 503 when it does not (for load balancers)."""
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database is "unhealthy"
        return JSONResponse(
            {"status": "error", "database": "unreachable", "version": __version__},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": "ok", "version": __version__})


# ------------------------------------------------------------------------------ helpers


def _open(state: Any, token: str, *, mark_opened: bool = True) -> store.InvitationState:
    with state.sessions() as session:
        try:
            return store.open_invitation(session, token, mark_opened=mark_opened)
        except StoreError as exc:
            if exc.key == "survey.store.token_unknown":
                raise PageError(404, "web.error.no_invitation") from None
            raise


def _lang(request: Request, inv: store.InvitationState, form: FormData | None = None) -> Lang:
    if form is not None:
        posted = form.get("lang")
        chosen = normalize_lang(posted) if isinstance(posted, str) else None
        if chosen is not None:
            return chosen
    return pick_lang(request, preferred=inv.language, default=None)


def _title(inv: store.InvitationState, lang: str) -> str:
    return inv.definition.title.get(lang)


def _status_page(
    request: Request, state: Any, inv: store.InvitationState, lang: Lang
) -> Response | None:
    if inv.submitted:
        which = "answered"
    elif inv.survey_status != "published":
        which = "closed"
    else:
        return None
    return page(
        request,
        state,
        "form/message.html.j2",
        lang=lang,
        title=_title(inv, lang),
        heading=_msg(f"web.form.{which}_title", lang),
        message=_msg(f"web.form.{which}", lang),
    )


def _msg(key: str, lang: str, **params: Any) -> str:
    from allegiance.i18n import t

    return t(key, lang, **params)


def _current(visible: list[forms.Screen], wanted: str | None) -> forms.Screen:
    for screen in visible:
        if screen.id == wanted:
            return screen
    return visible[0]


def _render(
    request: Request,
    state: Any,
    inv: store.InvitationState,
    *,
    lang: Lang,
    all_screens: tuple[forms.Screen, ...],
    visible: list[forms.Screen],
    visible_q: set[str],
    current: forms.Screen,
    answers: dict[str, Any],
    form_url: str,
    errors: dict[str, list[Any]] | None = None,
    consistency: dict[str, float] | None = None,
    status_code: int = 200,
) -> Response:
    definition = inv.definition
    qids = [q for q in current.questions if q in visible_q]
    views = forms.question_views(
        definition,
        qids,
        answers,
        lang=lang,
        respondent=inv.token,
        errors=errors,
        consistency=consistency,
    )
    position = visible.index(current) if current in visible else 0
    page_def = current.page
    return page(
        request,
        state,
        "form/form.html.j2",
        lang=lang,
        status_code=status_code,
        title=definition.title.get(lang),
        description=(
            definition.description.get(lang)
            if definition.description is not None and position == 0
            else None
        ),
        intro=definition.intro.get(lang)
        if definition.intro is not None and position == 0
        else None,
        page_title=(
            page_def.title.get(lang)
            if page_def.title is not None and current.first_of_page
            else None
        ),
        page_intro=(
            page_def.intro.get(lang)
            if page_def.intro is not None and current.first_of_page
            else None
        ),
        questions=views,
        error_count=sum(1 for v in views if v.errors),
        screen=current.id,
        position=position + 1,
        n_screens=len(visible),
        has_back=position > 0,
        is_last=position == len(visible) - 1,
        form_url=form_url,
    )


def _problem_screen(
    all_screens: tuple[forms.Screen, ...], check: ResponseCheck, visible_q: set[str]
) -> forms.Screen | None:
    wrong = set(check.by_question())
    for screen in all_screens:
        if any(q in wrong and q in visible_q for q in screen.questions):
            return screen
    return None


def _save(token: str, state: Any, answers: dict[str, Any], screen: str) -> None:
    with state.sessions() as session:
        store.save_draft(session, token, answers, page=screen)


# ------------------------------------------------------------------------------ the form


def show_form(request: Request, state: Any, token: str, *, form_url: str) -> Response:
    """GET: the screen the respondent is on (or the answered / closed page)."""
    inv = _open(state, token)
    lang = _lang(request, inv)
    status = _status_page(request, state, inv, lang)
    if status is not None:
        return status
    definition = inv.definition
    all_screens = forms.screens(definition, token)
    answers = dict(inv.draft_answers)
    visible, visible_q = forms.visible_screens(definition, all_screens, answers)
    current = _current(visible, inv.draft_page)
    return _render(
        request,
        state,
        inv,
        lang=lang,
        all_screens=all_screens,
        visible=visible,
        visible_q=visible_q,
        current=current,
        answers=answers,
        form_url=form_url,
    )


#: Store refusals that mean "this link can no longer take answers" (another press of the same
#: link submitted meanwhile, or the survey was closed): the form then shows the status page.
_GONE = ("survey.store.already_submitted", "survey.store.not_open")


def post_form(
    request: Request,
    state: Any,
    token: str,
    form: FormData,
    *,
    form_url: str,
    thanks_url: str,
) -> Response:
    """POST: take one screen's answers, then go back, save, go on, or submit.

    Any write may find that the link was answered or closed since the page was read (two
    presses of one link, two tabs): the respondent then sees the "already answered" or
    "closed" page, never an error."""
    try:
        return _post_form(request, state, token, form, form_url=form_url, thanks_url=thanks_url)
    except StoreError as exc:
        if exc.key in _GONE:
            return show_form(request, state, token, form_url=form_url)
        raise


def _post_form(
    request: Request,
    state: Any,
    token: str,
    form: FormData,
    *,
    form_url: str,
    thanks_url: str,
) -> Response:
    inv = _open(state, token, mark_opened=False)  # saving or submitting records the opening
    lang = _lang(request, inv, form)
    status = _status_page(request, state, inv, lang)
    if status is not None:
        return status
    definition = inv.definition
    all_screens = forms.screens(definition, token)
    screen_id = form.get("screen")
    current = next((s for s in all_screens if s.id == screen_id), None)
    if current is None:
        return RedirectResponse(form_url, status_code=303)
    raw_action = form.get("action")
    action = raw_action if isinstance(raw_action, str) and raw_action in ACTIONS else "next"
    given = forms.parse_screen(definition, current.questions, form)
    answers = forms.merge(definition, inv.draft_answers, current.questions, given)

    if action == "back":
        visible, _ = forms.visible_screens(definition, all_screens, answers)
        earlier = [s for s in visible if s.index < current.index]
        _save(token, state, answers, earlier[-1].id if earlier else current.id)
        return RedirectResponse(form_url, status_code=303)
    if action == "save":
        _save(token, state, answers, current.id)
        return page(
            request,
            state,
            "form/message.html.j2",
            lang=lang,
            title=_title(inv, lang),
            heading=_msg("web.form.saved_title", lang),
            message=_msg("web.form.saved", lang),
            resume_url=str(request.base_url).rstrip("/") + f"/i/{token}",
            continue_url=form_url,
        )

    accept = forms.accepted_inconsistent(definition, all_screens, current, form)
    check = validate_response(definition, answers, accept_inconsistent=accept)
    visible_q = set(check.visible)
    visible = [s for s in all_screens if any(q in visible_q for q in s.questions)]
    here = [q for q in current.questions if q in visible_q]
    issues = forms.screen_issues(check, here)

    def again(
        screen: forms.Screen, problems: dict[str, list[Any]], cr: dict[str, float]
    ) -> Response:
        _save(token, state, answers, screen.id)
        return _render(
            request,
            state,
            inv,
            lang=lang,
            all_screens=all_screens,
            visible=visible,
            visible_q=visible_q,
            current=screen,
            answers=answers,
            form_url=form_url,
            errors=problems,
            consistency=cr,
            status_code=422,
        )

    if issues:
        return again(current, issues, check.consistency)
    later = [s for s in visible if s.index > current.index]
    if later:
        _save(token, state, answers, later[0].id)
        return RedirectResponse(form_url, status_code=303)
    if not check.ok:
        wrong = _problem_screen(all_screens, check, visible_q)
        if wrong is not None:
            return again(wrong, check.by_question(), check.consistency)
    try:
        with state.sessions() as session:
            store.submit_response(
                session,
                token,
                answers,
                user_agent=request.headers.get("user-agent"),
                language=lang,
                accept_inconsistent=accept,
            )
    except ResponseError as exc:
        wrong = _problem_screen(all_screens, exc.check, set(exc.check.visible)) or current
        return again(wrong, exc.check.by_question(), exc.check.consistency)
    # The response is committed: only now is it acknowledged.
    return RedirectResponse(thanks_url, status_code=303)


def thanks(request: Request, state: Any, token: str, *, form_url: str) -> Response:
    inv = _open(state, token)
    lang = _lang(request, inv)
    if not inv.submitted:
        return RedirectResponse(form_url, status_code=303)
    definition = inv.definition
    message = (
        definition.thank_you.get(lang)
        if definition.thank_you is not None
        else _msg("web.form.thanks", lang)
    )
    return page(
        request,
        state,
        "form/message.html.j2",
        lang=lang,
        title=definition.title.get(lang),
        heading=_msg("web.form.thanks_title", lang),
        message=message,
        done=True,
    )


# ------------------------------------------------------------------------------ routes


@router.get("/i/{token}")
def invitation_form(request: Request, token: str, state: StateDep) -> Response:
    return show_form(request, state, token, form_url=f"/i/{token}")


@router.post("/i/{token}")
def invitation_submit(request: Request, token: str, state: StateDep, form: FormDep) -> Response:
    return post_form(
        request, state, token, form, form_url=f"/i/{token}", thanks_url=f"/i/{token}/thanks"
    )


@router.get("/i/{token}/thanks")
def invitation_thanks(request: Request, token: str, state: StateDep) -> Response:
    return thanks(request, state, token, form_url=f"/i/{token}")


def _anon_cookie(slug: str) -> str:
    return ANON_COOKIE_PREFIX + slug


def _public_survey(state: Any, slug: str) -> str:
    """The status of a survey whose public link is open (else the "no such survey" page)."""
    with state.sessions() as session:
        survey = store.get_survey(session, slug)
        if survey is None or not public_link_enabled(session, slug):
            raise PageError(404, "web.error.no_survey")
        return str(survey.status)


def _anon_token(request: Request, state: Any, slug: str) -> str | None:
    token = request.cookies.get(_anon_cookie(slug))
    if not token or len(token) > 64:
        return None
    with state.sessions() as session:
        inv = store.get_invitation(session, token)
        if inv is None or inv.survey.slug != slug:
            return None
    return token


@router.get("/s/{slug}")
def public_form(request: Request, slug: str, state: StateDep) -> Response:
    status = _public_survey(state, slug)
    token = _anon_token(request, state, slug)
    if token is not None:
        return show_form(request, state, token, form_url=f"/s/{slug}")
    lang = pick_lang(request)
    with state.sessions() as session:
        definition = store.survey_definition(session, slug)
    if status != "published":
        return page(
            request,
            state,
            "form/message.html.j2",
            lang=lang,
            title=definition.title.get(lang),
            heading=_msg("web.form.closed_title", lang),
            message=_msg("web.form.closed", lang),
        )
    n_questions = len(definition.questions())
    return page(
        request,
        state,
        "form/start.html.j2",
        lang=lang,
        title=definition.title.get(lang),
        description=definition.description.get(lang) if definition.description else None,
        intro=definition.intro.get(lang) if definition.intro else None,
        n_questions=n_questions,
        start_url=f"/s/{slug}/start",
    )


@router.post("/s/{slug}/start")
def public_start(request: Request, slug: str, state: StateDep, form: FormDep) -> Response:
    _public_survey(state, slug)
    if _anon_token(request, state, slug) is not None:
        return RedirectResponse(f"/s/{slug}", status_code=303)
    posted = form.get("lang")
    lang = normalize_lang(posted) if isinstance(posted, str) else None
    with state.sessions() as session:
        try:
            inv = store.anonymous_invitation(session, slug, language=lang or pick_lang(request))
        except StoreError as exc:
            if exc.key == "survey.store.not_open":
                return RedirectResponse(f"/s/{slug}", status_code=303)
            raise
        token = inv.token
    response = RedirectResponse(f"/s/{slug}", status_code=303)
    response.set_cookie(
        _anon_cookie(slug),
        token,
        max_age=180 * 24 * 3600,
        path=f"/s/{slug}",
        httponly=True,
        samesite="lax",
        secure=not state.settings.dev,
    )
    return response


@router.post("/s/{slug}")
def public_submit(request: Request, slug: str, state: StateDep, form: FormDep) -> Response:
    _public_survey(state, slug)
    token = _anon_token(request, state, slug)
    if token is None:
        return RedirectResponse(f"/s/{slug}", status_code=303)
    return post_form(
        request, state, token, form, form_url=f"/s/{slug}", thanks_url=f"/s/{slug}/thanks"
    )


@router.get("/s/{slug}/thanks")
def public_thanks(request: Request, slug: str, state: StateDep) -> Response:
    _public_survey(state, slug)
    token = _anon_token(request, state, slug)
    if token is None:
        return RedirectResponse(f"/s/{slug}", status_code=303)
    return thanks(request, state, token, form_url=f"/s/{slug}")
