"""The app factory: :func:`create_app` builds the FastAPI app against one database::

    from allegiance.web import WebSettings, create_app
    app = create_app(WebSettings(database_url="sqlite:////srv/cx/allegiance.db"))

The database must be at the newest migration (``allegiance db upgrade``); the secret key
comes from ``ALLEGIANCE_SECRET_KEY`` (or ``..._FILE``), and only ``dev`` allows a random one.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from allegiance._version import __version__
from allegiance.errors import AllegianceError, StoreError
from allegiance.security.secret import SecretKey, load_secret_key
from allegiance.store.db import current_revision, heads, make_engine, normalize_url, session_factory
from allegiance.web.deps import AppState, LoginRequired, PageError, csrf_guard
from allegiance.web.render import page, pick_lang
from allegiance.web.security import SecurityHeaders, Signer
from allegiance.web.settings import WebSettings

__all__ = [
    "STATIC_FILES",
    "app_from_environment",
    "create_app",
    "resolve_database_url",
    "route_table",
]

_log = logging.getLogger("allegiance.web")

#: The files served under ``/static`` (nothing else is), with their media types.
STATIC_FILES: dict[str, str] = {
    "allegiance.css": "text/css; charset=utf-8",
    "form.js": "text/javascript; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "plotly.min.js": "text/javascript; charset=utf-8",
}


def resolve_database_url(settings: WebSettings, /) -> str:
    """The database: ``database_url``, else the project folder's (``project``)."""
    if settings.database_url:
        return normalize_url(settings.database_url)
    from allegiance.project import open_project

    return normalize_url(open_project(settings.project).database_url)


@cache
def _static(name: str) -> bytes:
    if name == "plotly.min.js":
        from plotly.offline import get_plotlyjs

        return str(get_plotlyjs()).encode("utf-8")
    return (resources.files("allegiance.web") / "static" / name).read_bytes()


