"""The secret key: where it comes from, and the keys derived from it.

One secret (``ALLEGIANCE_SECRET_KEY``, or a file named by ``ALLEGIANCE_SECRET_KEY_FILE``)
signs the web sessions and keys the pseudonyms of customer ids. There is no default: outside
development mode a missing key is a bilingual :class:`~allegiance.errors.ConfigError` that
says how to make one. In development mode (``--dev``) a random key is made for the life of
the process, with a warning (sessions end and pseudonyms change at every restart).

Each use gets its own key, derived with HMAC-SHA256 from the secret and a purpose name
(:meth:`SecretKey.derive`), so a key leaked from one use says nothing of another.

>>> key = SecretKey(b"x" * 32, source="test")
>>> key.derive("session") != key.derive("pseudonym")
True
>>> key
SecretKey(source='test', ephemeral=False)
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass, field

from allegiance.errors import ConfigError
from allegiance.i18n import Message
from allegiance.settings import Settings, get_settings

__all__ = [
    "MIN_SECRET_LENGTH",
    "SECRET_KEY_ENV",
    "SECRET_KEY_FILE_ENV",
    "SecretKey",
    "generate_secret_key",
    "load_secret_key",
]

SECRET_KEY_ENV = "ALLEGIANCE_SECRET_KEY"
SECRET_KEY_FILE_ENV = "ALLEGIANCE_SECRET_KEY_FILE"
#: The shortest secret accepted, in characters (``generate_secret_key`` gives 64).
MIN_SECRET_LENGTH = 32

_log = logging.getLogger("allegiance.security")
_dev_lock = threading.Lock()
_dev_key: bytes | None = None


@dataclass(frozen=True)
class SecretKey:
    """The project's secret; never shown (``repr`` names only where it came from)."""

    value: bytes = field(repr=False)
    source: str = "setting"
    ephemeral: bool = False
    warnings: tuple[Message, ...] = field(default=(), repr=False, compare=False)

    def derive(self, purpose: str, /) -> bytes:
        """A 32-byte key for one ``purpose`` (``"session"``, ``"csrf"``, ``"pseudonym"`` ...)."""
        return hmac.new(self.value, b"allegiance/" + purpose.encode("utf-8"), "sha256").digest()

    def sign(self, purpose: str, data: bytes, /) -> str:
        """HMAC-SHA256 of ``data`` under the key for ``purpose``, as hex."""
        return hmac.new(self.derive(purpose), data, hashlib.sha256).hexdigest()


def generate_secret_key() -> str:
    """A new random secret key (64 URL-safe characters, 384 bits) to put in the setting."""
    return secrets.token_urlsafe(48)


def _from_settings(settings: Settings) -> tuple[str, str] | None:
    if settings.secret_key is not None and settings.secret_key.get_secret_value().strip():
        return settings.secret_key.get_secret_value().strip(), SECRET_KEY_ENV
    if settings.secret_key_file is not None:
        path = settings.secret_key_file.expanduser()
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                "security.secret_file", file=str(path), setting=SECRET_KEY_FILE_ENV, detail=str(exc)
            ) from exc
        if text:
            return text, SECRET_KEY_FILE_ENV
        raise ConfigError(
            "security.secret_file", file=str(path), setting=SECRET_KEY_FILE_ENV, detail="empty"
        )
    return None


def load_secret_key(*, dev: bool = False, settings: Settings | None = None) -> SecretKey:
    """The secret key from the settings; in development mode a random one if none is set.

    Raises :class:`ConfigError` when no key is set and ``dev`` is false, or when the key is
    shorter than :data:`MIN_SECRET_LENGTH` characters.
    """
    found = _from_settings(settings if settings is not None else get_settings())
    if found is not None:
        text, source = found
        if len(text) < MIN_SECRET_LENGTH:
            raise ConfigError(
                "security.secret_short", setting=source, min=MIN_SECRET_LENGTH, length=len(text)
            )
        return SecretKey(text.encode("utf-8"), source=source)
    if not dev:
        raise ConfigError("security.no_secret_key", setting=SECRET_KEY_ENV)
    global _dev_key
    with _dev_lock:
        if _dev_key is None:
            _dev_key = secrets.token_bytes(32)
        value = _dev_key
    warning = Message("security.dev_secret", {"setting": SECRET_KEY_ENV})
    _log.warning(warning.render("en"))
    return SecretKey(value, source="dev", ephemeral=True, warnings=(warning,))
