"""The report as one self-contained HTML file that opens offline from disk.

Plotly's JavaScript is inlined once (from the installed ``plotly`` package), each
chart is a ``<div>`` plus a small inline script, the stylesheet is inlined, and
the page's Content-Security-Policy forbids loading anything from anywhere: no
CDN, no web fonts, no images. All text passes through Jinja2 with autoescaping.

Every key figure is machine-checkable: an element with
``data-figure="<section_id>.<figure_id>"`` and ``data-value="<raw value>"``,
and a ``<script type="application/json" id="allegiance-figures">`` block holding
:meth:`Report.figures`.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from allegiance.i18n import t
from allegiance.reports.registry import (
    ColumnFormat,
    FigureKind,
    FigureValue,
    KeyFigure,
    Report,
    ReportTable,
    SectionResult,
    text,
)

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "figure_raw",
    "format_column",
    "format_seconds",
    "format_value",
    "render_html",
    "write_html",
]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; base-uri 'none'; form-action 'none'"
)
"""Inline scripts and styles only; nothing may be fetched (the file works offline)."""

_HTML_LANG = {"zh": "zh-CN", "en": "en"}
_DEFAULT_MAX_ROWS = 1000


# --------------------------------------------------------------------------- formatting


def format_value(
    value: Any, /, *, kind: FigureKind = "number", digits: int = 1, lang: str | None = None
) -> str:
    """A value for people: rounding to ``digits``, thousands separators, ``%`` for percents.

    ``percent`` values are fractions (0.4231 → ``42.3%``); ``count`` shows no
    decimals; ``text`` and non-numbers are shown as they are; missing values
    (``None``, NaN) as the catalogue's "n/a". The raw value is never changed.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return t("report.not_available", lang)
    if isinstance(value, (bool, np.bool_)):
        return t("common.yes" if value else "common.no", lang)
    if kind == "text" or not isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    number = float(value)
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    if kind == "count":
        if isinstance(value, (int, np.integer)):
            return f"{int(value):,}"
        return _no_negative_zero(f"{number:,.0f}")
    out = f"{number * 100:,.{digits}f}%" if kind == "percent" else f"{number:,.{digits}f}"
    return _no_negative_zero(out)


def _no_negative_zero(out: str) -> str:
    if out.startswith("-") and not any(ch in "123456789" for ch in out):
        return out[1:]
    return out


def figure_raw(value: FigureValue, /) -> str:
    """The exact value written to ``data-value``: ``repr`` of a float (round-trips), '' for None.

    A missing value also gets a ``data-missing`` attribute, so it is told apart from ''.
    """
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def format_seconds(seconds: float, /) -> str:
    """A compute time in seconds, with sensible precision."""
    if seconds < 0.001:
        return "<0.001"
    if seconds < 1:
        return f"{seconds:.3f}"
    if seconds < 100:
        return f"{seconds:.2f}"
    return f"{seconds:,.0f}"


def format_column(
    series: pd.Series, /, *, fmt: ColumnFormat, lang: str | None = None
) -> tuple[list[str], bool]:
    """The cells of one column as text for people, and whether it is numeric (right-aligned)."""
    dtype = series.dtype
    na = t("report.not_available", lang)
    if pd.api.types.is_bool_dtype(dtype):
        yes, no = t("common.yes", lang), t("common.no", lang)
        return [na if pd.isna(v) else (yes if v else no) for v in series.tolist()], False
    if fmt.kind != "text" and pd.api.types.is_numeric_dtype(dtype):
        digits = 0 if fmt.digits is None else fmt.digits
        values = series.to_numpy(dtype=float, na_value=np.nan)
        if fmt.kind == "count":
            body = [na if np.isnan(v) else _no_negative_zero(f"{v:,.0f}") for v in values]
        elif fmt.kind == "percent":
            body = [
                na if np.isnan(v) else format_value(v, kind="percent", digits=digits)
                for v in values
            ]
        else:
            body = [
                na if np.isnan(v) else format_value(v, kind="number", digits=digits) for v in values
            ]
        return body, True
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return ["" if pd.isna(v) else _format_time(v) for v in series.tolist()], False
    out: list[str] = []
    for v in series.tolist():
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
            out.append("")
        elif isinstance(v, (float, np.floating)):
            out.append(format_value(float(v), kind=fmt.kind, digits=fmt.digits or 0, lang=lang))
        elif isinstance(v, (datetime, date)):
            out.append(_format_time(v))
        else:
            out.append(str(v))
    return out, False


def _format_time(value: date | datetime | pd.Timestamp) -> str:
    if isinstance(value, datetime) and (value.hour, value.minute, value.second) != (0, 0, 0):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.strftime("%Y-%m-%d")


