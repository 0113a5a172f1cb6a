"""``allegiance complaints ...``: the complaint register and its analysis (SPEC sections 2 and 6).

- ``import FILE``: check a CSV/XLSX register and store it in the project, all or nothing;
- ``pareto [FILE]``: causes in Pareto order, the vital few, class shares;
- ``sla [FILE]``: first response and resolution against the SLA of each severity;
- ``summary [FILE]``: Pareto, SLA, recovery, complaints per 1,000 customers, the iceberg,
  trends by product and channel;
- ``move KEY STATE``: work a stored complaint through the handling workflow;
- ``loop``: show or change the project's closed-loop settings (which survey answers open a
  follow-up complaint, :mod:`allegiance.complaints.closed_loop`);
- ``taxonomy`` / ``workflow``: show the cause taxonomy and the handling workflow in use.

Without FILE the commands read the project's complaint register (``--project``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer
from rich.console import Console

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
from allegiance.cli.display import Shown
from allegiance.i18n import Message, current_lang, t

if TYPE_CHECKING:
    from allegiance.complaints.handling import Workflow
    from allegiance.complaints.taxonomy import Taxonomy

complaints_app = typer.Typer(
    name="complaints",
    help=h("cli.complaints.help"),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

FileArg = Annotated[
    Path | None, typer.Argument(help=h("cli.complaints.opt.file"), show_default=False)
]
TaxonomyOpt = Annotated[
    str | None, typer.Option("--taxonomy", help=h("cli.complaints.opt.taxonomy"))
]
WorkflowOpt = Annotated[
    str | None, typer.Option("--workflow", help=h("cli.complaints.opt.workflow"))
]
MappingOpt = Annotated[str | None, typer.Option("--mapping", help=h("cli.complaints.opt.mapping"))]
SheetOpt = Annotated[str | None, typer.Option("--sheet", help=h("cli.complaints.opt.sheet"))]
TimezoneOpt = Annotated[str, typer.Option("--timezone", help=h("cli.complaints.opt.timezone"))]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help=h("cli.complaints.opt.as_of"))]
SlaOpt = Annotated[list[str] | None, typer.Option("--sla", help=h("cli.complaints.opt.sla"))]


# --------------------------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------------------------


def _taxonomy(spec: str | None, project: Path | None) -> Taxonomy:
    from allegiance.complaints.taxonomy import load_taxonomy

    if spec is None:
        return load_taxonomy()
    path = resolve_input(Path(spec), project)
    return load_taxonomy(path if path.exists() else spec)


def _workflow(spec: str | None, project: Path | None, sla: list[str] | None = None) -> Workflow:
    from allegiance.complaints.handling import load_workflow

    if spec is None:
        wf = load_workflow()
    else:
        path = resolve_input(Path(spec), project)
        wf = load_workflow(path if path.exists() else spec)
    overrides = _sla_overrides(sla)
    return wf.with_sla(overrides) if overrides else wf


def _sla_overrides(values: list[str] | None) -> dict[str, tuple[float | None, float | None]]:
    out: dict[str, tuple[float | None, float | None]] = {}
    for value in values or []:
        name, sep, hours = value.partition("=")
        first, slash, resolution = hours.partition("/")
        try:
            if not sep or not name.strip() or not slash:
                raise ValueError(value)
            out[name.strip()] = (
                float(first) if first.strip() else None,
                float(resolution) if resolution.strip() else None,
            )
        except ValueError:
            raise typer.BadParameter(
                t("cli.complaints.bad_sla", None, value=value), param_hint="--sla"
            ) from None
    return out


def _mapping(
    spec: str | None, *, cause: str | None = None, klass: str | None = None
) -> dict[str, str]:
    from allegiance.complaints.importer import load_mapping

    mapping = load_mapping(spec)
    if cause is not None:
        mapping["cause"] = cause
    if klass is not None:
        mapping["cause_class"] = klass
    return mapping


def _project_frame(project: Path | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    from allegiance.project import open_project
    from allegiance.store import repository as repo
    from allegiance.store.db import make_engine

    opened = open_project(project)
    engine = make_engine(opened.database_url)
    try:
        frame = repo.complaints_frame(engine)
    finally:
        engine.dispose()
    return frame, {"project": str(opened.root), "rows": len(frame)}


def _file_frame(
    file: Path,
    project: Path | None,
    *,
    required: Sequence[str],
    taxonomy: Taxonomy,
    workflow: Workflow,
    mapping: dict[str, str],
    encoding: str | None,
    sheet: str | None,
    timezone: str,
) -> tuple[pd.DataFrame, dict[str, Any], tuple[Message, ...]]:
    from allegiance.complaints.importer import read_complaints

    path = resolve_input(file, project)
    prepared = read_complaints(
        path,
        taxonomy=taxonomy,
        workflow=workflow,
        mapping=mapping,
        required=required,
        encoding=encoding,
        sheet=sheet,
        timezone=timezone,
        on_class_mismatch="warn",
        own_causes=True,
    )
    frame = prepared.frame
    for name in ("received_at", "first_response_at", "resolved_at"):
        if name in frame.columns:
            frame[name] = pd.to_datetime(frame[name], utc=True)
    for name in ("compensation", "satisfaction_after"):
        if name in frame.columns:
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
    inputs = {"file": str(path), "rows": len(frame), "columns": prepared.columns}
    return frame, inputs, prepared.warnings


def _data(
    file: Path | None,
    project: Path | None,
    *,
    required: Sequence[str],
    taxonomy: Taxonomy,
    workflow: Workflow,
    mapping: dict[str, str],
    encoding: str | None,
    sheet: str | None,
    timezone: str,
) -> tuple[pd.DataFrame, dict[str, Any], tuple[Message, ...]]:
    if file is None:
        frame, inputs = _project_frame(project)
        return frame, inputs, ()
    return _file_frame(
        file,
        project,
        required=required,
        taxonomy=taxonomy,
        workflow=workflow,
        mapping=mapping,
        encoding=encoding,
        sheet=sheet,
        timezone=timezone,
    )


def _name_column(frame: pd.DataFrame) -> pd.DataFrame:
    """For people: the name in the reader's language first, codes and ranks left to JSON/CSV."""
    lang = current_lang()
    if "name_en" not in frame.columns:
        return frame
    out = frame.drop(columns=[c for c in ("name_en", "name_zh", "rank", "cause") if c in frame])
    out.insert(0, "name", frame["name_zh" if lang == "zh" else "name_en"])
    return out


