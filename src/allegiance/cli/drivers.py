"""``allegiance drivers FILE`` (importance-performance, weakest links) and
``allegiance touchpoints FILE`` (moments of truth and customer delivered value).

Each command reads one data file with :func:`allegiance.io.reader.read_table`,
turns the columns it uses into numbers (a bad answer stops the command with the
file, row, column and value), calls :func:`allegiance.methods.drivers.ipa` or
:func:`allegiance.methods.touchpoints.touchpoints` /
:func:`~allegiance.methods.touchpoints.delivered_value` and renders the result
with :func:`emit`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

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
from allegiance.cli.display import Displayed
from allegiance.i18n import Message, current_lang, t

SPLITS: dict[str, str] = {
    "means": "means",
    "mean": "means",
    "medians": "medians",
    "median": "medians",
    "midpoint": "midpoint",
    "midpoints": "midpoint",
}
"""``--split`` values accepted (the plural and singular of each) and the one they mean."""

DRIVER_VALUES: dict[str, tuple[str, ...]] = {
    "quadrant": ("drivers.quadrant",),
    "method": ("drivers.method",),
    "missing": ("drivers.value.missing",),
    "performance_kind": ("drivers.value.performance",),
    "split": ("drivers.value.split",),
}
"""Codes in the drivers tables shown in the chosen language (``--format table``)."""

TOUCHPOINT_VALUES: dict[str, tuple[str, ...]] = {
    "side": ("drivers.value.side",),
    "category": ("drivers.value.side",),
    "method": ("drivers.method",),
    "missing": ("drivers.value.missing",),
    "performance_kind": ("drivers.value.performance",),
}

FileArg = Annotated[Path, typer.Argument(help=h("cli.drivers.opt.file"), show_default=False)]
TargetOpt = Annotated[str | None, typer.Option("--target", "-t", help=h("cli.drivers.opt.target"))]
ItemsOpt = Annotated[str | None, typer.Option("--items", "-i", help=h("cli.drivers.opt.items"))]
PlsOpt = Annotated[str | None, typer.Option("--pls", help=h("cli.drivers.opt.pls"))]
PermOpt = Annotated[
    int, typer.Option("--shapley-permutations", min=2, help=h("cli.drivers.opt.permutations"))
]
ExactOpt = Annotated[int, typer.Option("--exact-max", min=1, help=h("cli.drivers.opt.exact_max"))]
CustomersOpt = Annotated[
    Path | None, typer.Option("--customers", help=h("cli.touchpoints.opt.customers"))
]
CustomerIdOpt = Annotated[
    str, typer.Option("--customer-id", help=h("cli.touchpoints.opt.customer_id"))
]
MethodOpt = Annotated[str, typer.Option("--method", "-m", help=h("cli.drivers.opt.method"))]
StatedOpt = Annotated[str | None, typer.Option("--stated", help=h("cli.drivers.opt.stated"))]
PerformanceOpt = Annotated[
    str, typer.Option("--performance", help=h("cli.drivers.opt.performance"))
]
SplitOpt = Annotated[str, typer.Option("--split", help=h("cli.drivers.opt.split"))]
ScaleOpt = Annotated[str | None, typer.Option("--scale", help=h("cli.drivers.opt.scale"))]
MissingOpt = Annotated[str, typer.Option("--missing", help=h("cli.drivers.opt.missing"))]
WeightOpt = Annotated[str | None, typer.Option("--weight", "-w", help=h("cli.score.opt.weight"))]
ConfidenceOpt = Annotated[float, typer.Option("--confidence", help=h("cli.score.opt.confidence"))]
BootOpt = Annotated[int, typer.Option("--bootstrap", min=0, help=h("cli.drivers.opt.boot"))]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, help=h("cli.drivers.opt.seed"))]
SheetOpt = Annotated[str | None, typer.Option("--sheet", help=h("cli.score.opt.sheet"))]
OverallOpt = Annotated[str, typer.Option("--overall", help=h("cli.touchpoints.opt.overall"))]
TouchpointsOpt = Annotated[
    str, typer.Option("--touchpoints", help=h("cli.touchpoints.opt.touchpoints"))
]
ByOpt = Annotated[list[str] | None, typer.Option("--by", "-b", help=h("cli.touchpoints.opt.by"))]
ValueOpt = Annotated[str | None, typer.Option("--value", help=h("cli.touchpoints.opt.value"))]
CostOpt = Annotated[str | None, typer.Option("--cost", help=h("cli.touchpoints.opt.cost"))]
TpMethodOpt = Annotated[str, typer.Option("--method", "-m", help=h("cli.touchpoints.opt.method"))]
TpMissingOpt = Annotated[str, typer.Option("--missing", help=h("cli.touchpoints.opt.missing"))]


def _names(value: str | None, *, option: str, example: str) -> list[str] | None:
    """A comma-separated list of column names (full-width commas accepted)."""
    if value is None:
        return None
    out = [part.strip() for part in value.replace("，", ",").split(",") if part.strip()]
    if not out:
        raise typer.BadParameter(
            t("cli.drivers.bad_list", None, option=option, example=example, value=value),
            param_hint=option,
        )
    return out


def _scale(value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        parts = [float(p) for p in value.replace("，", ",").split(",") if p.strip()]
    except ValueError:
        parts = []
    if len(parts) != 2:
        raise typer.BadParameter(
            t("cli.drivers.bad_list", None, option="--scale", example="1,5", value=value),
            param_hint="--scale",
        )
    return (parts[0], parts[1])


@dataclasses.dataclass(frozen=True)
class _Loaded:
    frame: pd.DataFrame
    path: Path
    warnings: tuple[Message, ...]
    inputs: dict[str, Any]


def _expand(
    names: Sequence[str] | None, columns: Sequence[str], *, exclude: str | None = None
) -> list[str] | None:
    """Column names and shell patterns (``cs_*``) matched against ``columns``, in order.

    ``exclude`` (the target or overall column) is left out when only a pattern matched it.
    """
    if names is None:
        return None
    from allegiance.methods.compare import expand_columns

    found = expand_columns(list(names), list(columns))
    if exclude is not None and exclude not in names:
        found = [c for c in found if c != exclude]
    return found


def _read(file: Path, *, project: Path | None, encoding: str | None, sheet: str | None) -> Any:
    from allegiance.io.reader import read_table

    return read_table(resolve_input(file, project), encoding=encoding, sheet=sheet)


def _load(
    table: Any,
    *,
    project: Path | None,
    numeric: Sequence[str],
    other: Sequence[str | None],
    weight: str | None,
    customers: Path | None = None,
    customer_id: str = "customer_id",
    encoding: str | None = None,
) -> _Loaded:
    from allegiance.cli.joins import join_file
    from allegiance.io.reader import require_columns

    path = table.path
    require_columns(table.frame, [c for c in dict.fromkeys([*numeric, weight]) if c], file=path)
    frame = table.frame.copy()
    for column in dict.fromkeys(numeric):
        frame[column] = table.numeric(column)
    if weight is not None:
        frame[weight] = table.numeric(weight, allowed=(0.0, float("inf")))
    warnings: tuple[Message, ...] = tuple(table.warnings)
    inputs: dict[str, Any] = {"file": str(path), "rows": len(frame)}
    if customers is not None:
        frame, more, joined = join_file(
            frame, customers, key=customer_id, survey_file=path, project=project, encoding=encoding
        )
        warnings = (*warnings, *more)
        inputs["customers"] = str(joined)
        inputs["customer_id"] = customer_id
    require_columns(frame, [c for c in dict.fromkeys(other) if c is not None], file=path)
    if table.encoding is not None:
        inputs["encoding"] = table.encoding
    if table.sheet is not None:
        inputs["sheet"] = table.sheet
    return _Loaded(frame, path, warnings, inputs)


def _drivers_headline(weakest: pd.DataFrame, column: str, name: Any = str) -> Any:
    def show(con: Console) -> None:
        from rich.markup import escape

        lang = current_lang()
        names = ", ".join(escape(str(name(i))) for i in weakest[column])
        con.print(
            f"{t('section.drivers.first_fix', lang)}: {names or t('section.drivers.none_weak', lang)}"
        )

    return show


def _split(value: str) -> str:
    chosen = SPLITS.get(value.strip().lower())
    if chosen is None:
        raise typer.BadParameter(
            t("cli.drivers.bad_split", None, value=value), param_hint="--split"
        )
    return chosen


def _construct(model: Any, target: str | None) -> str:
    """The model's construct named ``target`` (its name in either language, any case)."""
    names = list(model.construct_names)
    if target is None:
        raise typer.BadParameter(
            t("cli.drivers.ipma_target", None, constructs=", ".join(names)), param_hint="--target"
        )
    wanted = target.strip().casefold()
    for name in names:
        if wanted in {name.casefold(), model.label(name, "zh").casefold()}:
            return str(name)
    raise typer.BadParameter(
        t("cli.drivers.ipma_target", None, constructs=", ".join(names)), param_hint="--target"
    )


