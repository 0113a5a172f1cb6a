"""Engines, sessions and migrations for the project database.

SQLite (a file in the project folder, WAL journal) is the default; PostgreSQL
is reached through psycopg 3 by URL. Migrations are Alembic scripts in
``store/migrations`` and run programmatically: no ``alembic.ini`` is needed.

>>> sqlite_url(Path("/srv/cx/../cx/allegiance.db"))
'sqlite:////srv/cx/allegiance.db'
>>> normalize_url("postgresql://postgres@127.0.0.1:5432/test")
'postgresql+psycopg://postgres@127.0.0.1:5432/test'
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from allegiance.errors import StoreError
from allegiance.store.models import Base, UTCDateTime

__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_DB_FILENAME",
    "MIGRATIONS_DIR",
    "SQLITE_BUSY_TIMEOUT_S",
    "WRITE_OPTION",
    "alembic_config",
    "current_revision",
    "database_url",
    "downgrade",
    "heads",
    "make_engine",
    "new_revision",
    "normalize_url",
    "schema_diff",
    "session_factory",
    "sqlite_url",
    "upgrade",
]

#: The setting that points a project at its database (any SQLAlchemy URL).
DATABASE_URL_ENV = "ALLEGIANCE_DATABASE_URL"
#: The SQLite file a project uses when no URL is set.
DEFAULT_DB_FILENAME = "allegiance.db"
#: Where the Alembic environment and the version scripts live (inside the package).
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: How long a SQLite writer waits for another writer's lock before giving up.
SQLITE_BUSY_TIMEOUT_S = 30

#: Execution option marking a connection that will write: on SQLite its transaction starts
#: with ``BEGIN IMMEDIATE`` (takes the write lock at once, waiting up to the busy timeout),
#: so concurrent writers queue instead of failing with "database is locked".
WRITE_OPTION = "allegiance_write"

_json_dumps = functools.partial(json.dumps, ensure_ascii=False, allow_nan=False)


# --------------------------------------------------------------------------- URLs


def sqlite_url(path: Path, /) -> str:
    """The SQLAlchemy URL of the SQLite file at ``path`` (made absolute, symlinks kept)."""
    return "sqlite:///" + Path(os.path.abspath(Path(path).expanduser())).as_posix()


def normalize_url(url: str | URL, /) -> str:
    """Check a database URL and pick the driver: PostgreSQL always goes through psycopg 3.

    ``postgresql://`` and ``postgres://`` become ``postgresql+psycopg://``; SQLite URLs
    are kept. Any other backend raises :class:`StoreError`.
    """
    return _parse_url(url).render_as_string(hide_password=False)


def _parse_url(url: str | URL) -> URL:
    text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    if isinstance(url, str) and url.startswith("postgres://"):
        text = "postgresql://" + url.removeprefix("postgres://")
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        raise StoreError("store.bad_url", url=_safe(text), detail=str(exc)) from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername != "postgresql+psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise StoreError("store.unsupported_backend", url=_safe(text), backend=backend)
    return parsed


def _safe(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def database_url(
    *, project_dir: Path | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """The database of a project: ``ALLEGIANCE_DATABASE_URL`` if set, else the project's SQLite file.

    Without the setting and without ``project_dir`` there is no database to use, and a
    :class:`StoreError` says so.
    """
    env = os.environ if environ is None else environ
    url = env.get(DATABASE_URL_ENV, "").strip()
    if url:
        return normalize_url(url)
    if project_dir is None:
        raise StoreError("store.no_url", setting=DATABASE_URL_ENV)
    return sqlite_url(Path(project_dir) / DEFAULT_DB_FILENAME)


# ------------------------------------------------------------------------ engines


def make_engine(url: str | URL, /, **kwargs: Any) -> Engine:
    """An engine for ``url``: SQLite tuned for a project file, PostgreSQL through psycopg 3.

    SQLite connections run with the WAL journal, ``synchronous=NORMAL`` (a committed
    transaction survives the process being killed, not a power cut: see docs/web.md),
    foreign keys enforced, a 30 s busy timeout, writers of one engine queued on a lock,
    and real transactions (``BEGIN`` is sent by SQLAlchemy, so DDL and
    savepoints are transactional too). JSON is written as UTF-8 text (Chinese stays
    readable in the database) and NaN is refused. Extra keyword arguments go to
    :func:`sqlalchemy.create_engine`.
    """
    parsed = _parse_url(url)
    options: dict[str, Any] = {"json_serializer": _json_dumps}
    if parsed.get_backend_name() == "sqlite":
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
    else:
        options["pool_pre_ping"] = True
    options.update(kwargs)
    engine = create_engine(parsed, **options)
    if engine.dialect.name == "sqlite":
        writer = threading.Lock()
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", functools.partial(_sqlite_on_begin, writer))
        for name in ("commit", "rollback"):
            event.listen(engine, name, _sqlite_release)
        event.listen(engine, "reset", _sqlite_release_reset)
        event.listen(engine, "checkin", _sqlite_release_checkin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, connection_record: ConnectionPoolEntry) -> None:
    # Take transaction control away from the sqlite3 module: SQLAlchemy emits BEGIN
    # itself (see _sqlite_on_begin), so DDL and SAVEPOINT behave as on PostgreSQL.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_on_begin(writer: threading.Lock, connection: Connection) -> None:
    # A deferred BEGIN that reads first and writes later fails at once with "database is
    # locked" when another writer committed in between (the busy timeout cannot help);
    # writers therefore take the lock up front. The writers of this engine first queue on
    # an in-process lock: SQLite's own busy handler waits by sleeping (up to 100 ms at a
    # time), which made every queued writer late; other processes still meet the busy
    # timeout as before.
    if connection.get_execution_options().get(WRITE_OPTION):
        if writer.acquire(timeout=SQLITE_BUSY_TIMEOUT_S):
            connection.info[_WRITER_KEY] = writer
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _sqlite_release(connection)
            raise
    else:
        connection.exec_driver_sql("BEGIN")


_WRITER_KEY = "allegiance_sqlite_writer"


def _sqlite_release(connection: Connection) -> None:
    """Let the next writer in, once this connection's transaction has ended."""
    _release_info(connection.info)


