"""Typed dependencies of the routes: the app's state, a database session, the CSRF check,
the signed-in admin and the permission every admin route asks for."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import FormData

from allegiance.security.accounts import Principal, load_principal
from allegiance.security.secret import SecretKey
from allegiance.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SESSION_COOKIE,
    SessionData,
    Signer,
    csrf_ok,
)
from allegiance.web.settings import WebSettings

__all__ = [
    "AdminDep",
    "AppState",
    "FormDep",
    "LoginRequired",
    "PageError",
    "SessionDep",
    "StateDep",
    "client_ip",
    "csrf_guard",
    "get_state",
    "require",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class AppState:
    """What every request needs: settings, database, the secret's signer."""

    settings: WebSettings
    engine: Engine
    sessions: sessionmaker[Session]
    secret: SecretKey
    signer: Signer
    database_url: str

    @property
    def session_max_age_s(self) -> float:
        return max(self.settings.session_hours, 0.01) * 3600.0


class PageError(Exception):
    """A page that cannot be shown: the status and a catalogue key (with parameters)."""

    def __init__(self, status: int, key: str, /, **params: Any) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.params = params


class LoginRequired(Exception):
    """An admin page asked for without a (valid) session: go to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.allegiance
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def db_session(state: StateDep) -> Iterator[Session]:
    with state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(db_session)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def csrf_guard(request: Request) -> AsyncIterator[FormData | None]:
    """Every POST (PUT, PATCH, DELETE) must carry the visitor's CSRF token: 403 if not.

    A dependency of the whole app, so no route can forget it; gives the parsed form and
    closes its uploaded files after the request.
    """
    if request.method in SAFE_METHODS:
        yield None
        return
    state = get_state(request)
    form = await request.form(max_files=2, max_fields=5000, max_part_size=1024 * 1024)
    try:
        token = form.get(CSRF_FIELD)
        nonce = request.cookies.get(CSRF_COOKIE)
        if not csrf_ok(state.signer, nonce, token if isinstance(token, str) else None):
            raise PageError(403, "web.error.csrf")
        yield form
    finally:
        await form.close()


async def form_data(form: Annotated[FormData | None, Depends(csrf_guard)]) -> FormData:
    if form is None:  # pragma: no cover - only POST routes ask for the form
        raise PageError(405, "web.error.method")
    return form


FormDep = Annotated[FormData, Depends(form_data)]


def current_admin(request: Request, state: StateDep) -> Principal | None:
    """The signed-in user (re-read from the database: a disabled user is signed out)."""
    data = SessionData.read(
        state.signer, request.cookies.get(SESSION_COOKIE), max_age_s=state.session_max_age_s
    )
    if data is None:
        return None
    with state.sessions() as session:
        return load_principal(session, data.user_id)


AdminDep = Annotated[Principal | None, Depends(current_admin)]


def require(permission: str) -> Callable[..., Principal]:
    """A dependency: the signed-in user if they may do ``permission``; else the sign-in page
    (not signed in) or 403 (signed in without the right)."""
    from allegiance.security.permissions import check_permission

    check_permission(permission)

    def dependency(request: Request, principal: AdminDep) -> Principal:
        if principal is None:
            path = request.url.path
            if request.url.query:
                path += "?" + request.url.query
            raise LoginRequired(path)
        if not principal.can(permission):
            raise PageError(403, "web.error.forbidden", permission=permission)
        return principal

    dependency.__name__ = f"require_{permission.replace('.', '_')}"
    return dependency