def _figures_json(report: Report) -> Markup:
    payload = json.dumps(report.figures(), ensure_ascii=False, allow_nan=False)
    safe = (
        payload.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
    return Markup(safe)


# --------------------------------------------------------------------------- assets


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("allegiance.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@cache
def _css() -> str:
    return (resources.files("allegiance.reports") / "templates" / "report.css").read_text(
        encoding="utf-8"
    )


@cache
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    # "</script" would end the inline element early; the bundle has none, and "<\\/"
    # means the same inside a JS string or regular expression should that change.
    return str(get_plotlyjs()).replace("</script", "<\\/script")


# --------------------------------------------------------------------------- view model


def _figure_view(section_id: str, figure: KeyFigure, lang: str) -> dict[str, Any]:
    return {
        "key": f"{section_id}.{figure.id}",
        "raw": figure_raw(figure.value),
        "missing": figure.value is None,
        "kind": figure.kind,
        "label": text(figure.label_key, lang),
        "text": format_value(figure.value, kind=figure.kind, digits=figure.digits, lang=lang),
        "note": None if figure.note_key is None else text(figure.note_key, lang),
    }


def _table_view(table: ReportTable, lang: str, max_rows: int | None) -> dict[str, Any]:
    frame = table.display_frame()
    total = len(frame)
    truncated = None
    if max_rows is not None and total > max_rows:
        frame = frame.iloc[:max_rows]
        truncated = t("report.rows_truncated", lang, shown=f"{max_rows:,}", total=f"{total:,}")
    headers: list[dict[str, Any]] = []
    columns: list[list[str]] = []
    for position, column in enumerate(frame.columns):
        series = frame.iloc[:, position]
        name = column if isinstance(column, str) else " / ".join(map(str, np.atleast_1d(column)))
        fmt = table.column_format(name, series.dtype.kind)
        cells, numeric = format_column(series, fmt=fmt, lang=lang)
        headers.append({"label": _label(name, lang), "numeric": numeric})
        columns.append(cells)
    rows = [list(r) for r in zip(*columns, strict=True)] if columns else []
    return {
        "id": table.id,
        "title": text(table.title_key, lang),
        "headers": headers,
        "rows": rows,
        "truncated": truncated,
        "note": None if table.note_key is None else text(table.note_key, lang),
    }


def _label(name: str, lang: str) -> str:
    from allegiance.i18n import label

    return label(name, lang)


def _chart_html(section_id: str, chart_id: str, figure: Any) -> Markup:
    import plotly.io as pio

    height = figure.layout.height
    html = pio.to_html(
        figure,
        include_plotlyjs=False,
        full_html=False,
        config={"displaylogo": False, "responsive": True},
        div_id=f"chart-{section_id}-{chart_id}",
        default_width="100%",
        default_height=f"{int(height)}px" if height else "420px",
    )
    return Markup(html)


def _section_view(section: SectionResult, lang: str, max_rows: int | None) -> dict[str, Any]:
    out = section.output
    return {
        "id": section.id,
        "title": section.title,
        "seconds_raw": repr(section.seconds),
        "seconds_text": format_seconds(section.seconds),
        "error": None if section.error is None else section.error.render(lang),
        "figures": [_figure_view(section.id, f, lang) for f in out.figures],
        "tables": [_table_view(tb, lang, max_rows) for tb in out.tables],
        "charts": [
            {
                "id": c.id,
                "title": text(c.title_key, lang),
                "html": _chart_html(section.id, c.id, c.figure),
            }
            for c in out.charts
        ],
        "notes": [m.render(lang) for m in out.notes],
        "warnings": [m.render(lang) for m in out.warnings],
        "empty": section.error is None
        and not (out.figures or out.tables or out.charts or out.notes or out.warnings),
    }


def _generated_text(moment: datetime) -> str:
    stamp = moment.strftime("%Y-%m-%d %H:%M:%S")
    offset = moment.utcoffset()
    if offset is None:
        return stamp
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{stamp} UTC{sign}{hours:02d}:{mins:02d}"


# --------------------------------------------------------------------------- public


def render_html(report: Report, /, *, max_rows: int | None = _DEFAULT_MAX_ROWS) -> str:
    """The report as one HTML document (a string) in the report's language.

    Tables longer than ``max_rows`` show their first rows and say how many there
    are (the Excel workbook holds them all); ``None`` shows every row.
    """
    lang = report.lang

    def tr(key: str, **params: Any) -> str:
        return t(key, lang, **params)

    section_views = [_section_view(s, lang, max_rows) for s in report.sections]
    has_charts = any(s.output.charts for s in report.sections)
    template = _environment().get_template("report.html.j2")
    return template.render(
        tr=tr,
        html_lang=_HTML_LANG.get(lang, lang),
        csp=CONTENT_SECURITY_POLICY,
        version=report.version,
        title=report.title,
        generated_iso=report.generated_at.isoformat(timespec="seconds"),
        generated_text=_generated_text(report.generated_at),
        total_seconds_raw=repr(report.seconds),
        total_seconds_text=format_seconds(report.seconds),
        css=Markup(_css()),
        plotly_js=Markup(_plotly_js()) if has_charts else None,
        sections=section_views,
        figures_json=_figures_json(report),
    )


def write_html(
    report: Report, path: str | Path, /, *, max_rows: int | None = _DEFAULT_MAX_ROWS
) -> Path:
    """Write :func:`render_html` to ``path`` (UTF-8) and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(report, max_rows=max_rows), encoding="utf-8")
    return target
