"""Pages: one Jinja2 environment (autoescape on, strict undefined), the language of a request.

Every template receives ``tr`` (the catalogue in the page's language), ``lang``,
``html_lang`` (``zh-CN``/``en``), ``csrf`` (the form token of this visitor) and
``static`` (the address of a bundled file, with a version for caching).
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any

import jinja2
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from allegiance._version import __version__
from allegiance.i18n import Lang, normalize_lang, t
from allegiance.web.security import LANG_COOKIE, csrf_token

if TYPE_CHECKING:
    from fastapi import Request

    from allegiance.web.deps import AppState

__all__ = ["HTML_LANG", "accept_language", "page", "pick_lang", "templates"]

HTML_LANG: dict[str, str] = {"zh": "zh-CN", "en": "en"}
_ACCEPT = re.compile(r"\s*([A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?")


@cache
def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("allegiance.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["app_version"] = __version__
    return env


def accept_language(header: str | None, /) -> Lang | None:
    """The first of zh/en a browser's ``Accept-Language`` prefers (by q value), or ``None``.

    >>> accept_language("fr-FR,fr;q=0.9,en;q=0.8,zh-CN;q=0.7")
    'en'
    >>> accept_language("zh-CN,zh;q=0.9"), accept_language("de")
    ('zh', None)
    """
    if not header:
        return None
    ranked: list[tuple[float, int, Lang]] = []
    for position, item in enumerate(header.split(",")[:20]):
        match = _ACCEPT.fullmatch(item)
        if match is None:
            continue
        try:
            q = float(match.group(2)) if match.group(2) else 1.0
        except ValueError:
            continue
        lang = normalize_lang(match.group(1))
        if lang is not None and q > 0:
            ranked.append((-q, position, lang))
    return min(ranked)[2] if ranked else None


def pick_lang(
    request: Request, *, preferred: str | None = None, default: str | None = None
) -> Lang:
    """The page language: ``?lang=``, else the ``al_lang`` cookie, else ``preferred`` (an
    invitation's language), else the browser's Accept-Language, else ``default``, else zh."""
    for value in (
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        preferred,
        accept_language(request.headers.get("accept-language")),
        default,
    ):
        lang = normalize_lang(value) if value else None
        if lang is not None:
            return lang
    return "zh"


def page(
    request: Request,
    state: AppState,
    name: str,
    /,
    *,
    lang: Lang,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render template ``name`` in ``lang``; an explicit ``?lang=`` is remembered in a cookie."""

    def tr(key: str, /, **params: Any) -> str:
        return t(key, lang, **params)

    nonce = str(getattr(request.state, "csrf_nonce", "") or "")
    html = (
        templates()
        .get_template(name)
        .render(
            tr=tr,
            lang=lang,
            other_lang="en" if lang == "zh" else "zh",
            html_lang=HTML_LANG[lang],
            csrf=csrf_token(state.signer, nonce) if nonce else "",
            static=lambda file: Markup(f"/static/{file}?v={__version__}"),
            request_path=request.url.path,
            dev=state.settings.dev,
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status_code)
    chosen = normalize_lang(request.query_params.get("lang") or "")
    if chosen is not None and request.cookies.get(LANG_COOKIE) != chosen:
        response.set_cookie(
            LANG_COOKIE,
            chosen,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=not state.settings.dev,
        )
    return response
