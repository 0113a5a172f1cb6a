"""Users, sign-in and API tokens: the functions the CLI and the web call.

Each change is checked here (username, role, password policy, the last active admin), done
through :mod:`allegiance.store.admin`, and recorded in the audit log **in the same
transaction**: a change is never stored without its audit entry, nor an entry without its
change.

The web app calls:

- :func:`authenticate` (``username``, ``password``) -> a :class:`Principal` or ``None``
  (rehashes an outdated hash, records ``auth.login`` / ``auth.login_failed``);
- :func:`load_principal` (the user id kept in the signed session) -> the current
  :class:`Principal`, or ``None`` when the user was disabled since;
- :func:`verify_api_token` (the bearer token) -> a :class:`Principal` limited to the token's
  scopes, or ``None``;
- :meth:`Principal.can` (a permission of :data:`allegiance.security.PERMISSIONS`) on every
  page, route and export; :func:`allegiance.store.admin.record_audit` for its own admin
  actions (with :attr:`Principal.actor`).
"""

from __future__ import annotations

import getpass
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from allegiance.errors import StoreError, ValidationError
from allegiance.security.passwords import (
    check_password_policy,
    dummy_verify,
    hash_password,
    verify_password,
)
from allegiance.security.permissions import can, check_role, check_scopes
from allegiance.security.tokens import looks_like_token, new_token, token_hash, token_prefix
from allegiance.store import admin
from allegiance.store.models import ApiToken, User, utcnow

__all__ = [
    "TOKEN_TOUCH_INTERVAL",
    "USERNAME_PATTERN",
    "AccountChange",
    "NewToken",
    "Principal",
    "authenticate",
    "cli_actor",
    "create_api_token",
    "create_user",
    "load_principal",
    "normalize_username",
    "require_user",
    "revoke_api_token",
    "set_active",
    "set_password",
    "set_role",
    "verify_api_token",
]

