"""The ``allegiance`` command: one tree for the whole product."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from allegiance.i18n import normalize_lang, set_lang


def _prescan_lang(argv: list[str]) -> None:
    """Pick the language before help texts are built, so ``--lang zh --help`` is Chinese."""
    for i, arg in enumerate(argv):
        value = None
        if arg == "--lang" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--lang="):
            value = arg.split("=", 1)[1]
        if value and normalize_lang(value):
            set_lang(value)
            return


_prescan_lang(sys.argv[1:])

from allegiance._version import __version__  # noqa: E402
from allegiance.cli.common import LangOpt, h, stderr  # noqa: E402
from allegiance.cli.framework_i18n import install as _speak  # noqa: E402
from allegiance.errors import AllegianceError  # noqa: E402
from allegiance.i18n import current_lang, t  # noqa: E402

_speak(current_lang())  # Click's and Typer's own words (Usage, Options, Error ...) too


class AllegianceGroup(TyperGroup):
    """Turns every AllegianceError into a clear message in the chosen language and exit code 2."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except AllegianceError as exc:
            from rich.markup import escape

            # the message can quote the user's values: never read them as Rich markup
            stderr().print(
                f"[bold red]{t('common.error')}:[/bold red] {escape(exc.render(current_lang()))}"
            )
            raise typer.Exit(code=2) from None


app = typer.Typer(
    name="allegiance",
    cls=AllegianceGroup,
    help=h("cli.app.help"),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"allegiance {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", help=h("cli.opt.version"), callback=_version, is_eager=True
        ),
    ] = False,
    lang: LangOpt = None,
) -> None:
    """allegiance."""


def _register() -> None:
    from allegiance.cli import (
        actions,
        ahp,
        audit,
        audit_log,
        blueprint,
        clv,
        comments,
        compare,
        complaints,
        csi,
        customers,
        db,
        demo,
        drivers,
        jobs,
        kano,
        loyalty,
        pls,
        profile,
        project,
        responses,
        score,
        serve,
        servqual,
        survey,
        users,
    )

    demo.register(app)
    score.register(app)
    ahp.register(app)
    csi.register(app)
    pls.register(app)
    kano.register(app)
    servqual.register(app)
    drivers.register(app)
    compare.register(app)
    comments.register(app)
    clv.register(app)
    customers.register(app)
    profile.register(app)
    loyalty.register(app)
    complaints.register(app)
    blueprint.register(app)
    audit.register(app)
    actions.register(app)
    project.register(app)
    survey.register(app)
    responses.register(app)
    users.register(app)
    db.register(app)
    audit_log.register(app)
    serve.register(app)
    jobs.register(app)


_register()


def main() -> None:
    app()
