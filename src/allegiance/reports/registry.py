"""Report sections: a registry each capability adds to, and the builder that runs them.

A *section* is a titled part of the report (NPS, the satisfaction index, Kano ...).
Each capability registers its own :class:`Section` with :func:`register_section`;
:func:`build_report` runs every registered section's ``build`` on the context object
the caller passes, times it, and gathers the outputs into a frozen :class:`Report`
that the HTML and Excel writers render. A section that raises an
:class:`~allegiance.errors.AllegianceError` shows that error in its place while the
other sections still render; any other exception is a bug and propagates.

Values stay at full precision here; rounding, percent signs and thousands
separators happen only when a report is rendered.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from importlib import metadata
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar, get_args

import numpy as np

from allegiance._version import __version__
from allegiance.errors import AllegianceError, ValidationError
from allegiance.i18n import Lang, Message, normalize_lang, t

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = [
    "ENTRY_POINT_GROUP",
    "Chart",
    "ColumnFormat",
    "FigureKind",
    "FigureValue",
    "KeyFigure",
    "ProgressEvent",
    "Report",
    "ReportContext",
    "ReportTable",
    "Section",
    "SectionOutput",
    "SectionResult",
    "build_report",
    "get_section",
    "isolated_registry",
    "load_sections",
    "register_section",
    "registered",
    "sections",
    "text",
    "unregister_section",
]

FigureKind = Literal["number", "percent", "score", "count", "currency", "text"]
"""How a value is shown. ``percent`` values are fractions: 0.423 is shown as 42.3%."""

FIGURE_KINDS: tuple[str, ...] = get_args(FigureKind)

FigureValue = float | int | str | None
"""A key figure's raw value: a number at full precision, a text, or ``None`` (not available)."""

Text = str | Message
"""A catalogue key, or a :class:`~allegiance.i18n.Message` when the text takes parameters."""

ENTRY_POINT_GROUP = "allegiance.report_sections"
"""Entry-point group through which packages outside allegiance add report sections."""

_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
_MAX_DIGITS = 15


def text(key: Text, lang: str | None = None, /) -> str:
    """A catalogue key or a :class:`Message` in ``lang``."""
    if isinstance(key, Message):
        return key.render(lang)
    return t(key, lang)


def _check_id(value: object, *, what: str) -> None:
    if not isinstance(value, str) or not _ID.match(value):
        raise ValidationError("report.error.bad_id", what=what, id=repr(value))


def _check_digits(value: object, *, what: str) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_DIGITS
    if not ok:
        raise ValidationError("report.error.bad_digits", what=what, digits=repr(value))


def _check_kind(value: object) -> None:
    if value not in FIGURE_KINDS:
        raise ValidationError(
            "report.error.bad_kind", kind=repr(value), allowed=", ".join(FIGURE_KINDS)
        )


def _unique(ids: Iterable[str], *, what: str) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ValidationError("report.error.duplicate_id", what=what, id=i)
        seen.add(i)


def _figure_value(value: object, *, figure: str) -> FigureValue:
    """Normalise numpy/Decimal scalars to Python ones; NaN and infinities become ``None``."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating, Decimal, Fraction)):
        f = float(value)
        return f if math.isfinite(f) else None
    raise ValidationError("report.error.bad_value", id=figure, type=type(value).__name__)


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class KeyFigure:
    """One headline number of a section, e.g. the NPS or the satisfaction index.

    ``value`` keeps full precision; ``kind`` and ``digits`` only say how to show it.
    ``percent`` values are fractions (0.423 → 42.3%); ``count`` values are shown
    without decimals; ``text`` values as they are; ``None`` as "n/a".
    """

    id: str
    label_key: Text
    value: FigureValue
    kind: FigureKind = "number"
    digits: int = 1
    note_key: Text | None = None

    def __post_init__(self) -> None:
        _check_id(self.id, what="figure")
        _check_kind(self.kind)
        _check_digits(self.digits, what=f"figure {self.id}")
        object.__setattr__(self, "value", _figure_value(self.value, figure=self.id))


@dataclass(frozen=True)
class ColumnFormat:
    """How one table column is shown; ``digits=None`` takes the table's ``digits``."""

    kind: FigureKind = "number"
    digits: int | None = None

    def __post_init__(self) -> None:
        _check_kind(self.kind)
        if self.digits is not None:
            _check_digits(self.digits, what="column")


