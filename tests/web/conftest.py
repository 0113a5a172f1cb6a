"""Fixtures for the web tests: the app on SQLite and on PostgreSQL, users of every role,
published surveys, and helpers that read forms the way a browser does.

The database fixtures are those of tests/store/conftest.py (a missing PostgreSQL skips, or
fails under CI=true). Users get a password hash made once per session (argon2 takes about a
second on purpose); most tests sign in by setting the signed session cookie, the sign-in
tests go through the login form.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.store.conftest import bare_engine, db_url, engine, postgres_server

from allegiance.security.passwords import hash_password
from allegiance.security.secret import SecretKey
from allegiance.store import admin, db
from allegiance.store import surveys as store
from allegiance.web import WebSettings, create_app
from allegiance.web.security import SESSION_COOKIE, SessionData, Signer

__all__ = ["bare_engine", "db_url", "engine", "postgres_server"]

PASSWORD = "correct horse battery staple"
ROLES = ("admin", "analyst", "viewer", "agent")
SECRET = SecretKey(b"test-secret-key-" * 4, source="test")


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@dataclass
class Web:
    """The app under test and its database."""

    app: Any
    engine: Engine
    url: str
    users: dict[str, int]

    def client(self, **kwargs: Any) -> TestClient:
        return TestClient(self.app, base_url="https://testserver", **kwargs)

    def session(self) -> Session:
        return db.session_factory(self.engine)()

    def sign_in(self, client: TestClient, role: str) -> TestClient:
        """Sign ``client`` in as the user of ``role`` (a signed session cookie)."""
        cookie = SessionData(user_id=self.users[role], issued_at=time.time()).write(Signer(SECRET))
        client.cookies.set(SESSION_COOKIE, cookie, domain="testserver.local", path="/admin")
        return client


def make_web(url: str, engine: Engine, password_hash: str, **settings: Any) -> Web:
    users = {}
    with db.session_factory(engine)() as session:
        for role in ROLES:
            user = admin.add_user(session, username=role, role=role, password_hash=password_hash)
            users[role] = int(user.id)
    app = create_app(WebSettings(database_url=url, **settings), secret=SECRET)
    return Web(app=app, engine=engine, url=url, users=users)


@pytest.fixture
def web(db_url: str, engine: Engine, password_hash: str) -> Iterator[Web]:
    """The app (not in dev mode: Secure cookies, https test client) on a migrated database."""
    return make_web(db_url, engine, password_hash)


@pytest.fixture
def sqlite_web(tmp_path: Any, password_hash: str) -> Iterator[Web]:
    """The app on SQLite only (for tests that need not run on both databases)."""
    url = db.sqlite_url(tmp_path / "web.db")
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        yield make_web(url, engine, password_hash)
    finally:
        engine.dispose()


def publish(web: Web, template: str, *, slug: str | None = None, public: bool = False) -> str:
    """A published survey from a shipped template; returns its slug."""
    from allegiance.web.queries import set_public_link

    with web.session() as session:
        survey = store.create_survey_from_template(session, template, slug=slug)
        name = survey.slug
        store.publish_survey(session, name, wave="W1")
        if public:
            set_public_link(session, name, True, actor="test", ip=None)
    return name


def invite(web: Web, slug: str, *, language: str | None = None, customer: str = "c1") -> str:
    """One personal invitation; returns its token."""
    with web.session() as session:
        row: dict[str, Any] = {"customer_id": customer}
        if language:
            row["language"] = language
        return store.create_invitations(session, slug, [row])[0].token


# ------------------------------------------------------------------ reading pages


_INPUT = re.compile(r"<(input|textarea|select)\b([^>]*)>", re.S)
_ATTR = re.compile(r'([a-zA-Z-]+)(?:="([^"]*)")?')


def attrs(tag: str) -> dict[str, str]:
    return {m.group(1): m.group(2) or "" for m in _ATTR.finditer(tag)}


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def fields(html: str) -> dict[str, list[dict[str, str]]]:
    """The form's inputs by name, in page order."""
    out: dict[str, list[dict[str, str]]] = {}
    for match in _INPUT.finditer(html):
        a = attrs(match.group(2))
        a["_tag"] = match.group(1)
        if "name" in a:
            out.setdefault(a["name"], []).append(a)
    return out


def question_ids(html: str) -> list[str]:
    """The ids of the questions a form page shows, in order."""
    return re.findall(r'class="question q-[a-z_]+[^"]*" id="q-([A-Za-z0-9_]+)"', html)


def answer_everything(html: str) -> dict[str, Any]:
    """Valid answers for every question on a form page, chosen the way a person might:
    the middle of each scale, the first choice, consistent AHP judgements (all equal),
    allocations that add up, and text."""
    data: dict[str, Any] = {}
    found = fields(html)
    for name, inputs in found.items():
        if not name.startswith("q."):
            continue
        kind = inputs[0].get("type", inputs[0]["_tag"])
        if name.endswith(".keep"):
            continue
        if kind == "radio":
            values = [i["value"] for i in inputs]
            data[name] = "1" if "1" in values and ":" in name else values[len(values) // 2]
        elif kind == "checkbox":
            usable = [i["value"] for i in inputs]
            data[name] = [usable[0]]
        elif kind == "number":
            data[name] = None  # filled below, per allocation question
        elif name.endswith(".other"):
            data[name] = "something else"
        else:
            data[name] = "A comment 评论"
    # allocations: every option's points, adding up to the question's total
    for match in re.finditer(
        r'class="question q-allocation[^"]*" id="q-([A-Za-z0-9_]+)" data-total="(\d+)"', html
    ):
        qid, total = match.group(1), int(match.group(2))
        names = [n for n in found if n.startswith(f"q.{qid}.")]
        share = total // len(names)
        for i, n in enumerate(names):
            data[n] = str(total - share * (len(names) - 1) if i == 0 else share)
    # a chosen "other" option needs its text; an unchosen other needs none
    return {k: v for k, v in data.items() if v is not None}


def walk_and_submit(client: TestClient, url: str, *, limit: int = 40) -> list[list[str]]:
    """Answer every screen of the form at ``url`` and submit; returns the question ids of each
    screen. Fails if a screen comes back with errors."""
    seen: list[list[str]] = []
    for _ in range(limit):
        page = client.get(url)
        assert page.status_code == 200, page.text[:500]
        html = page.text
        seen.append(question_ids(html))
        data = answer_everything(html)
        data.update(csrf=csrf_of(html), screen=hidden(html, "screen"))
        last = 'value="submit"' in html
        data["action"] = "submit" if last else "next"
        sent = client.post(url, data=data, follow_redirects=False)
        assert sent.status_code == 303, (sent.status_code, _errors(sent.text))
        if sent.headers["location"].endswith("/thanks"):
            return seen
    raise AssertionError("the form did not end")


def _errors(html: str) -> list[str]:
    return re.findall(r'<ul class="errors"[^>]*>(.*?)</ul>', html, re.S)