def _severities(frame: pd.DataFrame, wf: Workflow, column: str = "severity") -> pd.DataFrame:
    """Severity codes as the workflow's names in the reader's language."""
    if column not in frame.columns:
        return frame
    lang = current_lang()
    names = {s.code: s.name(lang) for s in wf.severities}
    names["all"] = t("complaints.group.all", lang)
    out = frame.copy()
    out[column] = [names.get(str(v), v) for v in out[column]]
    return out


def _recovery_view(frame: pd.DataFrame, wf: Workflow) -> pd.DataFrame:
    from allegiance.i18n import has

    lang = current_lang()
    names = {s.code: s.name(lang) for s in wf.severities}
    out = frame.copy()
    out["group_by"] = [
        t(f"section.complaints.by.{g}", lang) if has(f"section.complaints.by.{g}") else g
        for g in out["group_by"]
    ]
    groups = []
    for g in frame["group"].astype(str):
        key = "section.complaints.group." + {"-": "unknown"}.get(g, g)
        groups.append(names.get(g) or (t(key, lang) if has(key) else g))
    out["group"] = groups
    return out


def _coded(frame: pd.DataFrame, column: str, key: str) -> pd.DataFrame:
    """Codes of ``column`` shown as words (``key.<code>``) where the catalogue has them."""
    from allegiance.i18n import has

    if column not in frame.columns:
        return frame
    lang = current_lang()
    out = frame.copy()
    out[column] = [
        t(f"{key}.{v}", lang) if has(f"{key}.{v}") else v for v in out[column].astype(object)
    ]
    return out


# --------------------------------------------------------------------------------------------
# import
# --------------------------------------------------------------------------------------------


