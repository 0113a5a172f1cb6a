"""Fixtures for the background-job tests: the store's databases (SQLite and PostgreSQL,
tests/store/conftest.py) and the local Redis on 127.0.0.1:6379 (ALLEGIANCE_TEST_REDIS_URL),
which is skipped when missing, or fails when CI=true."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from tests.conftest import need
from tests.store.conftest import bare_engine, db_url, engine, postgres_server

__all__ = ["bare_engine", "db_url", "engine", "postgres_server", "redis_url", "rq_queue"]


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("ALLEGIANCE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        from redis import Redis
        from redis.exceptions import RedisError

        Redis.from_url(url, socket_connect_timeout=2).ping()
        ok = True
    except (ImportError, RedisError):
        ok = False
    need(ok, f"Redis at {url} (and the rq package)")
    return url


@pytest.fixture
def rq_queue(redis_url: str) -> Iterator[str]:
    """A queue name of this test alone; its jobs are deleted afterwards."""
    name = f"allegiance-test-{uuid.uuid4().hex[:12]}"
    yield name
    from redis import Redis
    from rq import Queue

    Queue(name, connection=Redis.from_url(redis_url)).delete(delete_jobs=True)
