"""Work a stored complaint: move it through the handling workflow and keep the history.

This is the API the complaint web pages (log a complaint, work it as an agent) call:
:func:`log_complaint` stores a new complaint in the workflow's initial state,
:func:`transition` moves one (checked by the workflow and, with ``role``, by the role's
permissions; first response and resolution times set as the workflow says) and records the
move in ``complaint_events``; :func:`history` lists the moves.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from allegiance.complaints.handling import Workflow, apply_transition, load_workflow
from allegiance.complaints.taxonomy import Taxonomy, load_taxonomy
from allegiance.errors import StoreError, ValidationError
from allegiance.store import repository as repo
from allegiance.store.models import ComplaintEvent

__all__ = ["amend", "history", "log_complaint", "transition"]


def log_complaint(
    session: Session,
    record: Mapping[str, Any],
    /,
    *,
    taxonomy: Taxonomy | None = None,
    workflow: Workflow | None = None,
    actor: str | None = None,
    role: str | None = None,
    commit: bool = True,
) -> dict[str, Any]:
    """Store one new complaint (a web form's fields); returns it as stored.

    ``cause`` (code, Chinese or English name) or ``cause_code`` names the cause; the class
    comes from the taxonomy. The status is the workflow's initial state; the creation is
    recorded as the first event. A complaint_key already stored is an error. With
    ``commit=False`` the caller's transaction is only flushed (e.g. to audit in it too).
    """
    tax = taxonomy or load_taxonomy()
    wf = workflow or load_workflow()
    row = dict(record)
    named = row.pop("cause", None) or row.get("cause_code")
    cause = tax.resolve(named)
    if cause is None:
        raise ValidationError(
            "complaints.register.unknown_cause",
            value=str(named),
            codes=", ".join(tax.codes()[:12]),
        )
    row["cause_code"] = cause.code
    given = row.get("cause_class")
    if given is not None and str(given).strip() and str(given).strip() != str(cause.klass):
        raise ValidationError(
            "complaints.register.class_mismatch",
            cause=cause.code,
            value=str(given),
            expected=cause.klass,
        )
    row["cause_class"] = cause.klass
    row.setdefault("text", "")
    row["status"] = wf.initial
    severity = row.get("severity")
    if severity is not None:
        wf.severity(str(severity))
    key = str(row.get("complaint_key") or "")
    if key and repo.get_complaint(session, key) is not None:
        raise StoreError("store.complaint_exists", key=key)
    repo.save_complaints(session, [row], commit=False)
    stored = repo.get_complaint(session, key)
    if stored is None:  # pragma: no cover - the row was just written
        raise StoreError("store.complaint_not_found", key=key)
    repo.set_complaint_status(
        session,
        key,
        expected_status=wf.initial,
        status=wf.initial,
        first_response_at=stored["first_response_at"],
        resolved_at=stored["resolved_at"],
        at=stored["received_at"],
        actor=actor,
        role=role,
        note="logged",
        commit=commit,
    )
    return repo.get_complaint(session, key) or stored


def transition(
    session: Session,
    complaint_key: str,
    target: str,
    /,
    *,
    workflow: Workflow | None = None,
    role: str | None = None,
    actor: str | None = None,
    note: str | None = None,
    at: datetime | str | None = None,
    changes: Mapping[str, Any] | None = None,
    commit: bool = True,
) -> ComplaintEvent:
    """Move the stored complaint ``complaint_key`` to state ``target``; returns the event.

    Refused with a bilingual :class:`~allegiance.errors.ValidationError` when the workflow
    does not allow the move from the current state, or ``role`` may not make it; with a
    :class:`~allegiance.errors.StoreError` when the complaint does not exist or someone else
    moved it meanwhile. ``changes`` sets other fields in the same step (owner, severity,
    resolution, compensation, satisfaction_after, escalated_to ...).
    """
    wf = workflow or load_workflow()
    current = repo.get_complaint(session, complaint_key)
    if current is None:
        raise StoreError("store.complaint_not_found", key=complaint_key)
    if changes and changes.get("severity") is not None:
        wf.severity(str(changes["severity"]))
    moved = apply_transition(wf, current, target, role=role, at=at)
    return repo.set_complaint_status(
        session,
        complaint_key,
        expected_status=str(moved["previous_status"]),
        status=target,
        first_response_at=moved["first_response_at"],
        resolved_at=moved["resolved_at"],
        at=pd.Timestamp(at).to_pydatetime() if at is not None else None,
        actor=actor,
        role=role,
        note=note,
        changes=changes,
        commit=commit,
    )


def amend(
    session: Session,
    complaint_key: str,
    changes: Mapping[str, Any],
    /,
    *,
    taxonomy: Taxonomy | None = None,
    workflow: Workflow | None = None,
    actor: str | None = None,
    role: str | None = None,
    note: str | None = None,
    commit: bool = True,
) -> ComplaintEvent:
    """Change a stored complaint's fields without moving it; the step is recorded as an
    event (from and to the same state).

    ``changes`` holds fields of :data:`~allegiance.store.repository.COMPLAINT_WORK_FIELDS`
    (assign an owner, record the satisfaction after recovery ...) and may name a ``cause``
    (code, Chinese or English name): its code and class then come from the taxonomy, e.g.
    when an agent classifies a case the closed loop opened without a cause.
    """
    row = dict(changes)
    named = row.pop("cause", None)
    if named is not None:
        tax = taxonomy or load_taxonomy()
        found = tax.resolve(named)
        if found is None:
            raise ValidationError(
                "complaints.register.unknown_cause",
                value=str(named),
                codes=", ".join(tax.codes()[:12]),
            )
        row["cause_code"] = found.code
        row["cause_class"] = found.klass
    current = repo.get_complaint(session, complaint_key)
    if current is None:
        raise StoreError("store.complaint_not_found", key=complaint_key)
    if row.get("severity") is not None:
        (workflow or load_workflow()).severity(str(row["severity"]))
    status = str(current["status"])
    return repo.set_complaint_status(
        session,
        complaint_key,
        expected_status=status,
        status=status,
        first_response_at=current["first_response_at"],
        resolved_at=current["resolved_at"],
        actor=actor,
        role=role,
        note=note,
        changes=row,
        commit=commit,
    )


def history(engine: Engine, complaint_key: str | None = None, /) -> pd.DataFrame:
    """The handling moves of one complaint (or all), oldest first."""
    return repo.complaint_events_frame(engine, complaint_key=complaint_key)
