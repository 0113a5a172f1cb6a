"""API tokens as text: how they are made and what is stored of them.

A token is ``alg_`` followed by 43 URL-safe characters (256 random bits). Only its
SHA-256 is stored; a slow hash is not needed because the token is random, not chosen by a
person. The first :data:`PREFIX_LENGTH` characters are kept in clear so people can tell
their tokens apart in lists (they reveal 28 of the 256 bits).

>>> token = new_token()
>>> token.startswith(TOKEN_PREFIX) and len(token) == 47
True
>>> len(token_hash(token))
64
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = [
    "PREFIX_LENGTH",
    "TOKEN_PREFIX",
    "looks_like_token",
    "new_token",
    "token_hash",
    "token_prefix",
]

#: Every token starts with this, so secret scanners and people recognise one.
TOKEN_PREFIX = "alg_"
#: How many leading characters of a token are stored in clear (``alg_`` and 8 more).
PREFIX_LENGTH = 12
_RANDOM_BYTES = 32
_LENGTH = len(TOKEN_PREFIX) + 43


def new_token() -> str:
    """A fresh random token (``alg_`` + 256 random bits, URL-safe base64)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)


def token_hash(token: str, /) -> str:
    """The SHA-256 of ``token`` as 64 hex digits: what the database keeps."""
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


def token_prefix(token: str, /) -> str:
    """The leading characters kept in clear to recognise a token."""
    return token.strip()[:PREFIX_LENGTH]


def looks_like_token(text: str, /) -> bool:
    """Whether ``text`` has the shape of a token (checked before any database lookup)."""
    text = text.strip()
    return (
        len(text) == _LENGTH
        and hmac.compare_digest(text[: len(TOKEN_PREFIX)], TOKEN_PREFIX)
        and all(c.isascii() and (c.isalnum() or c in "-_") for c in text[len(TOKEN_PREFIX) :])
    )
