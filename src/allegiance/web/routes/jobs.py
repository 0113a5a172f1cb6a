"""Background jobs: a page that shows one job's state and progress (it reloads itself while
the job runs) and the same as JSON for scripts. A job is shown to whoever may do the work it
does (its ``permission``: ``invitations.manage`` for sending invitations ...)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from allegiance.errors import StoreError
from allegiance.i18n import catalog, t
from allegiance.jobs import JobInfo, job_backend
from allegiance.security.accounts import Principal
from allegiance.web.deps import AdminDep, LoginRequired, PageError, StateDep
from allegiance.web.routes._common import admin_page, lang_of

__all__ = ["router"]

router = APIRouter(prefix="/admin")


def _job(request: Request, state: StateDep, principal: Principal | None, job_id: str) -> JobInfo:
    if principal is None:
        raise LoginRequired(request.url.path)
    try:
        info = job_backend(state.engine, settings=state.settings).status(job_id)
    except StoreError:
        raise PageError(404, "jobs.not_found", job_id=job_id) from None
    permission = info.permission or "db.manage"
    if not principal.can(permission):
        raise PageError(403, "web.error.forbidden", permission=permission)
    return info


def _back(info: JobInfo) -> str:
    slug = info.params.get("slug")
    if info.name == "invitations.send" and isinstance(slug, str):
        return f"/admin/surveys/{slug}/invitations"
    if isinstance(slug, str):
        return f"/admin/surveys/{slug}"
    return "/admin"


@router.get("/jobs/{job_id}/status")
def job_status(request: Request, job_id: str, state: StateDep, principal: AdminDep) -> Response:
    info = _job(request, state, principal, job_id)
    return JSONResponse(info.to_dict())


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str, state: StateDep, principal: AdminDep) -> Response:
    info = _job(request, state, principal, job_id)
    message = info.error_message()
    lang = lang_of(request)
    key = f"web.job.name.{info.name}"
    return admin_page(
        request,
        state,
        principal,
        "admin/job.html.j2",
        job=info,
        label=t(key, lang) if key in catalog() else info.name,
        error=None if message is None else message.render(lang),
        result=dict(info.result or {}),
        back=_back(info),
    )
