"""Fixtures for the administration tests.

The database fixtures are those of tests/store/conftest.py (one suite, two backends: a
SQLite file, or a fresh PostgreSQL schema per test; a missing PostgreSQL skips, or fails
under CI=true). Passwords are hashed with cheap argon2id parameters (see
tests/security/conftest.py) unless a test restores the real ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from tests.store.conftest import bare_engine, db_url, engine, postgres_server, session

from allegiance.security import passwords

__all__ = ["bare_engine", "db_url", "engine", "fast_hashing", "postgres_server", "session"]

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[PasswordHasher]:
    """Cheap argon2id parameters for every test here (a test may set the real ones back)."""
    monkeypatch.setattr(passwords, "password_hasher", lambda: FAST)
    passwords._dummy_hash.cache_clear()
    yield FAST
    passwords._dummy_hash.cache_clear()
