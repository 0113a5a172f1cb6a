"""The web app: public survey forms, invitations, admin pages and dashboards.

``allegiance serve`` runs :func:`create_app` under uvicorn. See docs/web.md.

- :mod:`~allegiance.web.app`: the app factory, static files, error pages;
- :mod:`~allegiance.web.settings`: :class:`WebSettings` (SMTP, base URL, limits);
- :mod:`~allegiance.web.security`: signed session cookie, CSRF tokens, security headers;
- :mod:`~allegiance.web.forms`: screens, skip logic between them, form fields → answers;
- :mod:`~allegiance.web.mail`: invitations and reminders by SMTP;
- :mod:`~allegiance.web.dashboards`: NPS, CSAT, CSI and trends from stored responses;
- :mod:`~allegiance.web.routes`: one router per resource.
"""

from __future__ import annotations

from allegiance.web.app import create_app
from allegiance.web.settings import WebSettings

__all__ = ["WebSettings", "create_app"]
