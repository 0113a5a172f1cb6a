"""Complaint pages: ``/admin/complaints`` (the list with filters and pages), ``/new`` (log a
complaint), ``/summary`` (Pareto of causes, SLA breaches) and ``/admin/complaints/{key}``
(the record, its history and the moves the workflow allows from its state).

Reading asks for ``complaints.view`` and every change for ``complaints.work`` (an agent
works complaints and sees no survey; a viewer sees none of this). Every change is recorded
in the audit log in the same transaction as the change. Moves go through
:mod:`allegiance.complaints.register`, which refuses a move the workflow does not allow
with a bilingual message.
"""

from __future__ import annotations

import math
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import pandas as pd
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from allegiance.complaints import register
from allegiance.complaints.closed_loop import UNCLASSIFIED, response_of
from allegiance.complaints.handling import ESCALATIONS, Workflow, load_workflow
from allegiance.complaints.taxonomy import CAUSE_CLASSES, Taxonomy, load_taxonomy
from allegiance.errors import AllegianceError, ValidationError
from allegiance.i18n import t
from allegiance.security.accounts import Principal
from allegiance.store import repository as repo
from allegiance.store.admin import record_audit
from allegiance.web.deps import FormDep, PageError, StateDep, client_ip, require
from allegiance.web.routes._common import admin_page, lang_of

__all__ = ["CHANNELS", "PAGE_SIZE", "router"]

router = APIRouter(prefix="/admin/complaints")

Reader = Annotated[Principal, Depends(require("complaints.view"))]
Worker = Annotated[Principal, Depends(require("complaints.work"))]

#: Rows per page of the list.
PAGE_SIZE = 50
#: The channels the log form offers (the closed loop's cases come in as ``survey``).
CHANNELS: tuple[str, ...] = (
    "phone",
    "email",
    "web",
    "store",
    "social",
    "letter",
    "survey",
    "other",
)
_FILTERS = ("status", "cause_class", "cause", "severity", "owner", "overdue")


def _taxonomy() -> Taxonomy:
    """The company's taxonomy (``ALLEGIANCE_COMPLAINTS_TAXONOMY``) or the shipped one."""
    return load_taxonomy()


def _workflow() -> Workflow:
    """The company's workflow (``ALLEGIANCE_COMPLAINTS_WORKFLOW``) or the shipped one."""
    return load_workflow()


def _workflow_role(principal: Principal, wf: Workflow) -> str | None:
    """The workflow role a user acts in: their own role if the workflow names it (an agent),
    else none (an administrator may make every move the workflow allows)."""
    return principal.role if principal.role in wf.roles else None


