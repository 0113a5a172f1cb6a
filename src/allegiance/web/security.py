"""Cookies, CSRF tokens and response headers of the web app.

- **Admin sessions** are a signed cookie (``al_session``): the user id, when it was issued
  and a random nonce, as base64 JSON plus an HMAC-SHA256 under the key derived from the
  project secret for ``"session"``. HttpOnly, SameSite=Lax, ``Secure`` unless ``--dev``,
  limited to ``/admin``, expiring after ``ALLEGIANCE_SESSION_HOURS``. The user is loaded
  again on every request, so a disabled user is out at once.
- **CSRF**: every visitor gets a random nonce in the HttpOnly cookie ``al_csrf``; every form
  carries ``csrf`` = HMAC(key for ``"csrf"``, nonce) (a signed double-submit token). Every
  POST is refused with 403 unless the field matches the cookie (checked in
  :func:`allegiance.web.deps.csrf_guard`, a dependency of the whole app). Signing in makes a
  new nonce, so a token planted before the sign-in is worthless after it.
- **Headers** (:class:`SecurityHeaders`): a Content-Security-Policy that allows scripts,
  styles and images from the app itself only (no inline script, nothing from elsewhere,
  ``frame-ancestors 'none'``), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: no-referrer`` (invitation links hold a secret token) and
  ``Cache-Control: no-store`` on pages, and a request size limit.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from allegiance.security.secret import SecretKey

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "DASHBOARD_CONTENT_SECURITY_POLICY",
    "LANG_COOKIE",
    "SESSION_COOKIE",
    "SecurityHeaders",
    "SessionData",
    "Signer",
    "cookie_value",
    "csrf_token",
    "new_nonce",
]

SESSION_COOKIE = "al_session"
CSRF_COOKIE = "al_csrf"
CSRF_FIELD = "csrf"
LANG_COOKIE = "al_lang"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
"""Everything from the app itself, nothing inline, nothing from anywhere else."""

DASHBOARD_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
"""The dashboards only: Plotly sets the styles of its charts from its own (bundled) script,
which a strict ``style-src`` refuses; scripts stay as strict as everywhere else."""

_STATIC_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii")),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)


def new_nonce() -> str:
    """A fresh random nonce (32 bytes, URL-safe text)."""
    return secrets.token_urlsafe(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs small JSON payloads with keys derived from the project secret, per purpose."""

    def __init__(self, key: SecretKey) -> None:
        self._key = key

    def sign(self, purpose: str, data: str, /) -> str:
        return self._key.sign(purpose, data.encode("utf-8"))

    def dumps(self, purpose: str, payload: dict[str, Any], /) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"))
        return f"{body}.{self.sign(purpose, body)}"

    def loads(self, purpose: str, text: str | None, /) -> dict[str, Any] | None:
        """The payload of a value made by :meth:`dumps`, or ``None`` if it was tampered with."""
        if not text or text.count(".") != 1:
            return None
        body, signature = text.split(".")
        if not hmac.compare_digest(signature, self.sign(purpose, body)):
            return None
        try:
            payload = json.loads(_unb64(body))
        except (ValueError, binascii.Error):
            return None
        return payload if isinstance(payload, dict) else None


@dataclass(frozen=True)
class SessionData:
    """A signed-in admin session: who, since when, and its CSRF nonce."""

    user_id: int
    issued_at: float

    @classmethod
    def read(cls, signer: Signer, cookie: str | None, *, max_age_s: float) -> SessionData | None:
        payload = signer.loads("session", cookie)
        if payload is None:
            return None
        user_id, issued = payload.get("u"), payload.get("t")
        if not isinstance(user_id, int) or not isinstance(issued, (int, float)):
            return None
        now = time.time()
        if issued > now + 60 or now - issued > max_age_s:
            return None
        return cls(user_id=user_id, issued_at=float(issued))

    def write(self, signer: Signer) -> str:
        return signer.dumps("session", {"u": self.user_id, "t": self.issued_at, "n": new_nonce()})


def csrf_token(signer: Signer, nonce: str, /) -> str:
    """The form token that matches the CSRF cookie ``nonce``."""
    return signer.sign("csrf", nonce)


def csrf_ok(signer: Signer, nonce: str | None, token: str | None, /) -> bool:
    """Whether a submitted form token matches the visitor's CSRF cookie."""
    if not nonce or not token:
        return False
    return hmac.compare_digest(csrf_token(signer, nonce), token)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def cookie_value(headers: list[tuple[bytes, bytes]], name: str) -> str | None:
    """The value of cookie ``name`` in raw ASGI headers (``None`` when absent or malformed)."""
    from http.cookies import CookieError, SimpleCookie

    for key, value in headers:
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:  # a malformed Cookie header is ignored, not fatal
                continue
            if name in jar:
                return jar[name].value
    return None


class SecurityHeaders:
    """Pure ASGI middleware: security headers on every response, the CSRF cookie for new
    visitors, and a limit on the request body (413 beyond it).

    ``max_body(path)`` gives the largest body accepted for a path.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        secure_cookies: bool,
        max_body: Callable[[str], int],
        too_large: Callable[[Scope], Awaitable[tuple[int, list[tuple[bytes, bytes]], bytes]]],
    ) -> None:
        self.app = app
        self.secure = secure_cookies
        self.max_body = max_body
        self.too_large = too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers") or [])
        nonce = cookie_value(headers, CSRF_COOKIE)
        fresh = None
        if not nonce or len(nonce) > 100:
            fresh = nonce = new_nonce()
        state = scope.setdefault("state", {})
        state["csrf_nonce"] = nonce
        limit = self.max_body(str(scope.get("path", "")))
        length = next((v for k, v in headers if k == b"content-length"), None)
        if length is not None:
            try:
                too_big = int(length) > limit
            except ValueError:
                too_big = True
            if too_big:
                await self._refuse(scope, send)
                return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                out = list(message.get("headers") or [])
                names = {k.lower() for k, _ in out}
                out.extend((k, v) for k, v in _STATIC_HEADERS if k not in names)
                if b"cache-control" not in names:
                    out.append((b"cache-control", b"no-store"))
                if fresh is not None:
                    out.append((b"set-cookie", self._csrf_cookie(fresh)))
                message["headers"] = out
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _BodyTooLarge:
            if not started:
                await self._refuse(scope, send)

    def _csrf_cookie(self, nonce: str) -> bytes:
        parts = [f"{CSRF_COOKIE}={nonce}", "Path=/", "HttpOnly", "SameSite=Lax"]
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts).encode("latin-1")

    async def _refuse(self, scope: Scope, send: Send) -> None:
        status, headers, body = await self.too_large(scope)
        out = list(headers) + [(k, v) for k, v in _STATIC_HEADERS]
        out.append((b"cache-control", b"no-store"))
        out.append((b"content-length", str(len(body)).encode("ascii")))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    """The request body grew past the limit while it was being read."""
