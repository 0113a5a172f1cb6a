"""``allegiance serve``: the web app (public survey forms, admin pages, dashboards) under uvicorn.

Which database: ``--url``, else ``ALLEGIANCE_DATABASE_URL``, else the project's (``--project``,
``ALLEGIANCE_PROJECT`` or the current folder). The secret key comes from
``ALLEGIANCE_SECRET_KEY`` (or ``ALLEGIANCE_SECRET_KEY_FILE``); ``--dev`` allows a random one
and cookies without ``Secure`` for plain HTTP on this machine. See docs/web.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from allegiance.cli.common import LangOpt, ProjectOpt, h, stderr
from allegiance.cli.db import UrlOpt, resolve_target
from allegiance.i18n import t


def serve(
    project: ProjectOpt = None,
    url: UrlOpt = None,
    host: Annotated[str, typer.Option("--host", help=h("cli.serve.opt.host"))] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help=h("cli.serve.opt.port"))
    ] = 8000,
    dev: Annotated[bool, typer.Option("--dev", help=h("cli.serve.opt.dev"))] = False,
    lang: LangOpt = None,
) -> None:
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
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        server_header=False,
        date_header=True,
    )


def register(app: typer.Typer) -> None:
    app.command("serve", help=h("cli.serve.help"))(serve)
