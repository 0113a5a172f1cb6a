"""``allegiance jobs ...``: background jobs (:mod:`allegiance.jobs`).

- ``jobs list [--name] [--status] [--limit]``: the newest jobs and their state;
- ``jobs show ID``: one job: state, progress, result or error;
- ``jobs submit NAME --param key=value ... [--wait]``: start a task (``report.build``,
  ``responses.import``, ``invitations.send``) as a job;
- ``jobs worker [--burst]``: run an rq worker (when ``ALLEGIANCE_REDIS_URL`` is set).

Which database: see :mod:`allegiance.cli.db`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer

from allegiance.cli.common import FormatOpt, LangOpt, OutputFormat, ProjectOpt, h
from allegiance.cli.db import Outcome, UrlOpt, actor, open_engine, report, resolve_target
from allegiance.i18n import Message

if TYPE_CHECKING:
    from allegiance.jobs import JobInfo

jobs_app = typer.Typer(
    name="jobs",
    help=h("cli.jobs.help"),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

JobIdArg = Annotated[str, typer.Argument(help=h("cli.jobs.opt.id"), show_default=False)]
LIST_COLUMNS = ("job_id", "name", "status", "progress", "actor", "created_at", "finished_at")


def _frame(infos: list[JobInfo]) -> pd.DataFrame:
    rows = [
        {
            "job_id": i.id,
            "name": i.name,
            "status": i.status,
            "progress": f"{i.done}/{i.total}" if i.total else "-",
            "actor": i.actor,
            "created_at": i.created_at,
            "finished_at": i.finished_at,
        }
        for i in infos
    ]
    frame = pd.DataFrame(rows, columns=list(LIST_COLUMNS))
    for col in ("created_at", "finished_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def list_jobs(
    name: Annotated[str | None, typer.Option("--name", help=h("cli.jobs.opt.name"))] = None,
    status: Annotated[str | None, typer.Option("--status", help=h("cli.jobs.opt.status"))] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help=h("cli.jobs.opt.limit"))] = 20,
    project: ProjectOpt = None,
    url: UrlOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
) -> None:
    from allegiance.jobs import job_backend

    target = resolve_target(project, url)
    with open_engine(target) as engine:
        infos = job_backend(engine).list(name=name, status=status, limit=limit)
    report(
        Outcome(
            Message("cli.jobs.listed", {"n": len(infos)}),
            {"jobs": [i.to_dict() for i in infos]},
            frames={"jobs": _frame(infos)},
        ),
        command="jobs list",
        inputs={"name": name, "status": status, "limit": limit, "url": target.shown},
        fmt=fmt,
    )


def show(
    job_id: JobIdArg,
    project: ProjectOpt = None,
    url: UrlOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
) -> None:
    from allegiance.jobs import job_backend

    target = resolve_target(project, url)
    with open_engine(target) as engine:
        info = job_backend(engine).status(job_id)
    _report_one(info, command="jobs show", inputs={"job_id": job_id, "url": target.shown}, fmt=fmt)


def _report_one(info: JobInfo, *, command: str, inputs: dict[str, Any], fmt: OutputFormat) -> None:
    data = info.to_dict()
    rows = [
        {
            "field": k,
            "value": json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v,
        }
        for k, v in data.items()
    ]
    message = info.error_message()
    report(
        Outcome(
            message
            if message is not None
            else Message(f"cli.jobs.state.{info.status}", {"id": info.id}),
            data,
            frames={"job": pd.DataFrame(rows, columns=["field", "value"]).astype({"value": str})},
        ),
        command=command,
        inputs=inputs,
        fmt=fmt,
    )


def _params(values: list[str]) -> dict[str, Any]:
    from allegiance.errors import ValidationError

    out: dict[str, Any] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        if not sep or not key.strip():
            raise ValidationError("cli.jobs.bad_param", value=value)
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


def submit(
    name: Annotated[str, typer.Argument(help=h("cli.jobs.opt.task"), show_default=False)],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-P", help=h("cli.jobs.opt.param"))
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help=h("cli.jobs.opt.wait"))] = False,
    project: ProjectOpt = None,
    url: UrlOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
) -> None:
    from allegiance.jobs import job_backend

    params = _params(param or [])
    target = resolve_target(project, url)
    with open_engine(target) as engine:
        jobs = job_backend(engine)
        job_id = jobs.submit(name, actor=actor(), **params)
        # an in-process job must end before this process does; rq jobs wait only if asked
        info = (
            jobs.wait(job_id, timeout=24 * 3600)
            if wait or jobs.kind == "thread"
            else jobs.status(job_id)
        )
    _report_one(info, command="jobs submit", inputs={"name": name, "params": params}, fmt=fmt)
    if info.status == "failed":
        raise typer.Exit(code=1)


def worker(
    burst: Annotated[bool, typer.Option("--burst", help=h("cli.jobs.opt.burst"))] = False,
    project: ProjectOpt = None,
    url: UrlOpt = None,
    lang: LangOpt = None,
) -> None:
    from allegiance.errors import ConfigError
    from allegiance.jobs import RqBackend
    from allegiance.settings import get_settings

    settings = get_settings()
    if not settings.redis_url:
        raise ConfigError("jobs.no_redis")
    target = resolve_target(project, url)
    with open_engine(target) as engine:
        backend = RqBackend(engine, redis_url=settings.redis_url, queue=settings.jobs_queue)
        backend.work(burst=burst)


jobs_app.command("list", help=h("cli.jobs.list.help"))(list_jobs)
jobs_app.command("show", help=h("cli.jobs.show.help"))(show)
jobs_app.command("submit", help=h("cli.jobs.submit.help"))(submit)
jobs_app.command("worker", help=h("cli.jobs.worker.help"))(worker)


def register(app: typer.Typer) -> None:
    """Add the ``jobs`` command group to ``app``."""
    app.add_typer(jobs_app, name="jobs", help=h("cli.jobs.help"))
