"""``allegiance survey ...``: survey definitions, templates and their life in the project.

- ``templates``: the shipped templates (name, title, size, the analyses they feed);
- ``schema``: the JSON Schema of a definition (``allegiance survey schema > survey.schema.json``);
- ``validate FILE``: check a definition; every problem with its file, line and path;
- ``columns FILE``: the analysis columns a definition's answers become, with their tags;
- ``new --template NAME | --from FILE``: write the YAML into the project's ``surveys/``
  folder and store the survey as a draft (without a project: write the YAML only);
- ``publish SLUG``, ``close SLUG``, ``list``: the survey's status in the project database.

Each command parses, calls one function of :mod:`allegiance.survey` or
:mod:`allegiance.store.surveys`, and renders with :func:`emit`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from allegiance.cli.common import FormatOpt, LangOpt, OutputFormat, ProjectOpt, emit, h, stderr
from allegiance.cli.display import Displayed
from allegiance.errors import ProjectError
from allegiance.i18n import Message, current_lang, t
from allegiance.results import records

survey_app = typer.Typer(
    name="survey",
    help=h("cli.survey.help"),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

FileArg = Annotated[Path, typer.Argument(help=h("cli.survey.opt.file"), show_default=False)]
SlugArg = Annotated[str, typer.Argument(help=h("cli.survey.opt.slug"), show_default=False)]

#: Folder of a project that holds survey definitions.
SURVEYS_FOLDER = "surveys"
_STATUS = ("survey.status",)


@dataclass(frozen=True)
class SurveyResult:
    """A command's tables and JSON body (the :class:`~allegiance.results.Result` contract)."""

    frames: dict[str, pd.DataFrame]
    body: dict[str, Any]
    warnings: tuple[Message, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def tables(self) -> dict[str, pd.DataFrame]:
        return dict(self.frames)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.body)


def _engine(project: Path | None) -> tuple[Any, Any]:
    """The opened project and an engine on its (upgraded) database."""
    from allegiance.project import open_project
    from allegiance.store.db import make_engine, upgrade

    opened = open_project(project)
    upgrade(opened.database_url)
    return opened, make_engine(opened.database_url)


def _session(engine: Any) -> Any:
    from allegiance.store.db import session_factory

    return session_factory(engine)()


def _survey_row(survey: Any) -> dict[str, Any]:
    return {
        "slug": survey.slug,
        "title_en": survey.title_en,
        "title_zh": survey.title_zh,
        "status": survey.status,
        "definition_version": survey.version,
        "from_template": survey.template,
        "published_at": survey.published_at,
        "closed_at": survey.closed_at,
    }


_SHOWN = ("slug", "status", "definition_version", "wave", "definition_file", "stored")


def _one_survey(row: dict[str, Any], **extra: Any) -> Displayed:
    """One survey: every field in the JSON, the few that matter in the table."""
    full = pd.DataFrame([{**row, **extra}])
    body = {"survey": records(full)[0]}
    shown = full[[c for c in _SHOWN if c in full.columns]]
    return Displayed(SurveyResult({"survey_record": shown}, body), columns={"status": _STATUS})


# --------------------------------------------------------------------------------- templates


def templates_cmd(fmt: FormatOpt = OutputFormat.table, lang: LangOpt = None) -> None:
    from allegiance.survey.templates import templates_summary

    chosen = current_lang()
    rows = [
        {
            "name": s.name,
            "title": s.title.get(chosen),
            "n_questions": s.n_questions,
            "analyses": ", ".join(s.analyses),
        }
        for s in templates_summary()
    ]
    frame = pd.DataFrame(rows, columns=["name", "title", "n_questions", "analyses"])
    body = {
        "templates": [
            {
                "name": s.name,
                "title": {"en": s.title.en, "zh": s.title.zh},
                "n_pages": s.n_pages,
                "n_questions": s.n_questions,
                "analyses": list(s.analyses),
                "source": s.source,
            }
            for s in templates_summary()
        ]
    }
    emit(SurveyResult({"templates": frame}, body), command="survey templates", inputs={}, fmt=fmt)


# ------------------------------------------------------------------------------------ schema


def schema_cmd(lang: LangOpt = None) -> None:
    from allegiance.survey.definition import schema_text

    sys.stdout.write(schema_text())


# ---------------------------------------------------------------------------------- validate


def _summary(definition: Any) -> pd.DataFrame:
    counts: dict[str, int] = {}
    for q in definition.questions():
        counts[q.type] = counts.get(q.type, 0) + 1
    return pd.DataFrame(
        [{"question_type": k, "n_questions": v} for k, v in counts.items()],
        columns=["question_type", "n_questions"],
    )