def _sqlite_release_checkin(dbapi_connection: Any, connection_record: ConnectionPoolEntry) -> None:
    # A connection given back to the pool without a commit or rollback (its transaction is
    # reset there) must not keep the lock.
    _release_info(connection_record.info)


def _sqlite_release_reset(
    dbapi_connection: Any, connection_record: ConnectionPoolEntry, reset_state: Any
) -> None:
    _release_info(connection_record.info)


def _release_info(info: dict[Any, Any]) -> None:
    held = info.pop(_WRITER_KEY, None)
    if held is not None:
        held.release()


def session_factory(engine: Engine, /) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit (no expiry)."""
    return sessionmaker(engine, expire_on_commit=False)


# --------------------------------------------------------------------- migrations


def alembic_config(url: str | None = None, /) -> Config:
    """An Alembic configuration built in code; ``script_location`` is the package folder."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    cfg.set_main_option("truncate_slug_length", "40")
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def heads() -> list[str]:
    """The head revisions of the migration scripts (there must be exactly one)."""
    return list(ScriptDirectory.from_config(alembic_config()).get_heads())


@contextmanager
def _engine_for(url_or_engine: str | URL | Engine) -> Iterator[Engine]:
    if isinstance(url_or_engine, Engine):
        yield url_or_engine
        return
    engine = make_engine(url_or_engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _raw_pragma(connection: Connection, sql: str) -> None:
    """Run a SQLite PRAGMA outside any transaction (foreign_keys is ignored inside one)."""
    raw = connection.connection.driver_connection
    if raw is None:  # pragma: no cover - a live connection always has one
        raise StoreError("store.operational", table="-", detail="no DBAPI connection")
    raw.execute(sql)


def _migrate(url_or_engine: str | URL | Engine, action: str, revision: str) -> None:
    with _engine_for(url_or_engine) as engine:
        cfg = alembic_config()
        try:
            with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn:
                sqlite = conn.dialect.name == "sqlite"
                if sqlite:
                    # SQLite rebuilds a table to alter it ("batch" mode): dropping the old
                    # copy with foreign keys on would cascade or fail, so they are off
                    # while migrating and checked before the transaction commits.
                    _raw_pragma(conn, "PRAGMA foreign_keys=OFF")
                try:
                    with conn.begin():
                        cfg.attributes["connection"] = conn
                        if action == "upgrade":
                            command.upgrade(cfg, revision)
                        else:
                            command.downgrade(cfg, revision)
                        if sqlite:
                            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                            if broken:
                                raise StoreError(
                                    "store.migration_fk",
                                    revision=revision,
                                    tables=", ".join(sorted({str(r[0]) for r in broken})),
                                )
                finally:
                    if sqlite:
                        _raw_pragma(conn, "PRAGMA foreign_keys=ON")
        except (SQLAlchemyError, CommandError) as exc:
            raise StoreError(
                "store.migration_failed", revision=revision, detail=_first_line(exc)
            ) from exc


def upgrade(url_or_engine: str | URL | Engine, /, revision: str = "head") -> None:
    """Bring the database up to ``revision`` (default: the newest), in one transaction."""
    _migrate(url_or_engine, "upgrade", revision)


def downgrade(url_or_engine: str | URL | Engine, /, revision: str) -> None:
    """Take the database back to ``revision`` (``"base"``: an empty database), in one transaction."""
    _migrate(url_or_engine, "downgrade", revision)


def current_revision(engine: Engine, /) -> str | None:
    """The revision the database is at, or ``None`` when it was never migrated."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise StoreError(
            "store.operational", table="alembic_version", detail=_first_line(exc)
        ) from exc


def schema_diff(engine: Engine, /) -> list[Any]:
    """Differences between the ORM models and the migrated database (``[]`` when they agree).

    This is what ``alembic check`` reports: a non-empty list means a model was changed
    without a migration (or the other way round).
    """
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": True}
        )
        return list(compare_metadata(context, Base.metadata))


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write our own column types in generated migrations as plain SQLAlchemy types."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _next_rev_id() -> str:
    numbers = [int(h) for h in heads() if h.isdigit()]
    return f"{(max(numbers) if numbers else 0) + 1:04d}"


def new_revision(message: str, /, *, autogenerate: bool = True, rev_id: str | None = None) -> Path:
    """Write a new migration script after the current head and return its path.

    With ``autogenerate`` the script holds the operations that take a database at the
    current head to the ORM models (read it and edit it: autogenerate does not see
    renames, CHECK constraints or data moves). The revision id is the next number
    (``0002``, ``0003`` ...), so the history stays one line with a single head.
    """
    if len(heads()) != 1:
        raise StoreError("store.many_heads", heads=", ".join(heads()))
    rid = rev_id or _next_rev_id()
    cfg = alembic_config()
    ruff = shutil.which("ruff")
    if ruff is not None:
        # Tidy the new script the way the project lints (ruff reads pyproject.toml).
        cfg.set_section_option("post_write_hooks", "hooks", "ruff_fix, ruff_format")
        for name, options in (
            ("ruff_fix", "check --fix --quiet REVISION_SCRIPT_FILENAME"),
            ("ruff_format", "format --quiet REVISION_SCRIPT_FILENAME"),
        ):
            cfg.set_section_option("post_write_hooks", f"{name}.type", "exec")
            cfg.set_section_option("post_write_hooks", f"{name}.executable", ruff)
            cfg.set_section_option("post_write_hooks", f"{name}.options", options)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(sqlite_url(Path(tmp) / "scratch.db"))
        try:
            upgrade(engine)
            with engine.begin() as conn:
                cfg.attributes["connection"] = conn
                script = command.revision(
                    cfg, message=message, autogenerate=autogenerate, rev_id=rid
                )
        finally:
            engine.dispose()
    if script is None or isinstance(script, list):  # pragma: no cover - one head, one script
        raise StoreError("store.many_heads", heads=", ".join(heads()))
    return Path(script.path)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
