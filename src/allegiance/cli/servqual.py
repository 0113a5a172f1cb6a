"""``allegiance servqual FILE``: SERVQUAL gaps, weighted score and zone of tolerance.

FILE has one row per respondent with the expectation and perception items
(default ``sq_e01`` … ``sq_e22`` and ``sq_p01`` … ``sq_p22``). Importance points
(``sq_imp_<dimension>``) and adequate/desired levels (``sq_a01`` …, ``sq_d01`` …) are
used when present, in FILE or in a second file joined with ``--join``/``--key``.
The command calls :func:`allegiance.methods.servqual.servqual` and renders the
result with :func:`emit`.
"""

from __future__ import annotations

import dataclasses
import re
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
)
from allegiance.cli.display import Displayed
from allegiance.cli.kano import resolve_file
from allegiance.errors import AllegianceError, DataFileError, ValidationError
from allegiance.i18n import Message
from allegiance.io.reader import read_table, require_columns

SERVQUAL_VALUES: dict[str, tuple[str, ...]] = {
    "dimension": ("servqual.dimension",),
    "zone": ("servqual.zone",),
    "status": ("servqual.zone",),
    "method": ("servqual.value.method",),
    "measure": ("servqual.value.method",),
}
"""Codes in the SERVQUAL tables shown in the chosen language (``--format table``)."""

FileArg = Annotated[Path, typer.Argument(help=h("cli.servqual.opt.file"), show_default=False)]
DEFAULT_IMPORTANCE_PREFIX = "sq_imp_"
DEFAULT_ADEQUATE_PREFIX = "sq_a"
DEFAULT_DESIRED_PREFIX = "sq_d"


def parse_dimensions(value: str, /, *, n: int) -> list[str]:
    """``"speed=1-3,care=4-6"`` → the dimension of each of the ``n`` items.

    Items are numbers or ranges joined by ``+`` or ``,`` inside a dimension
    (``speed=1-3+7``); every item 1..n must be named exactly once.

    >>> parse_dimensions("speed=1-2, care=3", n=3)
    ['speed', 'speed', 'care']
    """
    text = value.replace("，", ",").replace("；", ";").replace("＝", "=")
    out: list[str | None] = [None] * n
    name: str | None = None
    try:
        for token in re.split(r"[,;+]", text):
            token = token.strip()
            if not token:
                continue
            if "=" in token:
                name, _, token = (part.strip() for part in token.partition("="))
                if not name:
                    raise ValueError(token)
            if name is None:
                raise ValueError(token)
            low, _, high = token.partition("-")
            first, last = int(low), int(high or low)
            for item in range(first, last + 1):
                if not 1 <= item <= n or out[item - 1] is not None:
                    raise ValueError(token)
                out[item - 1] = name
    except ValueError:
        raise ValidationError("servqual.bad_dimensions", value=value, n=n) from None
    if any(d is None for d in out):
        raise ValidationError("servqual.bad_dimensions", value=value, n=n)
    return [str(d) for d in out]


def _columns(frame: pd.DataFrame, prefix: str, n: int) -> list[str]:
    from allegiance.methods.servqual import item_columns

    return list(item_columns(prefix, n=n, columns=frame.columns))


def _optional_set(
    frame: pd.DataFrame, prefix: str | None, default: str, n: int, what: str
) -> tuple[list[str] | None, Message | None]:
    """Columns named by an explicit prefix (all required) or found under the default one."""
    if prefix is not None:
        return _columns(frame, prefix, n), None
    cols = _columns(frame, default, n)
    found = [c for c in cols if c in frame.columns]
    if len(found) == n:
        return cols, None
    if found:
        missing = ", ".join(c for c in cols if c not in frame.columns)
        return None, Message(
            "servqual.missing_columns",
            {"what": what, "found": len(found), "n": n, "missing": missing},
        )
    return None, None


def _scale(value: str) -> tuple[float, float]:
    parts = [p.strip() for p in value.replace("，", ",").split(",") if p.strip()]
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        raise ValidationError("servqual.bad_scale", value=value) from None
    if not low < high:
        raise ValidationError("servqual.bad_scale", value=value)
    return low, high


