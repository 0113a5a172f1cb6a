"""The queries of background jobs (the ``jobs`` table, migration 0006).

Each function opens and ends its own short transaction (a job's progress is seen by other
connections at once); :mod:`allegiance.jobs` calls them from the web, the CLI and workers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from allegiance.errors import StoreError
from allegiance.store.models import Job, utcnow
from allegiance.store.repository import _json, _session_read, _writing

__all__ = ["add_job", "finish_job", "get_job", "list_jobs", "set_progress", "start_job"]


def add_job(
    session: Session,
    job_id: str,
    /,
    *,
    name: str,
    backend: str,
    params: Mapping[str, Any],
    actor: str | None,
    permission: str | None,
) -> Job:
    """Insert a queued job."""
    job = Job(
        id=job_id,
        name=name,
        backend=backend,
        status="queued",
        params=_json(dict(params), table="jobs", row=0, field="params"),
        actor=actor,
        permission=permission,
        done=0,
        created_at=utcnow(),
    )
    with _writing(session, "jobs", commit=True):
        session.add(job)
        session.flush()
    return job


def get_job(session: Session, job_id: str, /) -> Job | None:
    """The job ``job_id``, or ``None``."""
    with _session_read(session, "jobs"):
        return session.get(Job, job_id)


def list_jobs(
    session: Session, /, *, name: str | None = None, status: str | None = None, limit: int = 50
) -> list[Job]:
    """Jobs, newest first, optionally of one ``name`` (or family: ``"invitations"``) or
    ``status``."""
    stmt = select(Job)
    if name is not None:
        stmt = stmt.where((Job.name == name) | Job.name.startswith(name + ".", autoescape=True))
    if status is not None:
        stmt = stmt.where(Job.status == status)
    stmt = stmt.order_by(Job.created_at.desc(), Job.id).limit(limit)
    with _session_read(session, "jobs"):
        return list(session.scalars(stmt))


def _job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise StoreError("jobs.not_found", job_id=job_id)
    return job


def start_job(session: Session, job_id: str, /) -> Job:
    """Mark the job running (now)."""
    with _writing(session, "jobs", commit=True):
        job = _job(session, job_id)
        job.status = "running"
        job.started_at = utcnow()
        session.flush()
    return job


def set_progress(session: Session, job_id: str, /, done: int, total: int | None) -> None:
    """Record how far the job is."""
    with _writing(session, "jobs", commit=True):
        job = _job(session, job_id)
        job.done = int(done)
        job.total = None if total is None else int(total)
        session.flush()


def finish_job(
    session: Session,
    job_id: str,
    /,
    *,
    result: Mapping[str, Any] | None = None,
    error: Mapping[str, Any] | None = None,
) -> Job:
    """Mark the job finished with ``result``, or failed with ``error`` (a catalogue message
    as ``{"key", "params"}``)."""
    with _writing(session, "jobs", commit=True):
        job = _job(session, job_id)
        job.status = "failed" if error is not None else "finished"
        job.result = (
            None if result is None else _json(dict(result), table="jobs", row=0, field="result")
        )
        job.error = None if error is None else dict(error)
        job.finished_at = utcnow()
        session.flush()
    return job
