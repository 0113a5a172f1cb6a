"""``allegiance init``: create a project folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from allegiance.cli.common import LangOpt, h, stdout
from allegiance.i18n import current_lang, t
from allegiance.project import init_project


def init(
    directory: Annotated[Path, typer.Argument(help=h("cli.init.dir"))],
    name: Annotated[str | None, typer.Option("--name", help=h("cli.init.name"))] = None,
    lang: LangOpt = None,
) -> None:
    project = init_project(directory, name=name, lang=current_lang())
    stdout().print(t("cli.init.done", None, path=str(project.root)))


def register(app: typer.Typer) -> None:
    app.command("init", help=h("cli.init.help"))(init)
