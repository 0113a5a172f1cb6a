"""Chinese and English text: one catalogue, one way to pick the language.

Every sentence a person reads lives in ``allegiance/locales/*.yaml`` as
``key: {en: ..., zh: ...}``, with ``{name}`` placeholders. Each area of the
product keeps its own file so the catalogue grows without conflicts; a test
checks every key has both languages with the same placeholders.
"""

from __future__ import annotations

import contextvars
import locale
import os
import string
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")

_active: contextvars.ContextVar[Lang | None] = contextvars.ContextVar(
    "allegiance_lang", default=None
)


def normalize_lang(value: str | None) -> Lang | None:
    """Map ``zh``, ``zh_CN.UTF-8``, ``zh-Hans``, ``en_US`` ... to ``zh`` or ``en``."""
    if not value:
        return None
    v = value.strip().lower().replace("-", "_")
    if v.startswith("zh") or v in {"cn", "chinese", "中文"}:
        return "zh"
    if v.startswith("en") or v in {"c", "posix"}:
        return "en"
    return None


def default_lang() -> Lang:
    """The language when none is given: ``ALLEGIANCE_LANG``, else the locale, else English."""
    env = normalize_lang(os.environ.get("ALLEGIANCE_LANG"))
    if env:
        return env
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        got = normalize_lang(os.environ.get(var))
        if got:
            return got
    try:
        loc = locale.getlocale()[0]
    except ValueError:  # pragma: no cover - odd locales
        loc = None
    return normalize_lang(loc) or "en"


def current_lang() -> Lang:
    """The active language: set by :func:`set_lang` (the CLI's ``--lang``), else the default."""
    return _active.get() or default_lang()


def set_lang(lang: str | None) -> Lang:
    """Make ``lang`` the active language for this context and return it."""
    norm = normalize_lang(lang) if lang else default_lang()
    if norm is None:
        raise ValueError(f"unknown language {lang!r}: expected 'zh' or 'en'")
    _active.set(norm)
    return norm


# libyaml's loader when PyYAML was built with it (about 8x faster: the catalogue is read at
# every start of the command line), else the pure-Python one; both are safe loaders.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def catalog() -> dict[str, dict[str, str]]:
    """All messages, merged from every ``locales/*.yaml`` file."""
    merged: dict[str, dict[str, str]] = {}
    folder = resources.files("allegiance") / "locales"
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".yaml"):
            continue
        data = yaml.load(entry.read_text(encoding="utf-8"), Loader=_LOADER) or {}
        for key, texts in data.items():
            if key in merged:
                raise RuntimeError(f"message {key!r} is defined twice (again in {entry.name})")
            merged[str(key)] = {str(k): str(v) for k, v in texts.items()}
    return merged


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields a message expects."""
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def t(key: str, lang: str | None = None, /, **params: Any) -> str:
    """The message ``key`` in ``lang`` (default: the active language), filled with ``params``.

    >>> t("common.yes", "zh")
    '是'
    """
    texts = catalog().get(key)
    if texts is None:
        return key if not params else f"{key} {params}"
    chosen = normalize_lang(lang) or current_lang()
    text = texts.get(chosen) or texts.get("en") or key
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        return f"{text} {params}"


def has(key: str) -> bool:
    """Whether the catalogue knows ``key``."""
    return key in catalog()


def label(name: str, lang: str | None = None, /) -> str:
    """A column or field label (``col.<name>``) for people, falling back to ``name``."""
    key = f"col.{name}"
    return t(key, lang) if has(key) else name


@dataclass(frozen=True)
class Message:
    """A sentence kept as key and parameters until it is shown in a language."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str | None = None) -> str:
        return t(self.key, lang, **self.params)

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        return {"code": self.key, "message": self.render(lang), "params": _plain(self.params)}

    def __str__(self) -> str:
        return self.render("en")


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in params.items():
        out[k] = v if isinstance(v, (str, int, float, bool, type(None))) else str(v)
    return out
