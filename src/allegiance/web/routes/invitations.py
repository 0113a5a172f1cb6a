"""Invitations: upload a customer CSV (``customer_id, email, language``) to make personal
links, see and download the links with their QR codes, and send invitations and reminders by
e-mail. Everything here needs ``invitations.manage`` (links and e-mail addresses are
personal data)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from allegiance.errors import AllegianceError, ConfigError, InputError
from allegiance.security.accounts import Principal
from allegiance.store import surveys as store
from allegiance.store.admin import record_audit
from allegiance.web.deps import FormDep, PageError, StateDep, client_ip, require
from allegiance.web.mail import MailKind, pending, smtp_configured
from allegiance.web.qr import qr_svg
from allegiance.web.queries import invitation_link_data
from allegiance.web.routes._common import admin_page, audit, base_url, done, lang_of

__all__ = ["CSV_COLUMNS", "MAX_ROWS", "parse_customer_csv", "router"]

router = APIRouter(prefix="/admin")

Inviter = Annotated[Principal, Depends(require("invitations.manage"))]

CSV_COLUMNS: tuple[str, ...] = ("customer_id", "email", "language")
MAX_ROWS = 200_000
PAGE_SIZE = 100


def parse_customer_csv(data: bytes, /, *, file: str) -> list[dict[str, str]]:
    """The rows of a customer CSV (UTF-8 with or without BOM, else GB18030 as Chinese Excel
    writes it); columns among ``customer_id, email, language``, at least one of them.

    Ids stay text (``00123`` keeps its zeros). A bad file is an :class:`InputError` naming
    the file and what was expected.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise InputError("web.invite.encoding", file=file) from None
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("web.invite.empty", file=file) from None
    names = [h.strip().lower() for h in header]
    unknown = [h for h in names if h and h not in CSV_COLUMNS]
    if unknown or not any(h in CSV_COLUMNS for h in names):
        raise InputError(
            "web.invite.columns",
            file=file,
            found=", ".join(header),
            expected=", ".join(CSV_COLUMNS),
        )
    rows: list[dict[str, str]] = []
    for line, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(names):
            raise InputError(
                "web.invite.ragged", file=file, row=line, n=len(values), expected=len(names)
            )
        row = {names[i]: v.strip() for i, v in enumerate(values) if names[i] and v.strip()}
        rows.append(row)
        if len(rows) > MAX_ROWS:
            raise InputError("web.invite.too_many", file=file, max=MAX_ROWS)
    if not rows:
        raise InputError("web.invite.empty", file=file)
    return rows


def _title(state: StateDep, slug: str) -> dict[str, str]:
    with state.sessions() as session:
        survey = store.get_survey(session, slug)
        if survey is None:
            raise PageError(404, "web.error.no_survey")
        return {"en": survey.title_en, "zh": survey.title_zh}


