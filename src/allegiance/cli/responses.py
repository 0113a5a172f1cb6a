"""``allegiance responses ...``: a survey's responses in and out, and their quality.

- ``export --survey SLUG --format csv|xlsx|sav [--out FILE] [--pseudonymise]``: one row
  per response, one column per answer part, metadata and quality flags; the SPSS file
  has variable and value labels in the ``--lang`` language;
- ``import FILE --survey SLUG [--quarantine FILE]``: check every row against the
  definition; any invalid row and nothing is written (or, with ``--quarantine``, the
  valid rows are written and the rejects saved with their reasons);
- ``quality --survey SLUG [--margins FILE]``: speeders, straight-liners, duplicates and,
  with population margins, raking weights with the design effect and effective n.

Each command calls one function of :mod:`allegiance.survey.exchange` or
:mod:`allegiance.survey.quality`.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from allegiance.cli.common import FormatOpt, LangOpt, OutputFormat, ProjectOpt, emit, h, stderr
from allegiance.i18n import current_lang, t

responses_app = typer.Typer(
    name="responses",
    help=h("cli.responses.help"),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

SurveyOpt = Annotated[
    str, typer.Option("--survey", "-s", help=h("cli.responses.opt.survey"), show_default=False)
]


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    sav = "sav"


def _engine(project: Path | None) -> tuple[Any, Any]:
    from allegiance.project import open_project
    from allegiance.store.db import make_engine, upgrade

    opened = open_project(project)
    upgrade(opened.database_url)
    return opened, make_engine(opened.database_url)


def export_cmd(
    survey: SurveyOpt,
    export_format: Annotated[
        ExportFormat,
        typer.Option(
            "--format", "-f", help=h("cli.responses.opt.export_format"), case_sensitive=False
        ),
    ] = ExportFormat.csv,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help=h("cli.responses.opt.out"))
    ] = None,
    pseudonymise: Annotated[
        bool, typer.Option("--pseudonymise", help=h("cli.responses.opt.pseudonymise"))
    ] = False,
    margins: Annotated[
        Path | None, typer.Option("--margins", help=h("cli.responses.opt.export_margins"))
    ] = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.survey.analysis import analysis_frame
    from allegiance.survey.exchange import export_responses, load_responses
    from allegiance.survey.quality import load_margins, rake_responses

    targets = load_margins(margins) if margins is not None else None
    _, engine = _engine(project)
    try:
        data = export_responses(
            engine,
            survey,
            export_format.value,
            pseudonymise=pseudonymise,
            lang=current_lang(),
            margins=targets,
        )
        raking = None
        if targets:
            definition, meta, answers = load_responses(engine, survey)
            raking = rake_responses(meta, analysis_frame(definition, answers, meta=False), targets)
    finally:
        engine.dispose()
    if raking is not None:
        stderr().print(t("responses.export.weighted", None, **raking.to_dict()))
    if out is None:
        if export_format is ExportFormat.csv:
            sys.stdout.write(data.decode("utf-8-sig"))
            return
        out = Path(f"{survey}-responses.{export_format.value}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    stderr().print(t("responses.export.written", None, n=len(data), path=str(out)))


def import_cmd(
    file: Annotated[Path, typer.Argument(help=h("cli.responses.opt.file"), show_default=False)],
    survey: SurveyOpt,
    quarantine: Annotated[
        Path | None, typer.Option("--quarantine", help=h("cli.responses.opt.quarantine"))
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.survey.exchange import import_responses

    opened, engine = _engine(project)
    try:
        result = import_responses(engine, survey, file, quarantine=quarantine)
    finally:
        engine.dispose()

    def headline(con: Any) -> None:
        con.print(
            t(
                "responses.import.done",
                None,
                n_written=result.n_written,
                n_rows=result.n_rows,
                n_rejected=result.n_rejected,
                survey=survey,
            )
        )

    emit(
        result,
        command="responses import",
        inputs={
            "file": str(file),
            "survey": survey,
            "quarantine": str(quarantine) if quarantine else None,
            "project": str(opened.root),
        },
        fmt=fmt,
        extra=headline,
    )


def quality_cmd(
    survey: SurveyOpt,
    margins: Annotated[
        Path | None, typer.Option("--margins", help=h("cli.responses.opt.margins"))
    ] = None,
    speeder_fraction: Annotated[
        float, typer.Option("--speeder-fraction", help=h("cli.responses.opt.speeder_fraction"))
    ] = 1 / 3,
    grid_items: Annotated[
        int, typer.Option("--grid-items", help=h("cli.responses.opt.grid_items"))
    ] = 5,
    duplicate_window: Annotated[
        float, typer.Option("--duplicate-window", help=h("cli.responses.opt.duplicate_window"))
    ] = 86400.0,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.survey.analysis import analysis_frame
    from allegiance.survey.exchange import load_responses
    from allegiance.survey.quality import QualitySettings, assess, load_margins

    settings = QualitySettings(
        speeder_fraction=speeder_fraction,
        straightline_min_items=grid_items,
        duplicate_window_s=duplicate_window,
    )
    targets = load_margins(margins) if margins is not None else None
    opened, engine = _engine(project)
    try:
        definition, meta, answers = load_responses(engine, survey)
    finally:
        engine.dispose()
    frame = analysis_frame(definition, answers, meta=False)
    result = assess(definition, meta, frame, survey=survey, settings=settings, margins=targets)
    emit(
        result,
        command="responses quality",
        inputs={
            "survey": survey,
            "margins": str(margins) if margins else None,
            "project": str(opened.root),
        },
        fmt=fmt,
        show=["quality_summary", "raking"] if result.raking is not None else ["quality_summary"],
    )


def register(app: typer.Typer) -> None:
    """Add ``allegiance responses ...`` to ``app``."""
    responses_app.command("export", help=h("cli.responses.export.help"))(export_cmd)
    responses_app.command("import", help=h("cli.responses.import.help"))(import_cmd)
    responses_app.command("quality", help=h("cli.responses.quality.help"))(quality_cmd)
    app.add_typer(responses_app, name="responses")
