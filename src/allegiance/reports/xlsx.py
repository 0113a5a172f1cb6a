"""The report as an Excel workbook (xlsxwriter).

Sheets: a summary of every key figure (section, figure, value, id), one sheet
per table, and a notes sheet when any section has notes, warnings or an error.
Numbers are written as numbers at full precision; only the cell's number format
rounds them (``0.0%`` for percents, ``#,##0.00`` ...). Text is never turned into
formulas or links.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from allegiance.i18n import label, t
from allegiance.reports.html import format_column, format_value
from allegiance.reports.registry import ColumnFormat, FigureKind, Report, ReportTable, text

__all__ = ["number_format", "sheet_name", "write_xlsx"]

_MAX_SHEET = 31
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_MIN_WIDTH = 8
_MAX_WIDTH = 60
_WIDTH_SAMPLE = 1000


def number_format(kind: FigureKind, digits: int | None, /) -> str | None:
    """The Excel number format showing ``kind`` with ``digits`` decimals (``None`` for text)."""
    d = 0 if digits is None else digits
    decimals = "." + "0" * d if d else ""
    if kind == "text":
        return None
    if kind == "percent":
        return f"0{decimals}%"
    if kind == "count":
        return "#,##0"
    return f"#,##0{decimals}"


def sheet_name(title: str, /, *, used: set[str]) -> str:
    """A valid, unique sheet name from ``title``: ≤ 31 characters, none of ``[]:*?/\\``.

    ``used`` holds the names taken so far (compared case-insensitively, as Excel
    does) and is updated.
    """
    base = _BAD_SHEET_CHARS.sub("_", " ".join(title.split())).strip("'").strip() or "Sheet"
    if base.lower() == "history":  # reserved by Excel
        base = f"{base}_"
    taken = {u.lower() for u in used}
    candidate = base[:_MAX_SHEET]
    n = 2
    while candidate.lower() in taken:
        suffix = f" ({n})"
        candidate = base[: _MAX_SHEET - len(suffix)].rstrip() + suffix
        n += 1
    used.add(candidate)
    return candidate


def _display_width(value: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in value)


def _width(header: str, cells: Iterable[str]) -> float:
    widest = max([_display_width(header), *(_display_width(c) for c in cells)], default=0)
    return float(min(max(widest + 2, _MIN_WIDTH), _MAX_WIDTH))


class _ExactWorksheet(Worksheet):  # type: ignore[misc]
    """A worksheet that writes numbers with all 17 significant digits.

    xlsxwriter writes ``{number:.16G}``, which can change the last bit of a
    double (0.10416666666666667 becomes 0.1041666666666667); ``repr`` is the
    shortest text that reads back to the same double, as Excel itself writes.
    """

    def _xml_number_element(self, number: float, attributes: Any = ()) -> None:
        attr = "".join(f' {k}="{self._escape_attributes(v)}"' for k, v in attributes)
        value = repr(float(number)).upper() if isinstance(number, float) else str(number)
        self.fh.write(f"<c{attr}><v>{value}</v></c>")


class _Formats:
    """Workbook formats, created once per (kind, digits)."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.book = book
        self.header = book.add_format(
            {"bold": True, "bottom": 1, "bg_color": "#F2F2F2", "text_wrap": True, "valign": "top"}
        )
        self.text = book.add_format({"valign": "top"})
        self.date = book.add_format({"num_format": "yyyy-mm-dd"})
        self.datetime = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._numbers: dict[str | None, Format] = {}

    def number(self, kind: FigureKind, digits: int | None) -> Format | None:
        fmt = number_format(kind, digits)
        if fmt is None:
            return None
        if fmt not in self._numbers:
            self._numbers[fmt] = self.book.add_format({"num_format": fmt})
        return self._numbers[fmt]


def _write_value(
    ws: Worksheet, row: int, col: int, value: Any, number_fmt: Format | None, formats: _Formats
) -> None:
    if value is None or value is pd.NA or value is pd.NaT:
        return
    if isinstance(value, (bool, np.bool_)):
        ws.write_boolean(row, col, bool(value))
    elif isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value) if isinstance(value, (float, np.floating)) else int(value)
        if isinstance(number, float) and not math.isfinite(number):
            return
        ws.write_number(row, col, number, number_fmt)
    elif isinstance(value, pd.Timestamp):
        ws.write_datetime(row, col, value.tz_localize(None).to_pydatetime(), formats.datetime)
    else:
        ws.write_string(row, col, str(value), formats.text)


