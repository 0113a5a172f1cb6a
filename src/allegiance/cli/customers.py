"""``allegiance customers ...``: indicators and segments from transaction data.

Each command opens an engine (DuckDB by default, ``--engine spark`` with ``--master``),
reads the tables with :func:`allegiance.customers.inputs.read_source` (column mapping from
``--mapping``), calls one public function and renders its result with :func:`emit`.
``--out DIR`` also writes the per-customer segments as Parquet.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

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
from allegiance.cli.db import UrlOpt
from allegiance.errors import ValidationError

if TYPE_CHECKING:
    from allegiance.customers.engine import Engine

customers_app = typer.Typer(
    name="customers",
    help=h("cli.customers.help"),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: The role of the local operator who runs the CLI (the shell account owns the project).
OPERATOR_ROLE = "admin"

ActivityArg = Annotated[
    str, typer.Argument(help=h("cli.customers.opt.activity"), show_default=False)
]
CustomersOpt = Annotated[
    str | None, typer.Option("--customers", help=h("cli.customers.opt.customers"))
]
MappingOpt = Annotated[Path | None, typer.Option("--mapping", help=h("cli.customers.opt.mapping"))]
EngineOpt = Annotated[str, typer.Option("--engine", help=h("cli.customers.opt.engine"))]
MasterOpt = Annotated[str | None, typer.Option("--master", help=h("cli.customers.opt.master"))]
MemoryOpt = Annotated[
    str | None, typer.Option("--memory-limit", help=h("cli.customers.opt.memory"))
]
PeriodOpt = Annotated[str, typer.Option("--period", help=h("cli.customers.opt.period"))]
NoValidateOpt = Annotated[
    bool, typer.Option("--no-validate", help=h("cli.customers.opt.no_validate"))
]


def _open(engine: str, master: str | None, memory: str | None) -> Engine:
    from allegiance.customers.engine import connect

    return connect(engine, master=master, memory_limit=memory)


def _read(
    eng: Engine,
    source: str | None,
    kind: str,
    mapping: dict[str, dict[str, str]],
    validate: bool,
    extra: tuple[str, ...] = (),
) -> Any:
    from allegiance.customers.inputs import read_source

    if source is None:
        return None
    return read_source(
        eng, source, kind=kind, mapping=mapping.get(kind), validate=validate, extra=extra
    )


def _pairs(value: str | None, *, option: str, example: str) -> list[tuple[str, float]] | None:
    if value is None:
        return None
    out = []
    for part in value.replace("，", ",").split(","):
        if not part.strip():
            continue
        name, sep, number = part.partition(":")
        try:
            if not sep or not name.strip():
                raise ValueError(part)
            out.append((name.strip(), float(number)))
        except ValueError:
            raise ValidationError(
                "customers.error.option", option=option, value=value, example=example
            ) from None
    if not out:
        raise ValidationError("customers.error.option", option=option, value=value, example=example)
    return out


def indicators_cmd(
    activity: ActivityArg,
    customers: CustomersOpt = None,
    engagement: Annotated[
        str | None, typer.Option("--engagement", help=h("cli.customers.opt.engagement"))
    ] = None,
    price_changes: Annotated[
        str | None, typer.Option("--price-changes", help=h("cli.customers.opt.price_changes"))
    ] = None,
    market: Annotated[
        str | None, typer.Option("--market", help=h("cli.customers.opt.market"))
    ] = None,
    complaints: Annotated[
        str | None, typer.Option("--complaints", help=h("cli.customers.opt.complaints"))
    ] = None,
    brand: Annotated[str | None, typer.Option("--brand", help=h("cli.customers.opt.brand"))] = None,
    survey: Annotated[
        Path | None, typer.Option("--survey", help=h("cli.customers.opt.survey"))
    ] = None,
    period: PeriodOpt = "month",
    horizon: Annotated[int, typer.Option("--horizon", help=h("cli.customers.opt.horizon"))] = 3,
    mapping: MappingOpt = None,
    engine: EngineOpt = "duckdb",
    master: MasterOpt = None,
    memory_limit: MemoryOpt = None,
    no_validate: NoValidateOpt = False,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
) -> None:
    from allegiance.customers.indicators import indicators
    from allegiance.customers.inputs import load_mapping

    columns = load_mapping(mapping)
    survey_frame = None
    if survey is not None:
        from allegiance.io.reader import read_table

        survey_frame = read_table(survey).frame
    validate = not no_validate
    with _open(engine, master, memory_limit) as eng, progress(fmt is OutputFormat.table) as step:
        tables = {
            kind: _read(eng, src, kind, columns, validate)
            for kind, src in (
                ("activity", activity),
                ("customers", customers),
                ("engagement", engagement),
                ("price_changes", price_changes),
                ("market", market),
                ("complaints", complaints),
                ("brand", brand),
            )
        }
        step("read", 1, 1)
        result = indicators(
            eng,
            tables.pop("activity"),
            period=period,
            survey=survey_frame,
            horizon=horizon,
            progress=step,
            **tables,
        )
    inputs = {
        "activity": activity,
        "customers": customers,
        "engagement": engagement,
        "price_changes": price_changes,
        "market": market,
        "complaints": complaints,
        "brand": brand,
        "survey": None if survey is None else str(survey),
        "period": period,
        "horizon": horizon,
        "engine": engine,
    }
    emit(result, command="customers indicators", inputs=inputs, fmt=fmt, out=out)


def segments_cmd(
    activity: ActivityArg,
    customers: CustomersOpt = None,
    attitudes: Annotated[
        str | None, typer.Option("--attitudes", help=h("cli.customers.opt.attitudes"))
    ] = None,
    q: Annotated[int, typer.Option("--q", help=h("cli.customers.opt.q"))] = 5,
    tiers: Annotated[str | None, typer.Option("--tiers", help=h("cli.customers.opt.tiers"))] = None,
    weights: Annotated[
        str | None, typer.Option("--weights", help=h("cli.customers.opt.weights"))
    ] = None,
    cuts: Annotated[str, typer.Option("--cuts", help=h("cli.customers.opt.cuts"))] = "0.7,0.4",
    scaling: Annotated[
        str, typer.Option("--scaling", help=h("cli.customers.opt.scaling"))
    ] = "rank",
    as_of: Annotated[str | None, typer.Option("--as-of", help=h("cli.customers.opt.as_of"))] = None,
    extra: Annotated[str | None, typer.Option("--extra", help=h("cli.customers.opt.extra"))] = None,
    period: PeriodOpt = "month",
    mapping: MappingOpt = None,
    engine: EngineOpt = "duckdb",
    master: MasterOpt = None,
    memory_limit: MemoryOpt = None,
    no_validate: NoValidateOpt = False,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
) -> None:
    import datetime as dt

    from allegiance.customers.inputs import load_mapping
    from allegiance.customers.segments import DEFAULT_TIERS, segments

    tier_list = _pairs(tiers, option="--tiers", example="top:0.01,large:0.04,medium:0.15,small:0.8")
    weight_list = _pairs(weights, option="--weights", example="monetary:0.5,frequency:0.3")
    try:
        cut_values = tuple(float(x) for x in cuts.replace("，", ",").split(","))
    except ValueError:
        raise ValidationError(
            "customers.error.option", option="--cuts", value=cuts, example="0.7,0.4"
        ) from None
    when = None
    if as_of is not None:
        try:
            when = dt.date.fromisoformat(as_of.strip())
        except ValueError:
            raise ValidationError(
                "customers.error.option", option="--as-of", value=as_of, example="2025-12-31"
            ) from None
    keep = tuple(x.strip() for x in (extra or "").split(",") if x.strip())
    columns = load_mapping(mapping)
    validate = not no_validate
    with _open(engine, master, memory_limit) as eng, progress(fmt is OutputFormat.table) as step:
        act = _read(eng, activity, "activity", columns, validate)
        cus = _read(eng, customers, "customers", columns, validate, keep)
        att = _read(eng, attitudes, "attitudes", columns, validate)
        step("read", 1, 1)
        result = segments(
            eng,
            act,
            customers=cus,
            attitudes=att,
            q=q,
            tiers=tier_list or DEFAULT_TIERS,
            weights=dict(weight_list) if weight_list else None,
            cuts=cut_values,
            scaling=scaling,
            as_of=when,
            period=period,
            progress=step,
        )
        if out is not None:
            eng.to_parquet(result.customers, out / "customer_segments.parquet")
    inputs = {
        "activity": activity,
        "customers": customers,
        "attitudes": attitudes,
        "q": q,
        "tiers": tiers,
        "weights": weights,
        "cuts": list(cut_values),
        "scaling": scaling,
        "as_of": as_of,
        "engine": engine,
    }
    emit(result, command="customers segments", inputs=inputs, fmt=fmt, out=out)


def erase_cmd(
    customer_id: Annotated[
        str, typer.Argument(help=h("cli.customers.erase.opt.id"), show_default=False)
    ],
    email: Annotated[
        list[str] | None, typer.Option("--email", help=h("cli.customers.erase.opt.email"))
    ] = None,
    delete_responses: Annotated[
        bool, typer.Option("--delete-responses", help=h("cli.customers.erase.opt.delete"))
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help=h("cli.customers.erase.opt.dry_run"))
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help=h("cli.customers.erase.opt.yes"))
    ] = False,
    project: ProjectOpt = None,
    url: UrlOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
) -> None:
    from allegiance.cli.db import Outcome, actor, open_session, report, resolve_target
    from allegiance.i18n import Message, t
    from allegiance.security.erasure import erase_customer
    from allegiance.security.secret import load_secret_key

    target = resolve_target(project, url)
    key = None if dry_run else load_secret_key()
    if not dry_run and not yes:
        typer.confirm(t("cli.customers.erase.confirm", id=customer_id), abort=True)
    data_dir = target.root / "data" if target.root is not None else None
    with open_session(target) as session:
        result = erase_customer(
            session,
            customer_id,
            key=key,
            actor=actor(),
            role=OPERATOR_ROLE,
            emails=email or (),
            delete_responses=delete_responses,
            dry_run=dry_run,
            data_dir=data_dir,
        )
    word = "cli.customers.erase.would" if dry_run else "cli.customers.erase.done"
    params = {
        "total": result.total,
        "tables": len(result.counts),
        "mode": t(f"erase.mode.{result.mode}"),
    }
    report(
        Outcome(Message(word, params), result.to_dict(), frames=result.tables()),
        command="customers erase",
        inputs={"dry_run": dry_run, "delete_responses": delete_responses, "url": target.shown},
        fmt=fmt,
    )


customers_app.command("indicators", help=h("cli.customers.indicators.help"))(indicators_cmd)
customers_app.command("segments", help=h("cli.customers.segments.help"))(segments_cmd)
customers_app.command("erase", help=h("cli.customers.erase.help"))(erase_cmd)


def register(app: typer.Typer) -> None:
    """Add the ``customers`` command group to ``app``."""
    app.add_typer(customers_app, name="customers", help=h("cli.customers.help"))
