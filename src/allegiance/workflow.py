"""The jobs that join the pieces: fill a project with the demo company, report on a project,
and the whole demo.

``generate_project`` writes the large tables as Parquet in the project's ``data/`` folder
and the survey responses and complaints into the project database (as the collection
side would); ``ProjectData`` is what report sections read; ``build_project_report``
writes ``reports/report.html`` and ``reports/report.xlsx``; ``run_demo`` does it all.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from allegiance.errors import AllegianceError, ProjectError
from allegiance.generate import DemoConfig, GeneratedData, generate, write_parquet
from allegiance.i18n import Lang, Message, current_lang, normalize_lang, t
from allegiance.project import Project, init_project, open_project
from allegiance.reports import build_report, load_sections, write_html, write_xlsx
from allegiance.reports.registry import ProgressEvent, Report
from allegiance.results import plain, plain_dict
from allegiance.store import repository as repo
from allegiance.store.db import make_engine, session_factory, upgrade

__all__ = [
    "DEMO_STEP_MONTHS",
    "DEMO_SURVEY",
    "DemoResult",
    "GenerateSummary",
    "ProjectData",
    "ReportSummary",
    "build_project_report",
    "generate_project",
    "profile_project",
    "run_demo",
]

Step = Callable[[str, int, int], None]

DEMO_SURVEY = "huaxun-cx"
DEMO_STEP_MONTHS: int | None = 6
"""Months of activity the demo's step engine reads (the last ones; ``None``: all)."""
DEMO_WAVE = "wave1"
# Tables that go to the database as well as to Parquet.
_RESPONSE_FIELDS = ("respondent_key", "customer_id", "submitted_at")
_COMPLAINT_FIELDS = (
    "complaint_key",
    "customer_id",
    "received_at",
    "channel",
    "cause_code",
    "cause_class",
    "text",
    "status",
    "resolved_at",
    # the complaint register's handling fields (allegiance.complaints)
    "product",
    "severity",
    "owner",
    "first_response_at",
    "resolution",
    "compensation",
    "satisfaction_after",
    "escalated_to",
    "lang",
)


def _noop(_step: str, _done: int, _total: int) -> None:
    return None


# --------------------------------------------------------------------------- generate


@dataclass(frozen=True)
class GenerateSummary:
    """What ``generate_project`` wrote."""

    project: Path
    config: dict[str, Any]
    rows: dict[str, int]
    seconds: dict[str, float]
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        frame = pd.DataFrame(
            {"table": list(self.rows), "rows": [self.rows[k] for k in self.rows]}
        ).set_index("table")
        return {"generated": frame}

    def to_dict(self) -> dict[str, Any]:
        return plain_dict(
            {
                "project": str(self.project),
                "config": self.config,
                "rows": self.rows,
                "seconds": self.seconds,
            }
        )


_KEPT_ON_RESET = frozenset({"users", "api_tokens", "audit_log", "project_meta"})
"""Tables a replaced demo leaves alone: accounts, tokens, the audit log and project facts
(such as the pseudonymisation salt)."""


def _reset(project: Project) -> None:
    """Empty a project that already holds generated data: the data tables emptied (accounts,
    tokens, the audit log and project facts kept), Parquet removed."""
    from sqlalchemy import delete

    from allegiance.store.models import Base, ProjectMeta

    upgrade(project.database_url)
    engine = make_engine(project.database_url)
    try:
        with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                if table.name not in _KEPT_ON_RESET:
                    conn.execute(delete(table))
            conn.execute(delete(ProjectMeta).where(ProjectMeta.key == "generated"))
    finally:
        engine.dispose()
    if project.data_dir.exists():
        for item in project.data_dir.iterdir():
            if item.is_file():
                item.unlink()
            else:
                shutil.rmtree(item)


def _has_generated_data(project: Project) -> bool:
    engine = make_engine(project.database_url)
    try:
        with session_factory(engine)() as session:
            return bool(repo.get_meta(session, "generated"))
    finally:
        engine.dispose()