def servqual_cmd(
    file: FileArg,
    servperf: Annotated[
        bool, typer.Option("--servperf", help=h("cli.servqual.opt.servperf"))
    ] = False,
    expectation_prefix: Annotated[
        str, typer.Option("--expectation-prefix", help=h("cli.servqual.opt.expectation_prefix"))
    ] = "sq_e",
    perception_prefix: Annotated[
        str, typer.Option("--perception-prefix", help=h("cli.servqual.opt.perception_prefix"))
    ] = "sq_p",
    items: Annotated[int, typer.Option("--items", min=1, help=h("cli.servqual.opt.items"))] = 22,
    dimensions: Annotated[
        str | None, typer.Option("--dimensions", help=h("cli.servqual.opt.dimensions"))
    ] = None,
    importance_prefix: Annotated[
        str | None,
        typer.Option("--importance-prefix", help=h("cli.servqual.opt.importance_prefix")),
    ] = None,
    adequate_prefix: Annotated[
        str | None, typer.Option("--adequate-prefix", help=h("cli.servqual.opt.adequate_prefix"))
    ] = None,
    desired_prefix: Annotated[
        str | None, typer.Option("--desired-prefix", help=h("cli.servqual.opt.desired_prefix"))
    ] = None,
    join: Annotated[Path | None, typer.Option("--join", help=h("cli.servqual.opt.join"))] = None,
    key: Annotated[str, typer.Option("--key", help=h("cli.servqual.opt.key"))] = "respondent_key",
    scale: Annotated[str, typer.Option("--scale", help=h("cli.servqual.opt.scale"))] = "1,7",
    confidence: Annotated[
        float, typer.Option("--confidence", help=h("cli.servqual.opt.confidence"))
    ] = 0.95,
    encoding: EncodingOpt = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help=h("cli.servqual.opt.sheet"))] = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods.servqual import DIMENSIONS, N_ITEMS, servqual

    low_high = _scale(scale)
    dims = parse_dimensions(dimensions, n=items) if dimensions else None
    if dims is None and items != N_ITEMS:
        raise ValidationError("servqual.need_dimensions", n=items, standard=N_ITEMS)
    path = resolve_file(file, project)
    table = read_table(path, encoding=encoding, sheet=sheet)
    frame = table.frame
    warnings: list[Message] = list(table.warnings)
    inputs: dict[str, Any] = {"file": str(path), "rows": len(frame)}
    if join is not None:
        other_path = resolve_file(join, project)
        other = read_table(other_path, encoding=encoding)
        require_columns(frame, [key], file=path)
        require_columns(other.frame, [key], file=other_path)
        extra_cols = [c for c in other.frame.columns if c == key or c not in frame.columns]
        frame = frame.merge(
            other.frame[extra_cols], on=key, how="left", validate="many_to_one", sort=False
        )
        warnings.extend(other.warnings)
        inputs.update(join=str(other_path), key=key)

    perception = _columns(frame, perception_prefix, items)
    expectation = None if servperf else _columns(frame, expectation_prefix, items)
    require_columns(frame, [*perception, *(expectation or [])], file=path)
    dim_names = list(dict.fromkeys(dims)) if dims else list(DIMENSIONS)
    importance = None
    imp_prefix = importance_prefix
    if imp_prefix is None and all(f"{DEFAULT_IMPORTANCE_PREFIX}{d}" in frame for d in dim_names):
        imp_prefix = DEFAULT_IMPORTANCE_PREFIX
    if imp_prefix is not None:
        importance = {d: f"{imp_prefix}{d}" for d in dim_names}
        require_columns(frame, list(importance.values()), file=path)
    adequate, note_a = _optional_set(
        frame, adequate_prefix, DEFAULT_ADEQUATE_PREFIX, items, "adequate"
    )
    desired, note_d = _optional_set(frame, desired_prefix, DEFAULT_DESIRED_PREFIX, items, "desired")
    warnings.extend(m for m in (note_a, note_d) if m is not None)
    if adequate is None or desired is None:
        adequate = desired = None
    else:
        require_columns(frame, [*adequate, *desired], file=path)
    try:
        result = servqual(
            frame,
            expectation=expectation,
            perception=perception,
            dimensions=dims,
            importance=importance,
            adequate=adequate,
            desired=desired,
            servperf=servperf,
            scale=low_high,
            confidence=confidence,
        )
    except AllegianceError as exc:
        if exc.key != "servqual.bad_answer" or join is not None:
            raise
        raise DataFileError(
            "servqual.bad_answer_file",
            file=str(path),
            row=table.header_row + int(exc.params["row"]),
            column=exc.params["column"],
            value=exc.params["value"],
            low=exc.params["low"],
            high=exc.params["high"],
        ) from None
    inputs.update(
        servperf=servperf,
        expectation=expectation,
        perception=perception,
        dimensions=dims,
        importance=importance,
        adequate=adequate,
        desired=desired,
        scale=list(low_high),
        confidence=confidence,
    )
    if warnings:
        result = dataclasses.replace(result, warnings=(*warnings, *result.warnings))
    shown = Displayed(result, columns=SERVQUAL_VALUES, active=fmt is OutputFormat.table)
    emit(shown, command="servqual", inputs=inputs, fmt=fmt, out=out)


def register(app: typer.Typer) -> None:
    """Add ``allegiance servqual`` to ``app``."""
    app.command("servqual", help=h("cli.servqual.help"))(servqual_cmd)
