"""Fixtures for the store tests: one suite, two backends (SQLite file, PostgreSQL schema).

PostgreSQL comes from ALLEGIANCE_TEST_POSTGRES_URL (default: the local ``test``
database). Every test gets its own freshly created schema (reached through the
``search_path`` connect option) that is dropped afterwards, so the tests never see
or touch other data in that database. When PostgreSQL cannot be reached the
PostgreSQL tests are skipped, or fail when CI=true.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from allegiance.errors import StoreError
from allegiance.store import db, repository

PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_test_url() -> str:
    return os.environ.get("ALLEGIANCE_TEST_POSTGRES_URL", PG_DEFAULT_URL)


@dataclass
class PostgresServer:
    """A reachable PostgreSQL and the prefix of the schemas this test session creates."""

    url: str
    engine: Engine
    prefix: str
    counter: itertools.count[int]

    def new_schema(self) -> tuple[str, str]:
        """Create an empty schema; return its name and a URL whose search_path is that schema."""
        name = f"{self.prefix}_{next(self.counter)}"
        with self.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        url = make_url(db.normalize_url(self.url)).update_query_dict(
            {"options": f"-csearch_path={name}"}
        )
        return name, url.render_as_string(hide_password=False)

    def drop_schema(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    url = postgres_test_url()
    try:
        engine = db.make_engine(url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, StoreError) as exc:
        message = f"PostgreSQL is not reachable at {url}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    server = PostgresServer(
        url=url,
        engine=engine,
        prefix=f"allegiance_store_test_{secrets.token_hex(4)}",
        counter=itertools.count(1),
    )
    try:
        yield server
    finally:
        # Drop anything a crashed test left behind (only this session's schemas).
        with engine.begin() as conn:
            left = conn.execute(
                text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"),
                {"p": server.prefix + "_%"},
            ).scalars()
            for name in list(left):
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file in tmp_path, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield db.sqlite_url(tmp_path / "store.db")
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name, url = server.new_schema()
    try:
        yield url
    finally:
        server.drop_schema(name)


@pytest.fixture
def bare_engine(db_url: str) -> Iterator[Engine]:
    """An engine on the empty database (not migrated)."""
    engine = db.make_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def engine(bare_engine: Engine) -> Engine:
    """An engine on a database upgraded to the newest migration."""
    db.upgrade(bare_engine)
    return bare_engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with db.session_factory(engine)() as s:
        yield s


@pytest.fixture
def wave_id(session: Session) -> int:
    """A survey ``csat`` with one wave ``2024Q1``; returns the wave id."""
    survey = repository.create_survey(
        session,
        code="csat",
        title_en="Customer satisfaction",
        title_zh="客户满意度",
        definition={"questions": [{"id": "q1", "scale": "five_level"}]},
    )
    return int(repository.get_or_create_wave(session, survey.id, "2024Q1").id)
