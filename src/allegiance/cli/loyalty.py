"""``allegiance loyalty ...``: levels by steps (台阶分析法) and the AHP loyalty score.

- ``steps [ACTIVITY]``: run the step engine (new months only; ``--full`` for all), Rich
  progress over months; state and moves kept in the project's ``data/loyalty_steps``;
- ``explain CUSTOMER_ID``: one customer's level history with reasons;
- ``at-risk``: customers down ``--drop`` levels or more in the last ``--months`` months;
- ``score``: the AHP loyalty score 0-100 per customer.

Defaults follow the project folder (``--project``): ``data/activity.parquet``,
``data/customers.parquet``, ``data/loyalty_facts.parquet``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from allegiance.cli.common import FormatOpt, LangOpt, OutOpt, OutputFormat, ProjectOpt, emit, h
from allegiance.i18n import current_lang, t

STATE_FOLDER = "loyalty_steps"

ActivityArg = Annotated[
    Path | None, typer.Argument(help=h("cli.loyalty.opt.activity"), show_default=False)
]
CustomersOpt = Annotated[
    Path | None, typer.Option("--customers", help=h("cli.loyalty.opt.customers"))
]
FactsOpt = Annotated[Path | None, typer.Option("--facts", help=h("cli.loyalty.opt.facts"))]
RulesOpt = Annotated[str | None, typer.Option("--rules", help=h("cli.loyalty.opt.rules"))]
StateOpt = Annotated[Path | None, typer.Option("--state", help=h("cli.loyalty.opt.state"))]
FullOpt = Annotated[bool, typer.Option("--full", help=h("cli.loyalty.opt.full"))]
EngineOpt = Annotated[str, typer.Option("--engine", help=h("cli.loyalty.opt.engine"))]
MasterOpt = Annotated[str | None, typer.Option("--master", help=h("cli.loyalty.opt.master"))]
ColumnOpt = Annotated[list[str] | None, typer.Option("--column", help=h("cli.loyalty.opt.column"))]

loyalty_app = typer.Typer(
    name="loyalty",
    help=h("cli.loyalty.help"),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _root(project: Path | None) -> Path:
    return (project or Path(".")).expanduser()


def _data(project: Path | None, given: Path | None, name: str) -> Path:
    if given is not None:
        if given.is_absolute() or given.exists() or project is None:
            return given
        for candidate in (_root(project) / given, _root(project) / "data" / given):
            if candidate.exists():
                return candidate
        return given
    return _root(project) / "data" / f"{name}.parquet"


def _state(project: Path | None, given: Path | None) -> Path:
    return given if given is not None else _root(project) / "data" / STATE_FOLDER


def _pairs(values: list[str] | None, *, number: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for value in values or []:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip() or not rest.strip():
            raise typer.BadParameter(t("cli.loyalty.bad_pair", None, value=value))
        if number:
            try:
                out[key.strip()] = float(rest)
            except ValueError:
                raise typer.BadParameter(t("cli.loyalty.bad_pair", None, value=value)) from None
        else:
            out[key.strip()] = rest.strip()
    return out


def steps_cmd(
    activity: ActivityArg = None,
    customers: CustomersOpt = None,
    rules: RulesOpt = None,
    state: StateOpt = None,
    full: FullOpt = False,
    column: ColumnOpt = None,
    engine: EngineOpt = "duckdb",
    master: MasterOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.cli.common import progress
    from allegiance.customers import connect
    from allegiance.customers.steps import run_steps

    act = _data(project, activity, "activity")
    cust = _data(project, customers, "customers")
    folder = _state(project, state)
    shown = fmt is OutputFormat.table
    with connect(engine, master=master) as eng, progress(shown) as update:
        label = t("cli.loyalty.progress", current_lang())
        result = run_steps(
            eng,
            act,
            folder=folder,
            rules=rules,
            customers=cust if cust.exists() else None,
            columns=_pairs(column) or None,
            full=full,
            progress=lambda done, total, month: update(label, done, total),
            lang=current_lang(),
        )

    def headline(con: Console) -> None:
        if not result.months:
            con.print(t("cli.loyalty.nothing_new", current_lang(), folder=str(folder)))
            return
        con.print(
            t(
                "cli.loyalty.done",
                current_lang(),
                months=len(result.months),
                customers=f"{result.n_customers:,}",
                moves=f"{result.n_moves:,}",
                folder=str(folder),
            )
        )

    emit(
        result,
        command="loyalty steps",
        inputs={
            "activity": str(act),
            "rules": rules or "steps_default",
            "state": str(folder),
            "engine": engine,
            "full": full,
        },
        fmt=fmt,
        out=out,
        extra=headline,
        show=["rules"],
    )


def explain_cmd(
    customer_id: Annotated[
        str, typer.Argument(help=h("cli.loyalty.opt.customer"), show_default=False)
    ],
    state: StateOpt = None,
    engine: EngineOpt = "duckdb",
    master: MasterOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.customers import connect
    from allegiance.customers.steps import explain

    folder = _state(project, state)
    with connect(engine, master=master) as eng:
        result = explain(eng, folder, customer_id, lang=current_lang())

    def headline(con: Console) -> None:
        con.print(
            t(
                "cli.loyalty.level_now",
                current_lang(),
                customer=result.customer_id,
                start=result.start_level,
                level=result.level,
            )
        )

    emit(
        result,
        command="loyalty explain",
        inputs={"customer_id": customer_id, "state": str(folder)},
        fmt=fmt,
        out=out,
        extra=headline,
    )


def at_risk_cmd(
    months: Annotated[int, typer.Option("--months", min=1, help=h("cli.loyalty.opt.months"))] = 1,
    drop: Annotated[int, typer.Option("--drop", min=1, help=h("cli.loyalty.opt.drop"))] = 2,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help=h("cli.loyalty.opt.limit"))
    ] = None,
    state: StateOpt = None,
    engine: EngineOpt = "duckdb",
    master: MasterOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.customers import connect
    from allegiance.customers.steps import at_risk

    folder = _state(project, state)
    with connect(engine, master=master) as eng:
        result = at_risk(eng, folder, months=months, drop=drop, limit=limit, lang=current_lang())

    def headline(con: Console) -> None:
        if result.customers.empty:
            con.print(t("cli.loyalty.no_at_risk", current_lang(), drop=drop, months=months))

    emit(
        result,
        command="loyalty at-risk",
        inputs={"months": months, "drop": drop, "limit": limit, "state": str(folder)},
        fmt=fmt,
        out=out,
        extra=headline,
    )


def score_cmd(
    activity: ActivityArg = None,
    customers: CustomersOpt = None,
    facts: FactsOpt = None,
    hierarchy: Annotated[
        str, typer.Option("--hierarchy", help=h("cli.loyalty.opt.hierarchy"))
    ] = "loyalty_standard",
    normalisation: Annotated[
        str, typer.Option("--normalisation", help=h("cli.loyalty.opt.normalisation"))
    ] = "max",
    cap: Annotated[list[str] | None, typer.Option("--cap", help=h("cli.loyalty.opt.cap"))] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help=h("cli.loyalty.opt.as_of"))] = None,
    top: Annotated[int, typer.Option("--top", min=1, help=h("cli.loyalty.opt.top"))] = 20,
    engine: EngineOpt = "duckdb",
    master: MasterOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.cli.csi import hierarchy_file
    from allegiance.customers import connect
    from allegiance.customers.loyalty_score import factor_table, loyalty_score
    from allegiance.methods import ahp

    act = _data(project, activity, "activity")
    cust = _data(project, customers, "customers")
    fact_path = _data(project, facts, "loyalty_facts")
    month = None
    if as_of:
        try:
            month = dt.date.fromisoformat(as_of + "-01" if len(as_of) == 7 else as_of).replace(
                day=1
            )
        except ValueError:
            raise typer.BadParameter(as_of, param_hint="--as-of") from None
    analysed = ahp.analyze(ahp.load_hierarchy(hierarchy_file(hierarchy, project=project)))
    with connect(engine, master=master) as eng:
        table = factor_table(
            eng, cust, act, facts=fact_path if fact_path.exists() else None, as_of=month
        )
        result = loyalty_score(
            eng,
            table,
            hierarchy=analysed,
            normalisation=normalisation,
            caps=_pairs(cap, number=True) or None,
            top=top,
        )

    def headline(con: Console) -> None:
        row = result.summary.iloc[0]
        con.print(
            t(
                "cli.loyalty.score_headline",
                current_lang(),
                n=f"{int(row['n_customers']):,}",
                mean=f"{float(row['mean']):.1f}",
                median=f"{float(row['median']):.1f}",
                normalisation=result.normalisation,
            )
        )

    emit(
        result,
        command="loyalty score",
        inputs={
            "activity": str(act),
            "customers": str(cust),
            "hierarchy": hierarchy,
            "normalisation": normalisation,
            "top": top,
        },
        fmt=fmt,
        out=out,
        extra=headline,
    )


loyalty_app.command("steps", help=h("cli.loyalty.steps.help"))(steps_cmd)
loyalty_app.command("explain", help=h("cli.loyalty.explain.help"))(explain_cmd)
loyalty_app.command("at-risk", help=h("cli.loyalty.at_risk.help"))(at_risk_cmd)
loyalty_app.command("score", help=h("cli.loyalty.score.help"))(score_cmd)


def register(app: typer.Typer) -> None:
    app.add_typer(loyalty_app, name="loyalty")
