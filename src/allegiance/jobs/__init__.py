"""Background jobs: long work (sending invitations, large imports, report builds) that a page
or a command starts and then watches.

One interface, two backends::

    from allegiance.jobs import job_backend
    jobs = job_backend(engine)                    # ALLEGIANCE_REDIS_URL decides which
    job_id = jobs.submit("invitations.send", actor="alice", slug="nps", kind="invite", ...)
    jobs.status(job_id).status                    # queued, running, finished, failed
    jobs.result(job_id)                           # the finished job's result (JSON)

- **in-process** (default): a thread pool in the process that submits
  (``ALLEGIANCE_JOB_THREADS`` threads, 2 by default). Nothing to install; a job still queued or
  running when the process stops is lost (its row stays ``queued``/``running``).
- **rq on Redis**, when ``ALLEGIANCE_REDIS_URL`` is set (install the ``redis`` extra): jobs go
  to the rq queue ``ALLEGIANCE_JOBS_QUEUE`` and ``allegiance jobs worker`` (one or more
  processes, on any machine that reaches Redis and the database) runs them.

Where the state lives: **in the store for both backends** (the ``jobs`` table, migration
0006): what was asked, by whom, the state, progress (``done`` of ``total``), the result or the
error (a catalogue message shown in the reader's language). Redis only carries the work, so
``allegiance jobs list`` and the admin pages read one place whichever backend ran a job, and
clearing Redis loses no history.

A job is a registered task (:func:`task`): a function ``fn(ctx, **params) -> dict`` whose
parameters and result are JSON (no personal data: ids, counts, file names), with the
permission a person needs to see it. The tasks of the product are in
:mod:`allegiance.jobs.tasks`.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from allegiance.errors import AllegianceError, ConfigError, StoreError, ValidationError
from allegiance.i18n import Message
from allegiance.settings import Settings, get_settings

__all__ = [
    "JobBackend",
    "JobContext",
    "JobInfo",
    "RqBackend",
    "TaskSpec",
    "ThreadBackend",
    "job_backend",
    "registered_tasks",
    "run_job",
    "task",
]

_log = logging.getLogger("allegiance.jobs")
#: Progress is written at most this often (seconds), and always at the end.
PROGRESS_EVERY_S = 0.5


@dataclass(frozen=True)
class TaskSpec:
    """A task a job can run: its name, function and the permission needed to see its jobs."""

    name: str
    func: Callable[..., Mapping[str, Any] | None]
    permission: str | None


_TASKS: dict[str, TaskSpec] = {}


def task(
    name: str, /, *, permission: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn(ctx, **params) -> dict`` as the task ``name``."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        _TASKS[name] = TaskSpec(name=name, func=func, permission=permission)
        return func

    return register


def registered_tasks() -> Mapping[str, TaskSpec]:
    """Every registered task (the product's own are loaded first)."""
    import allegiance.jobs.tasks  # noqa: F401 - registers the product's tasks

    return dict(_TASKS)


@dataclass
class JobContext:
    """What a running task gets: its job id, the database, the settings, who asked, and
    :meth:`progress` to say how far it is."""

    job_id: str
    engine: Engine
    settings: Settings | None
    actor: str | None
    _last: float = field(default=0.0, repr=False)

    def progress(self, done: int, total: int | None = None) -> None:
        """Record ``done`` of ``total`` (written at most every half second, and at the end)."""
        now = time.monotonic()
        if total is not None and done < total and now - self._last < PROGRESS_EVERY_S:
            return
        self._last = now
        from allegiance.store import jobs as store
        from allegiance.store.db import session_factory

        with session_factory(self.engine)() as session:
            store.set_progress(session, self.job_id, done, total)


@dataclass(frozen=True)
class JobInfo:
    """A job as the store has it."""

    id: str
    name: str
    backend: str
    status: str
    params: Mapping[str, Any]
    actor: str | None
    permission: str | None
    done: int
    total: int | None
    result: Mapping[str, Any] | None
    error: Mapping[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Any) -> JobInfo:
        return cls(
            id=job.id,
            name=job.name,
            backend=job.backend,
            status=job.status,
            params=dict(job.params or {}),
            actor=job.actor,
            permission=job.permission,
            done=int(job.done or 0),
            total=job.total,
            result=None if job.result is None else dict(job.result),
            error=None if job.error is None else dict(job.error),
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )

    @property
    def over(self) -> bool:
        """Whether the job has finished or failed."""
        return self.status in ("finished", "failed")

    @property
    def percent(self) -> float | None:
        if self.status == "finished":
            return 100.0
        if not self.total:
            return None
        return round(100.0 * min(self.done, self.total) / self.total, 1)

    def error_message(self) -> Message | None:
        if self.error is None:
            return None
        return Message(str(self.error.get("key")), dict(self.error.get("params") or {}))

    def to_dict(self) -> dict[str, Any]:
        message = self.error_message()
        return {
            "job_id": self.id,
            "name": self.name,
            "backend": self.backend,
            "status": self.status,
            "actor": self.actor,
            "done": self.done,
            "total": self.total,
            "percent": self.percent,
            "params": dict(self.params),
            "result": None if self.result is None else dict(self.result),
            "error": None if message is None else message.render(),
            "created_at": self.created_at.isoformat(),
            "started_at": None if self.started_at is None else self.started_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
        }


def _error_of(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, AllegianceError):
        return {"key": exc.key, "params": {k: str(v) for k, v in exc.params.items()}}
    return {"key": "jobs.error.crash", "params": {"detail": f"{type(exc).__name__}: {exc}"}}


def _run(engine: Engine, job_id: str, settings: Settings | None) -> None:
    """Run the job ``job_id``: mark it running, call its task, store the result or error."""
    from allegiance.store import jobs as store
    from allegiance.store.db import session_factory

    sessions = session_factory(engine)
    with sessions() as session:
        job = store.start_job(session, job_id)
        name, params, actor = job.name, dict(job.params or {}), job.actor
    try:
        spec = registered_tasks().get(name)
        if spec is None:
            raise ValidationError("jobs.unknown_task", name=name, names=", ".join(sorted(_TASKS)))
        ctx = JobContext(job_id=job_id, engine=engine, settings=settings, actor=actor)
        result = spec.func(ctx, **params)
    except Exception as exc:  # any failure is the job's result, never the worker's crash
        _log.warning("job %s (%s) failed: %s", job_id, name, exc, exc_info=True)
        with sessions() as session:
            store.finish_job(session, job_id, error=_error_of(exc))
        return
    with sessions() as session:
        store.finish_job(session, job_id, result=dict(result or {}))


def run_job(database_url: str, job_id: str) -> None:
    """The entry point an rq worker calls: run the job ``job_id`` of the database at
    ``database_url`` (settings from the worker's environment)."""
    from allegiance.store.db import make_engine

    engine = make_engine(database_url)
    try:
        _run(engine, job_id, None)
    finally:
        engine.dispose()


class JobBackend:
    """The one interface: :meth:`submit`, :meth:`status`, :meth:`result`, :meth:`list`,
    :meth:`wait`. Subclasses say how a submitted job reaches a worker."""

    kind = "none"

    def __init__(self, engine: Engine, /, *, settings: Settings | None = None) -> None:
        self.engine = engine
        self.settings = settings

    def _enqueue(self, job_id: str) -> None:
        raise NotImplementedError

    def _check(self) -> None:
        """Raise a clear error when jobs cannot be queued now (before anything is stored)."""

    def submit(self, name: str, /, *, actor: str | None = None, **params: Any) -> str:
        """Queue the task ``name`` with ``params`` (JSON); return the new job's id."""
        from allegiance.store import jobs as store
        from allegiance.store.db import session_factory

        spec = registered_tasks().get(name)
        if spec is None:
            raise ValidationError("jobs.unknown_task", name=name, names=", ".join(sorted(_TASKS)))
        self._check()
        job_id = uuid.uuid4().hex
        with session_factory(self.engine)() as session:
            store.add_job(
                session,
                job_id,
                name=name,
                backend=self.kind,
                params=params,
                actor=actor,
                permission=spec.permission,
            )
        try:
            self._enqueue(job_id)
        except Exception as exc:
            with session_factory(self.engine)() as session:
                store.finish_job(session, job_id, error=_error_of(exc))
            raise
        return job_id

    def status(self, job_id: str, /) -> JobInfo:
        """The job ``job_id`` now (a :class:`StoreError` when there is none)."""
        from allegiance.store import jobs as store
        from allegiance.store.db import session_factory

        with session_factory(self.engine)() as session:
            job = store.get_job(session, job_id.strip())
            if job is None:
                raise StoreError("jobs.not_found", job_id=job_id)
            return JobInfo.of(job)

    def result(self, job_id: str, /) -> Mapping[str, Any] | None:
        """The result of the finished job ``job_id`` (``None`` while it runs or if it failed)."""
        info = self.status(job_id)
        return info.result if info.status == "finished" else None

    def list(
        self, /, *, name: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[JobInfo]:
        """Jobs, newest first."""
        from allegiance.store import jobs as store
        from allegiance.store.db import session_factory

        with session_factory(self.engine)() as session:
            return [
                JobInfo.of(j)
                for j in store.list_jobs(session, name=name, status=status, limit=limit)
            ]

    def wait(self, job_id: str, /, *, timeout: float = 60.0, every: float = 0.05) -> JobInfo:
        """Poll until the job is over (or ``timeout`` seconds pass) and return it."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.status(job_id)
            if info.over or time.monotonic() >= deadline:
                return info
            time.sleep(every)


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(size: int) -> ThreadPoolExecutor:
    with _pools_lock:
        pool = _pools.get(size)
        if pool is None:
            pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="allegiance-job")
            _pools[size] = pool
        return pool


class ThreadBackend(JobBackend):
    """Jobs run by a thread pool of this process (shared by every backend of one size)."""

    kind = "thread"

    def _enqueue(self, job_id: str) -> None:
        size = max(1, int((self.settings or get_settings()).job_threads))
        _pool(size).submit(_run, self.engine, job_id, self.settings)


class RqBackend(JobBackend):
    """Jobs go to an rq queue on Redis; ``allegiance jobs worker`` runs them."""

    kind = "rq"

    def __init__(
        self,
        engine: Engine,
        /,
        *,
        redis_url: str,
        queue: str = "allegiance",
        settings: Settings | None = None,
    ) -> None:
        super().__init__(engine, settings=settings)
        try:
            from redis import Redis
            from rq import Queue
        except ImportError as exc:
            raise ConfigError("jobs.no_rq", setting="ALLEGIANCE_REDIS_URL") from exc
        self.redis_url = redis_url
        self.connection = Redis.from_url(redis_url)
        self.queue = Queue(queue, connection=self.connection)

    def _shown(self) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(self.redis_url)
        return f"{parts.hostname or '?'}:{parts.port or 6379}"

    def _check(self) -> None:
        from redis.exceptions import RedisError

        try:
            self.connection.ping()
        except RedisError as exc:
            raise ConfigError("jobs.redis_unreachable", url=self._shown(), detail=str(exc)) from exc

    def _enqueue(self, job_id: str) -> None:
        url = self.engine.url.render_as_string(hide_password=False)
        self.queue.enqueue(
            "allegiance.jobs.run_job", url, job_id, job_id=job_id, job_timeout=6 * 3600
        )

    def work(self, /, *, burst: bool = False, simple: bool = False) -> bool:
        """Run an rq worker on this queue (``burst``: until the queue is empty; ``simple``:
        jobs in this process, no fork, as tests need)."""
        from rq import SimpleWorker, Worker

        self._check()
        kind = SimpleWorker if simple else Worker
        worker = kind([self.queue], connection=self.connection)
        return bool(worker.work(burst=burst, with_scheduler=False))


def job_backend(engine: Engine, /, *, settings: Settings | None = None) -> JobBackend:
    """The backend the settings choose: rq when ``ALLEGIANCE_REDIS_URL`` is set, else the
    in-process thread pool."""
    chosen = settings if settings is not None else get_settings()
    if chosen.redis_url:
        return RqBackend(
            engine, redis_url=chosen.redis_url, queue=chosen.jobs_queue, settings=settings
        )
    return ThreadBackend(engine, settings=settings)
