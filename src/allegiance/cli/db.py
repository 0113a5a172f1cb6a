"""``allegiance db ...``: the project database's schema, backups and restore.

- ``db upgrade``: bring the schema to this version's newest migration;
- ``db current``: the revision the database is at, and whether it is current;
- ``db backup [--out FILE]``: a consistent copy while the app runs (SQLite: the online
  backup API; PostgreSQL: ``pg_dump``), default ``backups/allegiance-<time>.db|.dump``;
- ``db restore FILE [--force]``: put a SQLite backup back (PostgreSQL: the documented
  ``pg_restore`` procedure, printed).

Which database: ``--url``, else ``ALLEGIANCE_DATABASE_URL``, else the project's (``--project``,
``ALLEGIANCE_PROJECT`` or the current folder). Every change is recorded in the audit log
(actor ``cli:<system user>``). The helpers here are shared by ``users`` and ``audit-log``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from allegiance.cli.common import FormatOpt, LangOpt, OutputFormat, ProjectOpt, envelope, h, stdout
from allegiance.i18n import Message, current_lang, t
from allegiance.results import plain

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

UrlOpt = Annotated[
    str | None,
    typer.Option("--url", help=h("cli.db.opt.url"), show_default=False),
]

db_app = typer.Typer(
    name="db",
    help=h("cli.db.help"),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


# ------------------------------------------------------------------ shared helpers


@dataclass(frozen=True)
class Target:
    """The database a command works on, and the project folder when there is one."""

    url: str
    root: Path | None

    @property
    def shown(self) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def backend(self) -> str:
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"


def resolve_target(project: Path | None, url: str | None) -> Target:
    """``--url``, else ``ALLEGIANCE_DATABASE_URL`` (no project needed), else the project's."""
    from allegiance.project import open_project
    from allegiance.settings import get_settings
    from allegiance.store.db import normalize_url

    if url:
        return Target(normalize_url(url), None)
    env = get_settings().database_url
    if env and project is None:
        return Target(normalize_url(env), None)
    opened = open_project(project)
    return Target(normalize_url(opened.database_url), opened.root)


@contextmanager
def open_engine(target: Target, *, current: bool = True) -> Iterator[Engine]:
    """An engine on the target; with ``current``, refuse a database not at the newest
    revision (a clear error that says to run ``allegiance db upgrade``)."""
    from allegiance.errors import StoreError
    from allegiance.store.db import current_revision, heads, make_engine

    engine = make_engine(target.url)
    try:
        if current:
            revision = current_revision(engine)
            head = heads()[0]
            if revision != head:
                raise StoreError(
                    "admin.db_not_current", url=target.shown, revision=revision or "-", head=head
                )
        yield engine
    finally:
        engine.dispose()


@contextmanager
def open_session(target: Target) -> Iterator[Session]:
    """A session on the target (which must be at the newest revision)."""
    from allegiance.store.db import session_factory

    with open_engine(target) as engine, session_factory(engine)() as session:
        yield session


@dataclass(frozen=True)
class Outcome:
    """What an admin command did: a sentence for people, data for JSON, tables for lists."""

    message: Message | None
    data: Mapping[str, Any]
    frames: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        if self.frames:
            return dict(self.frames)
        return {"result": pd.DataFrame([{k: plain(v) for k, v in self.data.items()}])}

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


def _cell(value: Any) -> str:
    from allegiance.cli.common import _fmt_cell

    if isinstance(value, (pd.Timestamp, datetime)):
        if pd.isna(value):
            return "-"
        return pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%SZ")
    return _fmt_cell(value)


# Columns of long free text that fold; the others (names, codes, times) stay on one line.
_FOLDED = frozenset({"details", "display_name", "email", "scopes", "meaning", "name"})


