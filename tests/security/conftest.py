"""Fixtures for the security tests: cheap argon2 parameters unless a test asks for the real ones.

The real parameters (64 MiB, 3 passes) take about half a second a hash on the test machine;
tests that hash many passwords use :func:`fast_hasher` (argon2id still, 1 MiB and 1 pass).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from allegiance.security import passwords

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def fast_hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[PasswordHasher]:
    """Hash with cheap argon2id parameters for the duration of a test."""
    monkeypatch.setattr(passwords, "password_hasher", lambda: FAST)
    passwords._dummy_hash.cache_clear()
    yield FAST
    passwords._dummy_hash.cache_clear()
