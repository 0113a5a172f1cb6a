"""The product's background tasks (registered with :func:`allegiance.jobs.task`).

================== ======================= ===============================================
task               permission to see it    parameters
================== ======================= ===============================================
invitations.send   invitations.manage      ``slug``, ``kind`` (invite/remind), ``base_url``,
                                           ``title`` ({en, zh}), optional ``ids``
responses.import   responses.import        ``slug``, ``path``, optional ``quarantine``,
                                           ``wave``
report.build       reports.export          ``project`` (a folder), optional ``lang``
================== ======================= ===============================================

Each returns a small JSON summary (counts, file names), never personal data.
"""

from __future__ import annotations

from typing import Any

from allegiance.jobs import JobContext, task

__all__ = ["build_report_task", "import_responses_task", "send_invitations_task"]


@task("invitations.send", permission="invitations.manage")
def send_invitations_task(
    ctx: JobContext,
    /,
    *,
    slug: str,
    kind: str,
    base_url: str,
    title: dict[str, str],
    ids: list[int] | None = None,
) -> dict[str, Any]:
    """Send a batch of invitations (or reminders) and record it in the audit log."""
    from allegiance.store.admin import record_audit
    from allegiance.store.db import session_factory
    from allegiance.web.mail import MailKind, send_invitations
    from allegiance.web.settings import WebSettings

    settings = ctx.settings if isinstance(ctx.settings, WebSettings) else WebSettings()
    mail_kind: MailKind = "remind" if kind == "remind" else "invite"
    sessions = session_factory(ctx.engine)
    with sessions() as session:
        result = send_invitations(
            ctx.engine,
            session,
            slug,
            kind=mail_kind,
            settings=settings,
            base_url=base_url,
            title=title,
            ids=ids,
            progress=ctx.progress,
        )
    details = {"sent": result.sent, "failed": result.failed}
    with sessions() as session:
        record_audit(
            session,
            "invitations.send" if mail_kind == "invite" else "invitations.remind",
            actor=ctx.actor or "job",
            target_type="survey",
            target_id=slug,
            details={**details, "job_id": ctx.job_id},
        )
    return {"kind": mail_kind, **details}


@task("responses.import", permission="responses.import")
def import_responses_task(
    ctx: JobContext,
    /,
    *,
    slug: str,
    path: str,
    quarantine: str | None = None,
    wave: str | None = None,
) -> dict[str, Any]:
    """Import a response file (all or nothing, or quarantining bad rows when asked)."""
    from allegiance.survey.exchange import import_responses

    ctx.progress(0, 1)
    result = import_responses(ctx.engine, slug, path, quarantine=quarantine, wave=wave)
    ctx.progress(1, 1)
    return {
        "survey": result.survey,
        "file": result.file,
        "n_rows": result.n_rows,
        "n_written": result.n_written,
        "n_rejected": result.n_rejected,
        "quarantine": result.quarantine,
    }


@task("report.build", permission="reports.export")
def build_report_task(
    ctx: JobContext, /, *, project: str, lang: str | None = None
) -> dict[str, Any]:
    """Build the project's HTML and Excel report (what ``allegiance report`` does)."""
    from allegiance.workflow import build_project_report

    def step(_label: str, done: int, total: int) -> None:
        ctx.progress(done, total)

    summary = build_project_report(project, lang=lang, progress=step)
    return {"html": str(summary.html), "xlsx": str(summary.xlsx), "lang": summary.lang}
