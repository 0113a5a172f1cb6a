"""Fixtures for the survey tests: the store's two backends (SQLite file, PostgreSQL schema).

The database fixtures are those of tests/store/conftest.py (one suite, two backends; a
missing PostgreSQL skips, or fails under CI=true), imported so both suites share them.
"""

from __future__ import annotations

from tests.store.conftest import bare_engine, db_url, engine, postgres_server, session

__all__ = ["bare_engine", "db_url", "engine", "postgres_server", "session"]
