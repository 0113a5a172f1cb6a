"""What every command shares: options, output rendering, progress bars, errors.

Commands stay thin: parse, call one public function, hand the result to
:func:`emit`. JSON output always has one envelope::

    {"command": ..., "version": ..., "inputs": {...}, "result": {...}, "warnings": [...]}
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from allegiance._version import __version__
from allegiance.errors import ValidationError
from allegiance.i18n import Message, current_lang, label, set_lang, t
from allegiance.results import Result, plain


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def h(key: str) -> str:
    """Help text in the language chosen when the CLI started."""
    return t(key)


def resolve_input(file: Path, project: Path | None) -> Path:
    """A relative FILE not found here is looked up in the project folder and its data folder."""
    if file.is_absolute() or file.exists() or project is None:
        return file
    root = project.expanduser()
    for candidate in (root / file, root / "data" / file):
        if candidate.exists():
            return candidate
    return file


def _lang_callback(value: str | None) -> str | None:
    if value is not None:
        try:
            lang = set_lang(value)
        except ValueError as exc:
            raise typer.BadParameter(t("error.unknown_lang", None, lang=value)) from exc
        from allegiance.cli.framework_i18n import install

        install(lang)
    return value


FormatOpt = Annotated[
    OutputFormat, typer.Option("--format", "-f", help=h("cli.opt.format"), case_sensitive=False)
]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help=h("cli.opt.out"), file_okay=False, dir_okay=True)
]
LangOpt = Annotated[
    str | None,
    typer.Option("--lang", help=h("cli.opt.lang"), callback=_lang_callback, is_eager=True),
]
ProjectOpt = Annotated[
    Path | None,
    typer.Option("--project", "-p", help=h("cli.opt.project"), envvar="ALLEGIANCE_PROJECT"),
]
EncodingOpt = Annotated[str | None, typer.Option("--encoding", help=h("cli.opt.encoding"))]


def stdout() -> Console:
    return Console(soft_wrap=True)


def stderr() -> Console:
    return Console(stderr=True, soft_wrap=True)


def envelope(
    command: str,
    inputs: Mapping[str, Any],
    result: Mapping[str, Any],
    warnings: tuple[Message, ...],
) -> dict[str, Any]:
    """The one JSON envelope for every command."""
    lang = current_lang()
    return {
        "command": command,
        "version": __version__,
        "inputs": plain(dict(inputs)),
        "result": plain(dict(result)),
        "warnings": [w.to_dict(lang) for w in warnings],
    }


def _fmt_cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return t("common.yes" if value else "common.no")
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if value.is_integer() and abs(value) < 1e15:
            return f"{value:,.0f}"
        return f"{value:,.3f}" if abs(value) >= 1 else f"{value:.4f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    try:
        if pd.isna(value):
            return "-"
    except (TypeError, ValueError):
        pass
    return str(value)


def _is_number(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))


def _grid(frame: pd.DataFrame, lang: str) -> tuple[list[str], list[list[str]], list[bool], int]:
    """Headers, formatted rows, which columns are numbers, and how many leading key columns.

    A wide frame with few rows is turned on its side (one line per field, one column per
    row; the leading text columns, the groups, become the column headers).
    """
    if len(frame.columns) > 6 and len(frame) <= 8:
        keys: list[str] = []
        for col in frame.columns:
            if _is_number(frame[col]):
                break
            keys.append(str(col))
        headers = [" / ".join(label(k, lang) for k in keys) if keys else ""]
        headers += [
            " / ".join(_fmt_cell(plain(row[k])) for k in keys) if keys else str(i + 1)
            for i, (_, row) in enumerate(frame.iterrows())
        ]
        rows = [
            [label(str(col), lang), *(_fmt_cell(plain(v)) for v in frame[col])]
            for col in frame.columns
            if str(col) not in keys
        ]
        return headers, rows, [False] + [True] * len(frame), 1
    headers = [label(str(col), lang) for col in frame.columns]
    rows = [[_fmt_cell(plain(v)) for v in row] for row in frame.itertuples(index=False)]
    numeric = [_is_number(frame[col]) for col in frame.columns]
    n_keys = 0
    for flag in numeric:
        if flag or n_keys >= 2:
            break
        n_keys += 1
    return headers, rows, numeric, n_keys


def rich_table(name: str, frame: pd.DataFrame, width: int | None = None) -> RenderableType:
    """A frame as Rich table(s) with translated headers, fitted to the console's width.

    Numbers are never cut: columns that do not fit go to a further table that repeats the
    key columns (the first text columns), so every figure is printed whole.
    """
    from rich.cells import cell_len
    from rich.console import Group

    lang = current_lang()
    if frame.index.name is not None or isinstance(frame.index, pd.MultiIndex):
        frame = frame.reset_index()
    headers, rows, numeric, n_keys = _grid(frame, lang)
    avail = (width or stdout().width) - 4

    def need(i: int) -> int:
        widest = max((cell_len(r[i]) for r in rows), default=1)
        head = min(cell_len(headers[i]), 14)  # headers may wrap
        if numeric[i]:
            return max(widest, head) + 3
        return max(min(widest, 24), head, 6) + 3

    keys = list(range(n_keys))
    base = sum(need(i) for i in keys)
    chunks: list[list[int]] = []
    current: list[int] = []
    used = base
    for i in range(n_keys, len(headers)):
        if current and used + need(i) > avail:
            chunks.append(current)
            current, used = [], base
        current.append(i)
        used += need(i)
    chunks.append(current)
    title = label(name, lang)
    tables = []
    for part, cols in enumerate(chunks, start=1):
        shown = keys + cols
        caption = title if len(chunks) == 1 else f"{title} ({part}/{len(chunks)})"
        table = Table(title=caption, header_style="bold")
        for i in shown:
            if numeric[i]:
                widest = max((cell_len(r[i]) for r in rows), default=1)
                table.add_column(headers[i], justify="right", no_wrap=True, min_width=widest)
            else:
                table.add_column(
                    headers[i], justify="left", overflow="fold", style="bold" if i < n_keys else ""
                )
        for r in rows:
            table.add_row(*(r[i] for i in shown))
        tables.append(table)
    return tables[0] if len(tables) == 1 else Group(*tables)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _defuse(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe
    (OWASP's advice for CSV injection); numbers, and text that reads as a number, are kept."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def safe_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text cells defused for spreadsheets (see :func:`_defuse`)."""
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if not text:
        return frame
    out = frame.copy()
    for c in text:
        out[c] = out[c].map(_defuse)
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """CSV for people and for Excel: UTF-8 with BOM, written to a temporary file then moved;
    text cells that Excel would run as formulas are defused."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    safe_csv_frame(frame).to_csv(tmp, index=frame.index.name is not None, encoding="utf-8-sig")
    tmp.replace(path)


def emit(
    result: Result,
    *,
    command: str,
    inputs: Mapping[str, Any],
    fmt: OutputFormat,
    out: Path | None = None,
    extra: Callable[[Console], None] | None = None,
    show: Sequence[str] | None = None,
) -> None:
    """Render ``result`` as a table, JSON or CSV; with ``out``, also write one file per table.

    ``show`` picks the tables printed in table format (default: all); ``extra`` prints more
    after them (e.g. a headline in words).
    """
    lang = current_lang()
    tables = result.tables()
    warnings = tuple(result.warnings)
    err = stderr()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name, frame in tables.items():
            write_csv(frame, out / f"{name}.csv")
        env = envelope(command, inputs, result.to_dict(), warnings)
        (out / f"{command.replace(' ', '_')}.json").write_text(
            json.dumps(env, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        err.print(t("common.written", lang, path=str(out)))
    if fmt is OutputFormat.json:
        env = envelope(command, inputs, result.to_dict(), warnings)
        sys.stdout.write(json.dumps(env, ensure_ascii=False, indent=2) + "\n")
        return
    if fmt is OutputFormat.csv:
        if len(tables) != 1:
            if out is not None:
                return
            raise ValidationError(
                "error.csv_many_tables", n=len(tables), names=", ".join(tables) or "-"
            )
        (frame,) = tables.values()
        if frame.index.name is not None:
            frame = frame.reset_index()
        sys.stdout.write(safe_csv_frame(frame).to_csv(index=False))
        return
    con = stdout()
    for name, frame in tables.items():
        if show is None or name in show:
            con.print(rich_table(name, frame))
    if extra is not None:
        extra(con)
    for w in warnings:
        err.print(f"[yellow]{t('common.warning', lang)}:[/yellow] {w.render(lang)}")


@contextmanager
def progress(enabled: bool = True) -> Iterator[Callable[[str, int, int], None]]:
    """A Rich progress bar on stderr; yields ``update(step, done, total)``."""
    if not enabled:
        yield lambda _step, _done, _total: None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr(),
        transient=False,
    )
    tasks: dict[str, Any] = {}
    with bar:

        def update(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done, total=total)

        yield update