@dataclass(frozen=True, eq=False)
class ReportTable:
    """A table of a section. Column headers are shown as ``i18n.label(column, lang)``.

    Float columns are rounded to ``digits`` when shown, unless ``formats`` says
    otherwise for a column (e.g. ``{"share": ColumnFormat(kind="percent")}``).
    A named index (or a MultiIndex) is shown as leading columns.
    """

    id: str
    title_key: Text
    frame: pd.DataFrame
    digits: int = 2
    formats: Mapping[str, ColumnFormat] = field(default_factory=dict)
    note_key: Text | None = None

    def __post_init__(self) -> None:
        _check_id(self.id, what="table")
        _check_digits(self.digits, what=f"table {self.id}")
        import pandas as pd

        if not isinstance(self.frame, pd.DataFrame):
            raise ValidationError(
                "report.error.bad_table", id=self.id, type=type(self.frame).__name__
            )
        for fmt in self.formats.values():
            if not isinstance(fmt, ColumnFormat):
                raise ValidationError("report.error.bad_table", id=self.id, type=type(fmt).__name__)

    def display_frame(self) -> pd.DataFrame:
        """The frame with a named index or a MultiIndex moved into columns."""
        frame = self.frame
        if frame.index.name is not None or frame.index.nlevels > 1:
            frame = frame.reset_index()
        return frame

    def column_format(self, column: str, dtype_kind: str) -> ColumnFormat:
        """The format for ``column``: explicit, else from its dtype (``i``/``u`` → count)."""
        fmt = self.formats.get(column)
        if fmt is not None:
            return (
                fmt if fmt.digits is not None else ColumnFormat(kind=fmt.kind, digits=self.digits)
            )
        if dtype_kind in "iu":
            return ColumnFormat(kind="count", digits=0)
        return ColumnFormat(kind="number", digits=self.digits)


@dataclass(frozen=True, eq=False)
class Chart:
    """A Plotly figure of a section (see :mod:`allegiance.reports.charts`)."""

    id: str
    title_key: Text
    figure: go.Figure

    def __post_init__(self) -> None:
        _check_id(self.id, what="chart")


