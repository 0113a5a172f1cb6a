"""The queries of a person's erasure: find every row that names them, and remove it.

:func:`erase_rows` works inside the caller's transaction (it never commits), so the erasure,
the rewrite of the project's Parquet files and the audit entry are kept or dropped together
(:func:`allegiance.security.erasure.erase_customer` drives it). What happens to each table:

=====================  =====================================================================
table                  what an erasure does
=====================  =====================================================================
``responses``          **anonymised** (default): ``customer_id``, ``user_agent_hash`` and the
                       respondent key go (the key becomes ``erased-<random>``), free-text
                       answers (``text`` questions, ``<question>.other``) and any answer that
                       quotes the id or an e-mail go; rating and choice answers stay, so
                       indices, means and weights computed before and after are the same.
                       With ``delete_responses`` the rows are deleted instead.
``survey_invitations`` anonymised: e-mail and ``customer_id`` go, the token is replaced by a
                       random one nobody knows (the old link stops working); the row stays
                       so response rates stay true. Deleted with ``delete_responses``.
``response_drafts``    deleted (unsubmitted answers of the person's invitations).
``complaints``         anonymised: ``customer_id``, the complaint text, the cause and
                       resolution texts go; the cause code, class, times and status stay
                       (complaint statistics do not change). A complaint key quoting the id
                       is replaced.
``complaint_events``   the notes of the person's complaints go.
any other table        a table the models do not know (a customer or activity table, a
                       Parquet table exported into the database) with a ``customer_id`` or
                       ``email`` column: the matching rows are deleted.
=====================  =====================================================================

E-mail addresses are matched without regard to case; the addresses of the person's
invitations are erased with them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import (
    ColumnElement,
    MetaData,
    String,
    Table,
    cast,
    delete,
    func,
    inspect,
    or_,
    select,
)
from sqlalchemy.orm import Session

from allegiance.store.models import (
    Base,
    Complaint,
    ComplaintEvent,
    Invitation,
    Response,
    ResponseDraft,
    Survey,
    SurveyVersion,
)

__all__ = [
    "ERASED_PREFIX",
    "erase_rows",
    "foreign_tables",
    "person_emails",
    "text_question_ids",
]

#: The start of the respondent keys, tokens and complaint keys an erasure puts in place.
ERASED_PREFIX = "erased-"
#: Columns of tables the models do not know that name a person.
_PERSON_COLUMNS = ("customer_id", "email")


def _erased() -> str:
    return ERASED_PREFIX + secrets.token_hex(12)


def text_question_ids(definitions: Iterable[Any], /) -> set[str]:
    """The ids of the free-text questions in survey definitions (raw JSON, every version)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            if node.get("type") == "text" and isinstance(node.get("id"), str):
                found.add(node["id"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for definition in definitions:
        walk(definition)
    return found


def _quotes(value: Any, needles: Iterable[str]) -> bool:
    text = str(value).casefold()
    return any(n.casefold() in text for n in needles if n)


def _scrub(answers: Mapping[str, Any], text_ids: set[str], needles: list[str]) -> dict[str, Any]:
    return {
        key: value
        for key, value in answers.items()
        if key not in text_ids and not key.endswith(".other") and not _quotes(value, needles)
    }


def foreign_tables(session: Session, /) -> dict[str, list[str]]:
    """Tables of the database the models do not know that have a ``customer_id`` or
    ``email`` column: ``{table: [those columns]}``."""
    conn = session.connection()
    known = set(Base.metadata.tables) | {"alembic_version"}
    inspector = inspect(conn)
    out: dict[str, list[str]] = {}
    for name in sorted(inspector.get_table_names()):
        if name in known:
            continue
        columns = [c["name"] for c in inspector.get_columns(name)]
        person = [c for c in columns if c.lower() in _PERSON_COLUMNS]
        if person:
            out[name] = person
    return out


def person_emails(session: Session, customer_id: str, /, emails: Iterable[str] = ()) -> set[str]:
    """``emails`` and the addresses of the invitations of ``customer_id``, in lower case."""
    mails = {e.strip().casefold() for e in emails if e and e.strip()}
    for found in session.scalars(
        select(Invitation.email).where(
            Invitation.customer_id == customer_id, Invitation.email.is_not(None)
        )
    ):
        mails.add(str(found).casefold())
    return mails


def erase_rows(
    session: Session,
    customer_id: str,
    /,
    *,
    emails: Iterable[str] = (),
    delete_responses: bool = False,
    dry_run: bool = False,
) -> dict[str, int]:
    """Erase (or, with ``dry_run``, only count) the rows of ``customer_id`` and ``emails``.

    Returns ``{table: rows}`` for every table with rows of the person. Runs in the caller's
    transaction and never commits. The e-mail addresses of the person's invitations are
    added to ``emails``.
    """
    counts: dict[str, int] = {}
    cid = customer_id.strip()
    mails = person_emails(session, cid, emails)
    needles = [cid, *sorted(mails)]

    who = [Invitation.customer_id == cid]
    if mails:
        who.append(func.lower(Invitation.email).in_(sorted(mails)))
    invitations = list(session.scalars(select(Invitation).where(or_(*who))))
    inv_ids = [i.id for i in invitations]

    match = [Response.customer_id == cid, Response.respondent_key == cid]
    if inv_ids:
        match.append(Response.invitation_id.in_(inv_ids))
    responses = list(session.scalars(select(Response).where(or_(*match))))
    drafts = (
        list(session.scalars(select(ResponseDraft).where(ResponseDraft.invitation_id.in_(inv_ids))))
        if inv_ids
        else []
    )
    complaints = list(session.scalars(select(Complaint).where(Complaint.customer_id == cid)))
    events = (
        list(
            session.scalars(
                select(ComplaintEvent).where(
                    ComplaintEvent.complaint_id.in_([c.id for c in complaints])
                )
            )
        )
        if complaints
        else []
    )
    for name, rows in (
        ("responses", responses),
        ("response_drafts", drafts),
        ("survey_invitations", invitations),
        ("complaints", complaints),
        ("complaint_events", events),
    ):
        if rows:
            counts[name] = len(rows)

    conn = session.connection()
    foreign: list[tuple[Table, Any]] = []
    for name, columns in foreign_tables(session).items():
        table = Table(name, MetaData(), autoload_with=conn)
        conds: list[ColumnElement[bool]] = []
        for column in columns:
            col = cast(table.c[column], String)
            if column.lower() == "email":
                if mails:
                    conds.append(func.lower(col).in_(sorted(mails)))
            else:
                conds.append(col == cid)
        if not conds:
            continue
        where = or_(*conds)
        n = int(conn.execute(select(func.count()).select_from(table).where(where)).scalar_one())
        if n:
            counts[name] = n
            foreign.append((table, where))
    if dry_run:
        return counts

    text_ids: set[str] = set()
    if responses:
        text_ids = text_question_ids(
            [
                *session.scalars(select(Survey.definition)),
                *session.scalars(select(SurveyVersion.definition)),
            ]
        )
    for draft in drafts:
        session.delete(draft)
    session.flush()
    for response in responses:
        if delete_responses:
            session.delete(response)
        else:
            response.customer_id = None
            response.user_agent_hash = None
            response.respondent_key = _erased()
            response.answers = _scrub(response.answers or {}, text_ids, needles)
    session.flush()
    for invitation in invitations:
        if delete_responses:
            session.delete(invitation)
        else:
            invitation.customer_id = None
            invitation.email = None
            invitation.token = secrets.token_urlsafe(32)
    for event in events:
        event.note = None
    for complaint in complaints:
        complaint.customer_id = None
        complaint.text = ""
        complaint.cause_text = None
        complaint.resolution = None
        if _quotes(complaint.complaint_key, needles):
            complaint.complaint_key = _erased()
    session.flush()
    for found_table, where in foreign:
        conn.execute(delete(found_table).where(where))
    return counts