def _write_summary(book: xlsxwriter.Workbook, report: Report, formats: _Formats, name: str) -> None:
    lang = report.lang
    ws = book.add_worksheet(name, worksheet_class=_ExactWorksheet)
    headers = [
        t("report.xlsx.section", lang),
        t("report.xlsx.figure", lang),
        t("report.xlsx.value", lang),
        t("report.xlsx.id", lang),
        t("report.xlsx.note", lang),
    ]
    ws.write_row(0, 0, headers, formats.header)
    columns: list[list[str]] = [[] for _ in headers]
    row = 1
    for section in report.sections:
        for figure in section.output.figures:
            label_text = text(figure.label_key, lang)
            key = f"{section.id}.{figure.id}"
            note = "" if figure.note_key is None else text(figure.note_key, lang)
            ws.write_string(row, 0, section.title, formats.text)
            ws.write_string(row, 1, label_text, formats.text)
            _write_value(
                ws, row, 2, figure.value, formats.number(figure.kind, figure.digits), formats
            )
            ws.write_string(row, 3, key, formats.text)
            if note:
                ws.write_string(row, 4, note, formats.text)
            shown = format_value(figure.value, kind=figure.kind, digits=figure.digits, lang=lang)
            for i, cell in enumerate((section.title, label_text, shown, key, note)):
                columns[i].append(cell)
            row += 1
    ws.freeze_panes(1, 0)
    for i, header in enumerate(headers):
        ws.set_column(i, i, _width(header, columns[i][:_WIDTH_SAMPLE]))


def _column_values(series: pd.Series) -> list[Any]:
    """A column's values as Python objects, missing values as ``None``."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return [None if pd.isna(v) else bool(v) for v in series.tolist()]
    if pd.api.types.is_integer_dtype(dtype) and not series.isna().any():
        return [int(v) for v in series.to_numpy()]
    if pd.api.types.is_numeric_dtype(dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        return [None if not math.isfinite(v) else v for v in values.tolist()]
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return [None if pd.isna(v) else pd.Timestamp(v) for v in series.tolist()]
    return [None if _missing(v) else v for v in series.tolist()]


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _write_table(
    book: xlsxwriter.Workbook,
    table: ReportTable,
    lang: str,
    formats: _Formats,
    name: str,
) -> None:
    ws = book.add_worksheet(name, worksheet_class=_ExactWorksheet)
    frame = table.display_frame()
    for col, column in enumerate(frame.columns):
        series = frame.iloc[:, col]
        col_name = (
            column if isinstance(column, str) else " / ".join(map(str, np.atleast_1d(column)))
        )
        header = label(col_name, lang)
        ws.write_string(0, col, header, formats.header)
        fmt: ColumnFormat = table.column_format(col_name, series.dtype.kind)
        number_fmt = formats.number(fmt.kind, fmt.digits)
        values = _column_values(series)
        is_dates = pd.api.types.is_datetime64_any_dtype(series.dtype)
        for row, value in enumerate(values, start=1):
            if is_dates and value is not None:
                moment = value.tz_localize(None) if value.tzinfo is not None else value
                day = moment == moment.normalize()
                ws.write_datetime(
                    row, col, moment.to_pydatetime(), formats.date if day else formats.datetime
                )
            else:
                _write_value(ws, row, col, value, number_fmt, formats)
        shown, _ = format_column(series.iloc[:_WIDTH_SAMPLE], fmt=fmt, lang=lang)
        ws.set_column(col, col, _width(header, shown))
    ws.freeze_panes(1, 0)
    if len(frame.columns):
        ws.autofilter(0, 0, max(len(frame), 1), len(frame.columns) - 1)


def _write_notes(book: xlsxwriter.Workbook, report: Report, formats: _Formats, name: str) -> None:
    lang = report.lang
    ws = book.add_worksheet(name, worksheet_class=_ExactWorksheet)
    headers = [
        t("report.xlsx.section", lang),
        t("report.xlsx.type", lang),
        t("report.xlsx.message", lang),
    ]
    ws.write_row(0, 0, headers, formats.header)
    rows: list[tuple[str, str, str]] = []
    for s in report.sections:
        if s.error is not None:
            rows.append((s.title, t("report.xlsx.type_error", lang), s.error.render(lang)))
        rows.extend(
            (s.title, t("report.xlsx.type_warning", lang), w.render(lang))
            for w in s.output.warnings
        )
        rows.extend(
            (s.title, t("report.xlsx.type_note", lang), n.render(lang)) for n in s.output.notes
        )
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values):
            ws.write_string(r, c, value, formats.text)
    ws.freeze_panes(1, 0)
    for c, header in enumerate(headers):
        ws.set_column(c, c, _width(header, (r[c] for r in rows)))


def write_xlsx(report: Report, path: str | Path, /) -> Path:
    """Write ``report`` as an .xlsx workbook at ``path`` and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    lang = report.lang
    used: set[str] = set()
    summary_name = sheet_name(t("report.sheet_summary", lang), used=used)
    book = xlsxwriter.Workbook(
        str(target),
        {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )
    try:
        book.set_properties(
            {"title": report.title, "comments": t("report.footer", lang, version=report.version)}
        )
        formats = _Formats(book)
        _write_summary(book, report, formats, summary_name)
        for section in report.sections:
            for table in section.output.tables:
                title = text(table.title_key, lang)
                _write_table(book, table, lang, formats, sheet_name(title, used=used))
        has_notes = any(
            s.error is not None or s.output.notes or s.output.warnings for s in report.sections
        )
        if has_notes:
            _write_notes(
                book, report, formats, sheet_name(t("report.sheet_notes", lang), used=used)
            )
    finally:
        book.close()
    return target
