"""Invitations and reminders by e-mail, through the SMTP server of the settings.

Each message is written in the invitation's language (both languages, Chinese first, when
the invitation names none) from the catalogue's ``web.mail.*`` texts, with the personal
link. One SMTP connection sends a batch; a recipient the server refuses is counted as
failed and left unmarked (so a later "send" tries again), every accepted one is marked
sent (or reminded) with :func:`allegiance.store.surveys.mark_sent` /
:func:`~allegiance.store.surveys.mark_reminded`.

Which invitations a batch takes:

- ``invite``: those with an e-mail address, not yet sent and not yet answered;
- ``remind``: those sent before, not yet answered (opened or not).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from allegiance.errors import ConfigError
from allegiance.i18n import t
from allegiance.store import surveys as store
from allegiance.web.settings import WebSettings

__all__ = ["MailKind", "SendResult", "compose", "pending", "send_invitations", "smtp_configured"]

MailKind = Literal["invite", "remind"]
#: Sent invitations are marked in the database at least this often (a batch cut short by a
#: crash re-sends at most this many).
MARK_EVERY = 50


@dataclass(frozen=True)
class SendResult:
    """What a batch did: messages accepted by the server, refused, and the ids sent."""

    kind: MailKind
    sent: int
    failed: int
    sent_ids: tuple[int, ...]
    failures: tuple[str, ...]


def smtp_configured(settings: WebSettings, /) -> bool:
    """Whether an SMTP server and a sender address are set."""
    return bool(settings.smtp_host and settings.smtp_from)


def compose(
    kind: MailKind,
    *,
    to: str,
    sender: str,
    title: Mapping[str, str],
    link: str,
    language: str | None,
) -> EmailMessage:
    """One invitation or reminder, in ``language`` (``zh``/``en``) or, without one, in both."""
    langs = [language] if language in ("zh", "en") else ["zh", "en"]
    subject = " / ".join(t(f"web.mail.{kind}.subject", lang, title=title[lang]) for lang in langs)
    parts = [t(f"web.mail.{kind}.body", lang, title=title[lang], link=link) for lang in langs]
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message["Content-Language"] = ", ".join("zh-CN" if lang == "zh" else "en" for lang in langs)
    message.set_content("\n\n----------\n\n".join(parts) + "\n", charset="utf-8")
    return message


def pending(invitations: pd.DataFrame, kind: MailKind, /) -> pd.DataFrame:
    """The invitations a batch of ``kind`` takes (see the module documentation)."""
    has_mail = invitations["email"].notna()
    open_ = invitations["submitted_at"].isna()
    if kind == "invite":
        return invitations[has_mail & open_ & invitations["sent_at"].isna()]
    return invitations[has_mail & open_ & invitations["sent_at"].notna()]


def _connect(settings: WebSettings) -> smtplib.SMTP:
    host = str(settings.smtp_host)
    timeout = settings.smtp_timeout_s
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_tls == "ssl":
        smtp = smtplib.SMTP_SSL(host, settings.smtp_port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, settings.smtp_port, timeout=timeout)
        if settings.smtp_tls == "starttls":
            smtp.starttls(context=context)
    if settings.smtp_user:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
        smtp.login(settings.smtp_user, password)
    return smtp


def send_invitations(
    engine: Engine,
    session: Session,
    slug: str,
    /,
    *,
    kind: MailKind,
    settings: WebSettings,
    base_url: str,
    title: Mapping[str, str],
    ids: Iterable[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SendResult:
    """Send a batch of ``kind`` for the survey ``slug`` and mark what the server accepted.

    ``base_url`` is the public address the links start with. A missing SMTP setting is a
    :class:`ConfigError`; an SMTP server that cannot be reached or refuses the login is a
    :class:`ConfigError` naming the host (nothing is marked). ``progress(done, total)`` is
    told after each message (background jobs show it).
    """
    if not smtp_configured(settings):
        raise ConfigError("web.mail.not_configured")
    frame = pending(store.invitations_frame(engine, slug), kind)
    if ids is not None:
        wanted = {int(i) for i in ids}
        frame = frame[frame["invitation_id"].isin(wanted)]
    sender = str(settings.smtp_from)
    name, address = parseaddr(sender)
    sender = formataddr((name, address)) if address else sender
    sent: list[int] = []
    unmarked: list[int] = []
    failures: list[str] = []
    mark = store.mark_sent if kind == "invite" else store.mark_reminded

    def flush() -> None:
        if unmarked:
            mark(session, list(unmarked))
            unmarked.clear()

    if frame.empty:
        return SendResult(kind, 0, 0, (), ())
    try:
        smtp = _connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        raise ConfigError(
            "web.mail.unreachable",
            host=str(settings.smtp_host),
            port=settings.smtp_port,
            detail=str(exc),
        ) from exc
    total = len(frame)
    try:
        for n, row in enumerate(frame.itertuples(index=False), start=1):
            if progress is not None and n > 1:
                progress(n - 1, total)
            record: Any = row
            link = f"{base_url.rstrip('/')}/i/{record.token}"
            message = compose(
                kind,
                to=str(record.email),
                sender=sender,
                title=title,
                link=link,
                language=record.language if isinstance(record.language, str) else None,
            )
            try:
                smtp.send_message(message)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as exc:
                failures.append(f"{record.email}: {exc}")
                continue
            sent.append(int(record.invitation_id))
            unmarked.append(int(record.invitation_id))
            if len(unmarked) >= MARK_EVERY:
                flush()
    finally:
        flush()
        if progress is not None:
            progress(total, total)
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return SendResult(kind, len(sent), len(failures), tuple(sent), tuple(failures))
