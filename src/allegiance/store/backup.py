"""Backups of the project database, and the restore of a SQLite backup.

**SQLite.** :func:`backup_database` copies the live database with SQLite's online backup API
in one step: the copy is the database as one read transaction saw it, so it is consistent
even while the web app keeps writing (WAL: the writers are not blocked). The copy is written
to a temporary file, checked (``PRAGMA quick_check``), switched to a plain rollback journal
(one self-contained file) and only then renamed to its name.

:func:`restore_sqlite` copies a backup back, also through the backup API (never by copying
files over a live WAL database, which corrupts it). It refuses to replace an existing
database unless told to, and then first keeps the current one beside it
(``allegiance.db.before-restore-<time>``).

**PostgreSQL.** :func:`backup_database` runs ``pg_dump`` (custom format) when it is on the
PATH, with the password passed in the environment (never on the command line); without it,
a clear error says what to install. A PostgreSQL restore is an operator's job with
``pg_restore`` (:func:`pg_restore_command`; docs/administration.md): it is not done here.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from allegiance.errors import StoreError
from allegiance.store.db import SQLITE_BUSY_TIMEOUT_S, heads, normalize_url

__all__ = [
    "BackupInfo",
    "RestoreInfo",
    "backup_database",
    "default_backup_name",
    "pg_restore_command",
    "restore_sqlite",
    "sqlite_path",
]

_SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*([^\s,]+)")


@dataclass(frozen=True)
class BackupInfo:
    """A backup made: where, how big, its SHA-256, the schema revision it holds, how long."""

    backend: str
    path: Path
    size_bytes: int
    sha256: str
    revision: str | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "revision": self.revision,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class RestoreInfo:
    """A restore done: the database, the backup's revision, where the replaced one was kept."""

    database: Path
    source: Path
    revision: str | None
    head: str | None
    previous: Path | None
    seconds: float

    @property
    def needs_upgrade(self) -> bool:
        """Whether the restored database is older than this version's schema."""
        return self.revision != self.head

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": str(self.database),
            "source": str(self.source),
            "revision": self.revision,
            "head": self.head,
            "needs_upgrade": self.needs_upgrade,
            "previous": None if self.previous is None else str(self.previous),
            "seconds": self.seconds,
        }


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def default_backup_name(url: str, /) -> str:
    """``allegiance-<UTC time>.db`` (SQLite) or ``.dump`` (PostgreSQL, pg_dump's format)."""
    suffix = ".db" if make_url(normalize_url(url)).get_backend_name() == "sqlite" else ".dump"
    return f"allegiance-{_stamp()}{suffix}"


def sqlite_path(url: str, /) -> Path:
    """The file of a SQLite URL (a :class:`StoreError` for in-memory or non-SQLite URLs)."""
    parsed = make_url(normalize_url(url))
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database
        in {
            ":memory:",
            "",
        }
    ):
        raise StoreError("admin.not_sqlite_file", url=parsed.render_as_string(hide_password=True))
    return Path(parsed.database)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return None if row is None else str(row[0])