def _ipma_cmd(
    file: Path,
    *,
    pls: str,
    target: str | None,
    split: str,
    missing: str,
    encoding: str | None,
    sheet: str | None,
    fmt: OutputFormat,
    out: Path | None,
    project: Path | None,
) -> None:
    from allegiance.cli.pls import _model
    from allegiance.methods.drivers import ipma
    from allegiance.pls import MISSING, estimate

    model, source = _model(pls, project)
    construct = _construct(model, target)
    if missing not in MISSING:
        raise typer.BadParameter(
            t("cli.pls.bad_choice", None, value=missing, allowed=", ".join(MISSING)),
            param_hint="--missing",
        )
    table = _read(file, project=project, encoding=encoding, sheet=sheet)
    loaded = _load(table, project=project, numeric=list(model.items), other=[], weight=None)
    fit = estimate(model, loaded.frame, scheme="path", missing=missing)  # type: ignore[arg-type]
    result = ipma(fit, target=construct, split=split)  # type: ignore[arg-type]
    inputs = {
        **loaded.inputs,
        "pls": source,
        "target": construct,
        "split": split,
        "missing": missing,
        "n": fit.n,
    }
    lang = current_lang()
    label = lambda v: model.label(v, lang) if v in model.construct_names else v  # noqa: E731
    names = ("ipma",) if fmt is OutputFormat.csv and out is None else ()
    emit(
        Displayed(
            result,
            columns={**DRIVER_VALUES, "construct": label},
            active=fmt is OutputFormat.table,
            extra_warnings=loaded.warnings,
            only=names,
        ),
        command="drivers",
        inputs=inputs,
        fmt=fmt,
        out=out,
        extra=_drivers_headline(result.weakest, "construct", label),
    )


