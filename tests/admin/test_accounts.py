"""Users, sign-in, API tokens and the audit log through the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from allegiance.errors import StoreError, ValidationError
from allegiance.security import accounts, passwords
from allegiance.security.accounts import (
    authenticate,
    create_api_token,
    create_user,
    load_principal,
    normalize_username,
    revoke_api_token,
    set_active,
    set_password,
    set_role,
    verify_api_token,
)
from allegiance.store import admin
from allegiance.store.models import ApiToken, AuditEntry, User, utcnow

PW = "correct horse battery"
ACTOR = "cli:tester"


def _actions(session: Session) -> list[str]:
    return [e.action for e in reversed(admin.list_audit(session, limit=None))]


@pytest.fixture
def alice(session: Session) -> User:
    return create_user(session, "Alice", role="admin", password=PW, actor=ACTOR)


# ------------------------------------------------------------------------- users


def test_create_user_normalises_hashes_and_audits(session: Session, alice: User) -> None:
    assert alice.username == "alice"
    assert alice.password_hash is not None
    assert alice.password_hash.startswith("$argon2id$")
    assert PW not in alice.password_hash
    assert alice.active
    assert alice.role == "admin"
    assert alice.password_changed_at is not None
    [entry] = admin.list_audit(session)
    assert (entry.action, entry.actor, entry.target_type, entry.target_id) == (
        "user.create",
        ACTOR,
        "user",
        "alice",
    )
    assert entry.details == {"role": "admin", "password": True}


def test_duplicate_username_is_refused_and_nothing_audited(session: Session, alice: User) -> None:
    with pytest.raises(StoreError) as info:
        create_user(session, "ALICE", role="viewer", password=PW + "x", actor=ACTOR)
    assert info.value.key == "admin.user_exists"
    assert _actions(session) == ["user.create"]
    assert len(admin.list_users(session)) == 1


def test_policy_role_and_name_are_checked_before_anything_is_written(session: Session) -> None:
    with pytest.raises(ValidationError, match="at least 10"):
        create_user(session, "bob", role="viewer", password="short", actor=ACTOR)
    with pytest.raises(ValidationError, match="Unknown role"):
        create_user(session, "bob", role="owner", password=PW, actor=ACTOR)
    with pytest.raises(ValidationError, match="not a valid username"):
        create_user(session, "-bob", role="viewer", password=PW, actor=ACTOR)
    with pytest.raises(ValidationError, match="e-mail"):
        create_user(session, "bob", role="viewer", password=PW, actor=ACTOR, email="bob at x")
    assert admin.list_users(session) == []
    assert admin.list_audit(session) == []


@pytest.mark.parametrize(
    ("given", "stored"),
    [("Alice", "alice"), (" bob.smith@corp ", "bob.smith@corp"), ("张伟", "张伟"), ("ＡＢ", "ab")],
)
def test_username_normalisation(given: str, stored: str) -> None:
    assert normalize_username(given) == stored


@pytest.mark.parametrize("bad", ["", "a", "_x", "has space", "semi;colon", "x" * 101])
def test_invalid_usernames(bad: str) -> None:
    with pytest.raises(ValidationError):
        normalize_username(bad)


def test_the_database_refuses_an_unknown_role(session: Session) -> None:
    with pytest.raises(StoreError):
        admin.add_user(session, username="mallory", role="root", password_hash=None)


def test_set_role_disable_enable_are_audited_and_no_ops_are_not(
    session: Session, alice: User
) -> None:
    create_user(session, "bob", role="viewer", password=PW, actor=ACTOR)
    assert set_role(session, "bob", "analyst", actor=ACTOR).changed
    assert not set_role(session, "bob", "analyst", actor=ACTOR).changed
    assert set_active(session, "bob", False, actor=ACTOR).changed
    assert not set_active(session, "bob", False, actor=ACTOR).changed
    assert set_active(session, "bob", True, actor=ACTOR).changed
    set_password(session, "bob", "a brand new password", actor=ACTOR)
    assert _actions(session) == [
        "user.create",
        "user.create",
        "user.set_role",
        "user.disable",
        "user.enable",
        "user.set_password",
    ]
    role_entry = admin.list_audit(session, action="user.set_role")[0]
    assert role_entry.details == {"from": "viewer", "to": "analyst"}
    for entry in admin.list_audit(session, limit=None):
        assert PW not in repr(entry.details)
        assert "brand new" not in repr(entry.details)


def test_the_last_active_admin_stays(session: Session, alice: User) -> None:
    with pytest.raises(ValidationError) as info:
        set_role(session, "alice", "viewer", actor=ACTOR)
    assert info.value.key == "security.last_admin"
    with pytest.raises(ValidationError):
        set_active(session, "alice", False, actor=ACTOR)
    create_user(session, "carol", role="admin", password=PW, actor=ACTOR)
    set_active(session, "carol", False, actor=ACTOR)  # carol may go: alice is still admin
    with pytest.raises(ValidationError):
        set_active(session, "alice", False, actor=ACTOR)  # a disabled admin does not count
    set_active(session, "carol", True, actor=ACTOR)
    assert set_role(session, "alice", "viewer", actor=ACTOR).changed
    assert [u.username for u in admin.list_users(session, role="admin")] == ["carol"]


def test_unknown_user_is_a_clear_error(session: Session) -> None:
    with pytest.raises(StoreError) as info:
        set_role(session, "nobody", "viewer", actor=ACTOR)
    assert info.value.key == "admin.user_not_found"
    assert "allegiance users list" in info.value.render("en")


# ----------------------------------------------------------------------- sign-in


def test_authenticate(session: Session, alice: User) -> None:
    principal = authenticate(session, "ALICE", PW, ip="192.0.2.7")
    assert principal is not None
    assert (principal.username, principal.role, principal.via) == ("alice", "admin", "password")
    assert principal.can("users.manage")
    assert principal.actor == "alice"
    assert admin.get_user(session, "alice").last_login_at is not None  # type: ignore[union-attr]
    assert authenticate(session, "alice", PW + "!", ip="192.0.2.7") is None
    assert authenticate(session, "mallory", PW) is None
    assert authenticate(session, "not a name!", PW) is None
    entries = admin.list_audit(session, action="auth", limit=None)[::-1]
    assert [(e.action, e.target_id, e.details.get("reason", None))
            for e in entries] == [
        ("auth.login", "alice", None),
        ("auth.login_failed", "alice", "password"),
        ("auth.login_failed", None, "unknown_user"),
        ("auth.login_failed", None, "unknown_user"),
    ]  # fmt: skip
    assert entries[0].ip == "192.0.2.7"
    # an unknown name (perhaps a password typed in the wrong field) is not kept
    assert all("mallory" not in repr((e.actor, e.target_id, e.details)) for e in entries)


def test_a_disabled_user_cannot_sign_in(session: Session, alice: User) -> None:
    create_user(session, "bob", role="viewer", password=PW, actor=ACTOR)
    bob = admin.get_user(session, "bob")
    assert bob is not None
    assert load_principal(session, bob.id) is not None
    set_active(session, "bob", False, actor=ACTOR)
    assert authenticate(session, "bob", PW) is None
    assert load_principal(session, bob.id) is None
    assert load_principal(session, 99999) is None
    assert admin.list_audit(session, action="auth.login_failed")[0].details == {
        "reason": "disabled"
    }


def test_a_user_without_password_cannot_sign_in(session: Session) -> None:
    create_user(session, "robot", role="analyst", password=None, actor=ACTOR)
    assert authenticate(session, "robot", "") is None
    assert authenticate(session, "robot", PW) is None


def test_login_rehashes_an_outdated_hash(
    session: Session, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # alice's hash was made with the tests' cheap parameters; sign in with the real ones
    monkeypatch.setattr(passwords, "password_hasher", lambda: PasswordHasher())
    old = alice.password_hash
    assert old is not None
    assert ",t=1," in old
    assert authenticate(session, "alice", PW) is not None
    stored = session.scalar(select(User.password_hash).where(User.username == "alice"))
    assert stored != old
    assert stored is not None
    assert "m=65536,t=3,p=4" in stored
    assert admin.list_audit(session, action="auth.login")[0].details == {"rehashed": True}
    assert authenticate(session, "alice", PW) is not None  # the new hash works, kept as is
    assert session.scalar(select(User.password_hash).where(User.username == "alice")) == stored


# ------------------------------------------------------------------------ tokens


def test_token_lifecycle(session: Session, alice: User) -> None:
    create_user(session, "bob", role="analyst", password=None, actor=ACTOR)
    made = create_api_token(
        session,
        "bob",
        name="ci",
        scopes=["analyses.view", "responses.export_raw"],
        actor=ACTOR,
        expires_in=timedelta(days=30),
    )
    assert made.scopes == ("analyses.view", "responses.export_raw")
    # the database holds its hash and prefix, never the token
    stored = session.scalars(select(ApiToken)).one()
    assert made.token not in repr(
        [getattr(stored, c.key) for c in ApiToken.__table__.columns]  # type: ignore[attr-defined]
    )
    assert stored.token_hash == accounts.token_hash(made.token)
    entry = admin.list_audit(session, action="token.create")[0]
    assert made.token not in repr(entry.details)
    assert entry.details["scopes"] == list(made.scopes)

    principal = verify_api_token(session, made.token)
    assert principal is not None
    assert principal.via == "token"
    assert principal.token_id == made.token_id
    assert principal.can("analyses.view")
    assert principal.can("responses.export_raw")
    assert not principal.can("surveys.manage")  # the role allows it, the scopes do not
    assert (
        verify_api_token(session, made.token[:-1] + ("A" if made.token[-1] != "A" else "B")) is None
    )
    assert verify_api_token(session, "Bearer " + made.token) is None

    # demoting the user narrows the token at once
    set_role(session, "bob", "viewer", actor=ACTOR)
    demoted = verify_api_token(session, made.token)
    assert demoted is not None
    assert demoted.can("analyses.view")
    assert not demoted.can("responses.export_raw")

    # disabled user: no token; enabled again: the token works again
    set_active(session, "bob", False, actor=ACTOR)
    assert verify_api_token(session, made.token) is None
    set_active(session, "bob", True, actor=ACTOR)
    assert verify_api_token(session, made.token) is not None

    # expiry
    later = utcnow() + timedelta(days=31)
    assert verify_api_token(session, made.token, now=later) is None

    # revocation is final
    assert revoke_api_token(session, made.token_id, actor=ACTOR).changed
    assert not revoke_api_token(session, made.token_id, actor=ACTOR).changed
    assert verify_api_token(session, made.token) is None
    assert [a for a in _actions(session) if a.startswith("token")] == [
        "token.create",
        "token.revoke",
    ]


def test_token_rules(session: Session, alice: User) -> None:
    create_user(session, "vera", role="viewer", password=PW, actor=ACTOR)
    with pytest.raises(ValidationError) as info:
        create_api_token(session, "vera", name="x", scopes=["responses.export_raw"], actor=ACTOR)
    assert info.value.key == "security.scope_beyond_role"
    made = create_api_token(session, "vera", name="dash", scopes=["analyses.view"], actor=ACTOR)
    assert made.expires_at is None
    with pytest.raises(ValidationError) as info:
        create_api_token(session, "vera", name="dash", scopes=["analyses.view"], actor=ACTOR)
    assert info.value.key == "security.token_name_taken"
    revoke_api_token(session, made.token_id, actor=ACTOR)
    create_api_token(session, "vera", name="dash", scopes=["analyses.view"], actor=ACTOR)
    with pytest.raises(ValidationError):
        create_api_token(
            session,
            "vera",
            name="y",
            scopes=["analyses.view"],
            actor=ACTOR,
            expires_in=timedelta(0),
        )
    set_active(session, "vera", False, actor=ACTOR)
    with pytest.raises(ValidationError) as info:
        create_api_token(session, "vera", name="z", scopes=["analyses.view"], actor=ACTOR)
    assert info.value.key == "security.user_disabled"
    with pytest.raises(StoreError):
        revoke_api_token(session, 4242, actor=ACTOR)


def test_token_use_is_noted_but_not_on_every_request(session: Session, alice: User) -> None:
    made = create_api_token(session, "alice", name="t", scopes=["audit.view"], actor=ACTOR)
    now = utcnow()
    verify_api_token(session, made.token, now=now)
    first = session.scalar(select(ApiToken.last_used_at))
    verify_api_token(session, made.token, now=now + timedelta(seconds=30))
    assert session.scalar(select(ApiToken.last_used_at)) == first
    verify_api_token(session, made.token, now=now + timedelta(minutes=6))
    assert session.scalar(select(ApiToken.last_used_at)) != first


# --------------------------------------------------------------------- audit log


def test_audit_log_is_append_only_in_the_database(engine: Engine, session: Session) -> None:
    admin.record_audit(session, "test.entry", actor="someone", details={"n": 1})
    for statement in ("UPDATE audit_log SET actor = 'forger'", "DELETE FROM audit_log"):
        with pytest.raises(SQLAlchemyError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    if engine.dialect.name == "postgresql":
        with pytest.raises(SQLAlchemyError, match="append-only"), engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_log")).scalars().all() == ["someone"]
    # no function of the store changes or deletes an entry
    assert not [
        n for n in admin.__all__ if any(w in n for w in ("delete", "update_audit", "purge"))
    ]


def test_audit_filters_and_frame(engine: Engine, session: Session) -> None:
    t0 = utcnow()
    for i, (action, actor) in enumerate(
        [("user.create", "a"), ("user.disable", "b"), ("db.backup", "a"), ("userx.odd", "a")]
    ):
        admin.record_audit(
            session, action, actor=actor, target_id=i, when=t0 + timedelta(minutes=i), ip="::1"
        )
    assert [e.action for e in admin.list_audit(session, action="user")] == [
        "user.disable",
        "user.create",
    ]  # a family matches its own actions, not "userx"
    assert len(admin.list_audit(session, actor="a")) == 3
    assert len(admin.list_audit(session, since=t0 + timedelta(minutes=1, seconds=30))) == 2
    assert len(admin.list_audit(session, until=t0 + timedelta(minutes=1))) == 1
    newest = admin.list_audit(session, limit=2)
    assert [e.target_id for e in newest] == ["3", "2"]
    assert [e.target_id for e in admin.list_audit(session, before_id=newest[-1].id)] == ["1", "0"]
    frame = admin.audit_frame(engine, actor="a", limit=2)
    assert list(frame.columns) == list(admin.AUDIT_COLUMNS)
    assert frame["action"].tolist() == ["db.backup", "userx.odd"]  # newest two, oldest first
    assert str(frame["occurred_at"].dt.tz) == "UTC"
    assert frame["ip"].tolist() == ["::1", "::1"]


def test_record_audit_checks_its_input(session: Session) -> None:
    with pytest.raises(StoreError):
        admin.record_audit(session, "", actor="x")
    with pytest.raises(StoreError):
        admin.record_audit(session, "x", actor="a" * 201)
    with pytest.raises(StoreError):
        admin.record_audit(session, "x", actor="a", details={"when": object()})
    entry = admin.record_audit(session, "x", actor="a", ip="not-an-ip")
    assert entry.ip == "not-an-ip"
    assert session.scalar(select(AuditEntry.ip).where(AuditEntry.id == entry.id)) == "not-an-ip"