@router.get("/surveys/{slug}/invitations")
def invitations(request: Request, slug: str, state: StateDep, principal: Inviter) -> Response:
    title = _title(state, slug)
    frame = store.invitations_frame(state.engine, slug)
    personal = frame[frame["customer_id"].notna() | frame["email"].notna()]
    raw_page = request.query_params.get("page", "1")
    number = int(raw_page) if raw_page.isdigit() and 0 < len(raw_page) < 8 else 1
    pages = max(1, -(-len(personal) // PAGE_SIZE))
    number = min(number, pages)
    shown = personal.iloc[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    root = base_url(request, state)
    records: list[Any] = list(shown.itertuples(index=False))
    rows = [
        {
            "id": int(r.invitation_id),
            "customer_id": r.customer_id if isinstance(r.customer_id, str) else "",
            "email": r.email if isinstance(r.email, str) else "",
            "language": r.language if isinstance(r.language, str) else "",
            "wave": r.wave,
            "link": f"{root}/i/{r.token}",
            "sent": _day(r.sent_at),
            "reminded": _day(r.reminded_at),
            "opened": _day(r.opened_at),
            "submitted": _day(r.submitted_at),
        }
        for r in records
    ]
    lang = lang_of(request)
    return admin_page(
        request,
        state,
        principal,
        "admin/invitations.html.j2",
        slug=slug,
        title=title[lang],
        rows=rows,
        total=len(personal),
        page=number,
        pages=pages,
        to_invite=len(pending(frame, "invite")),
        to_remind=len(pending(frame, "remind")),
        smtp=smtp_configured(state.settings),
        answered=int(personal["submitted_at"].notna().sum()),
        jobs=_recent_jobs(state, slug),
    )


def _recent_jobs(state: StateDep, slug: str) -> list[Any]:
    """The last sending jobs of this survey (newest first), for the page to link to."""
    from allegiance.jobs import job_backend

    listed = job_backend(state.engine, settings=state.settings).list(
        name="invitations.send", limit=50
    )
    return [j for j in listed if j.params.get("slug") == slug][:5]


def _day(value: Any) -> str:
    if value is None or value != value:  # None or NaT
        return ""
    try:
        return str(value.strftime("%Y-%m-%d %H:%M"))
    except (AttributeError, ValueError):
        return ""


@router.post("/surveys/{slug}/invitations")
async def invitations_upload(
    request: Request, slug: str, state: StateDep, principal: Inviter, form: FormDep
) -> Response:
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return _error(request, state, principal, slug, InputError("web.invite.no_file"))
    data = await upload.read()
    name = upload.filename or "upload.csv"
    raw_wave = form.get("wave")
    wave = raw_wave.strip() if isinstance(raw_wave, str) and raw_wave.strip() else None

    def work() -> int:
        _title(state, slug)  # 404 for an unknown survey
        rows = parse_customer_csv(data, file=name)
        with state.sessions() as session:
            made = store.create_invitations(session, slug, rows, wave=wave, commit=False)
            record_audit(
                session,
                "invitations.create",
                actor=principal.actor,
                target_type="survey",
                target_id=slug,
                details={"n": len(made), "file": name[:200], "wave": wave},
                ip=client_ip(request),
                commit=False,
            )
            session.commit()
            return len(made)

    try:
        n = await run_in_threadpool(work)
    except AllegianceError as exc:
        return _error(request, state, principal, slug, exc)
    return done(f"/admin/surveys/{slug}/invitations", "invited", n=n)


def _error(
    request: Request, state: StateDep, principal: Principal, slug: str, exc: AllegianceError
) -> Response:
    return admin_page(
        request,
        state,
        principal,
        "admin/error.html.j2",
        status_code=400,
        message=exc.render(lang_of(request)),
        back=f"/admin/surveys/{slug}/invitations",
    )


@router.get("/surveys/{slug}/invitations.csv")
def invitations_csv(request: Request, slug: str, state: StateDep, principal: Inviter) -> Response:
    _title(state, slug)
    frame = store.invitations_frame(state.engine, slug)
    root = base_url(request, state)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["customer_id", "email", "language", "wave", "link", "sent_at", "submitted_at"])
    for r in frame.itertuples(index=False):
        if not (isinstance(r.customer_id, str) or isinstance(r.email, str)):
            continue
        writer.writerow(
            [
                _csv_cell(r.customer_id),
                _csv_cell(r.email),
                r.language if isinstance(r.language, str) else "",
                _csv_cell(r.wave),
                f"{root}/i/{r.token}",
                _day(r.sent_at),
                _day(r.submitted_at),
            ]
        )
    audit(state, request, principal, "invitations.export", target_type="survey", target_id=slug)
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{slug}-invitations.csv"'},
    )


def _csv_cell(value: Any) -> str:
    """Text for a CSV cell that a spreadsheet will not run as a formula."""
    text = value if isinstance(value, str) else ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.post("/surveys/{slug}/invitations/send")
def invitations_send(
    request: Request, slug: str, state: StateDep, principal: Inviter, form: FormDep
) -> Response:
    """Start sending as a background job (:mod:`allegiance.jobs`) and show its page; the job
    records the batch in the audit log when it is done."""
    from allegiance.jobs import job_backend

    title = _title(state, slug)
    kind: MailKind = "remind" if form.get("kind") == "remind" else "invite"
    try:
        if not smtp_configured(state.settings):
            raise ConfigError("web.mail.not_configured")
        job_id = job_backend(state.engine, settings=state.settings).submit(
            "invitations.send",
            actor=principal.actor,
            slug=slug,
            kind=kind,
            base_url=base_url(request, state),
            title=title,
        )
    except AllegianceError as exc:
        return _error(request, state, principal, slug, exc)
    return RedirectResponse(f"/admin/jobs/{job_id}", status_code=303)


@router.get("/invitations/{invitation_id}/qr.svg")
def invitation_qr(
    request: Request, invitation_id: int, state: StateDep, principal: Inviter
) -> Response:
    with state.sessions() as session:
        found = invitation_link_data(session, invitation_id)
    if found is None:
        raise PageError(404, "web.error.no_invitation")
    token, _slug = found
    url = f"{base_url(request, state)}/i/{token}"
    return Response(qr_svg(url), media_type="image/svg+xml")
