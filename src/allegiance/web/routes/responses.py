"""Responses: browse a survey's responses and unfinished drafts (filters: wave, dates,
language, complete), page by page, and export them as CSV, XLSX or SPSS ``.sav`` through
:func:`allegiance.survey.exchange.export_responses`.

Browsing shows answers tied to customers, so it needs ``responses.view_personal``; an export
needs ``responses.export_raw`` and is recorded in the audit log. Free text is shown exactly
as typed, escaped (Jinja2 autoescape).
"""

from __future__ import annotations

import importlib
import json
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from allegiance.errors import AllegianceError
from allegiance.i18n import normalize_lang
from allegiance.security.accounts import Principal
from allegiance.store import surveys as store
from allegiance.web.deps import PageError, StateDep, require
from allegiance.web.queries import responses_page, survey_waves
from allegiance.web.routes._common import admin_page, audit, lang_of

__all__ = ["EXPORT_FORMATS", "router"]

router = APIRouter(prefix="/admin")

Reader = Annotated[Principal, Depends(require("responses.view_personal"))]
Exporter = Annotated[Principal, Depends(require("responses.export_raw"))]

PAGE_SIZE = 50
#: Format → (media type, file extension).
EXPORT_FORMATS: dict[str, tuple[str, str]] = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "sav": ("application/x-spss-sav", "sav"),
}


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _answer_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=False)
    return str(value)


def _definition(state: StateDep, slug: str) -> Any:
    with state.sessions() as session:
        if store.get_survey(session, slug) is None:
            raise PageError(404, "web.error.no_survey")
        return store.survey_definition(session, slug)


@router.get("/surveys/{slug}/responses")
def responses(request: Request, slug: str, state: StateDep, principal: Reader) -> Response:
    definition = _definition(state, slug)
    params = request.query_params
    waves = survey_waves(state.engine, slug)
    wave = params.get("wave") if params.get("wave") in waves else None
    since = _date(params.get("since"))
    until = _date(params.get("until"))
    language = normalize_lang(params.get("language") or "")
    complete = params.get("complete") if params.get("complete") in ("yes", "no", "all") else "yes"
    raw_page = params.get("page", "1")
    number = int(raw_page) if raw_page.isdigit() and 0 < len(raw_page) < 8 else 1
    found = responses_page(
        state.engine,
        slug,
        wave=wave,
        since=datetime.combine(since, datetime.min.time(), tzinfo=UTC) if since else None,
        until=(
            datetime.combine(until + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
            if until
            else None
        ),
        language=language,
        complete=complete,  # type: ignore[arg-type]
        offset=(number - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    lang = lang_of(request)
    order = [q.id for q in definition.questions()]
    labels = {q.id: q.text.get(lang) for q in definition.questions()}
    rows = []
    for row in found.rows:
        keys = sorted(
            row.answers,
            key=lambda k: (order.index(k.split(".")[0]) if k.split(".")[0] in order else 10**6, k),
        )
        rows.append(
            {
                "complete": row.complete,
                "id": row.id,
                "wave": row.wave,
                "at": row.at.strftime("%Y-%m-%d %H:%M") if row.at else "",
                "language": row.language or "",
                "customer_id": row.customer_id or "",
                "duration": f"{row.duration_s:.0f}" if row.duration_s is not None else "",
                "answers": [
                    (k, labels.get(k.split(".")[0], k), _answer_text(row.answers[k])) for k in keys
                ],
            }
        )
    pages = max(1, -(-found.total // PAGE_SIZE))
    query = {
        "wave": wave or "",
        "since": since.isoformat() if since else "",
        "until": until.isoformat() if until else "",
        "language": language or "",
        "complete": complete,
    }
    return admin_page(
        request,
        state,
        principal,
        "admin/responses.html.j2",
        slug=slug,
        title=definition.title.get(lang),
        rows=rows,
        total=found.total,
        page=number,
        pages=pages,
        waves=waves,
        query=query,
        formats=list(EXPORT_FORMATS),
        exporter=_exporter() is not None,
    )


def _exporter() -> Any:
    try:
        module = importlib.import_module("allegiance.survey.exchange")
    except ImportError:
        return None
    return getattr(module, "export_responses", None)


@router.get("/surveys/{slug}/responses/export")
def responses_export(request: Request, slug: str, state: StateDep, principal: Exporter) -> Response:
    _definition(state, slug)
    fmt = request.query_params.get("format", "csv")
    if fmt not in EXPORT_FORMATS:
        raise PageError(
            400, "web.error.bad_format", value=fmt[:20], allowed=", ".join(EXPORT_FORMATS)
        )
    pseudonymise = request.query_params.get("pseudonymise") == "1"
    export = _exporter()
    if export is None:
        raise PageError(501, "web.error.no_exporter")
    try:
        data = export(
            state.engine,
            slug,
            fmt,
            pseudonymise=pseudonymise,
            lang=lang_of(request),
            key=state.secret,
        )
    except AllegianceError as exc:
        return admin_page(
            request,
            state,
            principal,
            "admin/error.html.j2",
            status_code=400,
            message=exc.render(lang_of(request)),
            back=f"/admin/surveys/{slug}/responses",
        )
    audit(
        state,
        request,
        principal,
        "responses.export",
        target_type="survey",
        target_id=slug,
        details={"format": fmt, "pseudonymise": pseudonymise, "bytes": len(data)},
    )
    media, ext = EXPORT_FORMATS[fmt]
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{slug}-responses.{ext}"'},
    )
