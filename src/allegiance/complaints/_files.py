"""Finding and reading the complaint configuration files (the cause taxonomy and the handling
workflow): one way for both, so a file, a shipped name, ``extends:`` relative to the file that
names it, the setting that names a company's file, and re-reading only on change behave alike.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from allegiance.errors import ConfigError

__all__ = ["config_path", "load_config"]

T = TypeVar("T")


def config_path(name: str, *, default: str, kind: str, relative_to: str | None = None) -> Path:
    """The file ``name`` stands for: a path (tried beside ``relative_to`` when relative and not
    found), else a shipped template of that name (``"default"``: ``default``); ``kind``
    (``taxonomy`` or ``workflow``) names the message ``complaints.<kind>.no_file``."""
    from allegiance.templates import names, template_path

    if name == "default":
        name = default
    path = Path(name).expanduser()
    if not path.is_absolute() and relative_to and not path.exists():
        candidate = Path(relative_to).parent / path
        if candidate.exists():
            path = candidate
    if path.is_file():
        return path
    if name in names("complaints") or not path.suffix:
        return template_path("complaints", name)
    raise ConfigError(f"complaints.{kind}.no_file", file=str(path))


def load_config(
    path: str | Path | None,
    *,
    default: str,
    kind: str,
    setting: str,
    parse: Callable[..., T],
) -> T:
    """``parse(text, source=file)`` of the file ``path`` names; ``None``: the one the setting
    ``setting`` names (e.g. ``complaints_taxonomy``), else ``default``. A file is parsed again
    only when it changed (the web pages and the closed loop ask on every request)."""
    if path is None:
        from allegiance.settings import get_settings

        path = getattr(get_settings(), setting)
    p = config_path(str(path) if path is not None else default, default=default, kind=kind)
    try:
        stamp = p.stat().st_mtime_ns
    except OSError as exc:
        raise ConfigError(f"complaints.{kind}.no_file", file=f"{p} ({exc})") from None
    parsed: T = _parsed(parse, kind, str(p), stamp)
    return parsed


@lru_cache(maxsize=32)
def _parsed(parse: Callable[..., Any], kind: str, p: str, _stamp: int) -> Any:
    try:
        text = Path(p).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"complaints.{kind}.no_file", file=f"{p} ({exc})") from None
    return parse(text, source=p)