def import_cmd(
    file: Annotated[
        Path, typer.Argument(help=h("cli.complaints.opt.import_file"), show_default=False)
    ],
    taxonomy: TaxonomyOpt = None,
    workflow: WorkflowOpt = None,
    mapping: MappingOpt = None,
    update: Annotated[bool, typer.Option("--update", help=h("cli.complaints.opt.update"))] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help=h("cli.complaints.opt.dry_run"))
    ] = False,
    keep_class: Annotated[
        bool, typer.Option("--keep-class", help=h("cli.complaints.opt.keep_class"))
    ] = False,
    timezone: TimezoneOpt = "UTC",
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.complaints.importer import import_complaints

    tax = _taxonomy(taxonomy, project)
    wf = _workflow(workflow, project)
    path = resolve_input(file, project)
    columns = _mapping(mapping)
    options: dict[str, Any] = {
        "taxonomy": tax,
        "workflow": wf,
        "mapping": columns,
        "update": update,
        "encoding": encoding,
        "sheet": sheet,
        "timezone": timezone,
        "on_class_mismatch": "warn" if keep_class else "error",
    }
    root: str | None = None
    if dry_run:
        result = import_complaints(path, None, dry_run=True, **options)
    else:
        from allegiance.project import open_project
        from allegiance.store.db import make_engine, session_factory

        opened = open_project(project)
        root = str(opened.root)
        engine = make_engine(opened.database_url)
        try:
            with session_factory(engine)() as session:
                result = import_complaints(path, session, **options)
        finally:
            engine.dispose()

    def headline(con: Console) -> None:
        key = "cli.complaints.import_checked" if result.dry_run else "cli.complaints.import_done"
        con.print(
            t(
                key,
                current_lang(),
                n=f"{result.n_rows:,}",
                inserted=f"{result.n_inserted:,}",
                existing=f"{result.n_existing:,}",
            )
        )

    emit(
        Shown(result, result.warnings),
        command="complaints import",
        inputs={
            "file": str(path),
            "project": root,
            "taxonomy": taxonomy or "taxonomy_default",
            "workflow": workflow or "workflow_default",
            "update": update,
            "dry_run": dry_run,
            "keep_class": keep_class,
            "timezone": timezone,
        },
        fmt=fmt,
        out=out,
        extra=headline,
        show=["import"],
    )


# --------------------------------------------------------------------------------------------
# pareto
# --------------------------------------------------------------------------------------------


