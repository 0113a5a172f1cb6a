"""The REST API: ``/api/v1``, described by OpenAPI at ``/api/v1/openapi.json``.

:func:`create_api` builds it as its own FastAPI app, mounted at ``/api`` by
:func:`allegiance.web.create_app`, so it has its own error handlers (the JSON envelope of
:mod:`~allegiance.web.api.errors` for every error, unknown ``/api`` routes included) and no
cookies or CSRF: every request carries a bearer token (:mod:`~allegiance.web.api.auth`).

=================================================  ======================================
route                                              permission
=================================================  ======================================
``GET /api/v1/surveys``                            ``analyses.view``
``POST /api/v1/surveys``                           ``surveys.manage``
``GET /api/v1/surveys/{slug}``                     ``analyses.view``
``POST /api/v1/surveys/{slug}/publish``            ``surveys.manage``
``POST /api/v1/surveys/{slug}/close``              ``surveys.manage``
``GET|POST /api/v1/surveys/{slug}/invitations``    ``invitations.manage``
``GET /api/v1/surveys/{slug}/invitations/{id}``    ``invitations.manage``
``GET /api/v1/surveys/{slug}/responses[/{id}]``    ``responses.view_personal``
``POST /api/v1/surveys/{slug}/responses``          ``responses.import``
``GET /api/v1/surveys/{slug}/results``             ``analyses.view``
=================================================  ======================================

See docs/api.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI

from allegiance._version import __version__
from allegiance.web.deps import AppState

__all__ = ["API_PREFIX", "api_routes", "create_api"]

#: Where :func:`allegiance.web.create_app` mounts the API.
API_PREFIX = "/api"


def create_api(state: AppState, /) -> FastAPI:
    """The API app on ``state``'s database (mount it at :data:`API_PREFIX`)."""
    from allegiance.web.api import invitations, responses, results, surveys
    from allegiance.web.api.auth import RateLimiter, no_nul_in_url
    from allegiance.web.api.errors import install_handlers

    api = FastAPI(
        dependencies=[Depends(no_nul_in_url)],
        title="allegiance API",
        version=__version__,
        summary="Surveys, invitations, responses and results of an allegiance project.",
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    api.state.allegiance = state
    api.state.api_limiter = RateLimiter(state.settings.api_rate_per_minute)
    install_handlers(api)
    for module in (surveys, invitations, responses, results):
        api.include_router(module.router)
    return api


def api_routes(app: FastAPI, /) -> list[tuple[str, str, str | None]]:
    """Every (method, full path, permission) the API mounted in ``app`` answers, sorted."""
    from fastapi.routing import APIRoute
    from starlette.routing import Mount

    from allegiance.web.api.auth import PERMISSION_KEY

    out: set[tuple[str, str, str | None]] = set()

    def walk(routes: Any, prefix: str) -> None:
        for route in routes:
            if isinstance(route, Mount):
                walk(route.routes, prefix + route.path)
            elif getattr(route, "original_router", None) is not None:
                walk(route.original_router.routes, prefix)
            elif isinstance(route, APIRoute) and (prefix + route.path).startswith(API_PREFIX):
                extra = route.openapi_extra or {}
                permission = extra.get(PERMISSION_KEY)
                for method in route.methods or ():
                    out.add((method, prefix + route.path, permission))

    walk(app.routes, "")
    return sorted(out, key=lambda r: (r[1], r[0]))
