"""The in-process queue of SQLite writers (store.db): a writer transaction holds it until its
commit or rollback, and a connection given back to the pool without either releases it, so
the next writer never waits for a lock nobody holds."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from allegiance.store import db

WRITE = {db.WRITE_OPTION: True}


def _writer_starts_quickly(engine: Engine) -> float:
    began = time.monotonic()
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        conn.execute(text("INSERT INTO t (v) VALUES (1)"))
    return time.monotonic() - began


def test_the_writer_lock_is_released_on_commit_rollback_and_checkin(tmp_path: Path) -> None:
    engine = db.make_engine(db.sqlite_url(tmp_path / "w.db"))
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (v INTEGER)"))
        # commit
        assert _writer_starts_quickly(engine) < 5
        # rollback through an error
        try:
            with engine.connect().execution_options(**WRITE) as conn, conn.begin():
                conn.execute(text("INSERT INTO t (v) VALUES (2)"))
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        assert _writer_starts_quickly(engine) < 5
        # a session closed without commit or rollback
        session = Session(engine)
        session.connection(execution_options=WRITE)
        session.close()
        assert _writer_starts_quickly(engine) < 5
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 3
    finally:
        engine.dispose()


def test_writers_of_one_engine_queue_instead_of_failing(tmp_path: Path) -> None:
    engine = db.make_engine(db.sqlite_url(tmp_path / "q.db"))
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (v INTEGER)"))
        errors: list[BaseException] = []

        def write(n: int) -> None:
            try:
                for i in range(20):
                    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
                        conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": n * 100 + i})
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(DISTINCT v) FROM t")).scalar_one() == 120
    finally:
        engine.dispose()
