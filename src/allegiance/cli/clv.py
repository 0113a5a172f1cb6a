"""``allegiance clv ...``: customer lifetime value models.

- ``clv fit FILE --model bgnbd|paretonbd|gammagamma|sbg|bgbb``: maximum-likelihood fit; the
  JSON ``result`` holds ``model``, ``params``, ``se``, ``log_likelihood``, ``aic``, ``bic``,
  ``n``, ``converged`` and a ``parameters`` table (estimate, se, ci_low, ci_high).
- ``clv predict FILE``: per-customer P(alive), expected transactions over ``--horizon``,
  with ``--spend`` expected spend (Gamma-Gamma) and discounted CLV; for sbg the survival and
  retention per period. ``--params fit.json`` reuses a saved fit.
- ``clv lost``: the "Mrs Smith" lost-customer value (SPEC section 4), every number an option.
- ``clv simple``: the SPEC's CLV = average transaction x transactions a year x years.
- ``clv survival FILE --duration COL --event COL [--by COL]``: Kaplan-Meier curves.

FILE may be a transaction log (customer, date[, amount]; summarised on the engine with
:func:`allegiance.customers.summary.summarize_transactions`), a summary with ``frequency,
recency, T[, monetary_value]`` (Fader-Hardie names ``x, t_x, T, zbar`` are understood), BG/BB
data ``frequency, recency, n_periods[, weights]`` or a ``survivors`` column for sbg.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
from allegiance.errors import DataFileError, ValidationError
from allegiance.i18n import Message, t

if TYPE_CHECKING:
    from rich.console import Console

    from allegiance.methods.clv import ClvFit

FileArg = Annotated[Path, typer.Argument(help=h("cli.clv.opt.file"), show_default=False)]
ModelOpt = Annotated[str, typer.Option("--model", "-m", help=h("cli.clv.opt.model"))]
CustomerOpt = Annotated[str, typer.Option("--customer", help=h("cli.clv.opt.customer"))]
DateOpt = Annotated[str | None, typer.Option("--date", help=h("cli.clv.opt.date"))]
AmountOpt = Annotated[str | None, typer.Option("--amount", help=h("cli.clv.opt.amount"))]
EndOpt = Annotated[str | None, typer.Option("--end", help=h("cli.clv.opt.end"))]
UnitOpt = Annotated[float, typer.Option("--unit-days", help=h("cli.clv.opt.unit"))]
EngineOpt = Annotated[str, typer.Option("--engine", help=h("cli.clv.opt.engine"))]

clv_app = typer.Typer(
    name="clv",
    help=h("cli.clv.help"),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

ALIASES = {
    "x": "frequency",
    "t_x": "recency",
    "zbar": "monetary_value",
    "periods": "n_periods",
    "n": "n_periods",
    "n_custs": "weights",
}


@dataclasses.dataclass(frozen=True)
class Loaded:
    """What FILE held, turned into a model's input frame."""

    frame: pd.DataFrame
    kind: str  # summary | bgbb | sbg | transactions
    inputs: dict[str, Any]


def _dates(series: pd.Series[Any]) -> pd.Series[Any]:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    text = series.astype(str).str.strip()
    if text.str.fullmatch(r"\d{8}").all():
        return pd.to_datetime(text, format="%Y%m%d")
    return pd.to_datetime(text)


def load(
    file: Path,
    *,
    project: Path | None = None,
    encoding: str | None = None,
    customer: str = "customer_id",
    date: str | None = None,
    amount: str | None = None,
    end: str | None = None,
    unit_days: float = 1.0,
    engine: str = "duckdb",
) -> Loaded:
    """Read FILE and say what it is (see the module docstring)."""
    from allegiance.io.reader import read_table

    path = resolve_input(file, project)
    table = read_table(path, encoding=encoding)
    frame = table.frame.rename(columns={k: v for k, v in ALIASES.items() if k in table.frame})
    cols = set(frame.columns)
    inputs: dict[str, Any] = {"file": str(path), "rows": len(frame)}
    if "survivors" in cols:
        return Loaded(frame, "sbg", inputs)
    if {"frequency", "recency", "n_periods"} <= cols:
        return Loaded(frame, "bgbb", inputs)
    if {"frequency", "recency", "T"} <= cols:
        return Loaded(frame, "summary", inputs)
    date_col = date or next((c for c in ("date", "timestamp") if c in cols), None)
    if customer not in cols or date_col is None or date_col not in cols:
        raise DataFileError("clv.error.input_kind", file=str(path))
    from allegiance.customers.engine import connect
    from allegiance.customers.summary import summarize_transactions

    log = frame.loc[:, [customer, date_col, *([amount] if amount else [])]].copy()
    try:
        log[date_col] = _dates(log[date_col])
    except (ValueError, TypeError) as exc:
        raise ValidationError("clv.error.date", value=str(log[date_col].iloc[0])) from exc
    with connect(engine) as eng:
        summary = summarize_transactions(
            eng,
            eng.table(log),
            observation_end=end,
            customer_id=customer,
            timestamp=date_col,
            amount=amount,
            unit_days=unit_days,
        )
    inputs.update(
        customer=customer,
        date=date_col,
        amount=amount,
        end=end,
        unit_days=unit_days,
        engine=engine,
        customers=len(summary),
    )
    return Loaded(summary, "transactions", inputs)


