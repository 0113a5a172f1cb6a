"""One exception tree for the whole product.

Every error carries a message key and its parameters, so the CLI and the web
can show it in Chinese or English; ``str(error)`` is the English text. Each
message says what was found, what was expected, and what to do.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, ClassVar

from allegiance.i18n import Message, t

__all__ = [
    "AllegianceError",
    "ColumnNotFoundError",
    "ConfigError",
    "DataFileError",
    "InputError",
    "ProjectError",
    "StoreError",
    "ValidationError",
]


class AllegianceError(ValueError):
    """The root of every error allegiance raises on purpose."""

    default_key: ClassVar[str] = "error.generic"

    def __init__(self, key: str | None = None, /, **params: Any) -> None:
        self.key = key or self.default_key
        self.params = params
        super().__init__(self.render("en"))

    @property
    def message(self) -> Message:
        return Message(self.key, dict(self.params))

    def render(self, lang: str | None = None) -> str:
        return t(self.key, lang, **self.params)


class InputError(AllegianceError):
    """The data given is not what was expected (a file, a frame, a column)."""

    default_key = "error.input"


class DataFileError(InputError):
    """A data file could not be read; names the file and, where known, row, column and value."""

    default_key = "error.file"

    def __init__(self, key: str | None = None, /, **params: Any) -> None:
        params.setdefault("file", "?")
        super().__init__(key, **params)


class ColumnNotFoundError(InputError):
    """Columns asked for are not in the data; suggests the closest names."""

    default_key = "error.column_not_found"

    def __init__(self, missing: Iterable[str], available: Iterable[str], **params: Any) -> None:
        missing = list(missing)
        available = [str(a) for a in available]
        hints = []
        for name in missing:
            lowered = {a.lower(): a for a in available}
            close = lowered.get(str(name).lower())
            if close is None:
                found = difflib.get_close_matches(str(name), available, n=1, cutoff=0.6)
                close = found[0] if found else None
            if close is not None and close not in hints:
                hints.append(close)
        self.missing = missing
        self.available = available
        suggestion = ", ".join(repr(h) for h in hints)
        super().__init__(
            "error.column_not_found_hint" if hints else "error.column_not_found",
            columns=", ".join(repr(m) for m in missing),
            suggestion=suggestion,
            available=", ".join(repr(a) for a in available[:20]),
            **params,
        )


class ValidationError(AllegianceError):
    """An argument or a setting is out of its allowed range."""

    default_key = "error.validation"


class ConfigError(AllegianceError):
    """A settings or definition file is wrong."""

    default_key = "error.config"


class ProjectError(AllegianceError):
    """The project folder is missing, incomplete or not a project."""

    default_key = "error.project"


class StoreError(AllegianceError):
    """The project database could not be read or written."""

    default_key = "error.store"
