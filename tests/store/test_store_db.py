"""Engines, URLs and migrations of the project store, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from allegiance.errors import StoreError
from allegiance.store import db, repository
from allegiance.store.models import Base

BASELINE_TABLES = {
    "project_meta",
    "datasets",
    "surveys",
    "survey_waves",
    "responses",
    "complaints",
    "runs",
}


def test_exactly_one_migration_head() -> None:
    # CI fails here when two migrations were added on top of the same parent.
    assert len(db.heads()) == 1


def test_migration_history_is_one_line() -> None:
    scripts = ScriptDirectory.from_config(db.alembic_config())
    revisions = list(scripts.walk_revisions())
    assert revisions[-1].revision == "0001"
    assert revisions[-1].down_revision is None
    for newer, older in itertools.pairwise(revisions):
        assert newer.down_revision == older.revision


def test_upgrade_creates_all_tables(bare_engine: Engine) -> None:
    assert db.current_revision(bare_engine) is None
    db.upgrade(bare_engine)
    tables = set(inspect(bare_engine).get_table_names())
    assert set(Base.metadata.tables) >= BASELINE_TABLES
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert db.current_revision(bare_engine) == db.heads()[0]


def test_upgrade_twice_changes_nothing(engine: Engine) -> None:
    db.upgrade(engine)
    assert db.current_revision(engine) == db.heads()[0]
    assert db.schema_diff(engine) == []


def test_upgrade_accepts_a_url(db_url: str) -> None:
    db.upgrade(db_url)
    engine = db.make_engine(db_url)
    try:
        assert db.current_revision(engine) == db.heads()[0]
    finally:
        engine.dispose()


def test_models_and_migrations_agree(engine: Engine) -> None:
    # The `alembic check` comparison: autogenerate finds nothing to add or drop.
    assert db.schema_diff(engine) == []


def test_schema_diff_sees_a_change_made_without_a_migration(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_runs_started_at"))
    diff = db.schema_diff(engine)
    assert [d[0] for d in diff] == ["add_index"]
    assert diff[0][1].name == "ix_runs_started_at"


def test_downgrade_to_base_and_back(engine: Engine) -> None:
    with db.session_factory(engine)() as s:
        repository.set_meta(s, "name", "demo")
    db.downgrade(engine, "base")
    assert db.current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    db.upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= BASELINE_TABLES
    with db.session_factory(engine)() as s:
        assert repository.get_meta(s, "name") is None


def test_upgrade_to_an_unknown_revision_fails_cleanly(bare_engine: Engine) -> None:
    with pytest.raises(StoreError) as info:
        db.upgrade(bare_engine, "9999")
    assert info.value.key == "store.migration_failed"
    assert "9999" in info.value.render("zh")
    assert db.current_revision(bare_engine) is None
    assert inspect(bare_engine).get_table_names() == []


def test_sqlite_connection_settings(tmp_path: Path) -> None:
    engine = db.make_engine(db.sqlite_url(tmp_path / "p.db"))
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    finally:
        engine.dispose()


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            text("INSERT INTO survey_waves (id, survey_id, name) VALUES (1, 12345, 'orphan')")
        )


def test_sqlite_rolls_back_ddl(tmp_path: Path) -> None:
    # SQLAlchemy sends BEGIN itself, so even CREATE TABLE is undone by a rollback.
    engine = db.make_engine(db.sqlite_url(tmp_path / "p.db"))
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.rollback()
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:pw@h:5432/d", "postgresql+psycopg://u:pw@h:5432/d"),
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg2://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_normalize_url(given: str, expected: str) -> None:
    assert db.normalize_url(given) == expected


def test_make_engine_uses_psycopg_for_plain_postgresql_urls() -> None:
    engine = db.make_engine("postgresql://postgres@127.0.0.1:5432/test")
    try:
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("mysql://u@h/d", "store.unsupported_backend"),
        ("not a url", "store.bad_url"),
    ],
)
def test_bad_urls_are_store_errors(url: str, key: str) -> None:
    with pytest.raises(StoreError) as info:
        db.make_engine(url)
    assert info.value.key == key


def test_bad_url_message_hides_the_password() -> None:
    with pytest.raises(StoreError) as info:
        db.normalize_url("mysql://user:secret@h/d")
    assert "secret" not in str(info.value)
    assert "secret" not in info.value.render("zh")


def test_database_url_setting(tmp_path: Path) -> None:
    env = {db.DATABASE_URL_ENV: "postgresql://u@h/d"}
    assert db.database_url(project_dir=tmp_path, environ=env) == "postgresql+psycopg://u@h/d"
    assert db.database_url(project_dir=tmp_path, environ={}) == db.sqlite_url(
        tmp_path / db.DEFAULT_DB_FILENAME
    )
    with pytest.raises(StoreError) as info:
        db.database_url(environ={})
    assert info.value.key == "store.no_url"


def test_sqlite_url_is_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert db.sqlite_url(Path("a.db")) == "sqlite:///" + (Path.cwd() / "a.db").as_posix()


def test_new_revision_continues_the_single_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Work on a copy of the migrations so the package's own scripts are untouched.
    copy = tmp_path / "migrations"
    shutil.copytree(db.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(db, "MIGRATIONS_DIR", copy)
    (head,) = db.heads()
    following = f"{int(head) + 1:04d}"
    path = db.new_revision("add nothing yet")
    assert path.parent == copy / "versions"
    assert path.name == f"{following}_add_nothing_yet.py"
    source = path.read_text(encoding="utf-8")
    assert re.search(rf"down_revision: str \| Sequence\[str\] \| None = [\"']{head}[\"']", source)
    assert db.heads() == [following]
    engine = db.make_engine(db.sqlite_url(tmp_path / "p.db"))
    try:
        db.upgrade(engine)
        assert db.current_revision(engine) == following
        assert db.schema_diff(engine) == []
    finally:
        engine.dispose()


def test_two_heads_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (head,) = db.heads()
    copy = tmp_path / "migrations"
    shutil.copytree(db.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    base = (copy / "versions" / "0001_baseline.py").read_text(encoding="utf-8")
    # two more branches off the baseline: three heads in all
    for rid in ("9002", "9003"):
        branch = base.replace('revision: str = "0001"', f'revision: str = "{rid}"').replace(
            "down_revision: str | Sequence[str] | None = None",
            'down_revision: str | Sequence[str] | None = "0001"',
        )
        (copy / "versions" / f"{rid}_branch.py").write_text(branch, encoding="utf-8")
    monkeypatch.setattr(db, "MIGRATIONS_DIR", copy)
    assert sorted(db.heads()) == sorted([head, "9002", "9003"])
    with pytest.raises(StoreError) as info:
        db.new_revision("third")
    assert info.value.key == "store.many_heads"