def _check_kind(model: str, loaded: Loaded) -> None:
    from allegiance.methods.clv import MODELS

    if model not in MODELS:
        raise ValidationError("clv.error.model", model=model, choices=", ".join(MODELS))


def _fit(model: str, loaded: Loaded) -> ClvFit:
    from allegiance.methods.clv import fit_model

    _check_kind(model, loaded)
    return fit_model(model, loaded.frame)


def _headline(fit: ClvFit) -> Any:
    def show(con: Console) -> None:
        con.print(
            t(
                "cli.clv.headline",
                model=fit.model,
                ll=f"{fit.log_likelihood:,.2f}",
                n=f"{fit.n:,.0f}",
            )
        )

    return show


def fit_cmd(
    file: FileArg,
    model: ModelOpt = "bgnbd",
    by: Annotated[str | None, typer.Option("--by", "-b", help=h("cli.clv.opt.by_cohort"))] = None,
    customer: CustomerOpt = "customer_id",
    date: DateOpt = None,
    amount: AmountOpt = None,
    end: EndOpt = None,
    unit_days: UnitOpt = 1.0,
    engine: EngineOpt = "duckdb",
    encoding: EncodingOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    loaded = load(
        file,
        project=project,
        encoding=encoding,
        customer=customer,
        date=date,
        amount=amount,
        end=end,
        unit_days=unit_days,
        engine=engine,
    )
    if by is not None:
        from allegiance.methods.clv import fit_sbg_by

        if model.lower() != "sbg" or loaded.kind != "sbg":
            raise ValidationError("clv.error.by_sbg", model=model)
        cohorts = fit_sbg_by(loaded.frame, by)
        inputs = {**loaded.inputs, "model": "sbg", "kind": loaded.kind, "by": by}
        emit(cohorts, command="clv fit", inputs=inputs, fmt=fmt, out=out)
        return
    fit = _fit(model.lower(), loaded)
    inputs = {**loaded.inputs, "model": fit.model, "kind": loaded.kind}
    emit(fit, command="clv fit", inputs=inputs, fmt=fmt, out=out, extra=_headline(fit))


@dataclasses.dataclass(frozen=True)
class Predictions:
    """``clv predict``'s result: the fit(s) used and the per-row predictions."""

    fit: ClvFit
    spend: ClvFit | None
    predictions: pd.DataFrame
    settings: dict[str, Any]
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        name = "clv_projection" if self.fit.model == "sbg" else "clv_customers"
        return {name: self.predictions}

    def to_dict(self) -> dict[str, Any]:
        from allegiance.results import records

        return {
            "model": self.fit.to_dict(),
            "spend_model": None if self.spend is None else self.spend.to_dict(),
            "settings": self.settings,
            "predictions": records(self.predictions),
        }


def _read_params(path: Path) -> ClvFit:
    from allegiance.methods.clv import ClvFit

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataFileError("clv.error.params_file", file=str(path)) from exc
    if isinstance(data, dict) and isinstance(data.get("result"), dict):
        data = data["result"]
    if not isinstance(data, dict) or "params" not in data:
        raise DataFileError("clv.error.params_file", file=str(path))
    return ClvFit.from_dict(data)


def predict_cmd(
    file: FileArg,
    model: ModelOpt = "bgnbd",
    params: Annotated[Path | None, typer.Option("--params", help=h("cli.clv.opt.params"))] = None,
    horizon: Annotated[float, typer.Option("--horizon", help=h("cli.clv.opt.horizon"))] = 1.0,
    spend: Annotated[bool, typer.Option("--spend", help=h("cli.clv.opt.spend"))] = False,
    clv_periods: Annotated[
        int, typer.Option("--clv-periods", min=1, help=h("cli.clv.opt.clv_periods"))
    ] = 12,
    period: Annotated[float, typer.Option("--period", help=h("cli.clv.opt.period"))] = 4.345,
    discount: Annotated[float, typer.Option("--discount", help=h("cli.clv.opt.discount"))] = 0.01,
    margin: Annotated[float, typer.Option("--margin", help=h("cli.clv.opt.margin"))] = 1.0,
    continuous: Annotated[
        float | None, typer.Option("--continuous-rate", help=h("cli.clv.opt.continuous"))
    ] = None,
    customer: CustomerOpt = "customer_id",
    date: DateOpt = None,
    amount: AmountOpt = None,
    end: EndOpt = None,
    unit_days: UnitOpt = 1.0,
    engine: EngineOpt = "duckdb",
    encoding: EncodingOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods.clv import predict

    loaded = load(
        file,
        project=project,
        encoding=encoding,
        customer=customer,
        date=date,
        amount=amount,
        end=end,
        unit_days=unit_days,
        engine=engine,
    )
    fit = _read_params(params) if params is not None else _fit(model.lower(), loaded)
    spend_fit = None
    if spend and fit.model in ("bgnbd", "paretonbd"):
        spend_fit = _fit("gammagamma", loaded)
    table = predict(
        fit,
        loaded.frame,
        horizon=horizon,
        spend_fit=spend_fit,
        clv_periods=clv_periods,
        period=period,
        discount_rate=discount,
        margin=margin,
        continuous_rate=continuous,
    )
    settings = {
        "horizon": horizon,
        "clv_periods": clv_periods,
        "period": period,
        "discount_rate": discount,
        "margin": margin,
        "continuous_rate": continuous,
    }
    warnings = fit.warnings + (spend_fit.warnings if spend_fit else ())
    result = Predictions(fit, spend_fit, table, settings, warnings)
    inputs = {**loaded.inputs, "model": fit.model, "params": str(params) if params else None}
    emit(result, command="clv predict", inputs={**inputs, **settings}, fmt=fmt, out=out)


def lost_cmd(
    spend: Annotated[float, typer.Option("--spend", help=h("cli.clv.opt.spend_per_period"))] = 50.0,
    per_year: Annotated[float, typer.Option("--per-year", help=h("cli.clv.opt.per_year"))] = 52.0,
    years: Annotated[float, typer.Option("--years", help=h("cli.clv.opt.years"))] = 10.0,
    told: Annotated[float, typer.Option("--told", help=h("cli.clv.opt.told"))] = 10.0,
    influenced: Annotated[
        float, typer.Option("--influenced", help=h("cli.clv.opt.influenced"))
    ] = 0.5,
    retell: Annotated[float, typer.Option("--retell", help=h("cli.clv.opt.retell"))] = 5.0,
    defect: Annotated[float, typer.Option("--defect", help=h("cli.clv.opt.defect"))] = 0.25,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
) -> None:
    from allegiance.methods.clv import lost_customer_value

    result = lost_customer_value(
        spend_per_period=spend,
        periods_per_year=per_year,
        years=years,
        told=told,
        influenced_share=influenced,
        retell=retell,
        defect_share=defect,
    )

    @dataclasses.dataclass(frozen=True)
    class Shown:
        """The breakdown with each step in words (the JSON keeps the keys)."""

        warnings: tuple[Message, ...] = ()

        def tables(self) -> dict[str, pd.DataFrame]:
            frame = result.breakdown()
            frame["step"] = [t(k) for k in frame["step"]]
            return {"lost_customer": frame}

        def to_dict(self) -> dict[str, Any]:
            return result.to_dict()

    def headline(con: Console) -> None:
        con.print(
            t(
                "lost.headline",
                total=f"{result.total:,.0f}",
                customers=f"{result.customers_lost:g}",
                value=f"{result.customer_value:,.0f}",
            )
        )

    inputs = result.to_dict()["inputs"]
    emit(Shown(), command="clv lost", inputs=inputs, fmt=fmt, out=out, extra=headline)


def simple_cmd(
    average: Annotated[float, typer.Option("--average", help=h("cli.clv.opt.average"))],
    per_year: Annotated[float, typer.Option("--per-year", help=h("cli.clv.opt.per_year"))],
    years: Annotated[float, typer.Option("--years", help=h("cli.clv.opt.years"))],
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
) -> None:
    from allegiance.methods.clv import simple_clv

    result = simple_clv(
        average_transaction=average, transactions_per_year=per_year, years_retained=years
    )
    emit(result, command="clv simple", inputs=result.to_dict(), fmt=fmt, out=out)


def survival_cmd(
    file: FileArg,
    duration: Annotated[str, typer.Option("--duration", help=h("cli.clv.opt.duration"))],
    event: Annotated[str, typer.Option("--event", help=h("cli.clv.opt.event"))],
    by: Annotated[str | None, typer.Option("--by", "-b", help=h("cli.clv.opt.by"))] = None,
    encoding: EncodingOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.io.reader import read_table
    from allegiance.methods.clv import kaplan_meier

    path = resolve_input(file, project)
    table = read_table(path, encoding=encoding)
    result = kaplan_meier(table.frame, duration=duration, event=event, by=by)
    inputs = {"file": str(path), "rows": len(table.frame), "duration": duration, "event": event}
    emit(result, command="clv survival", inputs={**inputs, "by": by}, fmt=fmt, out=out)


_COMMANDS: tuple[tuple[str, str, Any], ...] = (
    ("fit", "cli.clv.fit.help", fit_cmd),
    ("predict", "cli.clv.predict.help", predict_cmd),
    ("lost", "cli.clv.lost.help", lost_cmd),
    ("simple", "cli.clv.simple.help", simple_cmd),
    ("survival", "cli.clv.survival.help", survival_cmd),
)

COMMAND_NAMES: tuple[str, ...] = tuple(name for name, _, _ in _COMMANDS)
"""The sub-commands of ``allegiance clv``."""

for _name, _help, _func in _COMMANDS:
    clv_app.command(_name, help=h(_help))(_func)


def register(app: typer.Typer) -> None:
    """Add the ``clv`` command group to ``app``."""
    app.add_typer(clv_app, name="clv", help=h("cli.clv.help"))
