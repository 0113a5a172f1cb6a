"""The queries of administration: users, API tokens and the audit log.

Like :mod:`allegiance.store.repository` (whose transaction rules this module follows), this is
the only place that reads or writes these tables; the rules about who may do what, password
hashing and the audit entry each change needs live in :mod:`allegiance.security`, which the
CLI and the web call.

The audit log is append-only: :func:`record_audit` adds an entry; there is no function that
changes or deletes one, and the database refuses UPDATE and DELETE on ``audit_log``
(triggers of migration 0004).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import pandas as pd
from sqlalchemy import ColumnElement, Engine, Table, func, or_, select
from sqlalchemy.orm import Session

from allegiance.errors import StoreError
from allegiance.store.models import ApiToken, AuditEntry, ProjectMeta, User, utcnow
from allegiance.store.repository import (
    _frame,
    _insert,
    _json,
    _reading,
    _session_read,
    _text,
    _writing,
)

__all__ = [
    "AUDIT_COLUMNS",
    "USER_FIELDS",
    "add_token",
    "add_user",
    "audit_frame",
    "count_active_admins",
    "find_token",
    "get_token",
    "get_user",
    "get_user_by_id",
    "list_audit",
    "list_tokens",
    "list_users",
    "meta_setdefault",
    "record_audit",
    "revoke_token",
    "touch_token",
    "update_user",
]

#: The columns of :func:`audit_frame`, in order.
AUDIT_COLUMNS: tuple[str, ...] = (
    "audit_id",
    "occurred_at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "ip",
    "details",
)
#: The fields :func:`update_user` may change.
USER_FIELDS = frozenset(
    {
        "display_name",
        "email",
        "password_hash",
        "role",
        "active",
        "last_login_at",
        "password_changed_at",
    }
)


# -------------------------------------------------------------------- project meta


def meta_setdefault(session: Session, key: str, value: Any, /) -> Any:
    """The project fact ``key``; when there is none, ``value`` is stored first (atomically:
    of two callers at once, both get the value written first)."""
    table = cast(Table, ProjectMeta.__table__)
    with _writing(session, "project_meta", commit=True):
        conn = session.connection()
        conn.execute(_insert(conn, table).values(key=key, value=value).on_conflict_do_nothing())
        return session.scalar(select(ProjectMeta.value).where(ProjectMeta.key == key))


# --------------------------------------------------------------------------- users


def add_user(
    session: Session,
    /,
    *,
    username: str,
    role: str,
    password_hash: str | None,
    email: str | None = None,
    display_name: str | None = None,
    commit: bool = True,
) -> User:
    """Insert a user (``username`` already normalised); a taken username is a StoreError."""
    now = utcnow()
    user = User(
        username=username,
        role=role,
        password_hash=password_hash,
        email=email,
        display_name=display_name,
        active=True,
        created_at=now,
        updated_at=now,
        password_changed_at=now if password_hash else None,
    )
    with _writing(session, "users", commit=commit):
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise StoreError("admin.user_exists", username=username)
        session.add(user)
        session.flush()
    return user


def get_user(session: Session, username: str, /) -> User | None:
    """The user named ``username`` (already normalised), or ``None``."""
    with _session_read(session, "users"):
        return session.scalars(select(User).where(User.username == username)).one_or_none()


def get_user_by_id(session: Session, user_id: int, /) -> User | None:
    """The user with id ``user_id``, or ``None``."""
    with _session_read(session, "users"):
        return session.get(User, user_id)


def list_users(
    session: Session, /, *, role: str | None = None, active: bool | None = None
) -> list[User]:
    """Users by username, optionally only one ``role`` or only (in)active ones."""
    stmt = select(User).order_by(User.username)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if active is not None:
        stmt = stmt.where(User.active.is_(active))
    with _session_read(session, "users"):
        return list(session.scalars(stmt))


def count_active_admins(session: Session, /, *, excluding: int | None = None) -> int:
    """How many active admins there are (other than user ``excluding``)."""
    stmt = select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True))
    if excluding is not None:
        stmt = stmt.where(User.id != excluding)
    with _session_read(session, "users"):
        return int(session.execute(stmt).scalar_one())


def update_user(session: Session, user_id: int, /, *, commit: bool = True, **values: Any) -> User:
    """Change fields of a user (only :data:`USER_FIELDS`); ``updated_at`` follows."""
    unknown = set(values) - USER_FIELDS
    if unknown:
        raise StoreError("admin.bad_user_field", fields=", ".join(sorted(unknown)))
    with _writing(session, "users", commit=commit):
        user = session.get(User, user_id)
        if user is None:
            raise StoreError("admin.user_id_not_found", user_id=user_id)
        for name, value in values.items():
            setattr(user, name, value)
        user.updated_at = utcnow()
        session.flush()
    return user


# -------------------------------------------------------------------------- tokens


def add_token(
    session: Session,
    /,
    *,
    user_id: int,
    name: str,
    prefix: str,
    token_hash: str,
    scopes: Sequence[str],
    expires_at: datetime | None = None,
    commit: bool = True,
) -> ApiToken:
    """Insert an API token (its hash only)."""
    token = ApiToken(
        user_id=user_id,
        name=name,
        prefix=prefix,
        token_hash=token_hash,
        scopes=list(scopes),
        created_at=utcnow(),
        expires_at=expires_at,
    )
    with _writing(session, "api_tokens", commit=commit):
        session.add(token)
        session.flush()
    return token


def find_token(session: Session, token_hash: str, /) -> tuple[ApiToken, User] | None:
    """The token with this hash and its user (whether or not it is usable), or ``None``."""
    stmt = select(ApiToken, User).join(User, ApiToken.user_id == User.id)
    with _session_read(session, "api_tokens"):
        row = session.execute(stmt.where(ApiToken.token_hash == token_hash)).one_or_none()
    return None if row is None else (row[0], row[1])


def get_token(session: Session, token_id: int, /) -> ApiToken | None:
    """The token with id ``token_id``, or ``None``."""
    with _session_read(session, "api_tokens"):
        return session.get(ApiToken, token_id)


def list_tokens(
    session: Session, /, *, user_id: int | None = None, include_revoked: bool = False
) -> list[tuple[ApiToken, User]]:
    """Tokens with their users, oldest first; revoked ones only when asked."""
    stmt = select(ApiToken, User).join(User, ApiToken.user_id == User.id).order_by(ApiToken.id)
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    if not include_revoked:
        stmt = stmt.where(ApiToken.revoked_at.is_(None))
    with _session_read(session, "api_tokens"):
        return [(row[0], row[1]) for row in session.execute(stmt)]


def revoke_token(session: Session, token_id: int, /, *, commit: bool = True) -> ApiToken:
    """Mark a token revoked (now); revoking it again keeps the first time."""
    with _writing(session, "api_tokens", commit=commit):
        token = session.get(ApiToken, token_id)
        if token is None:
            raise StoreError("admin.token_not_found", token_id=token_id)
        if token.revoked_at is None:
            token.revoked_at = utcnow()
        session.flush()
    return token


def touch_token(
    session: Session, token_id: int, /, *, when: datetime | None = None, commit: bool = True
) -> None:
    """Record when a token was last used."""
    with _writing(session, "api_tokens", commit=commit):
        token = session.get(ApiToken, token_id)
        if token is not None:
            token.last_used_at = when or utcnow()
            session.flush()


# ----------------------------------------------------------------------- audit log


def _ip(value: str | None) -> str | None:
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text[:45]  # e.g. "testclient" or a proxy's name: kept, never refused


def record_audit(
    session: Session,
    action: str,
    /,
    *,
    actor: str,
    target_type: str | None = None,
    target_id: str | int | None = None,
    details: Mapping[str, Any] | None = None,
    ip: str | None = None,
    when: datetime | None = None,
    commit: bool = True,
) -> AuditEntry:
    """Append one entry to the audit log and return it.

    ``details`` must be JSON (never a password, a token or personal data that an erasure
    would have to remove). With ``commit=False`` the entry joins the caller's transaction, so
    the action and its entry are stored together or not at all.
    """
    table = "audit_log"
    entry = AuditEntry(
        occurred_at=when or utcnow(),
        actor=_text(actor, table=table, row=0, field="actor", max_len=200),
        action=_text(action, table=table, row=0, field="action", max_len=100),
        target_type=_text(
            target_type, table=table, row=0, field="target_type", max_len=50, required=False
        ),
        target_id=_text(
            None if target_id is None else str(target_id),
            table=table,
            row=0,
            field="target_id",
            max_len=200,
            required=False,
        ),
        details=_json(dict(details or {}), table=table, row=0, field="details"),
        ip=_ip(ip),
    )
    with _writing(session, table, commit=commit):
        session.add(entry)
        session.flush()
    return entry


def _audit_filters(
    *,
    since: datetime | None,
    until: datetime | None,
    actor: str | None,
    action: str | None,
    target_type: str | None,
    target_id: str | None,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if since is not None:
        where.append(AuditEntry.occurred_at >= since)
    if until is not None:
        where.append(AuditEntry.occurred_at < until)
    if actor is not None:
        where.append(AuditEntry.actor == actor)
    if action is not None:
        # "user" matches "user.create", "user.disable" ...; "user.create" matches itself.
        where.append(
            or_(
                AuditEntry.action == action,
                AuditEntry.action.startswith(action + ".", autoescape=True),
            )
        )
    if target_type is not None:
        where.append(AuditEntry.target_type == target_type)
    if target_id is not None:
        where.append(AuditEntry.target_id == target_id)
    return where


def list_audit(
    session: Session,
    /,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    before_id: int | None = None,
    limit: int | None = 100,
) -> list[AuditEntry]:
    """Audit entries, newest first, filtered; page with ``before_id`` (the last id seen).

    ``action`` matches the action or its family (``"user"`` matches ``"user.create"``).
    """
    stmt = select(AuditEntry).where(
        *_audit_filters(
            since=since,
            until=until,
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
        )
    )
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    stmt = stmt.order_by(AuditEntry.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    with _session_read(session, "audit_log"):
        return list(session.scalars(stmt))


def audit_frame(
    engine: Engine,
    /,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """The audit log, oldest first (the newest ``limit`` entries when given), filtered like
    :func:`list_audit`: the columns of :data:`AUDIT_COLUMNS`."""
    stmt = (
        select(
            AuditEntry.id,
            AuditEntry.occurred_at,
            AuditEntry.actor,
            AuditEntry.action,
            AuditEntry.target_type,
            AuditEntry.target_id,
            AuditEntry.ip,
            AuditEntry.details,
        )
        .where(
            *_audit_filters(
                since=since,
                until=until,
                actor=actor,
                action=action,
                target_type=target_type,
                target_id=target_id,
            )
        )
        .order_by(AuditEntry.id.desc())
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    with _reading("audit_log"), engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return _frame(rows[::-1], AUDIT_COLUMNS, ("occurred_at",))