def drivers_cmd(
    file: FileArg,
    items: ItemsOpt = None,
    target: TargetOpt = None,
    method: MethodOpt = "shapley",
    stated: StatedOpt = None,
    performance: PerformanceOpt = "mean",
    split: SplitOpt = "means",
    scale: ScaleOpt = None,
    missing: MissingOpt = "listwise",
    weight: WeightOpt = None,
    confidence: ConfidenceOpt = 0.95,
    bootstrap: BootOpt = 0,
    exact_max: ExactOpt = 15,
    permutations: PermOpt = 4000,
    seed: SeedOpt = 0,
    pls: PlsOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods.drivers import ipa

    how = _split(split)
    if pls is not None:
        _ipma_cmd(
            file,
            pls=pls,
            target=target,
            split=how,
            missing=missing,
            encoding=encoding,
            sheet=sheet,
            fmt=fmt,
            out=out,
            project=project,
        )
        return
    if items is None:
        raise typer.BadParameter(t("cli.drivers.need_items"), param_hint="--items")
    table = _read(file, project=project, encoding=encoding, sheet=sheet)
    columns = [str(c) for c in table.frame.columns]
    item_cols = (
        _expand(_names(items, option="--items", example="q1,q2,q3"), columns, exclude=target) or []
    )
    stated_cols = _expand(
        _names(stated, option="--stated", example="imp_q1,imp_q2,imp_q3"), columns
    )
    bounds = _scale(scale)
    loaded = _load(
        table,
        project=project,
        numeric=[*item_cols, *([target] if target else []), *(stated_cols or [])],
        other=[],
        weight=weight,
    )
    result = ipa(
        loaded.frame,
        items=item_cols,
        target=target,
        method=method,
        stated=stated_cols,
        performance=performance,  # type: ignore[arg-type]
        split=how,  # type: ignore[arg-type]
        scale=bounds,
        weight=weight,
        missing=missing,  # type: ignore[arg-type]
        confidence=confidence,
        exact_max=exact_max,
        n_perm=permutations,
        n_boot=bootstrap,
        seed=seed,
    )
    inputs = {
        **loaded.inputs,
        "target": target,
        "items": item_cols,
        "method": result.method,
        "stated": stated_cols,
        "performance": performance,
        "split": how,
        "scale": list(bounds) if bounds else None,
        "missing": missing,
        "weight": weight,
        "confidence": confidence,
        "bootstrap": bootstrap,
        "exact_max": exact_max,
        "shapley_permutations": permutations,
        "seed": seed,
    }
    names = ("ipa",) if fmt is OutputFormat.csv and out is None else ()
    emit(
        Displayed(
            result,
            columns=DRIVER_VALUES,
            active=fmt is OutputFormat.table,
            extra_warnings=loaded.warnings,
            only=names,
        ),
        command="drivers",
        inputs=inputs,
        fmt=fmt,
        out=out,
        extra=_drivers_headline(result.weakest, "item"),
    )


@dataclasses.dataclass(frozen=True)
class JourneyResult:
    """Touchpoints and (when asked) delivered value, shown as one result."""

    touchpoints: Any
    delivered: Any | None

    @property
    def warnings(self) -> tuple[Message, ...]:
        more = tuple(self.delivered.warnings) if self.delivered is not None else ()
        return (*tuple(self.touchpoints.warnings), *more)

    def tables(self) -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = dict(self.touchpoints.tables())
        if self.delivered is not None:
            out.update(self.delivered.tables())
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"touchpoints": self.touchpoints.to_dict()}
        if self.delivered is not None:
            out["delivered_value"] = self.delivered.to_dict()
        return out