def _quick_check(conn: sqlite3.Connection, path: Path) -> None:
    try:
        result = [str(r[0]) for r in conn.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        raise StoreError("admin.not_a_database", file=str(path), detail=str(exc)) from exc
    if result != ["ok"]:
        raise StoreError("admin.not_a_database", file=str(path), detail="; ".join(result[:3]))


def _copy_sqlite(source: Path, target: Path) -> str | None:
    """Copy database ``source`` into the (new) file ``target`` in one backup step."""
    src = sqlite3.connect(source, timeout=SQLITE_BUSY_TIMEOUT_S)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # pages=-1: everything in one step, one consistent snapshot
            dst.execute("PRAGMA journal_mode=DELETE")
            _quick_check(dst, target)
            revision = _sqlite_revision(dst)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise StoreError("admin.backup_failed", file=str(source), detail=str(exc)) from exc
    finally:
        src.close()
    return revision


def _check_out(out: Path, *, force: bool) -> Path:
    out = out.expanduser()
    if out.exists() and not force:
        raise StoreError("admin.backup_exists", file=str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def _backup_sqlite(url: str, out: Path) -> BackupInfo:
    source = sqlite_path(url)
    if not source.is_file():
        raise StoreError("admin.no_database_file", file=str(source))
    started = time.perf_counter()
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        revision = _copy_sqlite(source, partial)
        _fsync(partial)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return BackupInfo(
        backend="sqlite",
        path=out,
        size_bytes=out.stat().st_size,
        sha256=_sha256(out),
        revision=revision,
        seconds=time.perf_counter() - started,
    )


def _libpq(url: URL) -> tuple[str, dict[str, str], str | None]:
    """A libpq conninfo without the password, the environment holding it, and the schema
    named by a ``search_path`` option (dumped alone when set)."""
    from psycopg.conninfo import make_conninfo

    params: dict[str, Any] = {}
    if url.host:
        params["host"] = url.host
    if url.port:
        params["port"] = str(url.port)
    if url.database:
        params["dbname"] = url.database
    if url.username:
        params["user"] = url.username
    schema = None
    for key, value in url.query.items():
        text = value if isinstance(value, str) else ",".join(value)
        params[key] = text
        if key == "options":
            found = _SEARCH_PATH.search(text)
            schema = found.group(1) if found else None
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return make_conninfo(**params), env, schema


def _backup_postgres(url: str, out: Path, *, pg_dump: str | None) -> BackupInfo:
    program = pg_dump or shutil.which("pg_dump")
    if program is None:
        raise StoreError("admin.pg_dump_missing")
    parsed = make_url(normalize_url(url))
    conninfo, env, schema = _libpq(parsed)
    partial = out.with_name(out.name + ".partial")
    command = [program, "--format=custom", "--no-owner", f"--file={partial}", "--dbname", conninfo]
    if schema:
        command.append(f"--schema={schema}")
    started = time.perf_counter()
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            detail = " ".join((done.stderr or done.stdout).strip().splitlines()[:3])
            raise StoreError(
                "admin.pg_dump_failed",
                url=parsed.render_as_string(hide_password=True),
                detail=detail or f"exit {done.returncode}",
            )
        _fsync(partial)
        partial.replace(out)
    except OSError as exc:
        raise StoreError(
            "admin.pg_dump_failed",
            url=parsed.render_as_string(hide_password=True),
            detail=str(exc),
        ) from exc
    finally:
        partial.unlink(missing_ok=True)
    from allegiance.store.db import current_revision, make_engine

    engine = make_engine(url)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    return BackupInfo(
        backend="postgresql",
        path=out,
        size_bytes=out.stat().st_size,
        sha256=_sha256(out),
        revision=revision,
        seconds=time.perf_counter() - started,
    )


def backup_database(
    url: str, out: Path, /, *, force: bool = False, pg_dump: str | None = None
) -> BackupInfo:
    """Back up the database at ``url`` into the file ``out`` (refused if it exists, unless
    ``force``). SQLite: the online backup API; PostgreSQL: ``pg_dump`` (``pg_dump`` names
    the program when it is not on the PATH)."""
    target = _check_out(Path(out), force=force)
    if make_url(normalize_url(url)).get_backend_name() == "sqlite":
        return _backup_sqlite(url, target)
    return _backup_postgres(url, target, pg_dump=pg_dump)


def _has_tables(path: Path) -> bool:
    if not path.is_file() or path.stat().st_size == 0:
        return False
    conn = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S)
    try:
        row = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
    except sqlite3.DatabaseError:
        return True  # something that is not an empty database: never overwrite it silently
    finally:
        conn.close()
    return bool(row and row[0])


def restore_sqlite(source: Path, url: str, /, *, force: bool = False) -> RestoreInfo:
    """Restore the SQLite backup ``source`` into the database at ``url``.

    The backup is checked first (a SQLite database that passes ``quick_check``, made by a
    schema revision this version knows). An existing database with tables is replaced only
    with ``force``, and is then kept beside it first. Running programs see the restored data
    at their next transaction.
    """
    started = time.perf_counter()
    source = Path(source).expanduser()
    target = sqlite_path(url)
    if not source.is_file():
        raise StoreError("admin.no_backup_file", file=str(source))
    try:
        src = sqlite3.connect(f"file:{source.resolve().as_posix()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError("admin.not_a_database", file=str(source), detail=str(exc)) from exc
    try:
        _quick_check(src, source)
        revision = _sqlite_revision(src)
        from alembic.script import ScriptDirectory

        from allegiance.store.db import alembic_config

        known = {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
        if revision is not None and revision not in known:
            raise StoreError("admin.backup_too_new", file=str(source), revision=revision)
        previous = None
        if _has_tables(target):
            if not force:
                raise StoreError("admin.restore_exists", file=str(target))
            previous = target.with_name(f"{target.name}.before-restore-{_stamp()}")
            _copy_sqlite(target, previous)
        target.parent.mkdir(parents=True, exist_ok=True)
        dst = sqlite3.connect(target, timeout=SQLITE_BUSY_TIMEOUT_S)
        try:
            src.backup(dst)
            _quick_check(dst, target)
        except sqlite3.Error as exc:
            raise StoreError("admin.restore_failed", file=str(target), detail=str(exc)) from exc
        finally:
            dst.close()
    finally:
        src.close()
    found_heads = heads()
    return RestoreInfo(
        database=target,
        source=source,
        revision=revision,
        head=found_heads[0] if found_heads else None,
        previous=previous,
        seconds=time.perf_counter() - started,
    )


def pg_restore_command(url: str, backup: Path, /) -> str:
    """The documented ``pg_restore`` command for a PostgreSQL backup (password hidden)."""
    parsed = make_url(normalize_url(url))
    plain = parsed.set(drivername="postgresql").render_as_string(hide_password=True)
    return (
        "pg_restore --clean --if-exists --no-owner --single-transaction "
        f"--dbname '{plain}' '{backup}'"
    )
