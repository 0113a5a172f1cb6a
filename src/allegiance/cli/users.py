"""``allegiance users ...``: people who use the web pages and the API, their roles and tokens.

- ``users create USERNAME --role ROLE [--email] [--name] [--password-stdin | --no-password]``:
  the password is asked twice without echo (or read from standard input); it is never an
  option, so it never lands in the shell history or the process list;
- ``users list``, ``users set-role USERNAME ROLE``, ``users disable|enable USERNAME``,
  ``users set-password USERNAME``;
- ``users roles``: what each role may do;
- ``users token create USERNAME --scopes ...`` (the token is shown once), ``users token
  list``, ``users token revoke TOKEN_ID``.

Every change goes through :mod:`allegiance.security.accounts` and is recorded in the audit
log. Which database: see :mod:`allegiance.cli.db`.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer

from allegiance.cli.common import FormatOpt, LangOpt, OutputFormat, ProjectOpt, h
from allegiance.cli.db import Outcome, UrlOpt, actor, open_session, report, resolve_target
from allegiance.i18n import Message, t

if TYPE_CHECKING:
    from allegiance.store.models import User

users_app = typer.Typer(
    name="users",
    help=h("cli.users.help"),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
token_app = typer.Typer(
    name="token",
    help=h("cli.users.token.help"),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

UsernameArg = Annotated[str, typer.Argument(help=h("cli.users.opt.username"), show_default=False)]
RoleArg = Annotated[str, typer.Argument(help=h("cli.users.opt.role"), show_default=False)]
PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help=h("cli.users.opt.password_stdin"))
]

DEFAULT_TOKEN_DAYS = 90


def _read_password(*, from_stdin: bool) -> str:
    from allegiance.errors import ValidationError

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(
            t("cli.users.password_prompt"),
            hide_input=True,
            confirmation_prompt=t("cli.users.password_again"),
        )
    if not password:
        raise ValidationError("security.password_empty")
    return str(password)


def _user_row(user: User, n_tokens: int | None = None) -> dict[str, object]:
    row: dict[str, object] = {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "role": user.role,
        "active": bool(user.active),
        "password": user.password_hash is not None,
        "created_at": user.created_at,
        "last_login_at": user.last_login_at,
    }
    if n_tokens is not None:
        row["tokens"] = n_tokens
    return row


def create(
    username: UsernameArg,
    role: Annotated[str, typer.Option("--role", "-r", help=h("cli.users.opt.role"))],
    email: Annotated[str | None, typer.Option("--email", help=h("cli.users.opt.email"))] = None,
    name: Annotated[str | None, typer.Option("--name", help=h("cli.users.opt.name"))] = None,
    password_stdin: PasswordStdinOpt = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help=h("cli.users.opt.no_password"))
    ] = False,
    project: ProjectOpt = None,
    url: UrlOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
) -> None:
    from allegiance.errors import StoreError, ValidationError
    from allegiance.security import accounts
    from allegiance.security.passwords import check_password_policy
    from allegiance.security.permissions import check_role
    from allegiance.store import admin

    target = resolve_target(project, url)
    check_role(role)
    normal = accounts.normalize_username(username)
    if no_password and password_stdin:
        raise ValidationError("cli.users.password_both")
    with open_session(target) as session:
        # said before the password is asked: a database not reachable, a name taken
        if admin.get_user(session, normal) is not None:
            raise StoreError("admin.user_exists", username=normal)
        password = None
        if not no_password:
            password = _read_password(from_stdin=password_stdin)
            check_password_policy(password, username=normal)
        user = accounts.create_user(
            session,
            normal,
            role=role,
            password=password,
            email=email,
            display_name=name,
            actor=actor(),
        )
    report(
        Outcome(
            Message("cli.users.created", {"username": user.username, "role": user.role}),
            _user_row(user),
        ),
        command="users create",
        inputs={"username": username, "role": role, "email": email, "url": target.shown},
        fmt=fmt,
    )


def list_users(
    role: Annotated[
        str | None, typer.Option("--role", "-r", help=h("cli.users.opt.role_filter"))
    ] = None,
    project: ProjectOpt = None,
    url: UrlOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
) -> None:
    from allegiance.store import admin

    target = resolve_target(project, url)
    with open_session(target) as session:
        users = admin.list_users(session, role=role)
        counts: dict[int, int] = {}
        for token, _ in admin.list_tokens(session):
            counts[token.user_id] = counts.get(token.user_id, 0) + 1
        rows = [_user_row(u, counts.get(u.id, 0)) for u in users]
    columns = [
        "username",
        "display_name",
        "email",
        "role",
        "active",
        "password",
        "created_at",
        "last_login_at",
        "tokens",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    report(
        Outcome(None, {"users": rows, "n_users": len(rows)}, frames={"users": frame}),
        command="users list",
        inputs={"role": role, "url": target.shown},
        fmt=fmt,
    )


def set_role(
    username: UsernameArg,
    role: RoleArg,
    project: ProjectOpt = None,
    url: UrlOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
) -> None:
    from allegiance.security import accounts

    target = resolve_target(project, url)
    with open_session(target) as session:
        change = accounts.set_role(session, username, role, actor=actor())
    key = "cli.users.role_set" if change.changed else "cli.users.role_unchanged"
    report(
        Outcome(
            Message(key, {"username": change.user.username, "role": change.user.role}),
            {**_user_row(change.user), "changed": change.changed},
        ),
        command="users set-role",
        inputs={"username": username, "role": role, "url": target.shown},
        fmt=fmt,
    )


def _set_active(
    username: str, active: bool, project: Path | None, url: str | None, fmt: OutputFormat
) -> None:
    from allegiance.security import accounts

    target = resolve_target(project, url)
    with open_session(target) as session:
        change = accounts.set_active(session, username, active, actor=actor())
    state = "enabled" if active else "disabled"
    key = f"cli.users.{state}" if change.changed else f"cli.users.already_{state}"
    report(
        Outcome(
            Message(key, {"username": change.user.username}),
            {**_user_row(change.user), "changed": change.changed},
        ),
        command="users enable" if active else "users disable",
        inputs={"username": username, "url": target.shown},
        fmt=fmt,
    )


def disable(
    username: UsernameArg,
    project: ProjectOpt = None,
    url: UrlOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
) -> None:
    _set_active(username, False, project, url, fmt)


def enable(
    username: UsernameArg,
    project: ProjectOpt = None,
    url: UrlOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
) -> None:
    _set_active(username, True, project, url, fmt)


def set_password(
    username: UsernameArg,
    password_stdin: PasswordStdinOpt = False,
    project: ProjectOpt = None,
    url: UrlOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
) -> None:
    from allegiance.security import accounts

    target = resolve_target(project, url)
    with open_session(target) as session:
        user = accounts.require_user(session, username)  # unknown user: said before the prompt
        password = _read_password(from_stdin=password_stdin)
        user = accounts.set_password(session, user.username, password, actor=actor())
    report(
        Outcome(Message("cli.users.password_set", {"username": user.username}), _user_row(user)),
        command="users set-password",
        inputs={"username": username, "url": target.shown},
        fmt=fmt,
    )


def roles(fmt: FormatOpt = OutputFormat.table, lang: LangOpt = None) -> None:
    from allegiance.security.permissions import ROLES, permission_matrix

    matrix = permission_matrix()
    rows = [
        {"permission": p, "meaning": t(f"security.perm.{p}"), **allowed}
        for p, allowed in matrix.items()
    ]
    frame = pd.DataFrame(rows, columns=["permission", "meaning", *ROLES])
    report(
        Outcome(None, {"roles": list(ROLES), "matrix": matrix}, frames={"permissions": frame}),
        command="users roles",
        inputs={},
        fmt=fmt,
    )


# -------------------------------------------------------------------------- tokens


def token_create(
    username: UsernameArg,
    scopes: Annotated[
        list[str],
        typer.Option("--scopes", "-s", help=h("cli.users.opt.scopes"), show_default=False),
    ],
    name: Annotated[
        str, typer.Option("--name", "-n", help=h("cli.users.opt.token_name"))
    ] = "default",
    expires_days: Annotated[
        int, typer.Option("--expires-days", min=0, help=h("cli.users.opt.expires_days"))
    ] = DEFAULT_TOKEN_DAYS,
    project: ProjectOpt = None,
    url: UrlOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
) -> None:
    from allegiance.security import accounts

    wanted = [s for value in scopes for s in value.replace(" ", ",").split(",") if s]
    target = resolve_target(project, url)
    with open_session(target) as session:
        made = accounts.create_api_token(
            session,
            username,
            name=name,
            scopes=wanted,
            expires_in=timedelta(days=expires_days) if expires_days else None,
            actor=actor(),
        )
    data = {
        "token": made.token,
        "token_id": made.token_id,
        "username": made.username,
        "name": made.name,
        "prefix": made.prefix,
        "scopes": list(made.scopes),
        "expires_at": made.expires_at,
    }
    if fmt is OutputFormat.table:
        from allegiance.cli.common import stderr, stdout

        stderr().print(
            t(
                "cli.users.token_created",
                token_id=made.token_id,
                username=made.username,
                scopes=", ".join(made.scopes),
                expires="-" if made.expires_at is None else made.expires_at.isoformat(),
            )
        )
        stdout().print(made.token, markup=False, highlight=False)
        stderr().print(t("cli.users.token_once"))
        return
    report(
        Outcome(None, data),
        command="users token create",
        inputs={"username": username, "scopes": wanted, "name": name, "url": target.shown},
        fmt=fmt,
    )


def token_list(
    username: Annotated[
        str | None, typer.Argument(help=h("cli.users.opt.username_filter"), show_default=False)
    ] = None,
    revoked: Annotated[bool, typer.Option("--revoked", help=h("cli.users.opt.revoked"))] = False,
    project: ProjectOpt = None,
    url: UrlOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
) -> None:
    from allegiance.security import accounts
    from allegiance.store import admin

    target = resolve_target(project, url)
    with open_session(target) as session:
        user_id = None
        if username is not None:
            user_id = accounts.require_user(session, username).id
        found = admin.list_tokens(session, user_id=user_id, include_revoked=revoked)
        rows = [
            {
                "token_id": tok.id,
                "username": user.username,
                "name": tok.name,
                "prefix": tok.prefix + "…",
                "scopes": ", ".join(str(s) for s in tok.scopes),
                "created_at": tok.created_at,
                "expires_at": tok.expires_at,
                "last_used_at": tok.last_used_at,
                "revoked_at": tok.revoked_at,
            }
            for tok, user in found
        ]
    columns = [
        "token_id",
        "username",
        "name",
        "prefix",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    report(
        Outcome(None, {"tokens": rows, "n_tokens": len(rows)}, frames={"tokens": frame}),
        command="users token list",
        inputs={"username": username, "revoked": revoked, "url": target.shown},
        fmt=fmt,
    )


def token_revoke(
    token_id: Annotated[int, typer.Argument(help=h("cli.users.opt.token_id"), show_default=False)],
    project: ProjectOpt = None,
    url: UrlOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
) -> None:
    from allegiance.security import accounts

    target = resolve_target(project, url)
    with open_session(target) as session:
        change = accounts.revoke_api_token(session, token_id, actor=actor())
    key = "cli.users.token_revoked" if change.changed else "cli.users.token_already_revoked"
    report(
        Outcome(
            Message(key, {"token_id": token_id, "username": change.user.username}),
            {"token_id": token_id, "username": change.user.username, "changed": change.changed},
        ),
        command="users token revoke",
        inputs={"token_id": token_id, "url": target.shown},
        fmt=fmt,
    )


def register(app: typer.Typer) -> None:
    users_app.command("create", help=h("cli.users.create.help"))(create)
    users_app.command("list", help=h("cli.users.list.help"))(list_users)
    users_app.command("set-role", help=h("cli.users.set_role.help"))(set_role)
    users_app.command("disable", help=h("cli.users.disable.help"))(disable)
    users_app.command("enable", help=h("cli.users.enable.help"))(enable)
    users_app.command("set-password", help=h("cli.users.set_password.help"))(set_password)
    users_app.command("roles", help=h("cli.users.roles.help"))(roles)
    token_app.command("create", help=h("cli.users.token.create.help"))(token_create)
    token_app.command("list", help=h("cli.users.token.list.help"))(token_list)
    token_app.command("revoke", help=h("cli.users.token.revoke.help"))(token_revoke)
    users_app.add_typer(token_app, name="token")
    app.add_typer(users_app, name="users")
