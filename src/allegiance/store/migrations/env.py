"""Alembic environment for the project store.

Run programmatically by :mod:`allegiance.store.db` (``upgrade``, ``downgrade``,
``new_revision``), which hands over an open connection in
``config.attributes["connection"]``. Without one (the ``alembic`` command with an
ini file of your own), the URL comes from ``sqlalchemy.url`` or the
``ALLEGIANCE_DATABASE_URL`` setting.
"""

from __future__ import annotations

import os
from typing import Any

from alembic import context
from sqlalchemy import Connection

from allegiance.store.db import DATABASE_URL_ENV, make_engine, normalize_url, render_item
from allegiance.store.models import Base

target_metadata = Base.metadata

_OPTIONS: dict[str, Any] = {
    "target_metadata": target_metadata,
    "compare_type": True,
    # SQLite cannot ALTER most things: batch mode rebuilds the table (a no-op wrapper on
    # PostgreSQL), so one generated migration runs on both backends.
    "render_as_batch": True,
    "render_item": render_item,
}


def _url() -> str:
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get(DATABASE_URL_ENV, "")
    if not url:
        raise RuntimeError(f"no database URL: set sqlalchemy.url or {DATABASE_URL_ENV}")
    return normalize_url(url)


def _run(connection: Connection) -> None:
    context.configure(connection=connection, **_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Write the SQL to stdout instead of running it (``alembic upgrade --sql``)."""
    context.configure(url=_url(), literal_binds=True, **_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


def main() -> None:
    if context.is_offline_mode():
        run_migrations_offline()
    else:
        run_migrations_online()


# Alembic runs this file with its context set up; imported anywhere else (a doctest
# collector, an IDE) it does nothing.
if hasattr(context, "config"):
    main()
