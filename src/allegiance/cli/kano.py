"""``allegiance kano FILE``: Kano categories, Better/Worse and the continuous analysis.

FILE is either *long* (columns ``attribute``, ``functional``, ``dysfunctional``, one
row per respondent and attribute) or a response table with column pairs
``kano_<attribute>_func`` / ``kano_<attribute>_dysf`` (found automatically, or named
with ``--pairs``). The command reads the file, calls :func:`allegiance.methods.kano.kano`
or :func:`~allegiance.methods.kano.kano_pairs` and renders the result with :func:`emit`.
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
)
from allegiance.errors import AllegianceError, DataFileError, ValidationError
from allegiance.io.reader import DataTable, read_table, require_columns

FileArg = Annotated[Path, typer.Argument(help=h("cli.kano.opt.file"), show_default=False)]


def resolve_file(file: Path, project: Path | None) -> Path:
    """A relative FILE not found here is looked up in the project folder and its data folder."""
    if file.is_absolute() or file.exists() or project is None:
        return file
    root = project.expanduser()
    for candidate in (root / file, root / "data" / file):
        if candidate.exists():
            return candidate
    return file


def _parse_pairs(values: list[str]) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for raw in values:
        name, sep, cols = raw.replace("＝", "=").replace("，", ",").partition("=")
        parts = [c.strip() for c in cols.split(",")]
        if not sep or not name.strip() or len(parts) != 2 or not all(parts):
            raise ValidationError("kano.bad_pair", value=raw)
        out[name.strip()] = (parts[0], parts[1])
    return out


def _numeric_answers(table: DataTable, frame: pd.DataFrame, columns: list[str]) -> None:
    """Numeric answer columns are checked by the reader, so errors name the file row."""
    for column in columns:
        if pd.api.types.is_numeric_dtype(frame[column].dtype):
            frame[column] = table.numeric(column, allowed=(1, 5), integer=True)


def _file_error(exc: AllegianceError, table: DataTable) -> AllegianceError:
    """A bad label found by the method, re-told with the file and its row number."""
    if exc.key != "kano.bad_answer":
        return exc
    return DataFileError(
        "kano.bad_answer_file",
        file=str(table.path),
        row=int(exc.params["row"]) - 1 + table.header_row + 1,
        column=exc.params["column"],
        value=exc.params["value"],
    )


def kano_cmd(
    file: FileArg,
    pairs: Annotated[
        list[str] | None, typer.Option("--pairs", help=h("cli.kano.opt.pairs"))
    ] = None,
    attribute: Annotated[
        str, typer.Option("--attribute", help=h("cli.kano.opt.attribute"))
    ] = "attribute",
    functional: Annotated[
        str, typer.Option("--functional", help=h("cli.kano.opt.functional"))
    ] = "functional",
    dysfunctional: Annotated[
        str, typer.Option("--dysfunctional", help=h("cli.kano.opt.dysfunctional"))
    ] = "dysfunctional",
    respondent: Annotated[
        str | None, typer.Option("--respondent", help=h("cli.kano.opt.respondent"))
    ] = None,
    importance: Annotated[
        str | None, typer.Option("--importance", help=h("cli.kano.opt.importance"))
    ] = None,
    prefix: Annotated[str, typer.Option("--prefix", help=h("cli.kano.opt.prefix"))] = "kano_",
    questionable_threshold: Annotated[
        float, typer.Option("--questionable-threshold", help=h("cli.kano.opt.threshold"))
    ] = 0.10,
    encoding: EncodingOpt = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help=h("cli.kano.opt.sheet"))] = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods import kano

    path = resolve_file(file, project)
    table = read_table(path, encoding=encoding, sheet=sheet)
    frame = table.frame.copy()
    inputs: dict[str, Any] = {"file": str(path), "rows": len(frame)}
    if table.encoding is not None:
        inputs["encoding"] = table.encoding
    long_columns = [attribute, functional, dysfunctional]
    explicit = _parse_pairs(pairs) if pairs else None
    use_long = explicit is None and all(c in frame.columns for c in long_columns)
    try:
        if use_long:
            require_columns(frame, [c for c in (respondent, importance) if c], file=path)
            _numeric_answers(table, frame, [functional, dysfunctional])
            result = kano.kano(
                frame,
                attribute=attribute,
                functional=functional,
                dysfunctional=dysfunctional,
                respondent=respondent,
                importance=importance,
                questionable_threshold=questionable_threshold,
            )
            inputs.update(format="long", attribute=attribute, functional=functional)
            inputs.update(dysfunctional=dysfunctional, importance=importance)
        else:
            found = explicit or kano.find_pairs(frame.columns, prefix=prefix)
            if not found:
                raise ValidationError(
                    "kano.no_pairs", pattern=f"{prefix}<attribute>_func / {prefix}<attribute>_dysf"
                )
            needed = [c for pair in found.values() for c in pair]
            require_columns(frame, [*needed, *([respondent] if respondent else [])], file=path)
            _numeric_answers(table, frame, needed)
            suffix = importance or "_imp"
            imp = {
                a: f"{prefix}{a}{suffix}" for a in found if f"{prefix}{a}{suffix}" in frame.columns
            }
            result = kano.kano_pairs(
                frame,
                pairs=found,
                importance=imp or None,
                respondent=respondent,
                questionable_threshold=questionable_threshold,
            )
            inputs.update(format="pairs", pairs={a: list(p) for a, p in found.items()})
            inputs.update(importance=imp or None)
    except AllegianceError as exc:
        raise _file_error(exc, table) from None
    inputs["questionable_threshold"] = questionable_threshold
    if table.warnings:
        result = dataclasses.replace(result, warnings=(*table.warnings, *result.warnings))
    emit(result, command="kano", inputs=inputs, fmt=fmt, out=out)


def register(app: typer.Typer) -> None:
    """Add ``allegiance kano`` to ``app``."""
    app.command("kano", help=h("cli.kano.help"))(kano_cmd)