def touchpoints_cmd(
    file: FileArg,
    overall: OverallOpt,
    touchpoints: TouchpointsOpt,
    by: ByOpt = None,
    value: ValueOpt = None,
    cost: CostOpt = None,
    customers: CustomersOpt = None,
    customer_id: CustomerIdOpt = "customer_id",
    method: TpMethodOpt = "shapley",
    performance: PerformanceOpt = "mean",
    scale: ScaleOpt = None,
    missing: TpMissingOpt = "pairwise",
    weight: WeightOpt = None,
    confidence: ConfidenceOpt = 0.95,
    seed: SeedOpt = 0,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods import touchpoints as tp

    table = _read(file, project=project, encoding=encoding, sheet=sheet)
    columns = [str(c) for c in table.frame.columns]
    points = (
        _expand(
            _names(touchpoints, option="--touchpoints", example="tp_store,tp_billing"),
            columns,
            exclude=overall,
        )
        or []
    )
    value_cols = _expand(
        _names(value, option="--value", example="value_product,value_service"), columns
    )
    cost_cols = _expand(_names(cost, option="--cost", example="cost_money,cost_time"), columns)
    if (value_cols is None) != (cost_cols is None):
        raise typer.BadParameter(t("cli.touchpoints.need_both"), param_hint="--value/--cost")
    bounds = _scale(scale)
    loaded = _load(
        table,
        project=project,
        numeric=[*points, overall, *(value_cols or []), *(cost_cols or [])],
        other=list(by or []),
        weight=weight,
        customers=customers,
        customer_id=customer_id,
        encoding=encoding,
    )
    groups = list(by) if by else None
    journey = tp.touchpoints(
        loaded.frame,
        touchpoints=points,
        overall=overall,
        by=groups,
        method=method,
        performance=performance,
        scale=bounds,
        weight=weight,
        missing=missing,
        confidence=confidence,
        seed=seed,
    )
    delivered = None
    if value_cols is not None and cost_cols is not None:
        delivered = tp.delivered_value(
            loaded.frame,
            value=value_cols,
            cost=cost_cols,
            by=groups,
            weight=weight,
            confidence=confidence,
        )
    inputs = {
        **loaded.inputs,
        "overall": overall,
        "touchpoints": points,
        "by": list(by or []),
        "value": value_cols,
        "cost": cost_cols,
        "method": journey.method,
        "performance": performance,
        "scale": list(bounds) if bounds else None,
        "missing": missing,
        "weight": weight,
        "confidence": confidence,
        "seed": seed,
    }
    names = ("touchpoints",) if fmt is OutputFormat.csv and out is None else ()
    emit(
        Displayed(
            JourneyResult(journey, delivered),
            columns=TOUCHPOINT_VALUES,
            active=fmt is OutputFormat.table,
            extra_warnings=loaded.warnings,
            only=names,
        ),
        command="touchpoints",
        inputs=inputs,
        fmt=fmt,
        out=out,
    )


def register(app: typer.Typer) -> None:
    """Add the ``drivers`` and ``touchpoints`` commands to ``app``."""
    app.command("drivers", help=h("cli.drivers.help"))(drivers_cmd)
    app.command("touchpoints", help=h("cli.touchpoints.help"))(touchpoints_cmd)
