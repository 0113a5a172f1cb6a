"""Who calls the API and what they may do: bearer tokens, permissions, a rate limit.

Every request carries ``Authorization: Bearer alg_…`` (a token made with ``allegiance users
token create``); :func:`api_principal` checks it with
:func:`allegiance.security.verify_api_token` (401 when it is missing, unknown, revoked,
expired or its user is disabled). Every route declares one permission with
:func:`needs`; the token's scopes **and** its user's role must both allow it
(:meth:`allegiance.security.Principal.can`), else 403. No cookie is read, so there is no
CSRF to guard against.

Each token may make at most ``ALLEGIANCE_API_RATE_PER_MINUTE`` requests a minute (a fixed
window per token in this process; 0 switches the limit off); beyond it the API answers 429
with ``Retry-After``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from allegiance.security.accounts import Principal, verify_api_token
from allegiance.security.permissions import check_permission
from allegiance.web.api.errors import ApiError, error_responses
from allegiance.web.deps import StateDep

__all__ = [
    "PERMISSION_KEY",
    "ApiPrincipal",
    "RateLimiter",
    "api_principal",
    "needs",
    "no_nul_in_url",
]

#: The OpenAPI extension (and route attribute) naming a route's permission.
PERMISSION_KEY = "x-permission"

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API token: `Authorization: Bearer alg_…` (allegiance users token create).",
)


class RateLimiter:
    """At most ``per_minute`` hits per key in each minute (fixed windows; thread-safe)."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[Any, tuple[int, int]] = {}

    def hit(self, key: Any, /) -> int:
        """Count one hit; 0 when allowed, else the seconds until the next window."""
        if self.per_minute <= 0:
            return 0
        now = self._clock()
        window = int(now // 60)
        with self._lock:
            start, count = self._windows.get(key, (window, 0))
            if start != window:
                count = 0
                if len(self._windows) > 10_000:  # forget old windows now and then
                    self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
            count += 1
            self._windows[key] = (window, count)
        if count > self.per_minute:
            return max(1, int(60 - now % 60))
        return 0


def no_nul_in_url(request: Request) -> None:
    """422 for a path or query with a NUL character (no database column can hold one)."""
    if "\x00" in request.url.path or any(
        "\x00" in k + v for k, v in request.query_params.multi_items()
    ):
        raise ApiError(422, details=[{"code": "nul_character"}])


def _unauthorized(key: str) -> ApiError:
    return ApiError(401, key, headers={"WWW-Authenticate": 'Bearer realm="allegiance"'})


def api_principal(
    request: Request,
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The principal behind the request's bearer token (401 if none is valid; 429 when the
    token is over its rate)."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized("api.error.unauthorized")
    with state.sessions() as session:
        principal = verify_api_token(session, credentials.credentials)
    if principal is None:
        raise _unauthorized("api.error.bad_token")
    limiter: RateLimiter = request.app.state.api_limiter
    wait = limiter.hit(principal.token_id)
    if wait:
        raise ApiError(
            429, "api.error.rate_limited", headers={"Retry-After": str(wait)}, seconds=wait
        )
    return principal


ApiPrincipal = Annotated[Principal, Depends(api_principal)]


def _require(permission: str) -> Callable[[Principal], Principal]:
    def dependency(principal: ApiPrincipal) -> Principal:
        if not principal.can(permission):
            raise ApiError(403, "api.error.forbidden", permission=permission)
        return principal

    dependency.__name__ = f"api_require_{permission.replace('.', '_')}"
    return dependency


def needs(permission: str, /, *statuses: int) -> dict[str, Any]:
    """The route options of a route that needs ``permission``: the check itself, the
    permission named in the OpenAPI document (``x-permission``) and the documented errors
    (401, 403, 422, 429, 500 and ``statuses``)."""
    check_permission(permission)
    return {
        "dependencies": [Depends(_require(permission))],
        "openapi_extra": {PERMISSION_KEY: permission},
        "responses": error_responses(401, 403, 422, 429, 500, *statuses),
    }