def list_table(name: str, frame: pd.DataFrame, width: int | None = None) -> Table:
    """A listing as a Rich table with translated headers: one line per row when it fits the
    console (long texts fold), else one block of ``field | value`` lines per row."""
    from rich.cells import cell_len

    from allegiance.i18n import label

    cells = [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
    headers = [label(str(col)) for col in frame.columns]
    need = 1
    for i, col in enumerate(frame.columns):
        widest = max([cell_len(headers[i]), *(cell_len(r[i]) for r in cells)])
        need += (min(widest, 24) if str(col) in _FOLDED else widest) + 3
    if need <= (width or stdout().width):
        table = Table(title=label(name), header_style="bold")
        for i, col in enumerate(frame.columns):
            numeric = pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(
                frame[col]
            )
            table.add_column(
                headers[i],
                justify="right" if numeric else "left",
                overflow="fold",
                no_wrap=str(col) not in _FOLDED,
            )
        for r in cells:
            table.add_row(*r)
        return table
    table = Table(title=label(name), show_header=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for n, r in enumerate(cells):
        if n:
            table.add_section()
        for head, value in zip(headers, r, strict=True):
            table.add_row(head, value)
    return table


def report(
    outcome: Outcome,
    *,
    command: str,
    inputs: Mapping[str, Any],
    fmt: OutputFormat,
) -> None:
    """Print an :class:`Outcome`: its sentence (and listings) for people, the envelope in
    JSON, the one table in CSV."""
    from allegiance.cli.common import emit, stderr

    lang = current_lang()
    if fmt is OutputFormat.json:
        env = envelope(command, inputs, outcome.to_dict(), outcome.warnings)
        sys.stdout.write(json.dumps(env, ensure_ascii=False, indent=2) + "\n")
        return
    if fmt is OutputFormat.csv:
        emit(outcome, command=command, inputs=inputs, fmt=fmt)
        return
    con = stdout()
    for name, frame in outcome.frames.items():
        con.print(list_table(name, frame))
    for w in outcome.warnings:
        stderr().print(f"[yellow]{t('common.warning', lang)}:[/yellow] {w.render(lang)}")
    if outcome.message is not None:
        from rich.markup import escape

        con.print(escape(outcome.message.render(lang)))


def actor() -> str:
    from allegiance.security.accounts import cli_actor

    return cli_actor()


# ------------------------------------------------------------------------ commands


def upgrade(
    project: ProjectOpt = None,
    url: UrlOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
) -> None:
    from allegiance.store import admin
    from allegiance.store.db import current_revision, heads, session_factory
    from allegiance.store.db import upgrade as migrate

    target = resolve_target(project, url)
    with open_engine(target, current=False) as engine:
        before = current_revision(engine)
        migrate(engine)
        after = current_revision(engine)
        if after != before:
            with session_factory(engine)() as session:
                admin.record_audit(
                    session,
                    "db.upgrade",
                    actor=actor(),
                    target_type="database",
                    target_id=target.backend,
                    details={"from": before, "to": after},
                )
    data = {"database": target.shown, "from": before, "to": after, "head": heads()[0]}
    key = "cli.db.upgraded" if after != before else "cli.db.already_current"
    report(
        Outcome(Message(key, {"database": target.shown, "from": before or "-", "to": after}), data),
        command="db upgrade",
        inputs={"project": project, "url": target.shown},
        fmt=fmt,
    )


def current(
    project: ProjectOpt = None,
    url: UrlOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
) -> None:
    from allegiance.store.db import current_revision, heads

    target = resolve_target(project, url)
    with open_engine(target, current=False) as engine:
        revision = current_revision(engine)
    head = heads()[0]
    data = {
        "database": target.shown,
        "backend": target.backend,
        "revision": revision,
        "head": head,
        "current": revision == head,
    }
    key = "cli.db.is_current" if revision == head else "cli.db.is_behind"
    report(
        Outcome(
            Message(key, {"database": target.shown, "revision": revision or "-", "head": head}),
            data,
        ),
        command="db current",
        inputs={"project": project, "url": target.shown},
        fmt=fmt,
    )


def backup(
    project: ProjectOpt = None,
    url: UrlOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help=h("cli.db.opt.backup_out"), dir_okay=False)
    ] = None,
    force: Annotated[bool, typer.Option("--force", help=h("cli.db.opt.backup_force"))] = False,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
) -> None:
    from allegiance.store import admin
    from allegiance.store.backup import backup_database, default_backup_name
    from allegiance.store.db import session_factory

    target = resolve_target(project, url)
    if out is None:
        folder = target.root / "backups" if target.root is not None else Path.cwd()
        out = folder / default_backup_name(target.url)
    with open_engine(target, current=False) as engine:
        info = backup_database(target.url, out, force=force)
        from sqlalchemy import inspect

        if "audit_log" in inspect(engine).get_table_names():
            with session_factory(engine)() as session:
                admin.record_audit(
                    session,
                    "db.backup",
                    actor=actor(),
                    target_type="database",
                    target_id=target.backend,
                    details={
                        "file": str(info.path),
                        "sha256": info.sha256,
                        "size_bytes": info.size_bytes,
                        "revision": info.revision,
                    },
                )
    report(
        Outcome(
            Message(
                "cli.db.backed_up",
                {
                    "file": str(info.path),
                    "size": f"{info.size_bytes:,}",
                    "seconds": f"{info.seconds:.2f}",
                },
            ),
            {"database": target.shown, **info.to_dict()},
        ),
        command="db backup",
        inputs={"project": project, "url": target.shown, "out": out},
        fmt=fmt,
    )


def restore(
    file: Annotated[Path, typer.Argument(help=h("cli.db.opt.restore_file"), show_default=False)],
    project: ProjectOpt = None,
    url: UrlOpt = None,
    force: Annotated[bool, typer.Option("--force", help=h("cli.db.opt.restore_force"))] = False,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
) -> None:
    from allegiance.errors import StoreError
    from allegiance.store import admin
    from allegiance.store.backup import pg_restore_command, restore_sqlite
    from allegiance.store.db import session_factory

    target = resolve_target(project, url)
    if target.backend != "sqlite":
        raise StoreError("admin.pg_restore_manual", command=pg_restore_command(target.url, file))
    info = restore_sqlite(file, target.url, force=force)
    warnings: tuple[Message, ...] = ()
    with open_engine(target, current=False) as engine:
        from sqlalchemy import inspect

        if "audit_log" in inspect(engine).get_table_names():
            with session_factory(engine)() as session:
                admin.record_audit(
                    session,
                    "db.restore",
                    actor=actor(),
                    target_type="database",
                    target_id="sqlite",
                    details={
                        "file": str(info.source),
                        "revision": info.revision,
                        "previous": None if info.previous is None else str(info.previous),
                    },
                )
    if info.needs_upgrade:
        warnings = (
            Message(
                "cli.db.restored_old", {"revision": info.revision or "-", "head": info.head or "-"}
            ),
        )
    report(
        Outcome(
            Message(
                "cli.db.restored",
                {
                    "file": str(info.source),
                    "database": str(info.database),
                    "previous": "-" if info.previous is None else str(info.previous),
                },
            ),
            info.to_dict(),
            warnings=warnings,
        ),
        command="db restore",
        inputs={"project": project, "url": target.shown, "file": file, "force": force},
        fmt=fmt,
    )


def register(app: typer.Typer) -> None:
    db_app.command("upgrade", help=h("cli.db.upgrade.help"))(upgrade)
    db_app.command("current", help=h("cli.db.current.help"))(current)
    db_app.command("backup", help=h("cli.db.backup.help"))(backup)
    db_app.command("restore", help=h("cli.db.restore.help"))(restore)
    app.add_typer(db_app, name="db")