def create_app(
    settings: WebSettings | None = None,
    /,
    *,
    secret: SecretKey | None = None,
    check_schema: bool = True,
) -> FastAPI:
    """The web app on the database of ``settings`` (see :mod:`allegiance.web`).

    ``secret`` overrides the key from the settings (tests). With ``check_schema`` a database
    that is not at the newest migration is refused with a clear :class:`StoreError`.
    """
    settings = settings if settings is not None else WebSettings()
    url = resolve_database_url(settings)
    key = secret if secret is not None else load_secret_key(dev=settings.dev, settings=settings)
    engine = make_engine(url)
    if check_schema:
        revision = current_revision(engine)
        head = heads()[0]
        if revision != head:
            engine.dispose()
            from sqlalchemy.engine import make_url

            raise StoreError(
                "admin.db_not_current",
                url=make_url(url).render_as_string(hide_password=True),
                revision=revision or "-",
                head=head,
            )
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        secret=key,
        signer=Signer(key),
        database_url=url,
    )
    app = FastAPI(
        title="allegiance",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(csrf_guard)],
    )
    app.state.allegiance = state

    from allegiance.web.routes import (
        admin,
        complaints,
        dashboards,
        invitations,
        jobs,
        public,
        responses,
    )

    app.include_router(public.router)
    app.include_router(admin.router)
    app.include_router(invitations.router)
    app.include_router(responses.router)
    app.include_router(dashboards.router)
    app.include_router(complaints.router)
    app.include_router(jobs.router)

    from allegiance.web.api import API_PREFIX, create_api

    app.mount(API_PREFIX, create_api(state))

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        media = STATIC_FILES.get(name)
        if media is None:
            raise PageError(404, "web.error.not_found")
        return Response(
            _static(name),
            media_type=media,
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        lang = pick_lang(request, default=settings.lang)
        return page(request, state, "home.html.j2", lang=lang, title="allegiance")

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        return _error_page(request, state, exc.status, exc.key, exc.params)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        return RedirectResponse(
            f"/admin/login?next={quote(exc.next_path, safe='/')}", status_code=303
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        key = {404: "web.error.not_found", 405: "web.error.method"}.get(
            exc.status_code, "web.error.bad_request"
        )
        return _error_page(request, state, exc.status_code, key, {})

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        return _error_page(request, state, 400, "web.error.bad_request", {})

    @app.exception_handler(AllegianceError)
    async def known_error(request: Request, exc: AllegianceError) -> Response:
        _log.warning("request %s %s failed: %s", request.method, request.url.path, exc.render("en"))
        return _error_page(
            request, state, 500 if isinstance(exc, StoreError) else 400, exc.key, exc.params
        )

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        _log.exception("request %s %s failed", request.method, request.url.path)
        return _error_page(request, state, 500, "web.error.server", {})

    uploads = {"/invitations"}

    def max_body(path: str) -> int:
        if path.startswith(API_PREFIX + "/"):
            return settings.max_upload_bytes
        if path.startswith("/admin/") and any(path.endswith(p) for p in uploads):
            return settings.max_upload_bytes
        return settings.max_form_bytes

    async def too_large(scope: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        from allegiance.i18n import t

        if str(scope.get("path", "")).startswith(API_PREFIX + "/"):
            from allegiance.web.api.errors import error_bytes

            return 413, [(b"content-type", b"application/json")], error_bytes(413)
        body = t("web.error.too_large", "zh") + "\n" + t("web.error.too_large", "en") + "\n"
        return 413, [(b"content-type", b"text/plain; charset=utf-8")], body.encode("utf-8")

    _add_rate_limits(app, state)
    app.add_middleware(
        SecurityHeaders, secure_cookies=not settings.dev, max_body=max_body, too_large=too_large
    )
    return app


def app_from_environment() -> FastAPI:
    """The app with every setting from the environment (the factory the workers of
    ``allegiance serve --workers N`` call)."""
    return create_app(WebSettings())


def route_table(app: FastAPI, /) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, sorted (for checks that cover every route)."""
    from fastapi.routing import APIRoute

    out: set[tuple[str, str]] = set()

    def walk(routes: Any) -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:  # FastAPI >= 0.16x keeps included routers as one entry
                walk(inner.routes)
            elif isinstance(route, APIRoute):
                out.update((method, route.path) for method in route.methods or ())

    walk(app.routes)
    return sorted(out)


def _add_rate_limits(app: FastAPI, state: AppState) -> None:
    """The limits on public submissions (:mod:`allegiance.web.ratelimit`); none in dev mode."""
    settings = state.settings
    if settings.dev:
        return
    from allegiance.web.ratelimit import SubmissionLimiter, SubmissionRateLimit

    limiter = SubmissionLimiter(
        per_ip=settings.rate_limit_per_ip, per_token=settings.rate_limit_per_token
    )
    if not limiter.active:
        return

    async def too_many(scope: Any, seconds: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        from allegiance.i18n import t

        request = Request(scope)
        lang = pick_lang(request, default=settings.lang)
        both = (lang, "en" if lang == "zh" else "zh")
        response = page(
            request,
            state,
            "error.html.j2",
            lang=lang,
            status_code=429,
            title=" · ".join(t("web.error.too_many_title", x) for x in both),
            message="\n".join(t("web.error.too_many", x, seconds=seconds) for x in both),
            status=429,
        )
        headers = [(k, v) for k, v in response.raw_headers if k != b"content-length"]
        return 429, headers, bytes(response.body)

    app.add_middleware(SubmissionRateLimit, limiter=limiter, refuse=too_many)


def _error_page(
    request: Request, state: AppState, status: int, key: str, params: dict[str, Any]
) -> Response:
    from allegiance.i18n import t

    lang = pick_lang(request, default=state.settings.lang)
    return page(
        request,
        state,
        "error.html.j2",
        lang=lang,
        status_code=status,
        title=t("web.error.title", lang),
        message=t(key, lang, **params),
        status=status,
    )
