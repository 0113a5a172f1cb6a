"""Reports: a registry of sections, a self-contained HTML report and an Excel workbook.

A capability registers a :class:`Section`; :func:`build_report` runs the sections
on the caller's context; :func:`render_html` / :func:`write_html` and
:func:`write_xlsx` render the result. Chart helpers are in
:mod:`allegiance.reports.charts`. See docs/report.md.

Importing this package is cheap (no plotly, jinja2 or xlsxwriter) so a
capability can register its section without paying for rendering; the writers
load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from allegiance.reports.registry import (
    Chart,
    ColumnFormat,
    FigureKind,
    FigureValue,
    KeyFigure,
    ProgressEvent,
    Report,
    ReportContext,
    ReportTable,
    Section,
    SectionOutput,
    SectionResult,
    build_report,
    get_section,
    isolated_registry,
    load_sections,
    register_section,
    registered,
    sections,
    unregister_section,
)

if TYPE_CHECKING:
    from allegiance.reports.html import format_value, render_html, write_html
    from allegiance.reports.xlsx import write_xlsx

__all__ = [
    "Chart",
    "ColumnFormat",
    "FigureKind",
    "FigureValue",
    "KeyFigure",
    "ProgressEvent",
    "Report",
    "ReportContext",
    "ReportTable",
    "Section",
    "SectionOutput",
    "SectionResult",
    "build_report",
    "format_value",
    "get_section",
    "isolated_registry",
    "load_sections",
    "register_section",
    "registered",
    "render_html",
    "sections",
    "unregister_section",
    "write_html",
    "write_xlsx",
]

_LAZY = {
    "format_value": "allegiance.reports.html",
    "render_html": "allegiance.reports.html",
    "write_html": "allegiance.reports.html",
    "write_xlsx": "allegiance.reports.xlsx",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'allegiance.reports' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
