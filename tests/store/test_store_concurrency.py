"""Several writers on one SQLite project file at once: they wait for each other, none fails."""

from __future__ import annotations

import threading
from pathlib import Path

from allegiance.store import db, repository

N_WRITERS = 4
N_BATCHES = 15
BATCH = 40


def test_concurrent_writers_on_sqlite_wait_instead_of_failing(tmp_path: Path) -> None:
    url = db.sqlite_url(tmp_path / "busy.db")
    db.upgrade(url)
    setup = db.make_engine(url)
    with db.session_factory(setup)() as s:
        survey = repository.create_survey(s, code="c", title_en="C", title_zh="问卷", definition={})
        wave_id = repository.get_or_create_wave(s, survey.id, "w").id
    errors: list[BaseException] = []
    start = threading.Barrier(N_WRITERS)

    def writer(w: int) -> None:
        engine = db.make_engine(url)
        try:
            start.wait()
            with db.session_factory(engine)() as s:
                for b in range(N_BATCHES):
                    # a read first, then writes: the read snapshot must not block the write
                    assert repository.get_survey_by_code(s, "c") is not None
                    rows = [
                        {"respondent_key": f"w{w}-b{b}-{i}", "answers": {"q": i}}
                        for i in range(BATCH)
                    ]
                    repository.save_responses(s, wave_id, rows)
                    repository.start_run(s, f"writer {w}")
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(N_WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    frame = repository.responses_frame(setup, wave_id=wave_id)
    assert len(frame) == N_WRITERS * N_BATCHES * BATCH
    assert len(repository.runs_frame(setup)) == N_WRITERS * N_BATCHES
    setup.dispose()