def validate_cmd(file: FileArg, fmt: FormatOpt = OutputFormat.table, lang: LangOpt = None) -> None:
    from allegiance.survey.analysis import column_info
    from allegiance.survey.definition import DefinitionError, load_definition

    try:
        definition = load_definition(file)
    except DefinitionError as exc:
        if fmt is OutputFormat.json:
            import json

            from allegiance.cli.common import envelope

            body = {"valid": False, "file": str(file), "issues": [i.to_dict() for i in exc.issues]}
            env = envelope("survey validate", {"file": str(file)}, body, ())
            sys.stdout.write(json.dumps(env, ensure_ascii=False, indent=2) + "\n")
        else:
            from rich.markup import escape

            stderr().print(f"[bold red]{escape(exc.render(current_lang()))}[/bold red]")
        raise typer.Exit(code=1) from None
    body = {
        "valid": True,
        "file": str(file),
        "code": definition.code,
        "title": {"en": definition.title.en, "zh": definition.title.zh},
        "n_pages": len(definition.pages),
        "n_questions": len(definition.questions()),
        "n_columns": len(column_info(definition)),
    }
    frames = {"question_types": _summary(definition)}
    shown = Displayed(SurveyResult(frames, body), columns={"question_type": ("survey.type",)})

    def headline(con: Any) -> None:
        con.print(
            t(
                "cli.survey.valid",
                None,
                file=str(file),
                pages=body["n_pages"],
                questions=body["n_questions"],
                columns=body["n_columns"],
            )
        )

    emit(shown, command="survey validate", inputs={"file": str(file)}, fmt=fmt, extra=headline)


# ----------------------------------------------------------------------------------- columns


def columns_cmd(
    file: Annotated[
        Path | None, typer.Argument(help=h("cli.survey.opt.definition"), show_default=False)
    ] = None,
    template: Annotated[
        str | None, typer.Option("--template", "-t", help=h("cli.survey.opt.template"))
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
) -> None:
    from allegiance.survey.analysis import column_table
    from allegiance.survey.definition import load_definition
    from allegiance.survey.templates import load_template

    if (file is None) == (template is None):
        raise typer.BadParameter(t("cli.survey.one_source", None))
    definition = load_template(template) if template else load_definition(file)  # type: ignore[arg-type]
    full = column_table(definition)
    chosen = current_lang()
    tags = ("measures", "construct", "factor", "dimension", "kano_feature")
    shown = pd.DataFrame(
        {
            "column": full["column"],
            "question_type": full["question_type"],
            "answer_part": full["answer_part"],
            "tags": [
                "; ".join(f"{k}={row[k]}" for k in tags if isinstance(row[k], str) and row[k])
                for _, row in full.iterrows()
            ],
            "scale_range": [
                f"{row['low']:g}-{row['high']:g}" if pd.notna(row["low"]) else None
                for _, row in full.iterrows()
            ],
            "label": full["label_zh"] if chosen == "zh" else full["label_en"],
        }
    )
    result = SurveyResult({"columns": shown}, {"columns": records(full)})
    source = {"template": template} if template else {"file": str(file)}
    emit(
        Displayed(result, columns={"question_type": ("survey.type",)}),
        command="survey columns",
        inputs=source,
        fmt=fmt,
    )


# --------------------------------------------------------------------------------------- new


def _with_slug(text: str, slug: str) -> str:
    """The definition text with its ``code:`` set to ``slug`` (comments kept)."""
    pattern = re.compile(r"^code:[^\n]*$", re.MULTILINE)
    if pattern.search(text):
        return pattern.sub(f"code: {slug}", text, count=1)
    return f"code: {slug}\n{text}"


def new_cmd(
    template: Annotated[
        str | None, typer.Option("--template", "-t", help=h("cli.survey.opt.template"))
    ] = None,
    from_file: Annotated[Path | None, typer.Option("--from", help=h("cli.survey.opt.from"))] = None,
    slug: Annotated[str | None, typer.Option("--slug", help=h("cli.survey.opt.new_slug"))] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help=h("cli.survey.opt.out"))] = None,
    store: Annotated[
        bool, typer.Option("--store/--no-store", help=h("cli.survey.opt.store"))
    ] = True,
    force: Annotated[bool, typer.Option("--force", help=h("cli.survey.opt.force"))] = False,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.store.surveys import check_slug, create_survey_from_definition
    from allegiance.survey.definition import parse_definition
    from allegiance.survey.templates import template_path

    if (template is None) == (from_file is None):
        raise typer.BadParameter(t("cli.survey.one_source", None))
    source_path = template_path(template) if template is not None else Path(str(from_file))
    if not source_path.is_file():
        from allegiance.errors import ConfigError

        raise ConfigError("survey.def.no_file", file=str(source_path))
    text = source_path.read_text(encoding="utf-8-sig")
    definition = parse_definition(text, source=str(source_path))
    name = check_slug(slug or definition.code)
    text = _with_slug(text, name)
    definition = parse_definition(text, source=str(source_path))
    opened = None
    if project is not None:
        from allegiance.project import open_project

        opened = open_project(project)
    target = out
    if target is None:
        folder = opened.root / SURVEYS_FOLDER if opened is not None else Path(".")
        target = folder / f"{name}.yaml"
    if target.exists() and not force:
        raise ProjectError("cli.survey.exists", path=str(target))
    stored = False
    row: dict[str, Any] = {"slug": name, "status": None, "definition_version": None}
    if opened is not None and store:
        _, engine = _engine(opened.root)
        try:
            with _session(engine) as session:
                survey = create_survey_from_definition(
                    session, definition, slug=name, template=template
                )
                row = _survey_row(survey)
        finally:
            engine.dispose()
        stored = True
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    inputs = {"template": template, "from": str(from_file) if from_file else None}
    emit(
        _one_survey(row, definition_file=str(target), stored=stored),
        command="survey new",
        inputs={**inputs, "slug": name, "project": str(opened.root) if opened else None},
        fmt=fmt,
    )


