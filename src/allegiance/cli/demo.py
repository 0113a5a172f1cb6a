"""``allegiance generate``, ``allegiance report`` and ``allegiance demo``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from allegiance.cli.common import (
    FormatOpt,
    LangOpt,
    OutOpt,
    OutputFormat,
    ProjectOpt,
    emit,
    h,
    progress,
)
from allegiance.i18n import current_lang, t

if TYPE_CHECKING:
    from allegiance.workflow import ReportSummary

CustomersOpt = Annotated[
    int, typer.Option("--customers", "-n", min=1, help=h("cli.demo.customers"))
]
MonthsOpt = Annotated[int, typer.Option("--months", "-m", min=1, help=h("cli.demo.months"))]
SeedOpt = Annotated[int, typer.Option("--seed", help=h("cli.demo.seed"))]
DEFAULT_DEMO_DIR = Path("allegiance-demo")
# DemoConfig's default seed, repeated here so --help does not import the generator (tested).
DEFAULT_SEED = 20240601


def _headline(con: Console, summary: ReportSummary) -> None:
    """The first figures of every section, in the report's language."""
    from allegiance.reports.html import format_value
    from allegiance.reports.registry import text

    lang = summary.lang
    con.print(f"\n[bold]{t('cli.demo.headline', lang)}[/bold]")
    for part in summary.report.sections:
        title = part.title
        if part.error is not None:
            con.print(f"  [red]{title}[/red]: {part.error.render(lang)}")
            continue
        for fig in part.output.figures[:4]:
            value = format_value(fig.value, kind=fig.kind, digits=fig.digits, lang=lang)
            con.print(f"  {title} · {text(fig.label_key, lang)}: [bold]{value}[/bold]")
    con.print(t("cli.demo.report_at", lang, html=str(summary.html), xlsx=str(summary.xlsx)))


def generate(
    customers: CustomersOpt = 20_000,
    months: MonthsOpt = 24,
    seed: SeedOpt = DEFAULT_SEED,
    force: Annotated[bool, typer.Option("--force", help=h("cli.generate.force"))] = False,
    project: ProjectOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
) -> None:
    from allegiance.generate import DemoConfig
    from allegiance.workflow import generate_project

    config = DemoConfig(customers=customers, months=months, seed=seed)
    with progress(fmt is OutputFormat.table) as step:
        summary = generate_project(project, config=config, replace=force, progress=step)
    emit(
        summary,
        command="generate",
        inputs={"customers": customers, "months": months, "seed": seed, "project": project},
        fmt=fmt,
        out=out,
    )


def report(
    project: ProjectOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
) -> None:
    from allegiance.workflow import build_project_report

    with progress(fmt is OutputFormat.table) as step:
        summary = build_project_report(project, lang=current_lang(), progress=step)
    emit(
        summary,
        command="report",
        inputs={"project": project},
        fmt=fmt,
        out=out,
        extra=lambda con: _headline(con, summary),
        show=("timings",),
    )


def demo(
    project: Annotated[
        Path, typer.Option("--project", "-p", help=h("cli.demo.project"))
    ] = DEFAULT_DEMO_DIR,
    customers: CustomersOpt = 20_000,
    months: MonthsOpt = 24,
    seed: SeedOpt = DEFAULT_SEED,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
) -> None:
    from allegiance.workflow import run_demo

    with progress(fmt is OutputFormat.table) as step:
        result = run_demo(
            project,
            customers=customers,
            months=months,
            seed=seed,
            lang=current_lang(),
            progress=step,
        )
    emit(
        result,
        command="demo",
        inputs={"project": project, "customers": customers, "months": months, "seed": seed},
        fmt=fmt,
        out=out,
        extra=lambda con: _headline(con, result.report),
        show=("timings", "generated"),
    )


def register(app: typer.Typer) -> None:
    app.command("demo", help=h("cli.demo.help"))(demo)
    app.command("generate", help=h("cli.generate.help"))(generate)
    app.command("report", help=h("cli.report.help"))(report)