@dataclass(frozen=True, eq=False)
class SectionOutput:
    """What a section's ``build`` returns. Ids must be unique within each kind."""

    figures: tuple[KeyFigure, ...] = ()
    tables: tuple[ReportTable, ...] = ()
    charts: tuple[Chart, ...] = ()
    notes: tuple[Message, ...] = ()
    warnings: tuple[Message, ...] = ()

    def __post_init__(self) -> None:
        for name in ("figures", "tables", "charts", "notes", "warnings"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        _unique((f.id for f in self.figures), what="figure")
        _unique((tb.id for tb in self.tables), what="table")
        _unique((c.id for c in self.charts), what="chart")


# --------------------------------------------------------------------------- sections


class ReportContext(Protocol):
    """What a report is built from. Sections receive exactly the object the caller passes.

    Only ``lang`` is common to all; each capability documents the attributes its
    section reads (a survey's responses, a customer table, settings ...).
    """

    @property
    def lang(self) -> str: ...


C = TypeVar("C")


@dataclass(frozen=True)
class Section(Generic[C]):
    """A part of the report: ``build(ctx)`` computes it from the caller's context.

    ``title_key`` is a catalogue key (Chinese and English); ``order`` places the
    section (lower first; ties by id). ``build`` may raise an AllegianceError to
    say the data does not allow this section; the report then shows that error.
    """

    id: str
    title_key: str
    order: int
    build: Callable[[C], SectionOutput]

    def __post_init__(self) -> None:
        _check_id(self.id, what="section")
        if not callable(self.build):
            raise ValidationError("report.error.bad_build", id=self.id)


_lock = threading.RLock()
_registry: dict[str, Section[Any]] = {}


def register_section(section: Section[Any], /) -> Section[Any]:
    """Add ``section`` to the report; a second section with the same id is an error."""
    if not isinstance(section, Section):
        raise ValidationError("report.error.not_a_section", type=type(section).__name__)
    with _lock:
        if section.id in _registry:
            raise ValidationError("report.error.duplicate_section", id=section.id)
        _registry[section.id] = section
    return section


def unregister_section(section_id: str, /) -> None:
    """Remove a registered section (unknown ids are an error)."""
    with _lock:
        if section_id not in _registry:
            raise ValidationError(
                "report.error.unknown_section", id=section_id, available=_available()
            )
        del _registry[section_id]


def _available() -> str:
    return ", ".join(sorted(_registry)) or "-"


def _sort_key(section: Section[Any]) -> tuple[int, str]:
    return (section.order, section.id)


def sections() -> list[Section[Any]]:
    """Every registered section, by ``order`` then id."""
    with _lock:
        return sorted(_registry.values(), key=_sort_key)


def get_section(section_id: str, /) -> Section[Any]:
    """The registered section ``section_id``."""
    with _lock:
        found = _registry.get(section_id)
        if found is None:
            raise ValidationError(
                "report.error.unknown_section", id=section_id, available=_available()
            )
        return found


@contextmanager
def registered(*extra: Section[Any]) -> Iterator[tuple[Section[Any], ...]]:
    """Register ``extra`` for the duration of a ``with`` block (tests, one-off reports)."""
    done: list[Section[Any]] = []
    try:
        for section in extra:
            register_section(section)
            done.append(section)
        yield extra
    finally:
        with _lock:
            for section in done:
                if _registry.get(section.id) is section:
                    del _registry[section.id]


@contextmanager
def isolated_registry(*initial: Section[Any]) -> Iterator[None]:
    """Swap in a registry holding only ``initial`` for a ``with`` block; restore it after."""
    with _lock:
        saved = dict(_registry)
        _registry.clear()
    try:
        for section in initial:
            register_section(section)
        yield
    finally:
        with _lock:
            _registry.clear()
            _registry.update(saved)


def load_sections() -> list[str]:
    """Import the modules that register the product's report sections; return their names.

    Two places are searched: every module of the package ``allegiance.reports.sections``
    (one module per capability, each calling :func:`register_section` when imported),
    and the entry-point group ``allegiance.report_sections`` (other packages: the entry
    point names a module, or a callable that is called with no arguments). Modules
    already imported are not imported again, so calling this twice is harmless.
    """
    loaded: list[str] = []
    try:
        package = importlib.import_module("allegiance.reports.sections")
    except ModuleNotFoundError as exc:
        if exc.name not in {"allegiance.reports.sections"}:
            raise
    else:
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if info.name.startswith("_"):
                continue
            name = f"{package.__name__}.{info.name}"
            importlib.import_module(name)
            loaded.append(name)
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        obj = entry.load()
        if callable(obj):
            obj()
        loaded.append(entry.value)
    return loaded


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class ProgressEvent:
    """Told to ``progress`` before (``done=False``) and after (``done=True``) each section."""

    section_id: str
    title: str
    index: int
    total: int
    done: bool
    seconds: float | None = None


@dataclass(frozen=True, eq=False)
class SectionResult:
    """One section as built: its output, compute time, and the error if it failed."""

    section: Section[Any]
    title: str
    output: SectionOutput
    seconds: float
    error: Message | None = None

    @property
    def id(self) -> str:
        return self.section.id

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, eq=False)
class Report:
    """A built report in one language, ready for :func:`render_html` or :func:`write_xlsx`."""

    title: str
    lang: Lang
    generated_at: datetime
    sections: tuple[SectionResult, ...]
    version: str = __version__

    @property
    def seconds(self) -> float:
        """Total compute time of all sections."""
        return math.fsum(s.seconds for s in self.sections)

    def figures(self) -> dict[str, FigureValue]:
        """Every key figure as ``"<section_id>.<figure_id>"`` → raw full-precision value."""
        return {f"{s.id}.{f.id}": f.value for s in self.sections for f in s.output.figures}

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table as ``"<section_id>.<table_id>"`` → frame."""
        return {f"{s.id}.{tb.id}": tb.frame for s in self.sections for tb in s.output.tables}

    @property
    def warnings(self) -> tuple[Message, ...]:
        """The sections' warnings, then one message per section that failed."""
        out: list[Message] = [w for s in self.sections for w in s.output.warnings]
        for s in self.sections:
            if s.error is not None:
                out.append(
                    Message(
                        "report.section_failed",
                        {"section": s.title, "message": s.error.render(self.lang)},
                    )
                )
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe summary: figures, tables, notes, warnings and times per section."""
        from allegiance.results import records

        lang = self.lang
        return {
            "title": self.title,
            "lang": lang,
            "generated_at": self.generated_at.isoformat(),
            "version": self.version,
            "seconds": self.seconds,
            "figures": self.figures(),
            "sections": [
                {
                    "id": s.id,
                    "title": s.title,
                    "seconds": s.seconds,
                    "error": None if s.error is None else s.error.to_dict(lang),
                    "figures": [
                        {
                            "id": f.id,
                            "label": text(f.label_key, lang),
                            "value": f.value,
                            "kind": f.kind,
                            "digits": f.digits,
                        }
                        for f in s.output.figures
                    ],
                    "tables": {tb.id: records(tb.frame) for tb in s.output.tables},
                    "charts": [
                        {"id": c.id, "title": text(c.title_key, lang)} for c in s.output.charts
                    ],
                    "notes": [m.to_dict(lang) for m in s.output.notes],
                    "warnings": [m.to_dict(lang) for m in s.output.warnings],
                }
                for s in self.sections
            ],
        }


def _resolve_lang(ctx: object, lang: str | None) -> Lang:
    raw = lang if lang is not None else getattr(ctx, "lang", None)
    if raw is None:
        from allegiance.i18n import current_lang

        return current_lang()
    norm = normalize_lang(str(raw))
    if norm is None:
        raise ValidationError("error.unknown_lang", lang=repr(raw))
    return norm


def _select(chosen: Sequence[str | Section[Any]] | None) -> list[Section[Any]]:
    if chosen is None:
        return sections()
    if isinstance(chosen, (str, Section)):
        chosen = [chosen]
    picked: list[Section[Any]] = []
    for item in chosen:
        section = get_section(item) if isinstance(item, str) else item
        if not isinstance(section, Section):
            raise ValidationError("report.error.not_a_section", type=type(section).__name__)
        picked.append(section)
    _unique((s.id for s in picked), what="section")
    return sorted(picked, key=_sort_key)


def build_report(
    ctx: Any,
    /,
    *,
    lang: str | None = None,
    sections: Sequence[str | Section[Any]] | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
    title: str | None = None,
) -> Report:
    """Build every section from ``ctx`` and gather them into a :class:`Report`.

    ``lang`` defaults to ``ctx.lang``, then to the active language. ``sections``
    picks registered sections by id (or passes :class:`Section` objects directly);
    by default every registered section is built, in ``order``. ``progress`` is
    told when each section starts and ends. ``title`` defaults to the catalogue's
    report title. Each section's compute time is measured with ``perf_counter``.
    """
    chosen_lang = _resolve_lang(ctx, lang)
    picked = _select(sections)
    total = len(picked)
    results: list[SectionResult] = []
    for index, section in enumerate(picked):
        section_title = t(section.title_key, chosen_lang)
        if progress is not None:
            progress(ProgressEvent(section.id, section_title, index, total, done=False))
        error: Message | None = None
        start = time.perf_counter()
        try:
            output = section.build(ctx)
        except AllegianceError as exc:
            output = SectionOutput()
            error = exc.message
        seconds = time.perf_counter() - start
        if not isinstance(output, SectionOutput):
            raise TypeError(
                f"report section {section.id!r} returned {type(output).__name__}, "
                "expected SectionOutput"
            )
        results.append(SectionResult(section, section_title, output, seconds, error))
        if progress is not None:
            progress(
                ProgressEvent(section.id, section_title, index, total, done=True, seconds=seconds)
            )
    return Report(
        title=title if title is not None else t("report.title", chosen_lang),
        lang=chosen_lang,
        generated_at=datetime.now().astimezone(),
        sections=tuple(results),
    )
