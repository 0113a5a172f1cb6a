"""One response per token under concurrent submissions: threads and processes, SQLite and
PostgreSQL. Every racer but one must get the clear "already submitted" error, never a
database error, and exactly one response is stored."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from sqlalchemy import Engine, func, select

from allegiance.errors import StoreError
from allegiance.store import db
from allegiance.store import surveys as S
from allegiance.store.models import Invitation, Response

N_RACERS = 8
ANSWERS = {"nps": 10, "promoter_reasons": ["speed"]}


def _setup(engine: Engine, n_tokens: int) -> list[str]:
    with db.session_factory(engine)() as session:
        S.create_survey_from_template(session, "nps", slug="race")
        S.publish_survey(session, "race", wave="w1")
        return [i.token for i in S.create_invitations(session, "race", n_tokens)]


def _count(engine: Engine, token: str | None = None) -> int:
    stmt = select(func.count()).select_from(Response)
    if token is not None:
        stmt = stmt.join(Invitation, Response.invitation_id == Invitation.id).where(
            Invitation.token == token
        )
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def test_threads_racing_on_one_token(db_url: str, engine: Engine) -> None:
    (token,) = _setup(engine, 1)
    start = threading.Barrier(N_RACERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def racer() -> None:
        own = db.make_engine(db_url)
        try:
            with db.session_factory(own)() as session:
                start.wait()
                try:
                    S.submit_response(session, token, ANSWERS)
                    result = "ok"
                except StoreError as exc:
                    result = exc.key
                except BaseException as exc:  # reported, then the test fails on it
                    result = f"{type(exc).__name__}: {exc}"
        finally:
            own.dispose()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=racer) for _ in range(N_RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["survey.store.already_submitted"] * (N_RACERS - 1)
    assert _count(engine, token) == 1


def test_threads_on_different_tokens_all_succeed(db_url: str, engine: Engine) -> None:
    tokens = _setup(engine, N_RACERS)
    start = threading.Barrier(N_RACERS)
    errors: list[BaseException] = []

    def racer(token: str) -> None:
        own = db.make_engine(db_url)
        try:
            with db.session_factory(own)() as session:
                start.wait()
                S.save_draft(session, token, {"nps": 3})
                S.submit_response(session, token, ANSWERS)
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=racer, args=(tok,)) for tok in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _count(engine) == N_RACERS


_RACER = textwrap.dedent(
    """
    import sys, time
    from allegiance.errors import StoreError
    from allegiance.store import db, surveys as S
    url, token, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
    engine = db.make_engine(url)
    with db.session_factory(engine)() as session:
        S.get_invitation(session, token)  # connect and warm up before the start
        time.sleep(max(0.0, start - time.time()))
        try:
            S.submit_response(session, token, {"nps": 10, "promoter_reasons": ["speed"]})
            print("ok")
        except StoreError as exc:
            print(exc.key)
    engine.dispose()
    """
)


def test_processes_racing_on_one_token(db_url: str, engine: Engine, tmp_path: Path) -> None:
    (token,) = _setup(engine, 1)
    script = tmp_path / "racer.py"
    script.write_text(_RACER, encoding="utf-8")
    start = time.time() + 6.0  # every process has imported and connected by then
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), db_url, token, repr(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(out.strip())
    assert sorted(results) == ["ok"] + ["survey.store.already_submitted"] * 3
    assert _count(engine, token) == 1
