"""Rate limits on the public form submissions (``POST /i/TOKEN``, ``POST /s/SLUG``,
``POST /s/SLUG/start``): so many requests per minute per client address and per
invitation token, counted in a moving window by the ``limits`` library (in the memory
of each server process).

A request over a limit is refused with 429 and ``Retry-After`` (seconds) before its body
is read; nothing is stored. A limit of 0 turns that limit off; ``--dev`` turns both off.

>>> limiter = SubmissionLimiter(per_ip=2, per_token=0)
>>> [limiter.hit("POST", "/i/abc", "10.0.0.1") for _ in range(2)]
[None, None]
>>> limiter.hit("POST", "/i/abc", "10.0.0.1") > 0
True
>>> limiter.hit("GET", "/i/abc", "10.0.0.1") is None  # pages are not limited
True
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Awaitable, Callable

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from allegiance.web.routes.public import ANON_COOKIE_PREFIX
from allegiance.web.security import ASGIApp, Receive, Scope, Send, cookie_value

__all__ = ["SubmissionLimiter", "SubmissionRateLimit", "submission_token"]

_INVITATION = re.compile(r"/i/([^/]{1,128})")
_PUBLIC = re.compile(r"/s/([^/]{1,128})(/start)?")


def submission_token(
    path: str, cookie: Callable[[str], str | None] = lambda name: None
) -> tuple[bool, str | None]:
    """Whether ``path`` is a public submission, and the invitation token it is for (from the
    address, or the public link's cookie; ``None`` when the visitor has none yet).

    >>> submission_token("/i/tok1")
    (True, 'tok1')
    >>> submission_token("/s/nps", {"al_s_nps": "tok2"}.get), submission_token("/s/nps/start")
    ((True, 'tok2'), (True, None))
    >>> submission_token("/admin/surveys")
    (False, None)
    """
    match = _INVITATION.fullmatch(path)
    if match is not None:
        return True, match.group(1)
    match = _PUBLIC.fullmatch(path)
    if match is not None:
        if match.group(2):
            return True, None
        return True, cookie(ANON_COOKIE_PREFIX + match.group(1)) or None
    return False, None


class SubmissionLimiter:
    """The two limits (requests per minute per client address and per token; 0: off)."""

    def __init__(self, *, per_ip: int, per_token: int) -> None:
        self.per_ip = RateLimitItemPerMinute(per_ip) if per_ip > 0 else None
        self.per_token = RateLimitItemPerMinute(per_token) if per_token > 0 else None
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    @property
    def active(self) -> bool:
        return self.per_ip is not None or self.per_token is not None

    def hit(
        self,
        method: str,
        path: str,
        client: str | None,
        *,
        cookie: Callable[[str], str | None] = lambda name: None,
    ) -> float | None:
        """Count one request; ``None`` if it may go on, else the seconds until it may."""
        if method != "POST":
            return None
        public, token = submission_token(path, cookie)
        if not public:
            return None
        checks = []
        if self.per_ip is not None:
            checks.append((self.per_ip, "ip", client or "-"))
        if self.per_token is not None and token is not None:
            checks.append((self.per_token, "token", token))
        for item, kind, key in checks:
            if not self._limiter.hit(item, kind, key):
                reset = float(self._limiter.get_window_stats(item, kind, key).reset_time)
                return max(1.0, reset - time.time())
        return None


Refusal = Callable[[Scope, int], Awaitable[tuple[int, list[tuple[bytes, bytes]], bytes]]]


class SubmissionRateLimit:
    """Pure ASGI middleware applying a :class:`SubmissionLimiter`; ``refuse(scope, seconds)``
    makes the 429 response (status, headers, body)."""

    def __init__(self, app: ASGIApp, *, limiter: SubmissionLimiter, refuse: Refusal) -> None:
        self.app = app
        self.limiter = limiter
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST":
            client = scope.get("client")
            headers = list(scope.get("headers") or [])
            wait = self.limiter.hit(
                "POST",
                str(scope.get("path", "")),
                str(client[0]) if client else None,
                cookie=lambda name: cookie_value(headers, name),
            )
            if wait is not None:
                seconds = math.ceil(wait)
                status, out, body = await self.refuse(scope, seconds)
                out = [*out, (b"retry-after", str(seconds).encode("ascii"))]
                out.append((b"content-length", str(len(body)).encode("ascii")))
                await send({"type": "http.response.start", "status": status, "headers": out})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
