"""Backups and restore: consistent SQLite copies under a running writer, the restore round trip,
and PostgreSQL through pg_dump / pg_restore."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
import typer
from sqlalchemy import text
from tests.conftest import need
from tests.store.conftest import PostgresServer
from typer.testing import CliRunner

from allegiance.cli import audit_log, project
from allegiance.cli import db as db_cli
from allegiance.cli.app import AllegianceGroup
from allegiance.errors import StoreError
from allegiance.security import accounts
from allegiance.store import admin, db
from allegiance.store.backup import (
    _libpq,
    backup_database,
    pg_restore_command,
    restore_sqlite,
)

runner = CliRunner()
app = typer.Typer(cls=AllegianceGroup, no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(db_cli.db_app, name="db")
app.command("audit-log")(audit_log.audit_log)
app.command("init")(project.init)

BATCH = 25


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (args, result.output)
    return result.output


def _users(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT username FROM users ORDER BY username")]
    finally:
        conn.close()


def _add_user(url: str, name: str) -> None:
    engine = db.make_engine(url)
    try:
        with db.session_factory(engine)() as s:
            accounts.create_user(s, name, role="admin", password=None, actor="test")
    finally:
        engine.dispose()


# ------------------------------------------------------- SQLite under a live writer


def test_sqlite_backup_is_consistent_while_a_writer_writes(tmp_path: Path) -> None:
    url = db.sqlite_url(tmp_path / "live.db")
    db.upgrade(url)
    engine = db.make_engine(url)
    stop = threading.Event()
    committed = [0]
    errors: list[BaseException] = []

    def writer() -> None:
        factory = db.session_factory(engine)
        batch = 0
        try:
            while not stop.is_set():
                with factory() as s:
                    for i in range(BATCH):  # one transaction of BATCH rows
                        admin.record_audit(
                            s, "load.write", actor="writer", target_id=batch, details={"i": i},
                            commit=False,
                        )  # fmt: skip
                    s.commit()
                batch += 1
                committed[0] = batch
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while committed[0] < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        taken = []
        for k in range(6):
            before = committed[0]
            info = backup_database(url, tmp_path / f"backup-{k}.db")
            after = committed[0]
            taken.append((info, before, after))
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=60)
        engine.dispose()
    assert not errors, errors
    assert committed[0] > taken[0][1], "the writer was not writing during the backups"
    for info, before, after in taken:
        assert info.revision == db.heads()[0]
        assert not Path(str(info.path) + "-wal").exists()
        conn = sqlite3.connect(info.path)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
            counts = dict(
                conn.execute(
                    "SELECT CAST(target_id AS INTEGER), count(*) FROM audit_log "
                    "WHERE action = 'load.write' GROUP BY target_id"
                ).fetchall()
            )
        finally:
            conn.close()
        # every transaction is in whole or not at all, and the batches are a prefix (no gap)
        assert set(counts.values()) <= {BATCH}
        assert sorted(counts) == list(range(len(counts)))
        # everything committed before the backup began is in it; nothing after it ended
        assert before <= len(counts) <= after + 1


def test_a_backup_does_not_wait_for_an_open_write_transaction(tmp_path: Path) -> None:
    url = db.sqlite_url(tmp_path / "live.db")
    db.upgrade(url)
    _add_user(url, "alice")
    holder = sqlite3.connect(tmp_path / "live.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute(
            "INSERT INTO users (username, role, active, created_at, updated_at) "
            "VALUES ('uncommitted', 'viewer', 1, '2025-01-01', '2025-01-01')"
        )
        started = time.perf_counter()
        info = backup_database(url, tmp_path / "b.db")
        assert time.perf_counter() - started < 10
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    assert _users(info.path) == ["alice"]


def test_backup_refuses_to_overwrite(tmp_path: Path) -> None:
    url = db.sqlite_url(tmp_path / "live.db")
    db.upgrade(url)
    out = tmp_path / "b.db"
    out.write_text("precious", encoding="utf-8")
    with pytest.raises(StoreError) as info:
        backup_database(url, out)
    assert info.value.key == "admin.backup_exists"
    assert out.read_text(encoding="utf-8") == "precious"
    assert backup_database(url, out, force=True).size_bytes > 0
    with pytest.raises(StoreError) as info:
        backup_database(db.sqlite_url(tmp_path / "none.db"), tmp_path / "c.db")
    assert info.value.key == "admin.no_database_file"


# ------------------------------------------------------------ restore round trip


def test_backup_and_restore_round_trip_through_the_cli(tmp_path: Path) -> None:
    run("init", str(tmp_path / "p"))
    proj = str(tmp_path / "p")
    url = db.sqlite_url(tmp_path / "p" / "allegiance.db")
    _add_user(url, "alice")
    run("db", "backup", "--project", proj, "--out", str(tmp_path / "b.db"))
    assert "exists" in run(
        "db", "backup", "--project", proj, "--out", str(tmp_path / "b.db"), code=2
    )
    _add_user(url, "bob")
    # an engine that stays open across the restore (the web app's pool)
    live = db.make_engine(url)
    try:
        with live.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 2
        out = run("db", "restore", str(tmp_path / "b.db"), "--project", proj, code=2)
        assert "--force" in out
        assert _users(tmp_path / "p" / "allegiance.db") == ["alice", "bob"]
        out = run("db", "restore", str(tmp_path / "b.db"), "--project", proj, "--force")
        assert "Restored" in out
        with live.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 1
    finally:
        live.dispose()
    assert _users(tmp_path / "p" / "allegiance.db") == ["alice"]
    [previous] = list((tmp_path / "p").glob("allegiance.db.before-restore-*"))
    assert _users(previous) == ["alice", "bob"]
    actions = [e["action"] for e in _audit(url)]
    # the restored log: the backup's entries, then the restore itself
    assert actions == ["user.create", "db.restore"]
    # the backup entry went into the log before the restore replaced it
    engine = db.make_engine(db.sqlite_url(previous))
    try:
        assert "db.backup" in admin.audit_frame(engine)["action"].tolist()
    finally:
        engine.dispose()


def _audit(url: str) -> list[dict[str, object]]:
    engine = db.make_engine(url)
    try:
        records: list[dict[str, object]] = admin.audit_frame(engine).to_dict(orient="records")
        return records
    finally:
        engine.dispose()


def test_restore_into_an_empty_place_needs_no_force(tmp_path: Path) -> None:
    url = db.sqlite_url(tmp_path / "a.db")
    db.upgrade(url)
    _add_user(url, "alice")
    backup_database(url, tmp_path / "b.db")
    info = restore_sqlite(tmp_path / "b.db", db.sqlite_url(tmp_path / "new" / "c.db"))
    assert info.previous is None
    assert not info.needs_upgrade
    assert _users(tmp_path / "new" / "c.db") == ["alice"]


def test_restore_checks_the_backup_first(tmp_path: Path) -> None:
    url = db.sqlite_url(tmp_path / "a.db")
    db.upgrade(url)
    target = db.sqlite_url(tmp_path / "t.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError) as info:
        restore_sqlite(junk, target)
    assert info.value.key == "admin.not_a_database"
    with pytest.raises(StoreError) as info:
        restore_sqlite(tmp_path / "missing.db", target)
    assert info.value.key == "admin.no_backup_file"
    backup_database(url, tmp_path / "newer.db")
    conn = sqlite3.connect(tmp_path / "newer.db")
    conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError) as info:
        restore_sqlite(tmp_path / "newer.db", target)
    assert info.value.key == "admin.backup_too_new"
    assert not (tmp_path / "t.db").exists()


def test_restoring_an_older_backup_says_to_upgrade(tmp_path: Path) -> None:
    old = db.sqlite_url(tmp_path / "old.db")
    db.upgrade(old, "0003")
    backup_database(old, tmp_path / "b.db")
    run("init", str(tmp_path / "p"))
    result = runner.invoke(
        app, ["db", "restore", str(tmp_path / "b.db"), "--project", str(tmp_path / "p"), "--force"]
    )
    assert result.exit_code == 0, result.output
    assert "allegiance db upgrade" in result.output
    assert "0003" in run("db", "current", "--project", str(tmp_path / "p"))


# ------------------------------------------------------------------- PostgreSQL


def test_pg_dump_missing_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StoreError) as info:
        backup_database("postgresql://nobody@127.0.0.1:1/none", tmp_path / "x.dump")
    assert info.value.key == "admin.pg_dump_missing"
    assert "postgresql-client" in info.value.render("en")
    assert "pg_dump" in info.value.render("zh")


def test_postgres_restore_is_the_documented_procedure(tmp_path: Path) -> None:
    out = run(
        "db", "restore", str(tmp_path / "x.dump"), "--url",
        "postgresql://cx:secret@db.example.com/cx", code=2,
    )  # fmt: skip
    assert "pg_restore --clean --if-exists --no-owner --single-transaction" in out
    assert "secret" not in out
    assert "secret" not in pg_restore_command("postgresql://cx:secret@h/cx", tmp_path / "x")


def test_libpq_conninfo_keeps_the_password_out_of_the_command() -> None:
    from sqlalchemy.engine import make_url

    conninfo, env, schema = _libpq(
        make_url("postgresql+psycopg://cx:s3cret@db:5433/cx?options=-csearch_path%3Dtenant_1")
    )
    assert "s3cret" not in conninfo
    assert env["PGPASSWORD"] == "s3cret"
    assert "port=5433" in conninfo
    assert "dbname=cx" in conninfo
    assert schema == "tenant_1"


@pytest.mark.postgres
def test_postgres_backup_with_pg_dump_and_restore_with_pg_restore(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    need(shutil.which("pg_dump") is not None, "pg_dump")
    need(shutil.which("pg_restore") is not None, "pg_restore")
    name, url = postgres_server.new_schema()
    try:
        run("db", "upgrade", "--url", url)
        _add_user(url, "alice")
        out = tmp_path / "cx.dump"
        run("db", "backup", "--url", url, "--out", str(out))
        assert out.stat().st_size > 0
        assert [e["action"] for e in _audit(url)] == ["db.upgrade", "user.create", "db.backup"]
        postgres_server.drop_schema(name)
        from sqlalchemy.engine import make_url

        conninfo, env, _ = _libpq(make_url(db.normalize_url(postgres_server.url)))
        done = subprocess.run(
            ["pg_restore", "--no-owner", "--single-transaction", "--dbname", conninfo, str(out)],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        engine = db.make_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("SELECT username FROM users")).scalars().all() == ["alice"]
            assert db.current_revision(engine) == db.heads()[0]
            # the append-only triggers came back with the table
            with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
                conn.execute(text("DELETE FROM audit_log"))
        finally:
            engine.dispose()
    finally:
        postgres_server.drop_schema(name)