#: A username after normalisation: 2-100 characters, letters or digits first, then also
#: ``. _ @ + -``. Chinese names are letters too.
USERNAME_PATTERN = re.compile(r"^[^\W_][\w.@+-]{1,99}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
#: A token's ``last_used_at`` is written at most this often (not on every request).
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user, or a user acting through an API token.

    ``scopes`` is ``None`` for a person signed in (everything the role allows), or the
    token's scopes; :meth:`can` needs both the role and the scope to allow a permission, so
    demoting a user also narrows their tokens.
    """

    user_id: int
    username: str
    role: str
    display_name: str | None = None
    email: str | None = None
    via: Literal["password", "session", "token"] = "session"
    scopes: frozenset[str] | None = None
    token_id: int | None = None

    def can(self, permission: str, /) -> bool:
        """Whether this principal may do ``permission``."""
        if not can(self.role, permission):
            return False
        return self.scopes is None or permission in self.scopes

    @property
    def actor(self) -> str:
        """The name the audit log records for this principal's actions."""
        return self.username


@dataclass(frozen=True)
class NewToken:
    """A token just made: ``token`` is the only time the secret is seen."""

    token: str
    token_id: int
    username: str
    name: str
    prefix: str
    scopes: tuple[str, ...]
    expires_at: datetime | None


@dataclass(frozen=True)
class AccountChange:
    """A user after a change, and whether anything changed (a no-op is not audited)."""

    user: User
    changed: bool


def cli_actor() -> str:
    """The audit actor of a command run in a shell: ``cli:`` and the system user."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment (some containers)
        name = "unknown"
    return f"cli:{name}"


def normalize_username(username: str, /) -> str:
    """NFKC, trimmed, lower case; a :class:`ValidationError` when it is not a valid name."""
    text = unicodedata.normalize("NFKC", username).strip().casefold()
    if not USERNAME_PATTERN.fullmatch(text):
        raise ValidationError("security.bad_username", username=username)
    return text


def _email(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    text = email.strip()
    if len(text) > 320 or not _EMAIL.fullmatch(text):
        raise ValidationError("security.bad_email", email=email)
    return text


def require_user(session: Session, username: str, /) -> User:
    """The user named ``username`` (normalised first), or a :class:`StoreError` naming it."""
    user = admin.get_user(session, normalize_username(username))
    if user is None:
        raise StoreError("admin.user_not_found", username=username)
    return user


def _principal(user: User, *, via: Literal["password", "session", "token"]) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        display_name=user.display_name,
        email=user.email,
        via=via,
    )


def _commit(session: Session) -> None:
    try:
        session.commit()
    except Exception:
        session.rollback()
        raise


# -------------------------------------------------------------------------- users


def create_user(
    session: Session,
    username: str,
    /,
    *,
    role: str,
    password: str | None,
    actor: str,
    email: str | None = None,
    display_name: str | None = None,
    ip: str | None = None,
) -> User:
    """Create a user (``password=None``: an account for API tokens only) and audit it."""
    name = normalize_username(username)
    check_role(role)
    hashed = None
    if password is not None:
        check_password_policy(password, username=name)
        hashed = hash_password(password)
    user = admin.add_user(
        session,
        username=name,
        role=role,
        password_hash=hashed,
        email=_email(email),
        display_name=(display_name or "").strip() or None,
        commit=False,
    )
    admin.record_audit(
        session,
        "user.create",
        actor=actor,
        target_type="user",
        target_id=name,
        details={"role": role, "password": hashed is not None},
        ip=ip,
        commit=False,
    )
    _commit(session)
    return user


def _keep_an_admin(session: Session, user: User) -> None:
    if (
        user.role == "admin"
        and user.active
        and admin.count_active_admins(session, excluding=user.id) == 0
    ):
        raise ValidationError("security.last_admin", username=user.username)


def set_role(
    session: Session, username: str, role: str, /, *, actor: str, ip: str | None = None
) -> AccountChange:
    """Give a user another role; the last active admin keeps theirs."""
    check_role(role)
    user = require_user(session, username)
    if user.role == role:
        return AccountChange(user, changed=False)
    if role != "admin":
        _keep_an_admin(session, user)
    before = user.role
    user = admin.update_user(session, user.id, role=role, commit=False)
    admin.record_audit(
        session,
        "user.set_role",
        actor=actor,
        target_type="user",
        target_id=user.username,
        details={"from": before, "to": role},
        ip=ip,
        commit=False,
    )
    _commit(session)
    return AccountChange(user, changed=True)


def set_active(
    session: Session, username: str, active: bool, /, *, actor: str, ip: str | None = None
) -> AccountChange:
    """Enable or disable a user (a disabled user can neither sign in nor use a token).

    The last active admin cannot be disabled.
    """
    user = require_user(session, username)
    if user.active == active:
        return AccountChange(user, changed=False)
    if not active:
        _keep_an_admin(session, user)
    user = admin.update_user(session, user.id, active=active, commit=False)
    admin.record_audit(
        session,
        "user.enable" if active else "user.disable",
        actor=actor,
        target_type="user",
        target_id=user.username,
        ip=ip,
        commit=False,
    )
    _commit(session)
    return AccountChange(user, changed=True)


def set_password(
    session: Session, username: str, password: str, /, *, actor: str, ip: str | None = None
) -> User:
    """Set a new password (checked against the policy) and audit it (never the password)."""
    user = require_user(session, username)
    check_password_policy(password, username=user.username)
    user = admin.update_user(
        session,
        user.id,
        password_hash=hash_password(password),
        password_changed_at=utcnow(),
        commit=False,
    )
    admin.record_audit(
        session,
        "user.set_password",
        actor=actor,
        target_type="user",
        target_id=user.username,
        ip=ip,
        commit=False,
    )
    _commit(session)
    return user


# ------------------------------------------------------------------------ sign-in


def authenticate(
    session: Session,
    username: str,
    password: str,
    /,
    *,
    ip: str | None = None,
    audit: bool = True,
) -> Principal | None:
    """The user if ``password`` is theirs and they are active, else ``None``.

    Takes the same time whether or not the username exists. On success the stored hash is
    replaced when it was made with outdated parameters, ``last_login_at`` is set and
    ``auth.login`` is audited; a failure is audited as ``auth.login_failed`` (naming the
    user only when the name exists, so a password typed into the name field is not kept).
    """
    try:
        name: str | None = normalize_username(username)
    except ValidationError:
        name = None
    user = admin.get_user(session, name) if name is not None else None
    check = None
    if user is None:
        dummy_verify(password)
    else:
        check = verify_password(user.password_hash, password)
    if user is None or check is None or not check.ok or not user.active:
        if audit:
            reason = (
                "unknown_user" if user is None else "disabled" if not user.active else "password"
            )
            admin.record_audit(
                session,
                "auth.login_failed",
                actor=user.username if user is not None else "anonymous",
                target_type="user" if user is not None else None,
                target_id=user.username if user is not None else None,
                details={"reason": reason},
                ip=ip,
            )
        return None
    now = utcnow()
    if check.new_hash is not None:
        admin.update_user(session, user.id, password_hash=check.new_hash, commit=False)
    admin.update_user(session, user.id, last_login_at=now, commit=False)
    if audit:
        admin.record_audit(
            session,
            "auth.login",
            actor=user.username,
            target_type="user",
            target_id=user.username,
            details={"rehashed": check.new_hash is not None},
            ip=ip,
            when=now,
            commit=False,
        )
    _commit(session)
    return _principal(user, via="password")


def load_principal(session: Session, user_id: int, /) -> Principal | None:
    """The user behind a session (its user id), or ``None`` if gone or disabled."""
    user = admin.get_user_by_id(session, user_id)
    if user is None or not user.active:
        return None
    return _principal(user, via="session")


# ------------------------------------------------------------------------- tokens


def create_api_token(
    session: Session,
    username: str,
    /,
    *,
    name: str,
    scopes: list[str] | tuple[str, ...],
    actor: str,
    expires_in: timedelta | None = None,
    ip: str | None = None,
) -> NewToken:
    """Make an API token for a user, with scopes the user's role allows; audit it.

    The returned :attr:`NewToken.token` is the only copy of the secret: the database keeps
    its SHA-256. ``expires_in=None``: it never expires.
    """
    user = require_user(session, username)
    if not user.active:
        raise ValidationError("security.user_disabled", username=user.username)
    label = name.strip()
    if not label or len(label) > 100:
        raise ValidationError("security.bad_token_name", name=name)
    checked = check_scopes(scopes, role=user.role)
    if any(t.name == label for t, _ in admin.list_tokens(session, user_id=user.id)):
        raise ValidationError("security.token_name_taken", name=label, username=user.username)
    if expires_in is not None and expires_in <= timedelta(0):
        raise ValidationError("security.bad_expiry")
    expires_at = utcnow() + expires_in if expires_in is not None else None
    secret = new_token()
    row = admin.add_token(
        session,
        user_id=user.id,
        name=label,
        prefix=token_prefix(secret),
        token_hash=token_hash(secret),
        scopes=checked,
        expires_at=expires_at,
        commit=False,
    )
    admin.record_audit(
        session,
        "token.create",
        actor=actor,
        target_type="token",
        target_id=row.id,
        details={
            "user": user.username,
            "name": label,
            "scopes": list(checked),
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
        ip=ip,
        commit=False,
    )
    _commit(session)
    return NewToken(
        token=secret,
        token_id=row.id,
        username=user.username,
        name=label,
        prefix=row.prefix,
        scopes=checked,
        expires_at=expires_at,
    )


def revoke_api_token(
    session: Session, token_id: int, /, *, actor: str, ip: str | None = None
) -> AccountChange:
    """Revoke a token for good; revoking a revoked token changes nothing."""
    token = admin.get_token(session, token_id)
    if token is None:
        raise StoreError("admin.token_not_found", token_id=token_id)
    user = admin.get_user_by_id(session, token.user_id)
    if user is None:  # pragma: no cover - a foreign key keeps every token's user
        raise StoreError("admin.token_not_found", token_id=token_id)
    if token.revoked_at is not None:
        return AccountChange(user, changed=False)
    admin.revoke_token(session, token_id, commit=False)
    admin.record_audit(
        session,
        "token.revoke",
        actor=actor,
        target_type="token",
        target_id=token_id,
        details={"user": user.username, "name": token.name},
        ip=ip,
        commit=False,
    )
    _commit(session)
    return AccountChange(user, changed=True)


def _usable(token: ApiToken, user: User, now: datetime) -> bool:
    if token.revoked_at is not None or not user.active:
        return False
    return token.expires_at is None or token.expires_at > now


def verify_api_token(
    session: Session, token: str, /, *, now: datetime | None = None
) -> Principal | None:
    """The principal behind a bearer token, or ``None`` (unknown, revoked, expired, or its
    user disabled). Notes when it was used (at most every :data:`TOKEN_TOUCH_INTERVAL`)."""
    if not looks_like_token(token):
        return None
    found = admin.find_token(session, token_hash(token))
    moment = now or utcnow()
    if found is None or not _usable(found[0], found[1], moment):
        return None
    row, user = found
    if row.last_used_at is None or moment - row.last_used_at >= TOKEN_TOUCH_INTERVAL:
        admin.touch_token(session, row.id, when=moment)
    return Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        display_name=user.display_name,
        email=user.email,
        via="token",
        scopes=frozenset(str(s) for s in row.scopes),
        token_id=row.id,
    )