def _text(form: Any, name: str, limit: int = 2000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _when(value: Any, lang: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        return ""
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return str(stamp.tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC"))


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{float(value):g}"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def _cause_name(code: str, lang: str) -> str:
    if code == UNCLASSIFIED:
        return t("complaints.web.unclassified", lang)
    cause = _taxonomy().resolve(code)
    return cause.name(lang) if cause is not None else code


def _state_name(code: str, lang: str) -> str:
    try:
        return _workflow().state(code).name(lang)
    except ValidationError:
        return code


def _severity_name(code: Any, lang: str) -> str:
    if _blank(code):
        return ""
    try:
        return _workflow().severity(str(code)).name(lang)
    except ValidationError:
        return str(code)


def _overdue(frame: pd.DataFrame) -> pd.Series:
    """Whether each complaint is past its SLA now: no first response, or not resolved, after
    the hours its severity allows (:func:`allegiance.methods.complaints.sla`)."""
    from allegiance.methods.complaints import sla

    if frame.empty:
        return pd.Series([], dtype=bool, index=frame.index)
    result = sla(frame, workflow=_workflow(), as_of=pd.Timestamp.now(tz="UTC"))
    late = pd.Series(False, index=frame.index)
    durations = result.durations
    for measure in ("first_response", "resolution"):
        if f"{measure}_due" in durations:
            waiting = durations[f"{measure}_hours"].isna()
            late |= durations[f"{measure}_due"].astype(bool) & waiting
    return late


def _choices(lang: str) -> dict[str, Any]:
    """What the filters and forms offer, named in the page's language."""
    tax, wf = _taxonomy(), _workflow()
    groups = [
        {
            "klass": k,
            "name": tax.class_name(k, lang),
            "causes": [(c.code, c.name(lang)) for c in tax.causes if c.klass == k],
        }
        for k in CAUSE_CLASSES
    ]
    return {
        "states": [(s.code, s.name(lang)) for s in wf.states],
        "severities": [(s.code, s.name(lang)) for s in wf.severities],
        "default_severity": wf.default_severity,
        "classes": [(k, tax.class_name(k, lang)) for k in CAUSE_CLASSES],
        "cause_groups": groups,
        "channels": [(c, t(f"complaints.web.channel.{c}", lang)) for c in CHANNELS],
        "escalations": [(e, t(f"complaints.escalation.{e}", lang)) for e in ESCALATIONS],
    }


def _action_error(
    request: Request,
    state: StateDep,
    principal: Principal,
    exc: AllegianceError,
    back: str,
    status: int = 400,
) -> Response:
    return admin_page(
        request,
        state,
        principal,
        "admin/error.html.j2",
        status_code=status,
        message=exc.render(lang_of(request)),
        back=back,
    )


def _audit(
    session: Any, request: Request, principal: Principal, action: str, key: str, details: Any
) -> None:
    record_audit(
        session,
        action,
        actor=principal.actor,
        target_type="complaint",
        target_id=key,
        details=details,
        ip=client_ip(request),
        commit=False,
    )


def _url(key: str) -> str:
    return f"/admin/complaints/{quote(key, safe='')}"


# ------------------------------------------------------------------------------ the list


@router.get("")
def complaints_list(request: Request, state: StateDep, principal: Reader) -> Response:
    lang = lang_of(request)
    query = {name: request.query_params.get(name, "").strip()[:200] for name in _FILTERS}
    raw_page = request.query_params.get("page", "1")
    page_no = int(raw_page) if raw_page.isdigit() and len(raw_page) < 7 else 1
    frame = repo.complaints_frame(state.engine)
    late = _overdue(frame)
    keep = pd.Series(True, index=frame.index)
    if query["status"]:
        keep &= frame["status"] == query["status"]
    if query["cause_class"].isdigit():
        keep &= frame["cause_class"] == int(query["cause_class"])
    if query["cause"]:
        keep &= frame["cause_code"] == query["cause"]
    if query["severity"]:
        keep &= frame["severity"].fillna(_workflow().default_severity) == query["severity"]
    if query["owner"]:
        owners = frame["owner"].fillna("").astype(str).str.casefold()
        keep &= owners.str.contains(query["owner"].casefold(), regex=False)
    if query["overdue"] in ("yes", "no"):
        keep &= late if query["overdue"] == "yes" else ~late
    chosen = frame[keep].iloc[::-1]  # newest first
    total = len(chosen)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page_no = min(max(page_no, 1), pages)
    shown = chosen.iloc[(page_no - 1) * PAGE_SIZE : page_no * PAGE_SIZE]
    rows = [
        {
            "key": r["complaint_key"],
            "url": _url(str(r["complaint_key"])),
            "received": _when(r["received_at"], lang),
            "channel": r["channel"],
            "customer": "" if _blank(r["customer_id"]) else r["customer_id"],
            "cause": _cause_name(str(r["cause_code"]), lang),
            "cause_class": int(r["cause_class"]),
            "severity": _severity_name(r["severity"], lang),
            "status": r["status"],
            "status_name": _state_name(str(r["status"]), lang),
            "owner": "" if _blank(r["owner"]) else r["owner"],
            "overdue": bool(overdue),
        }
        for r, overdue in zip(
            shown.to_dict(orient="records"), late.loc[shown.index].tolist(), strict=True
        )
    ]
    paging = urlencode({k: v for k, v in query.items() if v})
    return admin_page(
        request,
        state,
        principal,
        "admin/complaints.html.j2",
        title=t("complaints.web.title", lang),
        rows=rows,
        total=total,
        page=page_no,
        pages=pages,
        query=query,
        paging=paging,
        **_choices(lang),
    )


# ------------------------------------------------------------------------------ logging


def _new_form(
    request: Request,
    state: StateDep,
    principal: Principal,
    *,
    values: dict[str, str],
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    lang = lang_of(request)
    return admin_page(
        request,
        state,
        principal,
        "admin/complaint_new.html.j2",
        status_code=status_code,
        title=t("complaints.web.new", lang),
        values=values,
        error=error,
        **_choices(lang),
    )


_NEW_FIELDS = (
    "received_at",
    "channel",
    "customer_id",
    "product",
    "cause",
    "severity",
    "text",
    "owner",
    "escalated_to",
)


@router.get("/new")
def complaint_new(request: Request, state: StateDep, principal: Worker) -> Response:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M")
    values = dict.fromkeys(_NEW_FIELDS, "")
    values.update(received_at=now, channel="phone", severity=_workflow().default_severity)
    values["escalated_to"] = "none"
    return _new_form(request, state, principal, values=values)


@router.post("")
def complaint_log(request: Request, state: StateDep, principal: Worker, form: FormDep) -> Response:
    lang = lang_of(request)
    values = {name: _text(form, name, 10_000 if name == "text" else 200) for name in _NEW_FIELDS}
    try:
        received = _received(values["received_at"])
        if values["channel"] not in CHANNELS:
            raise ValidationError(
                "complaints.web.bad_choice",
                field=t("complaints.field.channel", lang),
                value=values["channel"],
                allowed=", ".join(CHANNELS),
            )
        key = f"W{received:%Y%m%d%H%M}-{secrets.token_hex(3).upper()}"
        record = {
            "complaint_key": key,
            "received_at": received,
            "channel": values["channel"],
            "customer_id": values["customer_id"] or None,
            "product": values["product"] or None,
            "cause": values["cause"],
            "severity": values["severity"] or None,
            "text": values["text"],
            "owner": values["owner"] or None,
            "escalated_to": values["escalated_to"] or None,
            "lang": lang,
        }
        with state.sessions() as session:
            register.log_complaint(
                session,
                record,
                taxonomy=_taxonomy(),
                workflow=_workflow(),
                actor=principal.actor,
                role=_workflow_role(principal, _workflow()),
                commit=False,
            )
            _audit(
                session,
                request,
                principal,
                "complaint.log",
                key,
                {"channel": values["channel"], "cause": values["cause"]},
            )
            session.commit()
    except AllegianceError as exc:
        return _new_form(
            request,
            state,
            principal,
            values=values,
            error=exc.render(lang),
            status_code=400,
        )
    return RedirectResponse(_url(key) + "?msg=logged", status_code=303)


def _received(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError("complaints.web.bad_time", value=text or "-") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# ------------------------------------------------------------------------------ summary


@router.get("/summary")
def complaints_summary(request: Request, state: StateDep, principal: Reader) -> Response:
    from allegiance.methods.complaints import pareto, sla

    lang = lang_of(request)
    frame = repo.complaints_frame(state.engine)
    unclassified = int((frame["cause_code"] == UNCLASSIFIED).sum()) if len(frame) else 0
    classified = frame[frame["cause_code"] != UNCLASSIFIED] if len(frame) else frame
    causes: list[dict[str, Any]] = []
    vital_share = None
    if len(classified):
        result = pareto(
            classified, cause="cause_code", cause_class="cause_class", taxonomy=_taxonomy()
        )
        for r in result.table.head(10).to_dict(orient="records"):
            causes.append(
                {
                    "rank": int(r["rank"]),
                    "cause": _cause_name(str(r["cause"]), lang),
                    "cause_class": int(r["cause_class"]),
                    "count": int(r["count"]),
                    "share": float(r["share"]),
                    "cumulative": float(r["cumulative_share"]),
                    "vital": bool(r["vital_few"]),
                }
            )
        vital_share = result.vital_few_share
    breaches: list[dict[str, Any]] = []
    if len(frame):
        result_sla = sla(frame, workflow=_workflow(), as_of=pd.Timestamp.now(tz="UTC"))
        for r in result_sla.table.to_dict(orient="records"):
            breaches.append(
                {
                    "measure": t(f"complaints.web.measure.{r['measure']}", lang),
                    "severity": t("complaints.web.all", lang)
                    if r["severity"] == "all"
                    else _severity_name(r["severity"], lang),
                    "target": _number(r["target_hours"]),
                    "n_due": int(r["n_due"]),
                    "n_breached": int(r["n_due"]) - int(r["n_within"]),
                    "share_within": None
                    if math.isnan(float(r["share_within"]))
                    else float(r["share_within"]),
                }
            )
    return admin_page(
        request,
        state,
        principal,
        "admin/complaints_summary.html.j2",
        title=t("complaints.web.summary", lang),
        n=len(frame),
        unclassified=unclassified,
        causes=causes,
        vital_share=vital_share,
        breaches=breaches,
        n_overdue=int(_overdue(frame).sum()),
    )


# ------------------------------------------------------------------------------ one complaint


def _complaint_or_404(state: StateDep, key: str) -> dict[str, Any]:
    with state.sessions() as session:
        found = repo.get_complaint(session, key)
    if found is None:
        raise PageError(404, "complaints.web.not_found")
    return found


@router.get("/{key:path}")
def complaint_detail(request: Request, key: str, state: StateDep, principal: Reader) -> Response:
    lang = lang_of(request)
    c = _complaint_or_404(state, key)
    wf = _workflow()
    with state.sessions() as session:
        response_id = response_of(session, key)
    events = repo.complaint_events_frame(state.engine, complaint_key=key)
    history = [
        {
            "at": _when(e["occurred_at"], lang),
            "from": "" if _blank(e["from_status"]) else _state_name(str(e["from_status"]), lang),
            "to": _state_name(str(e["to_status"]), lang),
            "actor": "" if _blank(e["actor"]) else e["actor"],
            "note": "" if _blank(e["note"]) else e["note"],
        }
        for e in events.to_dict(orient="records")
    ]
    status = str(c["status"])
    moves = []
    if principal.can("complaints.work"):
        unresolved = status not in wf.resolved
        for target in wf.allowed(status, role=_workflow_role(principal, wf)):
            moves.append(
                {
                    "target": target,
                    "name": wf.state(target).name(lang),
                    "owner": target in wf.first_response and unresolved,
                    "resolution": target in wf.resolved and unresolved,
                    "satisfaction": target in wf.resolved and not unresolved,
                }
            )
    late = bool(_overdue(pd.DataFrame([c])).iloc[0])
    record = {
        "key": key,
        "received": _when(c["received_at"], lang),
        "channel": c["channel"],
        "customer": "" if _blank(c["customer_id"]) else c["customer_id"],
        "product": "" if _blank(c["product"]) else c["product"],
        "cause": _cause_name(str(c["cause_code"]), lang),
        "cause_code": c["cause_code"],
        "cause_class": int(c["cause_class"]),
        "class_name": _taxonomy().class_name(int(c["cause_class"]), lang),
        "severity": _severity_name(c["severity"], lang),
        "severity_code": "" if _blank(c["severity"]) else c["severity"],
        "status": status,
        "status_name": _state_name(status, lang),
        "owner": "" if _blank(c["owner"]) else c["owner"],
        "text": c["text"] or "",
        "first_response": _when(c["first_response_at"], lang),
        "resolved": _when(c["resolved_at"], lang),
        "resolution": "" if _blank(c["resolution"]) else c["resolution"],
        "compensation": _number(c["compensation"]),
        "satisfaction_after": _number(c["satisfaction_after"]),
        "escalated_to": ""
        if _blank(c["escalated_to"])
        else t(f"complaints.escalation.{c['escalated_to']}", lang),
        "escalation_code": "" if _blank(c["escalated_to"]) else c["escalated_to"],
        "response_id": response_id,
        "overdue": late,
    }
    low, high = wf.recovery_scale
    return admin_page(
        request,
        state,
        principal,
        "admin/complaint.html.j2",
        title=t("complaints.web.one", lang, key=key),
        c=record,
        url=_url(key),
        history=history,
        moves=moves,
        resolved_now=status in wf.resolved,
        scale_low=f"{low:g}",
        scale_high=f"{high:g}",
        **_choices(lang),
    )


def _optional_number(form: Any, name: str, lang: str) -> float | None:
    text = _text(form, name, 50)
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ValidationError(
            "complaints.web.bad_number", field=t(f"complaints.field.{name}", lang), value=text
        )
    return number


@router.post("/{key:path}/move")
def complaint_move(
    request: Request, key: str, state: StateDep, principal: Worker, form: FormDep
) -> Response:
    lang = lang_of(request)
    _complaint_or_404(state, key)
    target = _text(form, "target", 30)
    changes: dict[str, Any] = {}
    try:
        for name in ("owner", "resolution"):
            if _text(form, name):
                changes[name] = _text(form, name)
        for name in ("compensation", "satisfaction_after"):
            number = _optional_number(form, name, lang)
            if number is not None:
                changes[name] = number
        with state.sessions() as session:
            register.transition(
                session,
                key,
                target,
                workflow=_workflow(),
                role=_workflow_role(principal, _workflow()),
                actor=principal.actor,
                note=_text(form, "note") or None,
                changes=changes or None,
                commit=False,
            )
            _audit(
                session,
                request,
                principal,
                "complaint.move",
                key,
                {"to": target, "fields": sorted(changes)},
            )
            session.commit()
    except AllegianceError as exc:
        return _action_error(request, state, principal, exc, _url(key), status=409)
    return RedirectResponse(_url(key) + "?msg=moved", status_code=303)


@router.post("/{key:path}/update")
def complaint_update(
    request: Request, key: str, state: StateDep, principal: Worker, form: FormDep
) -> Response:
    lang = lang_of(request)
    current = _complaint_or_404(state, key)
    changes: dict[str, Any] = {}
    try:
        owner = _text(form, "owner", 200)
        if owner != ("" if _blank(current["owner"]) else current["owner"]):
            changes["owner"] = owner or None
        cause = _text(form, "cause", 100)
        if cause and cause != current["cause_code"]:
            changes["cause"] = cause
        severity = _text(form, "severity", 30)
        if severity and severity != current["severity"]:
            changes["severity"] = severity
        escalated = _text(form, "escalated_to", 30)
        if escalated and escalated != current["escalated_to"]:
            changes["escalated_to"] = escalated
        satisfaction = _optional_number(form, "satisfaction_after", lang)
        if satisfaction is not None:
            low, high = _workflow().recovery_scale
            if not low <= satisfaction <= high:
                raise ValidationError(
                    "complaints.web.bad_satisfaction",
                    value=f"{satisfaction:g}",
                    low=f"{low:g}",
                    high=f"{high:g}",
                )
            if str(current["status"]) not in _workflow().resolved:
                raise ValidationError("complaints.web.not_resolved_yet")
            changes["satisfaction_after"] = satisfaction
        note = _text(form, "note") or None
        if not changes and note is None:
            return RedirectResponse(_url(key) + "?msg=nothing", status_code=303)
        with state.sessions() as session:
            register.amend(
                session,
                key,
                changes,
                taxonomy=_taxonomy(),
                workflow=_workflow(),
                actor=principal.actor,
                role=_workflow_role(principal, _workflow()),
                note=note,
                commit=False,
            )
            _audit(
                session,
                request,
                principal,
                "complaint.update",
                key,
                {"fields": sorted(changes)},
            )
            session.commit()
    except AllegianceError as exc:
        return _action_error(request, state, principal, exc, _url(key))
    return RedirectResponse(_url(key) + "?msg=updated", status_code=303)
