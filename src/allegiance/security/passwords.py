"""Password hashing (argon2id) and the password policy.

Hashes are argon2id PHC strings made by argon2-cffi with its default parameters (RFC 9106's
"low memory" profile: 3 passes over 64 MiB, 4 lanes). :func:`verify_password` also says when
a stored hash was made with other parameters, so the caller stores a fresh one (rehash on
login); :func:`allegiance.security.authenticate` does that.

The policy follows NIST SP 800-63B: at least :data:`MIN_LENGTH` characters, no composition
rules, and refused when it is (or contains) the username, one repeated character, or one of
a few passwords every attacker tries first. Errors are bilingual
(:class:`~allegiance.errors.ValidationError`).

>>> check_password_policy("correct horse battery", username="alice")
>>> check_password_policy("alice-2024-x", username="alice")
Traceback (most recent call last):
...
allegiance.errors.ValidationError: The password contains the username 'alice': choose one that does not.
"""

from __future__ import annotations

import contextlib
import unicodedata
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from allegiance.errors import ValidationError

__all__ = [
    "MAX_LENGTH",
    "MIN_LENGTH",
    "PasswordCheck",
    "check_password_policy",
    "dummy_verify",
    "hash_password",
    "password_hasher",
    "verify_password",
]

#: The shortest password accepted (characters, after Unicode normalisation).
MIN_LENGTH = 10
#: The longest password accepted (a bound on the work one login attempt can cause).
MAX_LENGTH = 1024

# Passwords of 10+ characters found at the top of every leaked-password list.
_COMMON = frozenset(
    {
        "1234567890",
        "0123456789",
        "12345678910",
        "123456789a",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "qwertyuiop",
        "asdfghjkl;",
        "password123",
        "password1234",
        "passw0rd123",
        "iloveyou123",
        "abcdefghij",
        "abc1234567",
        "a123456789",
        "qwerty12345",
        "qwerty123456",
        "1234qwerasdf",
        "administrator",
        "letmein1234",
        "welcome123",
        "woaini1314",
        "5201314520",
    }
)


@cache
def password_hasher() -> PasswordHasher:
    """The argon2id hasher (argon2-cffi's defaults: RFC 9106 low-memory profile)."""
    return PasswordHasher()


def _normal(password: str) -> str:
    # The same text typed on another keyboard or system must give the same hash.
    return unicodedata.normalize("NFKC", password)


def check_password_policy(password: str, /, *, username: str | None = None) -> None:
    """Raise :class:`ValidationError` (bilingual) when ``password`` breaks the policy."""
    text = _normal(password)
    if len(text) < MIN_LENGTH:
        raise ValidationError("security.password_short", min=MIN_LENGTH, length=len(text))
    if len(text) > MAX_LENGTH:
        raise ValidationError("security.password_long", max=MAX_LENGTH, length=len(text))
    folded = text.casefold()
    if username:
        name = _normal(username).strip().casefold()
        if name and name in folded:
            raise ValidationError("security.password_username", username=username)
    if len(set(folded)) == 1:
        raise ValidationError("security.password_repeated")
    if folded in _COMMON:
        raise ValidationError("security.password_common")


def hash_password(password: str, /) -> str:
    """The argon2id hash (PHC string) of ``password``; a new random salt every time."""
    return password_hasher().hash(_normal(password))


@dataclass(frozen=True)
class PasswordCheck:
    """What :func:`verify_password` found: ``ok``, and a fresh hash to store when the stored
    one was made with other parameters (``new_hash`` is ``None`` when none is needed)."""

    ok: bool
    new_hash: str | None = None

    def __bool__(self) -> bool:
        return self.ok


def verify_password(stored_hash: str | None, password: str, /) -> PasswordCheck:
    """Check ``password`` against ``stored_hash``; never raises for a wrong or broken hash.

    A missing or unreadable hash (an account without a password) never matches.
    """
    if not stored_hash:
        dummy_verify(password)
        return PasswordCheck(ok=False)
    hasher = password_hasher()
    text = _normal(password)
    try:
        hasher.verify(stored_hash, text)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return PasswordCheck(ok=False)
    if hasher.check_needs_rehash(stored_hash):
        return PasswordCheck(ok=True, new_hash=hasher.hash(text))
    return PasswordCheck(ok=True)


@cache
def _dummy_hash() -> str:
    return password_hasher().hash("allegiance: no such user")


def dummy_verify(password: str, /) -> None:
    """Spend the time of one verification, so an unknown username is not answered faster
    than a wrong password (which would tell an attacker which usernames exist)."""
    with contextlib.suppress(VerifyMismatchError, VerificationError, InvalidHashError):
        password_hasher().verify(_dummy_hash(), _normal(password))
