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
)
from allegiance.i18n import Message, current_lang, t

FileArg = Annotated[Path, typer.Argument(help=h("cli.drivers.opt.file"), show_default=False)]
TargetOpt = Annotated[str | None, typer.Option("--target", "-t", help=h("cli.drivers.opt.target"))]
ItemsOpt = Annotated[str, typer.Option("--items", "-i", help=h("cli.drivers.opt.items"))]
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


def _resolve(file: Path, project: Path | None) -> Path:
    """A relative FILE not found here is looked up in the project folder and its data folder."""
    if file.is_absolute() or file.exists() or project is None:
        return file
    root = project.expanduser()
    for candidate in (root / file, root / "data" / file):
        if candidate.exists():
            return candidate
    return file


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


def _load(
    file: Path,
    *,
    project: Path | None,
    encoding: str | None,
    sheet: str | None,
    numeric: Sequence[str],
    other: Sequence[str | None],
    weight: str | None,
) -> _Loaded:
    from allegiance.io.reader import read_table, require_columns

    path = _resolve(file, project)
    table = read_table(path, encoding=encoding, sheet=sheet)
    wanted = [c for c in dict.fromkeys([*numeric, *other, weight]) if c is not None]
    require_columns(table.frame, wanted, file=path)
    frame = table.frame.copy()
    for column in dict.fromkeys(numeric):
        frame[column] = table.numeric(column)
    if weight is not None:
        frame[weight] = table.numeric(weight, allowed=(0.0, float("inf")))
    inputs: dict[str, Any] = {"file": str(path), "rows": len(frame)}
    if table.encoding is not None:
        inputs["encoding"] = table.encoding
    if table.sheet is not None:
        inputs["sheet"] = table.sheet
    return _Loaded(frame, path, tuple(table.warnings), inputs)


@dataclasses.dataclass(frozen=True)
class _Shown:
    """A result shown with some of its tables (``--format csv`` prints one table)."""

    result: Any
    names: tuple[str, ...]
    extra_warnings: tuple[Message, ...] = ()

    @property
    def warnings(self) -> tuple[Message, ...]:
        return (*self.extra_warnings, *tuple(self.result.warnings))

    def tables(self) -> dict[str, pd.DataFrame]:
        every: dict[str, pd.DataFrame] = self.result.tables()
        return {k: v for k, v in every.items() if not self.names or k in self.names}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = self.result.to_dict()
        return out


def _drivers_headline(result: Any) -> Any:
    def show(con: Console) -> None:
        lang = current_lang()
        weakest = result.weakest
        names = ", ".join(str(i) for i in weakest["item"]) or t("section.drivers.none_weak", lang)
        con.print(f"{t('section.drivers.first_fix', lang)}: {names}")

    return show


def drivers_cmd(
    file: FileArg,
    items: ItemsOpt,
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
    seed: SeedOpt = 0,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods.drivers import ipa

    item_cols = _names(items, option="--items", example="q1,q2,q3") or []
    stated_cols = _names(stated, option="--stated", example="imp_q1,imp_q2,imp_q3")
    bounds = _scale(scale)
    loaded = _load(
        file,
        project=project,
        encoding=encoding,
        sheet=sheet,
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
        split=split,  # type: ignore[arg-type]
        scale=bounds,
        weight=weight,
        missing=missing,  # type: ignore[arg-type]
        confidence=confidence,
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
        "split": split,
        "scale": list(bounds) if bounds else None,
        "missing": missing,
        "weight": weight,
        "confidence": confidence,
        "bootstrap": bootstrap,
        "seed": seed,
    }
    names = ("ipa",) if fmt is OutputFormat.csv and out is None else ()
    emit(
        _Shown(result, names, loaded.warnings),
        command="drivers",
        inputs=inputs,
        fmt=fmt,
        out=out,
        extra=_drivers_headline(result),
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

    points = _names(touchpoints, option="--touchpoints", example="tp_store,tp_billing") or []
    value_cols = _names(value, option="--value", example="value_product,value_service")
    cost_cols = _names(cost, option="--cost", example="cost_money,cost_time")
    if (value_cols is None) != (cost_cols is None):
        raise typer.BadParameter(t("cli.touchpoints.need_both"), param_hint="--value/--cost")
    bounds = _scale(scale)
    loaded = _load(
        file,
        project=project,
        encoding=encoding,
        sheet=sheet,
        numeric=[*points, overall, *(value_cols or []), *(cost_cols or [])],
        other=list(by or []),
        weight=weight,
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
        _Shown(JourneyResult(journey, delivered), names, loaded.warnings),
        command="touchpoints",
        inputs=inputs,
        fmt=fmt,
        out=out,
    )


def register(app: typer.Typer) -> None:
    """Add the ``drivers`` and ``touchpoints`` commands to ``app``."""
    app.command("drivers", help=h("cli.drivers.help"))(drivers_cmd)
    app.command("touchpoints", help=h("cli.touchpoints.help"))(touchpoints_cmd)
