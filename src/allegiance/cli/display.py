"""Codes a person reads in table output, shown in the chosen language.

Results keep machine codes (``concentrate_here``, ``welch_t``, ``listwise`` ...) in
their tables, so JSON and CSV stay stable. In ``--format table`` the commands
wrap their result in :class:`Displayed`, which replaces the codes of chosen
columns by catalogue texts at display time: a value ``v`` of column ``c`` becomes
``t(f"{prefix}.{v}")`` for the first of the column's prefixes the catalogue knows,
and stays as it is otherwise (data values such as segment names or item columns).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from allegiance.i18n import Message, current_lang, has, t

Prefixes = str | Sequence[str]
ValueMap = Mapping[str, Prefixes | Callable[[Any], Any]]


def translate_value(value: Any, prefixes: Prefixes, lang: str | None = None) -> Any:
    """``value`` as text in ``lang`` when one of ``prefixes`` has a key for it, else unchanged."""
    if not isinstance(value, str) or not value:
        return value
    for prefix in (prefixes,) if isinstance(prefixes, str) else prefixes:
        key = f"{prefix}.{value}"
        if has(key):
            return t(key, lang)
    return value


def translate_frame(
    frame: pd.DataFrame, columns: ValueMap, lang: str | None = None
) -> pd.DataFrame:
    """A copy of ``frame`` with the codes of ``columns`` translated (other columns untouched)."""
    out = frame.copy()
    if out.index.name in columns or isinstance(out.index, pd.MultiIndex):
        out = out.reset_index()
    for column, how in columns.items():
        if column not in out.columns:
            continue
        if callable(how):
            out[column] = [how(v) for v in out[column]]
        else:
            out[column] = [translate_value(v, how, lang) for v in out[column]]
        out[column] = out[column].astype(object)
    return out


@dataclasses.dataclass(frozen=True)
class Displayed:
    """A result whose tables show translated codes; ``to_dict`` (JSON) keeps the codes.

    ``columns`` applies to every table; ``per_table`` adds columns for one table
    (by name); ``extra_tables`` are shown after the result's own (e.g. a crosstab);
    ``only`` restricts the tables shown (empty: all).
    """

    result: Any
    columns: ValueMap = dataclasses.field(default_factory=dict)
    per_table: Mapping[str, ValueMap] = dataclasses.field(default_factory=dict)
    active: bool = True
    extra_warnings: tuple[Message, ...] = ()
    extra_tables: Mapping[str, pd.DataFrame] = dataclasses.field(default_factory=dict)
    only: tuple[str, ...] = ()

    @property
    def warnings(self) -> tuple[Message, ...]:
        return (*self.extra_warnings, *tuple(self.result.warnings))

    def tables(self) -> dict[str, pd.DataFrame]:
        every: dict[str, pd.DataFrame] = dict(self.result.tables())
        every.update(self.extra_tables)
        if self.only:
            every = {k: v for k, v in every.items() if k in self.only}
        if not self.active:
            return every
        lang = current_lang()
        out: dict[str, pd.DataFrame] = {}
        for name, frame in every.items():
            wanted = {**self.columns, **self.per_table.get(name, {})}
            out[name] = translate_frame(frame, wanted, lang) if wanted else frame
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = self.result.to_dict()
        return out


@dataclasses.dataclass(frozen=True)
class Shown:
    """A result as printed: extra warnings (each shown once), tables reshaped for people by
    ``view``, text escaped for Rich tables (``escape``); ``to_dict`` (JSON) is the result's."""

    inner: Any
    warnings: tuple[Message, ...]
    view: Callable[[dict[str, pd.DataFrame]], dict[str, pd.DataFrame]] | None = None
    escape: bool = True

    def tables(self) -> dict[str, pd.DataFrame]:
        tables: dict[str, pd.DataFrame] = self.inner.tables()
        if self.view is not None:
            tables = self.view(tables)
        if not self.escape:
            return tables
        from rich.markup import escape

        out: dict[str, pd.DataFrame] = {}
        for name, frame in tables.items():
            shown = frame.copy()
            for col in shown.columns:
                series = shown[col]
                if pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(
                    series.dtype
                ):
                    shown[col] = series.map(lambda v: escape(v) if isinstance(v, str) else v)
            out[name] = shown
        return out

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = self.inner.to_dict()
        return result

    def __post_init__(self) -> None:
        seen: dict[tuple[str, str], Message] = {}
        for w in self.warnings:
            seen.setdefault((w.key, repr(sorted(w.params.items()))), w)
        object.__setattr__(self, "warnings", tuple(seen.values()))
