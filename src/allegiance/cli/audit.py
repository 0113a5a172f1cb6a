"""``allegiance audit ...``: service compliance audits (mystery shopping, on-site supervision).

- ``audit score FILE [--checklist NAME|FILE] [--by branch|employee|period|method]``: visit
  scores, per branch / employee / period / method with intervals and ranks, the standards
  that fail most (Pareto), sections, mystery against on-site; calls
  :func:`allegiance.methods.audit.audit_scores`. The JSON ``result`` holds ``mean``,
  ``ci_low``, ``ci_high``, ``checklist`` and every table under ``tables``.
- ``audit checklist [NAME|FILE]``: the standards of a checklist (the shipped ones without
  an argument).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from allegiance.cli.common import (
    EncodingOpt,
    FormatOpt,
    LangOpt,
    OutOpt,
    OutputFormat,
    ProjectOpt,
    emit,
    h,
    resolve_input,
)
from allegiance.cli.display import Displayed
from allegiance.i18n import Message, current_lang, t

audit_app = typer.Typer(
    name="audit",
    help=h("cli.audit.help"),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

AUDIT_VALUES: dict[str, Any] = {
    "method": ("audit.method",),
    "signal": ("audit.signal",),
    "comparison": ("audit.comparison",),
}


ITEM_COLUMNS: tuple[str, ...] = (
    "pareto_rank",
    "item",
    "standard",
    "section",
    "critical",
    "compliance",
    "ci_low",
    "ci_high",
    "failures",
    "failure_share",
    "cumulative_share",
    "vital_few",
)
"""The standards' columns printed in table format (JSON and --out keep every column)."""


@dataclasses.dataclass(frozen=True)
class _Tables:
    """A plain table result for ``audit checklist``."""

    frames: dict[str, pd.DataFrame]
    info: dict[str, Any]
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return self.frames

    def to_dict(self) -> dict[str, Any]:
        from allegiance.results import records

        return {**self.info, "tables": {k: records(v) for k, v in self.frames.items()}}


def _checklist(value: str | None, project: Path | None) -> Any:
    from allegiance.methods.audit import checklist_names, load_checklist

    if value is None:
        return None
    if value in checklist_names():
        return load_checklist(value)
    return load_checklist(resolve_input(Path(value), project))


def score_cmd(
    file: Annotated[Path, typer.Argument(help=h("cli.audit.opt.file"), show_default=False)],
    checklist: Annotated[
        str | None, typer.Option("--checklist", "-c", help=h("cli.audit.opt.checklist"))
    ] = None,
    by: Annotated[list[str] | None, typer.Option("--by", help=h("cli.audit.opt.by"))] = None,
    period: Annotated[str, typer.Option("--period", help=h("cli.audit.opt.period"))] = "month",
    critical_cap: Annotated[
        float | None, typer.Option("--critical-cap", help=h("cli.audit.opt.critical_cap"))
    ] = None,
    confidence: Annotated[
        float, typer.Option("--confidence", help=h("cli.audit.opt.confidence"))
    ] = 0.95,
    visits: Annotated[bool, typer.Option("--visits", help=h("cli.audit.opt.visits"))] = False,
    encoding: EncodingOpt = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help=h("cli.audit.opt.sheet"))] = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.io.reader import read_table
    from allegiance.methods.audit import audit_scores

    path = resolve_input(file, project)
    table = read_table(path, encoding=encoding, sheet=sheet)
    chosen = _checklist(checklist, project)
    groups = list(by or ["branch"])
    result = audit_scores(
        table.frame,
        checklist=chosen,
        by=groups,
        period=period,
        critical_cap=critical_cap,
        confidence=confidence,
        source=str(path),
        header_row=table.header_row,
    )
    if table.warnings:
        result = dataclasses.replace(result, warnings=(*table.warnings, *result.warnings))
    inputs = {
        "file": str(path),
        "rows": len(table.frame),
        "checklist": result.checklist.source or result.checklist.id,
        "by": groups,
        "period": period,
        "critical_cap": critical_cap,
        "confidence": confidence,
    }
    lang_now = current_lang()
    standard = f"standard_{lang_now}"
    items = result.items.copy()
    items["standard"] = items[standard].where(items[standard] != "", items["item"])
    items["section"] = [result.checklist.section_title(s, lang_now) for s in items["section"]]
    items = items[[c for c in ITEM_COLUMNS if c in items.columns]]
    sections = result.sections.copy()
    sections["section"] = [result.checklist.section_title(s, lang_now) for s in sections["section"]]
    shown_tables = {"items": items, "sections": sections}
    only = ["summary", *[f"by_{g}" for g in groups], "items", "sections", "method_difference"]
    if visits:
        only.append("visits")
    shown = Displayed(
        result,
        columns=AUDIT_VALUES,
        active=fmt is OutputFormat.table,
        extra_tables=shown_tables if fmt is OutputFormat.table else {},
        only=tuple(only) if fmt is OutputFormat.table else (),
    )

    def headline(console: Any) -> None:
        worst = result.items.iloc[0] if len(result.items) else None
        console.print(
            t(
                "audit.headline",
                lang_now,
                mean=f"{100 * result.mean:.1f}%",
                visits=int(result.summary["n_scored"].iloc[0]),
                worst="-" if worst is None else str(worst[standard] or worst["item"]),
            )
        )

    emit(shown, command="audit score", inputs=inputs, fmt=fmt, out=out, extra=headline)


def checklist_cmd(
    name: Annotated[
        str | None, typer.Argument(help=h("cli.audit.opt.name"), show_default=False)
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods.audit import checklist_names, load_checklist

    lang_now = current_lang()
    if name is None:
        rows = []
        for code in checklist_names():
            c = load_checklist(code)
            rows.append(
                {
                    "checklist": code,
                    "title": c.title_zh if lang_now == "zh" else c.title_en,
                    "n_items": len(c.items),
                    "n_critical": sum(i.critical for i in c.items),
                }
            )
        result = _Tables({"checklists": pd.DataFrame(rows)}, {"checklists": checklist_names()})
    else:
        chosen = _checklist(name, project)
        frame = chosen.to_frame()
        result = _Tables(
            {"standards": frame},
            {"id": chosen.id, "title_zh": chosen.title_zh, "title_en": chosen.title_en},
        )
    emit(result, command="audit checklist", inputs={"name": name}, fmt=fmt, out=out)


audit_app.command("score", help=h("cli.audit.score.help"))(score_cmd)
audit_app.command("checklist", help=h("cli.audit.checklist.help"))(checklist_cmd)


def register(app: typer.Typer) -> None:
    """Add the ``audit`` command group to ``app``."""
    app.add_typer(audit_app, name="audit", help=h("cli.audit.help"))
