"""``allegiance audit-log``: read the audit log of administrative actions.

Filters: ``--since`` / ``--until`` (a date, a date and time, or a span back from now such as
``7d``, ``12h``, ``30m``), ``--actor`` (exactly), ``--action`` (an action or a family:
``user`` matches ``user.create``, ``user.disable`` ...), ``--limit`` (the newest N, shown
oldest first). Reads through :func:`allegiance.store.admin.audit_frame`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from allegiance.cli.common import FormatOpt, LangOpt, OutputFormat, ProjectOpt, h
from allegiance.cli.db import Outcome, UrlOpt, open_engine, report, resolve_target

_SPAN = re.compile(r"^\s*(\d+)\s*([dhm])\s*$", re.IGNORECASE)
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_moment(value: str, *, option: str, now: datetime | None = None) -> datetime:
    """``2024-05-01``, ``2024-05-01T08:00`` (UTC unless an offset is given) or ``7d``/``12h``/``30m``
    back from ``now``; a bilingual :class:`ValidationError` otherwise.

    >>> parse_moment("2024-05-01", option="--since").isoformat()
    '2024-05-01T00:00:00+00:00'
    >>> parse_moment("2d", option="--since", now=datetime(2024, 5, 3, tzinfo=UTC)).day
    1
    """
    from allegiance.errors import ValidationError

    span = _SPAN.match(value)
    if span:
        amount, unit = int(span.group(1)), span.group(2).lower()
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: amount})
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError("cli.audit_log.bad_time", option=option, value=value) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def audit_log(
    since: Annotated[str | None, typer.Option("--since", help=h("cli.audit_log.opt.since"))] = None,
    until: Annotated[str | None, typer.Option("--until", help=h("cli.audit_log.opt.until"))] = None,
    actor: Annotated[str | None, typer.Option("--actor", help=h("cli.audit_log.opt.actor"))] = None,
    action: Annotated[
        str | None, typer.Option("--action", help=h("cli.audit_log.opt.action"))
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help=h("cli.audit_log.opt.limit"))
    ] = 200,
    project: ProjectOpt = None,
    url: UrlOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = None,
) -> None:
    from allegiance.store import admin

    start = parse_moment(since, option="--since") if since else None
    end = parse_moment(until, option="--until") if until else None
    target = resolve_target(project, url)
    with open_engine(target) as engine:
        frame = admin.audit_frame(
            engine, since=start, until=end, actor=actor, action=action, limit=limit
        )
    records = frame.to_dict(orient="records")
    if fmt is not OutputFormat.json:
        frame["details"] = [
            json.dumps(d, ensure_ascii=False, sort_keys=True) if d else "" for d in frame["details"]
        ]
    report(
        Outcome(None, {"entries": records, "n_entries": len(records)}, frames={"audit_log": frame}),
        command="audit-log",
        inputs={
            "since": start,
            "until": end,
            "actor": actor,
            "action": action,
            "limit": limit,
            "url": target.shown,
        },
        fmt=fmt,
    )


def register(app: typer.Typer) -> None:
    app.command("audit-log", help=h("cli.audit_log.help"))(audit_log)