def pareto_cmd(
    file: FileArg = None,
    cause: Annotated[
        str | None, typer.Option("--cause", help=h("cli.complaints.opt.cause"))
    ] = None,
    klass: Annotated[
        str | None, typer.Option("--class", help=h("cli.complaints.opt.klass"))
    ] = None,
    threshold: Annotated[
        float,
        typer.Option("--threshold", min=0.01, max=1.0, help=h("cli.complaints.opt.threshold")),
    ] = 0.8,
    all_causes: Annotated[
        bool, typer.Option("--all-causes", help=h("cli.complaints.opt.all_causes"))
    ] = False,
    taxonomy: TaxonomyOpt = None,
    mapping: MappingOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods.complaints import pareto

    tax = _taxonomy(taxonomy, project)
    frame, inputs, warnings = _data(
        file,
        project,
        required=("cause",),
        taxonomy=tax,
        workflow=_workflow(None, project),
        mapping=_mapping(mapping, cause=cause, klass=klass),
        encoding=encoding,
        sheet=sheet,
        timezone="UTC",
    )
    has_class = "cause_class" in frame.columns and (
        file is None or "cause_class" in inputs.get("columns", {})
    )
    result = pareto(
        frame,
        cause="cause_code",
        cause_class="cause_class" if has_class else None,
        taxonomy=tax,
        threshold=threshold,
        all_causes=all_causes,
    )

    def view(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        return {name: _name_column(frame) for name, frame in tables.items()}

    def headline(con: Console) -> None:
        con.print(
            t(
                "cli.complaints.pareto_headline",
                current_lang(),
                n=f"{result.n:,}",
                k=len(result.vital_few),
                share=f"{result.vital_few_share:.1%}",
                threshold=f"{result.threshold:.0%}",
            )
        )

    emit(
        Shown(result, (*warnings, *result.warnings), view=view, escape=fmt is OutputFormat.table),
        command="complaints pareto",
        inputs={
            **inputs,
            "taxonomy": taxonomy or "taxonomy_default",
            "class_from": "data" if has_class else "taxonomy",
            "threshold": threshold,
        },
        fmt=fmt,
        out=out,
        extra=headline,
    )


# --------------------------------------------------------------------------------------------
# sla
# --------------------------------------------------------------------------------------------


def _parse_percentiles(value: str) -> tuple[float, ...]:
    try:
        out = tuple(float(p) for p in value.replace("，", ",").split(",") if p.strip())
    except ValueError:
        raise typer.BadParameter(value, param_hint="--percentiles") from None
    if not out:
        raise typer.BadParameter(value, param_hint="--percentiles")
    return tuple(p / 100 if p > 1 else p for p in out)


def sla_cmd(
    file: FileArg = None,
    workflow: WorkflowOpt = None,
    sla: SlaOpt = None,
    as_of: AsOfOpt = None,
    percentiles: Annotated[
        str, typer.Option("--percentiles", help=h("cli.complaints.opt.percentiles"))
    ] = "50,80,90",
    taxonomy: TaxonomyOpt = None,
    mapping: MappingOpt = None,
    timezone: TimezoneOpt = "UTC",
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods import complaints as mc

    wf = _workflow(workflow, project, sla)
    frame, inputs, warnings = _data(
        file,
        project,
        required=("received_at",),
        taxonomy=_taxonomy(taxonomy, project),
        workflow=wf,
        mapping=_mapping(mapping),
        encoding=encoding,
        sheet=sheet,
        timezone=timezone,
    )
    result = mc.sla(
        frame,
        workflow=wf,
        as_of=as_of,
        first_response="first_response_at" if "first_response_at" in frame.columns else None,
        resolved="resolved_at" if "resolved_at" in frame.columns else None,
        severity="severity" if "severity" in frame.columns else None,
        percentiles=_parse_percentiles(percentiles),
    )

    def view(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        return {"sla": _severities(_coded(tables["sla"], "measure", "complaints.measure"), wf)}

    def headline(con: Console) -> None:
        con.print(
            t(
                "cli.complaints.sla_headline",
                current_lang(),
                first=f"{result.share_within('first_response'):.1%}",
                resolution=f"{result.share_within('resolution'):.1%}",
                as_of=result.as_of.strftime("%Y-%m-%d %H:%M"),
            )
        )

    emit(
        Shown(result, (*warnings, *result.warnings), view=view, escape=fmt is OutputFormat.table),
        command="complaints sla",
        inputs={
            **inputs,
            "workflow": workflow or "workflow_default",
            "sla": {s.code: [s.first_response_hours, s.resolution_hours] for s in wf.severities},
            "as_of": as_of,
        },
        fmt=fmt,
        out=out,
        extra=headline,
    )


# --------------------------------------------------------------------------------------------
# summary
# --------------------------------------------------------------------------------------------

_JOINED = ("join_date", "joined_at", "joined", "first_seen")
_LEFT = ("churn_month", "churned_at", "left_at", "lost_at", "churn_date")


def _first_present(frame: pd.DataFrame, names: Sequence[str]) -> str | None:
    return next((n for n in names if n in frame.columns), None)


def summary_cmd(
    file: FileArg = None,
    customers: Annotated[
        Path | None, typer.Option("--customers", help=h("cli.complaints.opt.customers"))
    ] = None,
    n_customers: Annotated[
        float | None, typer.Option("--n-customers", min=1, help=h("cli.complaints.opt.n_customers"))
    ] = None,
    joined: Annotated[
        str | None, typer.Option("--joined", help=h("cli.complaints.opt.joined"))
    ] = None,
    left: Annotated[str | None, typer.Option("--left", help=h("cli.complaints.opt.left"))] = None,
    period: Annotated[str, typer.Option("--period", help=h("cli.complaints.opt.period"))] = "month",
    complain_share: Annotated[
        float,
        typer.Option(
            "--complain-share", min=0.001, max=1.0, help=h("cli.complaints.opt.complain_share")
        ),
    ] = 0.05,
    horizon_days: Annotated[
        int, typer.Option("--horizon-days", min=1, help=h("cli.complaints.opt.horizon_days"))
    ] = 90,
    as_of: AsOfOpt = None,
    taxonomy: TaxonomyOpt = None,
    workflow: WorkflowOpt = None,
    sla: SlaOpt = None,
    mapping: MappingOpt = None,
    timezone: TimezoneOpt = "UTC",
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.io.reader import read_table
    from allegiance.methods import complaints as mc

    tax = _taxonomy(taxonomy, project)
    wf = _workflow(workflow, project, sla)
    frame, inputs, warnings = _data(
        file,
        project,
        required=("received_at", "cause"),
        taxonomy=tax,
        workflow=wf,
        mapping=_mapping(mapping),
        encoding=encoding,
        sheet=sheet,
        timezone=timezone,
    )
    customer_table: pd.DataFrame | None = None
    customers_path: Path | None = None
    if customers is not None:
        customers_path = resolve_input(customers, project)
    elif file is None and n_customers is None:
        candidate = (project or Path(".")).expanduser() / "data" / "customers.parquet"
        customers_path = candidate if candidate.is_file() else None
    if customers_path is not None:
        customer_table = read_table(customers_path).frame
        joined = joined or _first_present(customer_table, _JOINED)
        left = left or _first_present(customer_table, _LEFT)
    result = mc.summarize(
        frame,
        taxonomy=tax,
        workflow=wf,
        customers=customer_table,
        n_customers=n_customers,
        joined=joined,
        left=left,
        period=period,
        as_of=as_of,
        complain_share=complain_share,
        horizon_days=horizon_days,
    )

    def view(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        shown = {name: _name_column(frame) for name, frame in tables.items()}
        if "summary" in shown:
            shown["summary"] = _coded(shown["summary"], "figure", "cli.complaints.figure")
        if "sla" in shown:
            shown["sla"] = _severities(_coded(shown["sla"], "measure", "complaints.measure"), wf)
        if "recovery" in shown:
            shown["recovery"] = _recovery_view(shown["recovery"], wf)
        if "escalation" in shown:
            shown["escalation"] = _coded(
                shown["escalation"], "escalated_to", "complaints.escalation"
            )
        if "retention" in shown:
            shown["retention"] = _coded(shown["retention"], "group", "complaints.group")
        if "trend" in shown:
            shown["trend"] = _coded(shown["trend"], "direction", "complaints.direction")
            shown["trend"] = _coded(shown["trend"], "group", "complaints.group")
        return shown

    def headline(con: Console) -> None:
        con.print(result.iceberg.assumption.render(current_lang()))

    emit(
        Shown(result, (*warnings, *result.warnings), view=view, escape=fmt is OutputFormat.table),
        command="complaints summary",
        inputs={
            **inputs,
            "customers": None if customers_path is None else str(customers_path),
            "n_customers": n_customers,
            "joined": joined,
            "left": left,
            "period": period,
            "complain_share": complain_share,
            "horizon_days": horizon_days,
            "taxonomy": taxonomy or "taxonomy_default",
            "workflow": workflow or "workflow_default",
        },
        fmt=fmt,
        out=out,
        extra=headline,
        show=["summary", "pareto", "classes", "sla", "recovery", "escalation", "iceberg", "trend"],
    )


# --------------------------------------------------------------------------------------------
# move, taxonomy, workflow
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Frame:
    """A plain table as a result."""

    name: str
    frame: pd.DataFrame
    data: dict[str, Any]
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {self.name: self.frame}

    def to_dict(self) -> dict[str, Any]:
        return self.data


def move_cmd(
    key: Annotated[str, typer.Argument(help=h("cli.complaints.opt.key"), show_default=False)],
    state: Annotated[str, typer.Argument(help=h("cli.complaints.opt.state"), show_default=False)],
    role: Annotated[str | None, typer.Option("--role", help=h("cli.complaints.opt.role"))] = None,
    actor: Annotated[
        str | None, typer.Option("--actor", help=h("cli.complaints.opt.actor"))
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help=h("cli.complaints.opt.note"))] = None,
    workflow: WorkflowOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.complaints.register import history, transition
    from allegiance.project import open_project
    from allegiance.store.db import make_engine, session_factory

    wf = _workflow(workflow, project)
    opened = open_project(project)
    engine = make_engine(opened.database_url)
    try:
        with session_factory(engine)() as session:
            transition(session, key, state, workflow=wf, role=role, actor=actor, note=note)
        moves = history(engine, key)
    finally:
        engine.dispose()
    result = _Frame(
        "history",
        moves,
        {"complaint_key": key, "status": state, "history": moves.to_dict(orient="records")},
    )
    emit(
        Shown(result, ()),
        command="complaints move",
        inputs={
            "key": key,
            "state": state,
            "role": role,
            "actor": actor,
            "project": str(opened.root),
        },
        fmt=fmt,
        out=out,
    )


def loop_cmd(
    nps_max: Annotated[
        int | None,
        typer.Option("--nps-max", min=0, max=10, help=h("cli.complaints.loop.opt.nps_max")),
    ] = None,
    five_level_max: Annotated[
        int | None,
        typer.Option(
            "--five-level-max", min=1, max=5, help=h("cli.complaints.loop.opt.five_level_max")
        ),
    ] = None,
    question: Annotated[
        list[str] | None,
        typer.Option("--question", help=h("cli.complaints.loop.opt.question")),
    ] = None,
    cause: Annotated[
        str | None, typer.Option("--cause", help=h("cli.complaints.loop.opt.cause"))
    ] = None,
    severity: Annotated[
        str | None, typer.Option("--severity", help=h("cli.complaints.loop.opt.severity"))
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help=h("cli.complaints.loop.opt.owner"))
    ] = None,
    enable: Annotated[
        bool | None,
        typer.Option("--enable/--disable", help=h("cli.complaints.loop.opt.enable")),
    ] = None,
    reset: Annotated[
        bool, typer.Option("--reset", help=h("cli.complaints.loop.opt.reset"))
    ] = False,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.complaints import closed_loop
    from allegiance.project import open_project
    from allegiance.store.db import make_engine, session_factory
    from allegiance.store.repository import get_meta

    given: dict[str, Any] = {
        "enabled": enable,
        "nps_max": nps_max,
        "five_level_max": five_level_max,
        "questions": question or None,
        "cause": cause,
        "severity": severity,
        "owner": owner,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    opened = open_project(project)
    engine = make_engine(opened.database_url)
    try:
        with session_factory(engine)() as session:
            if reset:
                rule = closed_loop.configure(session, None)
            elif changes:
                stored = get_meta(session, closed_loop.META_KEY, None) or {}
                rule = closed_loop.configure(session, {**stored, **changes})
            else:
                rule = closed_loop.project_rule(session)
    finally:
        engine.dispose()
    data = rule.to_dict()
    frame = pd.DataFrame(
        {
            "setting": list(data),
            "value": [
                ", ".join(v) if isinstance(v, list) else ("-" if v is None else str(v))
                for v in data.values()
            ],
        }
    )
    emit(
        Shown(_Frame("closed_loop", frame, data), ()),
        command="complaints loop",
        inputs={"project": str(opened.root), "reset": reset, **changes},
        fmt=fmt,
        out=out,
    )


def taxonomy_cmd(
    taxonomy: TaxonomyOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    tax = _taxonomy(taxonomy, project)
    lang_now = current_lang()
    frame = pd.DataFrame(
        {
            "cause": [c.code for c in tax.causes],
            "cause_class": [c.klass for c in tax.causes],
            "name": [c.name(lang_now) for c in tax.causes],
        }
    )
    emit(
        Shown(_Frame("taxonomy", frame, tax.to_dict()), ()),
        command="complaints taxonomy",
        inputs={"taxonomy": taxonomy or "taxonomy_default", "source": tax.source},
        fmt=fmt,
        out=out,
    )


def workflow_cmd(
    workflow: WorkflowOpt = None,
    sla: SlaOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    wf = _workflow(workflow, project, sla)
    lang_now = current_lang()
    states = pd.DataFrame(
        {
            "status": [s.code for s in wf.states],
            "name": [s.name(lang_now) for s in wf.states],
            "next": [", ".join(wf.transitions.get(s.code, ())) or "-" for s in wf.states],
        }
    )
    severities = wf.sla_table()
    severities.insert(1, "name", [s.name(lang_now) for s in wf.severities])

    @dataclasses.dataclass(frozen=True)
    class _Two:
        warnings: tuple[Message, ...] = ()

        def tables(self) -> dict[str, pd.DataFrame]:
            return {"states": states, "sla": severities}

        def to_dict(self) -> dict[str, Any]:
            return wf.to_dict()

    emit(
        Shown(_Two(), ()),
        command="complaints workflow",
        inputs={"workflow": workflow or "workflow_default", "source": wf.source},
        fmt=fmt,
        out=out,
    )


complaints_app.command("import", help=h("cli.complaints.import.help"))(import_cmd)
complaints_app.command("pareto", help=h("cli.complaints.pareto.help"))(pareto_cmd)
complaints_app.command("sla", help=h("cli.complaints.sla.help"))(sla_cmd)
complaints_app.command("summary", help=h("cli.complaints.summary.help"))(summary_cmd)
complaints_app.command("move", help=h("cli.complaints.move.help"))(move_cmd)
complaints_app.command("loop", help=h("cli.complaints.loop.help"))(loop_cmd)
complaints_app.command("taxonomy", help=h("cli.complaints.taxonomy.help"))(taxonomy_cmd)
complaints_app.command("workflow", help=h("cli.complaints.workflow.help"))(workflow_cmd)


def register(app: typer.Typer) -> None:
    app.add_typer(complaints_app, name="complaints")
