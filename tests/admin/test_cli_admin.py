"""The ``users``, ``db`` and ``audit-log`` commands on SQLite and PostgreSQL.

Each test gets an empty database (a SQLite file, or a fresh PostgreSQL schema) and reaches
it with ``--url``; every admin command must leave its entry in the audit log.

The commands run in a small tree holding only these groups (and ``init``), with the real
app's error handling: Typer rebuilds the whole tree at every invocation, which costs seconds
on a busy machine. tests/cli/test_help.py checks that the real tree registers them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from allegiance.cli import audit_log, project
from allegiance.cli import db as db_cli
from allegiance.cli import users as users_cli
from allegiance.cli.app import AllegianceGroup
from allegiance.cli.app import app as full_app
from allegiance.security import accounts
from allegiance.store import db

runner = CliRunner()
app = typer.Typer(cls=AllegianceGroup, no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(users_cli.users_app, name="users")
app.add_typer(db_cli.db_app, name="db")
app.command("audit-log")(audit_log.audit_log)
app.command("init")(project.init)


def test_the_real_tree_has_these_commands() -> None:
    names = {c.name for c in full_app.registered_commands} | {
        g.name for g in full_app.registered_groups
    }
    assert {"users", "db", "audit-log", "init"} <= names
    sub = {c.name for c in users_cli.users_app.registered_commands}
    assert {"create", "list", "set-role", "disable", "enable", "set-password", "roles"} <= sub


PW = "correct horse battery"


def run(*args: str, input: str | None = None, code: int = 0) -> str:
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == code, (args, result.output)
    return result.output


def run_json(*args: str) -> dict[str, Any]:
    data = json.loads(run(*args, "--format", "json"))
    assert data["command"]
    assert "result" in data
    result: dict[str, Any] = data["result"]
    return result


def audit(url: str, *extra: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = run_json("audit-log", "--url", url, *extra)["entries"]
    return entries


@pytest.fixture
def url(db_url: str) -> str:
    run("db", "upgrade", "--url", db_url)
    return db_url


def test_users_lifecycle(url: str) -> None:
    me = accounts.cli_actor()
    # created with the prompt (twice, no echo) and from standard input
    out = run("users", "create", "Alice", "--role", "admin", "--url", url, input=f"{PW}\n{PW}\n")
    assert "Created user alice with role admin" in out
    assert PW not in out
    run(
        "users", "create", "bob", "--role", "viewer", "--email", "bob@example.com",
        "--name", "张伟", "--password-stdin", "--url", url, input=PW + "\n",
    )  # fmt: skip
    run("users", "create", "robot", "--role", "analyst", "--no-password", "--url", url)

    listed = run_json("users", "list", "--url", url)
    assert [(u["username"], u["role"], u["active"], u["password"]) for u in listed["users"]] == [
        ("alice", "admin", True, True),
        ("bob", "viewer", True, True),
        ("robot", "analyst", True, False),
    ]
    assert listed["users"][1]["display_name"] == "张伟"
    csv = run("users", "list", "--url", url, "--format", "csv")
    assert csv.splitlines()[0].startswith("username,display_name,email,role,active")

    run("users", "set-role", "bob", "analyst", "--url", url)
    out = run("users", "set-role", "bob", "analyst", "--url", url)
    assert "nothing changed" in out
    run("users", "disable", "bob", "--url", url)
    run("users", "enable", "bob", "--url", url)
    run(
        "users", "set-password", "bob", "--password-stdin", "--url", url, input="a newer password\n"
    )

    made = run_json(
        "users", "token", "create", "robot", "--scopes", "analyses.view,responses.export_raw",
        "--name", "ci", "--expires-days", "7", "--url", url,
    )  # fmt: skip
    token = made["token"]
    assert made["scopes"] == ["analyses.view", "responses.export_raw"]
    listed_tokens = run_json("users", "token", "list", "--url", url)["tokens"]
    assert [(t["token_id"], t["username"], t["name"]) for t in listed_tokens] == [
        (made["token_id"], "robot", "ci")
    ]
    assert token not in json.dumps(listed_tokens)

    engine = db.make_engine(url)
    try:
        with db.session_factory(engine)() as s:
            principal = accounts.verify_api_token(s, token)
            assert principal is not None
            assert principal.can("responses.export_raw")
            assert accounts.authenticate(s, "bob", "a newer password", audit=False) is not None
        run("users", "token", "revoke", str(made["token_id"]), "--url", url)
        with db.session_factory(engine)() as s:
            assert accounts.verify_api_token(s, token) is None
    finally:
        engine.dispose()
    assert run_json("users", "token", "list", "--url", url)["tokens"] == []
    assert (
        len(run_json("users", "token", "list", "robot", "--revoked", "--url", url)["tokens"]) == 1
    )

    entries = audit(url)
    assert [(e["action"], e["target_id"]) for e in entries] == [
        ("db.upgrade", "sqlite" if url.startswith("sqlite") else "postgresql"),
        ("user.create", "alice"),
        ("user.create", "bob"),
        ("user.create", "robot"),
        ("user.set_role", "bob"),
        ("user.disable", "bob"),
        ("user.enable", "bob"),
        ("user.set_password", "bob"),
        ("token.create", str(made["token_id"])),
        ("token.revoke", str(made["token_id"])),
    ]
    assert {e["actor"] for e in entries} == {me}
    everything = json.dumps(entries, ensure_ascii=False)
    assert PW not in everything
    assert token not in everything
    assert "newer password" not in everything

    # filters
    assert [e["action"] for e in audit(url, "--action", "token")] == [
        "token.create",
        "token.revoke",
    ]
    assert audit(url, "--actor", "someone-else") == []
    assert len(audit(url, "--since", "1h", "--limit", "3")) == 3
    assert audit(url, "--until", "2000-01-01") == []


def test_refusals_write_nothing(url: str) -> None:
    # the prompts disagree
    out = run(
        "users", "create", "alice", "--role", "admin", "--url", url,
        input=f"{PW}\n{PW}x\n{PW}\n{PW}x\n{PW}\n{PW}x\n", code=1,
    )  # fmt: skip
    assert "do not match" in out or "不一致" in out or "Aborted" in out
    # policy, role, duplicate, unknown user, last admin
    assert "at least 10" in run(
        "users", "create", "alice", "--role", "admin", "--password-stdin", "--url", url,
        input="short\n", code=2,
    )  # fmt: skip
    assert "Unknown role" in run(
        "users", "create", "alice", "--role", "root", "--no-password", "--url", url, code=2
    )
    run("users", "create", "alice", "--role", "admin", "--no-password", "--url", url)
    assert "already exists" in run(
        "users", "create", "alice", "--role", "viewer", "--no-password", "--url", url, code=2
    )
    assert "No user named nobody" in run("users", "disable", "nobody", "--url", url, code=2)
    assert "last active admin" in run("users", "disable", "alice", "--url", url, code=2)
    assert "last active admin" in run("users", "set-role", "alice", "viewer", "--url", url, code=2)
    assert "Unknown permission" in run(
        "users", "token", "create", "alice", "--scopes", "nonsense", "--url", url, code=2
    )
    run("users", "create", "vera", "--role", "viewer", "--no-password", "--url", url)
    assert "not allowed to the role viewer" in run(
        "users", "token", "create", "vera", "--scopes", "responses.export_raw", "--url", url, code=2
    )
    actions = [e["action"] for e in audit(url)]
    assert actions == ["db.upgrade", "user.create", "user.create"]


def test_the_password_is_never_an_option(db_url: str) -> None:
    help_text = run("users", "create", "--help")
    assert "--password-stdin" in help_text
    assert "--password " not in help_text
    assert "--password=" not in help_text
    out = run("users", "create", "x1", "--role", "admin", "--password", PW, "--url", db_url, code=2)
    assert "No such option" in out or "--password" in out


def test_an_old_database_is_refused_with_the_way_out(db_url: str) -> None:
    out = run("users", "list", "--url", db_url, code=2)
    assert "allegiance db upgrade" in out
    current = run_json("db", "current", "--url", db_url)
    assert current["revision"] is None
    assert current["current"] is False
    db.upgrade(db_url, "0003")
    assert "0003" in run("users", "list", "--url", db_url, code=2)
    upgraded = run_json("db", "upgrade", "--url", db_url)
    assert (upgraded["from"], upgraded["to"]) == ("0003", db.heads()[0])
    assert run_json("db", "current", "--url", db_url)["current"] is True
    again = run("db", "upgrade", "--url", db_url)
    assert "already at the newest revision" in again
    assert [e["action"] for e in audit(db_url)] == ["db.upgrade"]  # the no-op is not audited


def test_the_project_folder_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run("init", str(tmp_path / "p"))
    run(
        "users",
        "create",
        "alice",
        "--role",
        "admin",
        "--no-password",
        "--project",
        str(tmp_path / "p"),
    )
    monkeypatch.chdir(tmp_path / "p")
    assert [u["username"] for u in run_json("users", "list")["users"]] == ["alice"]
    monkeypatch.chdir(tmp_path)
    assert "not" in run("users", "list", code=2).lower()  # not a project folder


def test_roles_command_and_chinese_messages() -> None:
    roles = run_json("users", "roles")
    assert roles["matrix"]["responses.export_raw"]["viewer"] is False
    table = run("users", "roles", "--lang", "zh")
    assert "导出原始答卷" in table
    out = run("audit-log", "--since", "yesterday", "--url", "sqlite:///x.db", code=2)
    assert "--since" in out
    assert "7d" in out
