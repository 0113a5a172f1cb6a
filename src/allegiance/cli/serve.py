"""``allegiance serve``: the web app (public survey forms, admin pages, dashboards) under uvicorn.

Which database: ``--url``, else ``ALLEGIANCE_DATABASE_URL``, else the project's (``--project``,
``ALLEGIANCE_PROJECT`` or the current folder). The secret key comes from
``ALLEGIANCE_SECRET_KEY`` (or ``ALLEGIANCE_SECRET_KEY_FILE``); ``--dev`` allows a random one
and cookies without ``Secure`` for plain HTTP on this machine. See docs/web.md.
"""

from __future__ import annotations

import enum
import secrets
from pathlib import Path
from typing import Annotated, Any

import typer

from allegiance.cli.common import LangOpt, ProjectOpt, h, stderr
from allegiance.cli.db import UrlOpt, resolve_target
from allegiance.i18n import t


class LogLevel(enum.StrEnum):
    """uvicorn's log levels (``info`` logs every request)."""

    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"


def serve(
    project: ProjectOpt = None,
    url: UrlOpt = None,
    host: Annotated[str, typer.Option("--host", help=h("cli.serve.opt.host"))] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help=h("cli.serve.opt.port"))
    ] = 8000,
    dev: Annotated[bool, typer.Option("--dev", help=h("cli.serve.opt.dev"))] = False,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help=h("cli.serve.opt.workers"))
    ] = 1,
    log_level: Annotated[
        LogLevel, typer.Option("--log-level", help=h("cli.serve.opt.log_level"))
    ] = LogLevel.info,
    lang: LangOpt = None,
) -> None:
    import os

    import uvicorn

    from allegiance.web.app import create_app
    from allegiance.web.settings import WebSettings

    target = resolve_target(Path(project) if project else None, url)
    settings = WebSettings(database_url=target.url, dev=dev)
    app = create_app(
        settings
    )  # fails here, with a clear message, on a missing secret or an old schema
    if settings.dev:
        stderr().print(f"[yellow]{t('cli.serve.dev_warning')}[/yellow]")
    stderr().print(t("cli.serve.listening", host=host, port=port, database=target.shown))
    target_app: Any = app
    if workers > 1:
        # Each worker process builds its own app from the environment (uvicorn starts them
        # afresh); they must agree on the database and, in dev mode, on one random key.
        app.state.allegiance.engine.dispose()
        os.environ["ALLEGIANCE_DATABASE_URL"] = settings.database_url or target.url
        os.environ["ALLEGIANCE_DEV"] = "true" if dev else "false"
        if app.state.allegiance.secret.ephemeral:
            os.environ["ALLEGIANCE_SECRET_KEY"] = secrets.token_urlsafe(48)
        target_app = "allegiance.web.app:app_from_environment"
    uvicorn.run(
        target_app,
        factory=workers > 1,
        workers=workers,
        host=host,
        port=port,
        log_level=log_level.value,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        server_header=False,
        date_header=True,
    )


def register(app: typer.Typer) -> None:
    app.command("serve", help=h("cli.serve.help"))(serve)
