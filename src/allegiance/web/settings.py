"""The web app's settings, declared once (environment prefix ``ALLEGIANCE_``).

:class:`WebSettings` extends the project's :class:`allegiance.settings.Settings` (language,
project folder, database URL, secret key) with what only the web app reads:

=================================  =========================================================
setting                            meaning
=================================  =========================================================
``ALLEGIANCE_BASE_URL``            the public address of the app (``https://cx.example.com``),
                                   used in e-mailed links and QR codes; default: the address
                                   the admin page was opened with
``ALLEGIANCE_SMTP_HOST``           the SMTP server that sends invitations (none: no e-mail)
``ALLEGIANCE_SMTP_PORT``           its port (default 587)
``ALLEGIANCE_SMTP_USER``           the SMTP login, if the server wants one
``ALLEGIANCE_SMTP_PASSWORD``       its password
``ALLEGIANCE_SMTP_FROM``           the sender address (``调查 <survey@example.com>``)
``ALLEGIANCE_SMTP_TLS``            ``starttls`` (default), ``ssl`` (implicit TLS, port 465) or
                                   ``none`` (a relay on the same machine only)
``ALLEGIANCE_SESSION_HOURS``       how long an admin sign-in lasts (default 8)
``ALLEGIANCE_MAX_FORM_BYTES``      the largest public form submission accepted (default 1 MB)
``ALLEGIANCE_MAX_UPLOAD_BYTES``    the largest admin upload (customer CSV; default 20 MB) and
                                   the largest API request body
``ALLEGIANCE_API_RATE_PER_MINUTE`` requests one API token may make a minute (default 600;
                                   0: no limit)
``ALLEGIANCE_RATE_LIMIT_PER_IP``   public form submissions (POST) accepted per minute from
                                   one client address (default 120; 0: no limit)
``ALLEGIANCE_RATE_LIMIT_PER_TOKEN`` ... per invitation token (default 60; 0: no limit)
=================================  =========================================================

``dev`` (the ``--dev`` switch of ``allegiance serve``) allows a random secret key and
cookies without the ``Secure`` flag (plain HTTP on localhost), and turns the rate limits off.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from allegiance.settings import Settings

__all__ = ["SmtpTls", "WebSettings"]

SmtpTls = Literal["starttls", "ssl", "none"]


class WebSettings(Settings):
    """Everything the web app reads (see the module documentation)."""

    model_config = SettingsConfigDict(env_prefix="ALLEGIANCE_", extra="ignore")

    dev: bool = False
    base_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None
    smtp_tls: SmtpTls = "starttls"
    smtp_timeout_s: float = 30.0
    session_hours: float = 8.0
    max_form_bytes: int = 1_000_000
    max_upload_bytes: int = 20_000_000
    api_rate_per_minute: int = 600
    rate_limit_per_ip: int = Field(default=120, ge=0)
    rate_limit_per_token: int = Field(default=60, ge=0)
