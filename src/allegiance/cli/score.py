"""``allegiance score ...``: survey scales (NPS, CSAT, CES, ratings, five-level scale, rates).

Every command reads one data file with :func:`allegiance.io.reader.read_table`,
checks the columns, turns the answer column into numbers (a bad answer stops
the command with the file, row, column and value), calls one function of
:mod:`allegiance.methods.scales` and renders the result with :func:`emit`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
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
from allegiance.errors import ValidationError
from allegiance.i18n import t
from allegiance.io.reader import DataTable, read_table, require_columns
from allegiance.methods import scales

FileArg = Annotated[Path, typer.Argument(help=h("cli.score.opt.file"), show_default=False)]
ColumnOpt = Annotated[str, typer.Option("--column", "-c", help=h("cli.score.opt.column"))]
ByOpt = Annotated[list[str] | None, typer.Option("--by", "-b", help=h("cli.score.opt.by"))]
WeightOpt = Annotated[str | None, typer.Option("--weight", "-w", help=h("cli.score.opt.weight"))]
ConfidenceOpt = Annotated[float, typer.Option("--confidence", help=h("cli.score.opt.confidence"))]
SheetOpt = Annotated[str | None, typer.Option("--sheet", help=h("cli.score.opt.sheet"))]

score_app = typer.Typer(
    name="score",
    help=h("cli.score.help"),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


# --------------------------------------------------------------------------------------------
# Shared steps
# --------------------------------------------------------------------------------------------


def _is_text(series: pd.Series[Any]) -> bool:
    return bool(
        pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype)
    )


@dataclasses.dataclass(frozen=True)
class _Loaded:
    table: DataTable
    frame: pd.DataFrame
    path: Path


def _load(
    file: Path,
    *,
    project: Path | None,
    encoding: str | None,
    sheet: str | None,
    columns: Sequence[str | None],
) -> _Loaded:
    path = resolve_input(file, project)
    table = read_table(path, encoding=encoding, sheet=sheet)
    wanted = [c for c in dict.fromkeys(columns) if c is not None]
    require_columns(table.frame, wanted, file=path)
    return _Loaded(table, table.frame.copy(), path)


def _answers(
    loaded: _Loaded,
    column: str,
    *,
    allowed: tuple[float, float] | None,
    integer: bool = True,
    labels_ok: bool = False,
) -> None:
    """Make ``column`` numeric, stopping at the first bad answer with its row number.

    With ``labels_ok`` a text column (level labels such as 很满意) is left for the
    method, which accepts labels.
    """
    if labels_ok and _is_text(loaded.frame[column]):
        return
    loaded.frame[column] = loaded.table.numeric(column, allowed=allowed, integer=integer)


def _weight(loaded: _Loaded, weight: str | None) -> None:
    if weight is not None:
        loaded.frame[weight] = loaded.table.numeric(weight, allowed=(0.0, float("inf")))


def _inputs(loaded: _Loaded, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"file": str(loaded.path), "rows": len(loaded.frame)}
    if loaded.table.encoding is not None:
        out["encoding"] = loaded.table.encoding
    if loaded.table.sheet is not None:
        out["sheet"] = loaded.table.sheet
    out.update({k: list(v) if isinstance(v, tuple) else v for k, v in extra.items()})
    return out


def _finish(
    result: Any,
    loaded: _Loaded,
    *,
    command: str,
    inputs: dict[str, Any],
    fmt: OutputFormat,
    out: Path | None,
) -> None:
    """Add the reader's warnings to the result's and render."""
    if loaded.table.warnings:
        result = dataclasses.replace(result, warnings=(*loaded.table.warnings, *result.warnings))
    emit(result, command=command, inputs=inputs, fmt=fmt, out=out)


def _numbers(
    value: str | None, *, option: str, example: str, count: int | None
) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        out = tuple(float(part) for part in value.replace("，", ",").split(",") if part.strip())
    except ValueError:
        out = ()
    if not out or (count is not None and len(out) != count):
        raise typer.BadParameter(
            t("cli.score.bad_list", None, option=option, example=example, value=value)
        )
    return tuple(int(v) if v.is_integer() else v for v in out)


def _points(points: int, allowed: Sequence[int] | None = None) -> int:
    """Check a number of scale points before reading the file (same rule as the methods)."""
    if points < 3 or (allowed is not None and points not in allowed):
        raise ValidationError(
            "scales.bad_points",
            value=str(points),
            allowed=", ".join(str(a) for a in allowed) if allowed else ">= 3",
        )
    return points


def _by(by: list[str] | None) -> list[str] | None:
    return list(by) if by else None


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def nps_cmd(
    file: FileArg,
    column: ColumnOpt,
    by: ByOpt = None,
    weight: WeightOpt = None,
    confidence: ConfidenceOpt = 0.95,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    loaded = _load(
        file, project=project, encoding=encoding, sheet=sheet, columns=[column, *(by or []), weight]
    )
    _answers(loaded, column, allowed=(0, 10))
    _weight(loaded, weight)
    result = scales.nps(
        loaded.frame, score=column, by=_by(by), weight=weight, confidence=confidence
    )
    inputs = _inputs(loaded, column=column, by=by or [], weight=weight, confidence=confidence)
    _finish(result, loaded, command="score nps", inputs=inputs, fmt=fmt, out=out)


def csat_cmd(
    file: FileArg,
    column: ColumnOpt,
    points: Annotated[int, typer.Option("--points", help=h("cli.score.opt.points"))] = 5,
    by: ByOpt = None,
    weight: WeightOpt = None,
    confidence: ConfidenceOpt = 0.95,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    _points(points)
    loaded = _load(
        file, project=project, encoding=encoding, sheet=sheet, columns=[column, *(by or []), weight]
    )
    _answers(loaded, column, allowed=(1, points))
    _weight(loaded, weight)
    result = scales.csat(
        loaded.frame, score=column, points=points, by=_by(by), weight=weight, confidence=confidence
    )
    inputs = _inputs(
        loaded, column=column, points=points, by=by or [], weight=weight, confidence=confidence
    )
    _finish(result, loaded, command="score csat", inputs=inputs, fmt=fmt, out=out)


def ces_cmd(
    file: FileArg,
    column: ColumnOpt,
    points: Annotated[int, typer.Option("--points", help=h("cli.score.opt.ces_points"))] = 7,
    by: ByOpt = None,
    weight: WeightOpt = None,
    confidence: ConfidenceOpt = 0.95,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    _points(points, (5, 7))
    loaded = _load(
        file, project=project, encoding=encoding, sheet=sheet, columns=[column, *(by or []), weight]
    )
    _answers(loaded, column, allowed=(1, points))
    _weight(loaded, weight)
    result = scales.ces(
        loaded.frame, score=column, points=points, by=_by(by), weight=weight, confidence=confidence
    )
    inputs = _inputs(
        loaded, column=column, points=points, by=by or [], weight=weight, confidence=confidence
    )
    _finish(result, loaded, command="score ces", inputs=inputs, fmt=fmt, out=out)


def likert_cmd(
    file: FileArg,
    column: ColumnOpt,
    points: Annotated[int, typer.Option("--points", help=h("cli.score.opt.points"))],
    by: ByOpt = None,
    weight: WeightOpt = None,
    confidence: ConfidenceOpt = 0.95,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    _points(points)
    loaded = _load(
        file, project=project, encoding=encoding, sheet=sheet, columns=[column, *(by or []), weight]
    )
    _answers(loaded, column, allowed=(1, points))
    _weight(loaded, weight)
    result = scales.likert(
        loaded.frame, score=column, points=points, by=_by(by), weight=weight, confidence=confidence
    )
    inputs = _inputs(
        loaded, column=column, points=points, by=by or [], weight=weight, confidence=confidence
    )
    _finish(result, loaded, command="score likert", inputs=inputs, fmt=fmt, out=out)


def _rating_cmd(name: str) -> Any:
    """``mean-score`` (1-10) and ``stars`` (1-5): thin wrappers on :func:`scales.likert`."""
    scale = scales.SCALES[name]
    method = {"mean_score": scales.mean_score, "stars": scales.stars}[name]

    def command(
        file: FileArg,
        column: ColumnOpt,
        by: ByOpt = None,
        weight: WeightOpt = None,
        confidence: ConfidenceOpt = 0.95,
        encoding: EncodingOpt = None,
        sheet: SheetOpt = None,
        fmt: FormatOpt = OutputFormat.table,
        out: OutOpt = None,
        lang: LangOpt = None,
        project: ProjectOpt = None,
    ) -> None:
        loaded = _load(
            file,
            project=project,
            encoding=encoding,
            sheet=sheet,
            columns=[column, *(by or []), weight],
        )
        _answers(loaded, column, allowed=(scale.low, scale.high), labels_ok=True)
        _weight(loaded, weight)
        result = method(
            loaded.frame, score=column, by=_by(by), weight=weight, confidence=confidence
        )
        inputs = _inputs(loaded, column=column, by=by or [], weight=weight, confidence=confidence)
        _finish(
            result,
            loaded,
            command=f"score {name.replace('_', '-')}",
            inputs=inputs,
            fmt=fmt,
            out=out,
        )

    return command


def emoji_cmd(
    file: FileArg,
    column: ColumnOpt,
    levels: Annotated[int, typer.Option("--levels", help=h("cli.score.opt.levels"))] = 5,
    by: ByOpt = None,
    weight: WeightOpt = None,
    confidence: ConfidenceOpt = 0.95,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    _points(levels, (3, 5))
    loaded = _load(
        file, project=project, encoding=encoding, sheet=sheet, columns=[column, *(by or []), weight]
    )
    _answers(loaded, column, allowed=(1, levels), labels_ok=True)
    _weight(loaded, weight)
    result = scales.emoji(
        loaded.frame, score=column, levels=levels, by=_by(by), weight=weight, confidence=confidence
    )
    inputs = _inputs(
        loaded, column=column, levels=levels, by=by or [], weight=weight, confidence=confidence
    )
    _finish(result, loaded, command="score emoji", inputs=inputs, fmt=fmt, out=out)


def five_level_cmd(
    file: FileArg,
    column: ColumnOpt,
    level_scores: Annotated[
        str | None, typer.Option("--level-scores", help=h("cli.score.opt.level_scores"))
    ] = None,
    codes: Annotated[str | None, typer.Option("--codes", help=h("cli.score.opt.codes"))] = None,
    by: ByOpt = None,
    weight: WeightOpt = None,
    confidence: ConfidenceOpt = 0.95,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    scores = _numbers(level_scores, option="--level-scores", example="5,4,3,2,1", count=5) or (
        5,
        4,
        3,
        2,
        1,
    )
    code_values = _numbers(codes, option="--codes", example="5,4,3,2,1", count=5) or (5, 4, 3, 2, 1)
    loaded = _load(
        file, project=project, encoding=encoding, sheet=sheet, columns=[column, *(by or []), weight]
    )
    integer = all(float(c).is_integer() for c in code_values)
    _answers(
        loaded,
        column,
        allowed=(min(code_values), max(code_values)),
        integer=integer,
        labels_ok=True,
    )
    _weight(loaded, weight)
    result = scales.five_level(
        loaded.frame,
        score=column,
        level_scores=scores,
        codes=code_values,
        by=_by(by),
        weight=weight,
        confidence=confidence,
    )
    inputs = _inputs(
        loaded,
        column=column,
        level_scores=scores,
        codes=code_values,
        by=by or [],
        weight=weight,
        confidence=confidence,
    )
    _finish(result, loaded, command="score five-level", inputs=inputs, fmt=fmt, out=out)


def satisfaction_rate_cmd(
    file: FileArg,
    column: ColumnOpt,
    satisfied: Annotated[
        str | None, typer.Option("--satisfied", help=h("cli.score.opt.satisfied"))
    ] = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help=h("cli.score.opt.threshold"))
    ] = None,
    by: ByOpt = None,
    weight: WeightOpt = None,
    confidence: ConfidenceOpt = 0.95,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    chosen: list[float | str] | None = None
    if satisfied is not None:
        chosen = []
        for part in satisfied.replace("，", ",").split(","):
            text = part.strip()
            if not text:
                continue
            try:
                number = float(text)
            except ValueError:
                chosen.append(text)
            else:
                chosen.append(int(number) if number.is_integer() else number)
    loaded = _load(
        file, project=project, encoding=encoding, sheet=sheet, columns=[column, *(by or []), weight]
    )
    numeric_rule = (
        threshold is not None or chosen is None or all(not isinstance(c, str) for c in chosen)
    )
    if numeric_rule:
        _answers(loaded, column, allowed=None, integer=False)
    _weight(loaded, weight)
    result = scales.satisfaction_rate(
        loaded.frame,
        score=column,
        satisfied=chosen,
        threshold=threshold,
        by=_by(by),
        weight=weight,
        confidence=confidence,
    )
    inputs = _inputs(
        loaded,
        column=column,
        satisfied=chosen,
        threshold=threshold,
        by=by or [],
        weight=weight,
        confidence=confidence,
    )
    _finish(result, loaded, command="score satisfaction-rate", inputs=inputs, fmt=fmt, out=out)


def loyalty_rate_cmd(
    file: FileArg,
    loyal: Annotated[str | None, typer.Option("--loyal", help=h("cli.score.opt.loyal"))] = None,
    column: Annotated[
        str | None, typer.Option("--column", "-c", help=h("cli.score.opt.score_column"))
    ] = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help=h("cli.score.opt.threshold"))
    ] = None,
    by: ByOpt = None,
    weight: WeightOpt = None,
    confidence: ConfidenceOpt = 0.95,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    loaded = _load(
        file,
        project=project,
        encoding=encoding,
        sheet=sheet,
        columns=[loyal, column, *(by or []), weight],
    )
    if column is not None and loyal is None:
        _answers(loaded, column, allowed=None, integer=False)
    _weight(loaded, weight)
    result = scales.loyalty_rate(
        loaded.frame,
        loyal=loyal,
        score=column,
        threshold=threshold,
        by=_by(by),
        weight=weight,
        confidence=confidence,
    )
    inputs = _inputs(
        loaded,
        loyal=loyal,
        column=column,
        threshold=threshold,
        by=by or [],
        weight=weight,
        confidence=confidence,
    )
    _finish(result, loaded, command="score loyalty-rate", inputs=inputs, fmt=fmt, out=out)


def loyalty_index_cmd(
    file: FileArg,
    satisfaction: Annotated[
        str, typer.Option("--satisfaction", help=h("cli.score.opt.satisfaction"))
    ],
    repurchase: Annotated[str, typer.Option("--repurchase", help=h("cli.score.opt.repurchase"))],
    recommend: Annotated[str, typer.Option("--recommend", help=h("cli.score.opt.recommend"))],
    weights: Annotated[
        str | None, typer.Option("--weights", help=h("cli.score.opt.index_weights"))
    ] = None,
    by: ByOpt = None,
    weight: WeightOpt = None,
    confidence: ConfidenceOpt = 0.95,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    chosen = _numbers(weights, option="--weights", example="0.4,0.3,0.3", count=3) or (1, 1, 1)
    loaded = _load(
        file,
        project=project,
        encoding=encoding,
        sheet=sheet,
        columns=[satisfaction, repurchase, recommend, *(by or []), weight],
    )
    _answers(loaded, satisfaction, allowed=(1, 5), labels_ok=True)
    _answers(loaded, repurchase, allowed=(1, 3), labels_ok=True)
    _answers(loaded, recommend, allowed=(1, 3), labels_ok=True)
    _weight(loaded, weight)
    result = scales.loyalty_index_three(
        loaded.frame,
        satisfaction=satisfaction,
        repurchase=repurchase,
        recommend=recommend,
        weights=chosen,
        by=_by(by),
        weight=weight,
        confidence=confidence,
    )
    inputs = _inputs(
        loaded,
        satisfaction=satisfaction,
        repurchase=repurchase,
        recommend=recommend,
        weights=chosen,
        by=by or [],
        weight=weight,
        confidence=confidence,
    )
    _finish(result, loaded, command="score loyalty-index", inputs=inputs, fmt=fmt, out=out)


_COMMANDS: tuple[tuple[str, str, Any], ...] = (
    ("nps", "cli.score.nps.help", nps_cmd),
    ("csat", "cli.score.csat.help", csat_cmd),
    ("ces", "cli.score.ces.help", ces_cmd),
    ("likert", "cli.score.likert.help", likert_cmd),
    ("five-level", "cli.score.five_level.help", five_level_cmd),
    ("mean-score", "cli.score.mean_score.help", _rating_cmd("mean_score")),
    ("stars", "cli.score.stars.help", _rating_cmd("stars")),
    ("emoji", "cli.score.emoji.help", emoji_cmd),
    ("satisfaction-rate", "cli.score.satisfaction_rate.help", satisfaction_rate_cmd),
    ("loyalty-rate", "cli.score.loyalty_rate.help", loyalty_rate_cmd),
    ("loyalty-index", "cli.score.loyalty_index.help", loyalty_index_cmd),
)

COMMAND_NAMES: tuple[str, ...] = tuple(name for name, _, _ in _COMMANDS)
"""The sub-commands of ``allegiance score``."""

for _name, _help, _func in _COMMANDS:
    score_app.command(_name, help=h(_help))(_func)


def register(app: typer.Typer) -> None:
    """Add the ``score`` command group to ``app``."""
    app.add_typer(score_app, name="score", help=h("cli.score.help"))
