"""Fixtures for the API tests: the web app (SQLite and PostgreSQL, as in tests/web) with a
token per role, and a client that sends one.

Tokens are made through :func:`allegiance.security.create_api_token`, exactly as
``allegiance users token create`` makes them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import (
    Web,
    bare_engine,
    db_url,
    engine,
    invite,
    make_web,
    password_hash,
    postgres_server,
    publish,
)

from allegiance.security import ROLE_PERMISSIONS, create_api_token
from allegiance.store import db

__all__ = [
    "Api",
    "bare_engine",
    "db_url",
    "engine",
    "invite",
    "password_hash",
    "postgres_server",
    "publish",
]


@dataclass
class Api:
    """The app under test and a way to call it with a token."""

    web: Web
    names: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    clients: dict[str, TestClient] = field(default_factory=dict)

    def token(self, role: str, scopes: list[str] | tuple[str, ...] | None = None) -> str:
        """A new token of the user of ``role``: ``scopes`` (default: all the role has)."""
        wanted = list(scopes) if scopes is not None else sorted(ROLE_PERMISSIONS[role])
        with self.web.session() as session:
            made = create_api_token(
                session, role, name=f"t{next(self.names)}", scopes=wanted, actor="test"
            )
        return made.token

    def client(self, token: str | None = None, **kwargs: Any) -> TestClient:
        """A client sending ``token`` (one client per token, reused)."""
        if token is not None and not kwargs and token in self.clients:
            return self.clients[token]
        client = self.web.client(**kwargs)
        if token is not None:
            client.headers["Authorization"] = f"Bearer {token}"
            if not kwargs:
                self.clients[token] = client
        return client

    def as_role(self, role: str, **kwargs: Any) -> TestClient:
        return self.client(self.token(role), **kwargs)


@pytest.fixture
def api(db_url: str, engine: Any, password_hash: str) -> Api:
    """The API on SQLite and on PostgreSQL."""
    return Api(make_web(db_url, engine, password_hash))


@pytest.fixture
def sqlite_api(tmp_path: Any, password_hash: str) -> Iterator[Api]:
    """The API on SQLite only."""
    url = db.sqlite_url(tmp_path / "api.db")
    db.upgrade(url)
    eng = db.make_engine(url)
    try:
        yield Api(make_web(url, eng, password_hash))
    finally:
        eng.dispose()


def assert_envelope(got: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is ``status`` with the JSON error envelope (and ``code`` when given)."""
    assert got.status_code == status, (got.status_code, got.text[:500])
    assert got.headers["content-type"].startswith("application/json")
    body = got.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "message_zh", "details"}
    assert error["message"]
    assert error["message_zh"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message_zh"]), error["message_zh"]
    assert isinstance(error["details"], list)
    if code is not None:
        assert error["code"] == code, error
    return dict(error)
