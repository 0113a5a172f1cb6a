"""Background jobs: one interface, two backends (a thread pool in the process, rq on Redis),
job state in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from allegiance.errors import ConfigError, StoreError, ValidationError
from allegiance.jobs import (
    JobContext,
    RqBackend,
    ThreadBackend,
    job_backend,
    registered_tasks,
    task,
)
from allegiance.settings import Settings

release = threading.Event()


@task("test.sum", permission="analyses.view")
def _sum(ctx: JobContext, /, *, numbers: list[int]) -> dict[str, Any]:
    total = 0
    for n, value in enumerate(numbers, start=1):
        total += value
        ctx.progress(n, len(numbers))
    return {"sum": total, "actor": ctx.actor}


@task("test.fail")
def _fail(ctx: JobContext, /, *, column: str) -> dict[str, Any]:
    raise ValidationError("jobs.unknown_task", name=column, names="-")


@task("test.crash")
def _crash(ctx: JobContext, /) -> dict[str, Any]:
    return {"n": 1 // 0}


@task("test.block")
def _block(ctx: JobContext, /) -> dict[str, Any]:
    ctx.progress(1, 4)
    release.wait(10)
    return {}


def test_the_product_registers_its_tasks() -> None:
    names = set(registered_tasks())
    assert {"invitations.send", "responses.import", "report.build"} <= names
    assert registered_tasks()["invitations.send"].permission == "invitations.manage"


def test_settings_choose_the_backend(engine: Engine, redis_url: str) -> None:
    assert isinstance(job_backend(engine, settings=Settings()), ThreadBackend)
    chosen = job_backend(engine, settings=Settings(redis_url=redis_url, jobs_queue="q1"))
    assert isinstance(chosen, RqBackend)
    assert chosen.queue.name == "q1"


def test_in_process_jobs_run_and_report(engine: Engine) -> None:
    jobs = ThreadBackend(engine, settings=Settings())
    numbers = list(range(1, 101))
    job_id = jobs.submit("test.sum", actor="alice", numbers=numbers)
    info = jobs.wait(job_id, timeout=30)
    assert info.status == "finished"
    assert jobs.result(job_id) == {"sum": sum(numbers), "actor": "alice"}
    assert (info.done, info.total, info.percent) == (100, 100, 100.0)
    assert info.backend == "thread"
    assert info.permission == "analyses.view"
    assert info.started_at is not None
    assert info.finished_at is not None
    assert info.created_at <= info.started_at <= info.finished_at
    # a task's own error is stored as a catalogue message; a crash too, with its detail
    failed = jobs.wait(jobs.submit("test.fail", column="q_nps"), timeout=30)
    assert failed.status == "failed"
    assert failed.error == {"key": "jobs.unknown_task", "params": {"name": "q_nps", "names": "-"}}
    assert jobs.result(failed.id) is None
    crashed = jobs.wait(jobs.submit("test.crash"), timeout=30)
    assert crashed.status == "failed"
    assert "ZeroDivisionError" in crashed.to_dict()["error"]
    listed = [j.id for j in jobs.list()]
    assert listed[:3] == [crashed.id, failed.id, job_id]  # newest first
    assert [j.id for j in jobs.list(name="test.sum")] == [job_id]
    assert [j.id for j in jobs.list(status="failed")] == [crashed.id, failed.id]


def test_progress_is_visible_while_a_job_runs(engine: Engine) -> None:
    release.clear()
    jobs = ThreadBackend(engine, settings=Settings())
    job_id = jobs.submit("test.block")
    try:
        for _ in range(200):
            info = jobs.status(job_id)
            if info.status == "running" and info.total == 4:
                break
            release.wait(0.05)
        assert info.status == "running"
        assert (info.done, info.total, info.percent) == (1, 4, 25.0)
        assert jobs.result(job_id) is None
    finally:
        release.set()
    assert jobs.wait(job_id, timeout=30).status == "finished"


def test_unknown_tasks_and_jobs_are_clear_errors(engine: Engine) -> None:
    jobs = ThreadBackend(engine, settings=Settings())
    with pytest.raises(ValidationError, match=r"invitations\.send"):
        jobs.submit("no.such.task")
    with pytest.raises(StoreError, match="deadbeef"):
        jobs.status("deadbeef")
    assert jobs.list() == []  # nothing was stored


def test_rq_jobs_run_in_a_burst_worker(engine: Engine, redis_url: str, rq_queue: str) -> None:
    jobs = RqBackend(engine, redis_url=redis_url, queue=rq_queue)
    ok = jobs.submit("test.sum", actor="bob", numbers=[2, 3, 5])
    bad = jobs.submit("test.fail", column="q9")
    assert jobs.status(ok).status == "queued"
    assert jobs.queue.count == 2
    assert jobs.work(burst=True, simple=True)
    assert jobs.status(ok).status == "finished"
    assert jobs.result(ok) == {"sum": 10, "actor": "bob"}
    assert jobs.status(ok).backend == "rq"
    failed = jobs.status(bad)
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error["key"] == "jobs.unknown_task"
    assert jobs.queue.count == 0


def test_rq_without_redis_is_a_clear_error(engine: Engine) -> None:
    jobs = RqBackend(engine, redis_url="redis://127.0.0.1:1/0", queue="nowhere")
    with pytest.raises(ConfigError, match=r"127\.0\.0\.1:1\b"):
        jobs.submit("test.sum", numbers=[1])
    assert jobs.list() == []


def test_a_response_import_runs_as_a_job(engine: Engine, tmp_path: Path) -> None:
    from tests.survey.test_exchange import GOOD, _count, _csv, _survey

    slug = _survey(engine)
    jobs = ThreadBackend(engine, settings=Settings())
    good = jobs.wait(
        jobs.submit("responses.import", slug=slug, path=str(_csv(GOOD, tmp_path / "in.csv"))),
        timeout=60,
    )
    assert good.status == "finished", good.error
    assert good.result is not None
    assert (good.result["n_rows"], good.result["n_written"]) == (3, 3)
    assert _count(engine) == 3
    # importing the same keys again is refused: the job fails with the import's own message
    again = jobs.wait(
        jobs.submit("responses.import", slug=slug, path=str(tmp_path / "in.csv")), timeout=60
    )
    assert again.status == "failed"
    assert again.error is not None
    assert again.error["key"].startswith("responses.")
    assert _count(engine) == 3
