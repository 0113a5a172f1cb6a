"""Dashboards: ``/admin/surveys/{slug}/dashboard`` (``analyses.view``: aggregates only, so
viewers see them too), and Plotly's JavaScript served from the package (never a CDN)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup

from allegiance.reports.html import format_column, format_value
from allegiance.reports.registry import SectionResult, text
from allegiance.security.accounts import Principal
from allegiance.store import surveys as store
from allegiance.web.dashboards import build_dashboard, figure_json
from allegiance.web.deps import PageError, StateDep, require
from allegiance.web.routes._common import admin_page, lang_of
from allegiance.web.security import DASHBOARD_CONTENT_SECURITY_POLICY

__all__ = ["router", "section_view"]

router = APIRouter(prefix="/admin")

Viewer = Annotated[Principal, Depends(require("analyses.view"))]


def _table_view(table: Any, lang: str) -> dict[str, Any]:
    from allegiance.i18n import label

    frame = table.display_frame()
    headers = []
    columns = []
    for position, name in enumerate(frame.columns):
        series = frame.iloc[:, position]
        fmt = table.column_format(str(name), series.dtype.kind)
        cells, numeric = format_column(series, fmt=fmt, lang=lang)
        headers.append({"label": label(str(name), lang), "numeric": numeric})
        columns.append(cells)
    rows = [list(r) for r in zip(*columns, strict=True)] if columns else []
    return {"id": table.id, "title": text(table.title_key, lang), "headers": headers, "rows": rows}


def section_view(section: SectionResult, lang: str) -> dict[str, Any]:
    """What the dashboard template shows of one section."""
    out = section.output
    return {
        "id": section.id,
        "title": section.title,
        "error": section.error.render(lang) if section.error is not None else None,
        "figures": [
            {
                "key": f"{section.id}.{f.id}",
                "label": text(f.label_key, lang),
                "text": format_value(f.value, kind=f.kind, digits=f.digits, lang=lang),
                "raw": ""
                if f.value is None
                else repr(f.value)
                if isinstance(f.value, float)
                else str(f.value),
            }
            for f in out.figures
        ],
        "tables": [_table_view(tb, lang) for tb in out.tables],
        "charts": [
            {
                "id": f"chart-{section.id}-{c.id}",
                "title": text(c.title_key, lang),
                "json": Markup(figure_json(c.figure)),
            }
            for c in out.charts
        ],
        "notes": [m.render(lang) for m in out.notes],
        "warnings": [m.render(lang) for m in out.warnings],
    }


@router.get("/surveys/{slug}/dashboard")
def dashboard(request: Request, slug: str, state: StateDep, principal: Viewer) -> Response:
    lang = lang_of(request)
    with state.sessions() as session:
        if store.get_survey(session, slug) is None:
            raise PageError(404, "web.error.no_survey")
        report = build_dashboard(state.engine, session, slug, lang=lang)
        title = store.survey_definition(session, slug).title.get(lang)
    sections = [section_view(s, lang) for s in report.sections] if report is not None else []
    response = admin_page(
        request,
        state,
        principal,
        "admin/dashboard.html.j2",
        slug=slug,
        title=title,
        sections=sections,
        has_charts=any(s["charts"] for s in sections),
    )
    response.headers["content-security-policy"] = DASHBOARD_CONTENT_SECURITY_POLICY
    return response