# ----------------------------------------------------------------------- publish, close, list


def publish_cmd(
    slug: SlugArg,
    wave: Annotated[str | None, typer.Option("--wave", help=h("cli.survey.opt.wave"))] = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.store.surveys import current_wave, publish_survey

    opened, engine = _engine(project)
    try:
        with _session(engine) as session:
            survey = publish_survey(session, slug, wave=wave)
            current = current_wave(session, survey)
            row = _survey_row(survey)
            row["wave"] = current.name if current is not None else None
    finally:
        engine.dispose()
    emit(
        _one_survey(row),
        command="survey publish",
        inputs={"slug": slug, "wave": wave, "project": str(opened.root)},
        fmt=fmt,
    )


def close_cmd(
    slug: SlugArg,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.store.surveys import close_survey

    opened, engine = _engine(project)
    try:
        with _session(engine) as session:
            row = _survey_row(close_survey(session, slug))
    finally:
        engine.dispose()
    emit(
        _one_survey(row),
        command="survey close",
        inputs={"slug": slug, "project": str(opened.root)},
        fmt=fmt,
    )


def list_cmd(
    status: Annotated[str | None, typer.Option("--status", help=h("cli.survey.opt.status"))] = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.errors import ValidationError
    from allegiance.store.models import SURVEY_STATUSES
    from allegiance.store.surveys import surveys_frame

    if status is not None and status not in SURVEY_STATUSES:
        raise ValidationError(
            "cli.survey.bad_status", value=status, allowed=", ".join(SURVEY_STATUSES)
        )
    opened, engine = _engine(project)
    try:
        with _session(engine) as session:
            frame = surveys_frame(session, status=status)
    finally:
        engine.dispose()
    frame = frame.rename(columns={"version": "definition_version", "template": "from_template"})
    chosen = current_lang()
    shown = pd.DataFrame(
        {
            "slug": frame["slug"],
            "title": frame["title_zh"] if chosen == "zh" else frame["title_en"],
            "status": frame["status"],
            "n_invitations": frame["n_invitations"],
            "n_drafts": frame["n_drafts"],
            "n_responses": frame["n_responses"],
        }
    )
    result = SurveyResult({"surveys": shown}, {"surveys": records(frame)})
    emit(
        Displayed(result, columns={"status": _STATUS}),
        command="survey list",
        inputs={"status": status, "project": str(opened.root)},
        fmt=fmt,
    )


def register(app: typer.Typer) -> None:
    """Add ``allegiance survey ...`` to ``app``."""
    survey_app.command("templates", help=h("cli.survey.templates.help"))(templates_cmd)
    survey_app.command("schema", help=h("cli.survey.schema.help"))(schema_cmd)
    survey_app.command("validate", help=h("cli.survey.validate.help"))(validate_cmd)
    survey_app.command("columns", help=h("cli.survey.columns.help"))(columns_cmd)
    survey_app.command("new", help=h("cli.survey.new.help"))(new_cmd)
    survey_app.command("publish", help=h("cli.survey.publish.help"))(publish_cmd)
    survey_app.command("close", help=h("cli.survey.close.help"))(close_cmd)
    survey_app.command("list", help=h("cli.survey.list.help"))(list_cmd)
    app.add_typer(survey_app, name="survey")