def generate_project(
    project_dir: str | os.PathLike[str] | None,
    /,
    *,
    config: DemoConfig,
    replace: bool = False,
    progress: Step | None = None,
) -> GenerateSummary:
    """Fill a project (created if needed) with the demo company's data.

    A project that already holds generated data is emptied first when ``replace`` is
    true; otherwise that is an error, so nothing is overwritten by accident.
    """
    step = progress or _noop
    timings: dict[str, float] = {}
    started = time.perf_counter()
    project = (
        init_project(project_dir, exist_ok=True) if project_dir is not None else open_project(None)
    )
    if _has_generated_data(project):
        if not replace:
            raise ProjectError("workflow.already_generated", path=str(project.root))
        _reset(project)
    timings["prepare"] = time.perf_counter() - started

    t0 = time.perf_counter()
    label = t("workflow.step.generate")
    data = generate(config, progress=lambda _name, done, total: step(label, done, total))
    timings["generate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    label = t("workflow.step.parquet")
    step(label, 0, 1)
    paths = write_parquet(data, project.data_dir)
    step(label, 1, 1)
    timings["parquet"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    label = t("workflow.step.database")
    step(label, 0, 1)
    _store(project, data, paths)
    step(label, 1, 1)
    timings["database"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - started
    return GenerateSummary(
        project=project.root,
        config=data.config.to_dict(),
        rows={name: len(frame) for name, frame in data.tables.items()},
        seconds=timings,
    )


def _store(project: Project, data: GeneratedData, paths: dict[str, Path]) -> None:
    engine = make_engine(project.database_url)
    try:
        with session_factory(engine)() as session:
            for name, frame in data.tables.items():
                source = data.sources.get(name, name)
                repo.register_dataset(
                    session,
                    name=name,
                    kind="parquet",
                    path=paths[name].relative_to(project.root),
                    n_rows=len(frame),
                    columns=[str(c) for c in frame.columns],
                    source=f"generate.{source}",
                    truth=plain(data.truth.get(source)),
                    replace=True,
                    commit=False,
                )
            survey = repo.get_survey_by_code(session, DEMO_SURVEY) or repo.create_survey(
                session,
                code=DEMO_SURVEY,
                title_en="Huaxun Telecom customer experience survey",
                title_zh="华讯通信客户体验调查",
                definition={"generated": True, "columns": list(data.tables["survey_responses"])},
                commit=False,
            )
            responses = data.tables["survey_responses"]
            wave = repo.get_or_create_wave(
                session,
                survey.id,
                str(responses["wave"].iloc[0]) if len(responses) else DEMO_WAVE,
                starts_on=pd.Timestamp(responses["submitted_at"].min()).date(),
                ends_on=pd.Timestamp(responses["submitted_at"].max()).date(),
                commit=False,
            )
            repo.save_responses(session, wave.id, _response_rows(responses), commit=False)
            complaints = data.tables["complaints"]
            repo.save_complaints(
                session, complaints[[c for c in _COMPLAINT_FIELDS if c in complaints]], commit=False
            )
            repo.set_meta(session, "generated", data.config.to_dict(), commit=False)
            session.commit()
    finally:
        engine.dispose()


def _response_rows(responses: pd.DataFrame) -> list[dict[str, Any]]:
    answers = [c for c in responses.columns if c not in (*_RESPONSE_FIELDS, "wave")]
    fixed = responses[list(_RESPONSE_FIELDS)].to_dict(orient="records")
    values = responses[answers].astype(object).where(responses[answers].notna(), None)
    rows = values.to_dict(orient="records")
    return [
        {
            **{str(k): v for k, v in head.items()},
            "answers": {str(k): plain(v) for k, v in row.items()},
        }
        for head, row in zip(fixed, rows, strict=True)
    ]


# --------------------------------------------------------------------------- project data


@dataclass
class ProjectData:
    """What report sections read from a project: frames loaded once, on first use."""

    project: Project
    lang: Lang = field(default_factory=current_lang)
    _tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    pending: dict[str, Callable[[], None]] = field(default_factory=dict, repr=False)

    def ready(self, name: str) -> None:
        """Wait until the table ``name`` is written when it is still being computed in the
        background (the demo computes the customer profile while other sections run); its
        error, if any, is raised here."""
        wait = self.pending.pop(name, None)
        if wait is not None:
            wait()

    @cached_property
    def engine(self) -> Any:
        return make_engine(self.project.database_url)

    def parquet(self, name: str) -> Path:
        path = self.project.data_path(name)
        if not path.is_file():
            raise ProjectError("workflow.missing_table", name=name, path=str(path))
        return path

    def table(self, name: str) -> pd.DataFrame:
        """Any Parquet table of the project's ``data/`` folder, read once."""
        if name not in self._tables:
            self._tables[name] = pd.read_parquet(self.parquet(name))
        return self._tables[name]

    def has_table(self, name: str) -> bool:
        return self.project.data_path(name).is_file()

    @property
    def customers(self) -> pd.DataFrame:
        return self.table("customers")

    @cached_property
    def activity_monthly(self) -> pd.DataFrame:
        """Activity reduced where it lives (DuckDB over Parquet): one row per month."""
        path = self.parquet("activity").as_posix()
        sql = f"""
            SELECT month,
                   count(*) FILTER (WHERE amount > 0)        AS active_customers,
                   sum(amount)                               AS revenue,
                   sum(additions)                            AS additions,
                   sum(cancellations)                        AS cancellations,
                   avg(products_held) FILTER (WHERE amount > 0) AS products_per_customer
            FROM read_parquet('{path.replace("'", "''")}')
            GROUP BY month ORDER BY month
        """
        with duckdb.connect() as con:
            return con.execute(sql).df()

    @cached_property
    def responses(self) -> pd.DataFrame:
        return repo.responses_frame(self.engine, survey_code=DEMO_SURVEY)

    @cached_property
    def complaints(self) -> pd.DataFrame:
        return repo.complaints_frame(self.engine)

    @cached_property
    def truth(self) -> dict[str, Any]:
        with session_factory(self.engine)() as session:
            return {d.source: d.truth for d in repo.list_datasets(session) if d.truth}

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class ReportSummary:
    """Where the report went, its headline figures and each section's compute time."""

    html: Path
    xlsx: Path
    lang: str
    figures: dict[str, Any]
    seconds: dict[str, float]
    errors: dict[str, str]
    report: Report
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        figures = pd.DataFrame(
            {"figure": list(self.figures), "value": [self.figures[k] for k in self.figures]}
        ).set_index("figure")
        timings = pd.DataFrame(
            {"section": list(self.seconds), "seconds": [self.seconds[k] for k in self.seconds]}
        ).set_index("section")
        return {"headline": figures, "timings": timings}

    def to_dict(self) -> dict[str, Any]:
        return plain_dict(
            {
                "html": str(self.html),
                "xlsx": str(self.xlsx),
                "lang": self.lang,
                "figures": self.figures,
                "seconds": self.seconds,
                "errors": self.errors,
            }
        )


def build_project_report(
    project_dir: str | os.PathLike[str] | None,
    /,
    *,
    lang: str | None = None,
    progress: Step | None = None,
    pending: dict[str, Callable[[], None]] | None = None,
) -> ReportSummary:
    """Run every registered report section on a project; write report.html and report.xlsx.

    ``pending`` maps a table still being computed to a function that waits for it (see
    :meth:`ProjectData.ready`)."""
    step = progress or _noop
    project = open_project(project_dir)
    chosen: Lang = normalize_lang(lang) or current_lang()
    load_sections()
    data = ProjectData(project, lang=chosen, pending=dict(pending or {}))

    def on_event(event: ProgressEvent) -> None:
        step(t("workflow.step.report"), event.index + (1 if event.done else 0), event.total)

    try:
        report: Report = build_report(data, lang=chosen, progress=on_event)
    finally:
        data.close()
    project.reports_dir.mkdir(exist_ok=True)
    html = write_html(report, project.reports_dir / "report.html")
    xlsx = write_xlsx(report, project.reports_dir / "report.xlsx")
    return ReportSummary(
        html=html,
        xlsx=xlsx,
        lang=chosen,
        figures=report.figures(),
        seconds={s.section.id: s.seconds for s in report.sections},
        errors={s.section.id: s.error.render(chosen) for s in report.sections if s.error},
        report=report,
        warnings=tuple(w for s in report.sections if s.output for w in s.output.warnings),
    )


# --------------------------------------------------------------------------- profile


def profile_project(
    project_dir: str | os.PathLike[str] | None,
    /,
    *,
    step_months: int | None = None,
    full: bool = False,
    rules: Any = None,
    lang: str | None = None,
    progress: Step | None = None,
) -> Any:
    """The per-customer profile of a project
    (:func:`allegiance.customers.profile.profile_folder` on its ``data/`` folder): the step
    engine's state in ``data/loyalty_steps`` brought up to date, and
    ``data/customer_profile.parquet`` (with its ``.json``) written from ``data/activity``,
    ``customers`` and ``loyalty_facts``. ``step_months`` lets the step engine read only the
    last months of activity; ``rules`` are the step rules (default: the shipped ones)."""
    from allegiance.customers.profile import profile_folder

    step = progress or _noop
    project = open_project(project_dir)
    chosen: Lang = normalize_lang(lang) or current_lang()
    label = t("workflow.step.profile", chosen)
    return profile_folder(
        project.data_dir,
        step_months=step_months,
        full=full,
        rules=rules,
        lang=chosen,
        progress=lambda _s, done, total: step(label, done, total),
    )


_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class _ProfileJob:
    """The demo's customer profile computed by a second Python process
    (:func:`allegiance.customers.profile.serve_profile`): started at once so that it loads its
    libraries while this process generates the data, given the data folder when the data are
    written, and waited for by the customers section. A fresh interpreter (not
    ``multiprocessing``), so the caller's ``__main__`` is never run again. Where no process can
    be started, or it dies, the profile is computed here."""

    def __init__(self) -> None:
        import subprocess
        import sys
        import tempfile

        self.outcome: dict[str, Any] | None = None
        self.seconds = 0.0
        self.request: tuple[str, int | None, str | None] | None = None
        fd, name = tempfile.mkstemp(prefix="allegiance-profile-", suffix=".json")
        os.close(fd)
        self.result = Path(name)
        # one BLAS thread there: its model fits work on small vectors, and BLAS threads that
        # spin while this process keeps the other cores busy slow them down many times
        env = {**os.environ, **{k: os.environ.get(k, "1") for k in _BLAS_THREADS}}
        code = "from allegiance.customers.profile import serve_profile; serve_profile()"
        try:
            self.process: Any = subprocess.Popen(
                [sys.executable, "-c", code],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                text=True,
            )
        except OSError:
            self.process = None

    def submit(self, data_dir: str, step_months: int | None, lang: str | None) -> None:
        """Give the worker its job (or remember it, to run here)."""
        import json

        self.request = (data_dir, step_months, lang)
        if self.process is None:
            return
        try:
            request = {"args": list(self.request), "out": str(self.result)}
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.close()
        except OSError:
            self.process.kill()
            self.process.wait()
            self.process = None

    def finish(self) -> dict[str, Any]:
        """Wait for the job; its outcome (``seconds``, and ``key``/``params`` of an error)."""
        import json

        from allegiance.customers.profile import profile_job

        if self.outcome is None and self.request is not None:
            if self.process is not None:
                self.process.wait()
                try:
                    found = json.loads(self.result.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    found = None
                self.outcome = found if isinstance(found, dict) else None
            if self.outcome is None:
                self.outcome = profile_job(*self.request)
            self.seconds = float(self.outcome.get("seconds", 0.0))
        return self.outcome or {}

    def wait(self) -> None:
        """Wait for the job and raise its error."""
        outcome = self.finish()
        if outcome.get("key"):
            raise AllegianceError(str(outcome["key"]), **dict(outcome.get("params") or {}))

    def close(self, *, kill: bool = False) -> None:
        """Leave no process behind: kill it (``kill``), or let it end (a job never given a
        request ends when its input closes) and wait for it."""
        import subprocess

        process = self.process
        if process is not None and process.poll() is None:
            if not kill and self.request is None:
                with contextlib.suppress(OSError):
                    process.stdin.close()
            try:
                if kill:
                    raise subprocess.TimeoutExpired(process.args, 0)
                process.wait(timeout=60 if self.request is None else None)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.result.unlink(missing_ok=True)


@contextmanager
def _profile_in_background() -> Iterator[_ProfileJob]:
    job = _ProfileJob()
    try:
        yield job
    except BaseException:
        job.close(kill=True)
        raise
    job.close()


# --------------------------------------------------------------------------- demo


@dataclass(frozen=True)
class DemoResult:
    """The demo: what was generated, the report, and the time each part took."""

    generated: GenerateSummary
    report: ReportSummary
    seconds: float
    profile_seconds: float = 0.0

    @property
    def warnings(self) -> tuple[Message, ...]:
        return self.report.warnings

    def tables(self) -> dict[str, pd.DataFrame]:
        return {**self.report.tables(), **self.generated.tables()}

    def to_dict(self) -> dict[str, Any]:
        return plain_dict(
            {
                "project": str(self.generated.project),
                "report_html": str(self.report.html),
                "report_xlsx": str(self.report.xlsx),
                "lang": self.report.lang,
                "headline": self.report.figures,
                "rows": self.generated.rows,
                "seconds": {
                    "total": self.seconds,
                    "generate": self.generated.seconds,
                    "profile": self.profile_seconds,
                    "sections": self.report.seconds,
                },
                "errors": self.report.errors,
            }
        )


def run_demo(
    project_dir: str | os.PathLike[str],
    /,
    *,
    customers: int = 20_000,
    months: int = 24,
    seed: int = DemoConfig.seed,
    lang: str | None = None,
    progress: Step | None = None,
) -> DemoResult:
    """Generate the demo company into ``project_dir`` (replacing an earlier demo there),
    run every analysis and write the report."""
    started = time.perf_counter()
    root = Path(project_dir).expanduser().resolve()
    if (root / "allegiance.yaml").is_file():
        project = open_project(root)
        if not project.settings.get("demo"):
            raise ProjectError("workflow.not_a_demo_project", path=str(root))
    elif root.exists() and any(root.iterdir()):
        raise ProjectError("workflow.folder_not_empty", path=str(root))
    else:
        init_project(root, name="allegiance demo", lang=lang, demo=True)
    # the customer profile (step engine, scores, CLV) is computed in a second process, started
    # now so that it loads its libraries during the generation, and run while the other
    # sections are built; the customers section waits for it
    with _profile_in_background() as job:
        generated = generate_project(
            root,
            config=DemoConfig(customers=customers, months=months, seed=seed),
            replace=True,
            progress=progress,
        )
        job.submit(str(open_project(root).data_dir), DEMO_STEP_MONTHS, lang)
        report = build_project_report(
            root, lang=lang, progress=progress, pending={"customer_profile": job.wait}
        )
        job.finish()
    return DemoResult(
        generated=generated,
        report=report,
        seconds=time.perf_counter() - started,
        profile_seconds=job.seconds,
    )
