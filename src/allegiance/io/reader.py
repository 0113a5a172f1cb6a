"""The one data reader every allegiance command uses.

:func:`read_table` opens a survey or customer data file (CSV/TSV/TXT, Excel
``.xlsx``, Parquet, SPSS ``.sav``) and returns a :class:`DataTable`: the frame
plus what a reader needs to trust it (the encoding used, SPSS labels,
warnings). Every problem with the file becomes a bilingual
:class:`~allegiance.errors.DataFileError` naming the file and, where there is
one, the row, the column, the value found and what was expected.

The same rules hold for every format:

* missing answers are missing: empty and whitespace-only cells and the tokens
  in :data:`MISSING_TOKENS` (compared without surrounding spaces and ignoring
  case) become NaN/None;
* text columns whose every answer is a plain number become numeric
  (integers stay integers where nothing is missing); Chinese text is never
  coerced; integer-looking columns with leading zeros (IDs such as 00123)
  stay text;
* row numbers in messages count as a spreadsheet user does: the header is
  row 1 (or the line it is on), the first data row is the next one.

:func:`coerce_numeric` turns one column into numbers for the scale commands
(e.g. NPS expects whole numbers 0..10) and stops at the first bad value with
its row number; :func:`require_columns` checks that columns exist.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from allegiance.errors import ColumnNotFoundError, DataFileError, ValidationError
from allegiance.i18n import Message

__all__ = [
    "MISSING_TOKENS",
    "SUPPORTED_EXTENSIONS",
    "DataTable",
    "coerce_numeric",
    "read_table",
    "require_columns",
]

#: File extensions read_table understands, and the format each one is read as.
SUPPORTED_EXTENSIONS: Mapping[str, str] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".sav": "sav",
    ".zsav": "sav",
}

#: Cell texts that mean "no answer", compared after stripping spaces, ignoring case.
#: The empty string covers empty and whitespace-only cells.
MISSING_TOKENS: frozenset[str] = frozenset(
    {"", "na", "n/a", "#n/a", "nan", "null", "-", "缺失", "无"}
)

_TOKENS = pa.array(sorted(MISSING_TOKENS), type=pa.string())
_INT_RE = r"^[+-]?[0-9]+$"
_LEADING_ZERO_RE = r"^[+-]?0[0-9]"
_FLOAT_RE = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?$"
_CJK_RE = re.compile("[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
_NOT_CJK_RE = re.compile(
    "[^\x00-\x7f\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff]"
)
_NOT_LATIN_RE = re.compile("[^\x00-\x7f\u00a0-\u00ff\u2000-\u206f\u20ac]")
_NON_ASCII_RE = re.compile("[^\x00-\x7f]")
_SNIFF_BYTES = 64 * 1024
_SNIFF_RECORDS = 50
_DELIMITER_NAMES = {",": ",", ";": ";", "\t": "Tab", " ": "spaces"}
_SPACES = " "
"""The sniffed 'delimiter' of a file whose fields are separated by runs of spaces or tabs
(fixed-width-looking text such as CDNOW_master.txt); read as tab-separated after the runs are
collapsed."""


@dataclass(frozen=True, eq=False)
class DataTable:
    """A data file read into memory, with what is known about how it was read.

    ``frame`` has a fresh ``RangeIndex`` (0 = first data row). ``format`` is
    one of ``csv``, ``tsv`` (tab-delimited text), ``xlsx``, ``parquet``,
    ``sav``. ``encoding`` is the text encoding actually used (text files
    only). ``value_labels`` and ``column_labels`` hold SPSS value and
    variable labels (empty for other formats); the frame keeps the codes.
    ``header_row`` is the file line / spreadsheet row holding the column names,
    so data row ``i`` (0-based) is row ``header_row + 1 + i`` in messages.
    """

    frame: pd.DataFrame
    path: Path
    format: str
    encoding: str | None = None
    value_labels: dict[str, dict[Any, str]] = field(default_factory=dict)
    column_labels: dict[str, str] = field(default_factory=dict)
    warnings: tuple[Message, ...] = ()
    sheet: str | None = None
    delimiter: str | None = None
    header_row: int = 1

    def require(self, columns: Iterable[str], /) -> None:
        """Raise :class:`ColumnNotFoundError` unless every column is present."""
        require_columns(self.frame, columns, file=self.path)

    def numeric(
        self,
        column: str,
        /,
        *,
        allowed: tuple[float, float] | None = None,
        integer: bool = False,
    ) -> pd.Series:
        """:func:`coerce_numeric` on this table, with its file name and row numbering."""
        return coerce_numeric(
            self.frame,
            column,
            file=self.path,
            allowed=allowed,
            integer=integer,
            header_row=self.header_row,
        )


# ---------------------------------------------------------------------------
# public entry points


def read_table(
    path: str | os.PathLike[str],
    /,
    *,
    encoding: str | None = None,
    sheet: str | int | None = None,
    columns: Sequence[str] | None = None,
) -> DataTable:
    """Read a data file into a :class:`DataTable`.

    The format comes from the extension (case-insensitive): ``.csv``/``.txt``/
    ``.tsv`` (delimiter sniffed among comma, semicolon and tab), ``.xlsx``/
    ``.xlsm`` (first sheet unless ``sheet=`` names one or gives its 0-based
    index), ``.parquet``, ``.sav``/``.zsav`` (SPSS, codes kept, labels in
    ``value_labels``/``column_labels``).

    Text files are decoded as UTF-8 (with or without BOM), else GB18030 (which
    covers GBK, what Chinese Excel saves), else the encoding charset-normalizer
    guesses (with a warning); ``encoding=`` forces one. For SPSS files
    ``encoding=`` is passed to the SPSS reader.

    ``columns`` keeps only those columns, in that order (missing ones raise
    :class:`ColumnNotFoundError`).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "nps.csv"
    >>> _ = p.write_text("城市,推荐意愿\\n北京,9\\n上海,无\\n", encoding="gb18030")
    >>> table = read_table(p)
    >>> table.encoding, table.frame["推荐意愿"].tolist()
    ('gb18030', [9.0, nan])
    """
    file = Path(path)
    name = os.fspath(path)
    fmt = _check_path(file, name)
    if isinstance(columns, str):
        columns = [columns]
    warnings: list[Message] = []
    if sheet is not None and fmt != "xlsx":
        warnings.append(Message("reader.warn.sheet_ignored", {"file": name, "sheet": str(sheet)}))
    if encoding is not None and fmt in {"xlsx", "parquet"}:
        warnings.append(
            Message("reader.warn.encoding_ignored", {"file": name, "encoding": encoding})
        )
    if fmt in {"csv", "tsv"}:
        table = _read_text(file, name, encoding=encoding, columns=columns, tsv=fmt == "tsv")
    elif fmt == "xlsx":
        table = _read_xlsx(file, name, sheet=sheet, columns=columns)
    elif fmt == "parquet":
        table = _read_parquet(file, name, columns=columns)
    else:
        table = _read_sav(file, name, encoding=encoding, columns=columns)
    if len(table.frame) == 0:
        warnings.append(Message("reader.warn.no_rows", {"file": name}))
    if warnings:
        table = replace(table, warnings=(*table.warnings, *warnings))
    return table


def require_columns(
    frame: pd.DataFrame,
    /,
    columns: Iterable[str],
    *,
    file: str | os.PathLike[str] | None = None,
) -> None:
    """Raise :class:`ColumnNotFoundError` naming every column of ``columns`` not in ``frame``.

    The error suggests the closest existing name (case or spelling).
    """
    wanted = [columns] if isinstance(columns, str) else list(columns)
    present = set(frame.columns)
    missing = [c for c in wanted if c not in present]
    if missing:
        extra = {} if file is None else {"file": str(file)}
        raise ColumnNotFoundError(missing, [str(c) for c in frame.columns], **extra)


def coerce_numeric(
    frame: pd.DataFrame,
    /,
    column: str,
    *,
    file: str | os.PathLike[str] | None = None,
    allowed: tuple[float, float] | None = None,
    integer: bool = False,
    header_row: int = 1,
) -> pd.Series:
    """Column ``column`` of ``frame`` as float64 numbers; missing answers stay NaN.

    Text is stripped and normalised (full-width digits such as ``９`` count),
    and the tokens in :data:`MISSING_TOKENS` are missing. On the first value
    that is not a (finite) number, not a whole number when ``integer=True``,
    or outside ``allowed`` (inclusive), raises :class:`DataFileError` naming
    the file, row, column, value and what was expected. Params: ``file``
    (when given), ``row``, ``column``, ``value``, ``expected`` (English
    phrase) and ``low``/``high`` for a range.

    Row numbers count as a spreadsheet user does: ``header_row`` (default 1)
    holds the names, so the data row with index label ``i`` is row
    ``header_row + 1 + i``. With a non-integer index the position is used.

    >>> df = pd.DataFrame({"nps": ["9", "10", "", "11"]})
    >>> coerce_numeric(df, "nps", allowed=(0, 10), integer=True)
    Traceback (most recent call last):
    ...
    allegiance.errors.DataFileError: Row 5, column "nps": found "11", expected a whole number from 0 to 10.
    """
    require_columns(frame, [column], file=file)
    if allowed is not None:
        low, high = float(allowed[0]), float(allowed[1])
        if not low <= high:
            raise ValidationError(
                "reader.bad_allowed", low=_show_number(low), high=_show_number(high)
            )
    series = frame[column]
    if isinstance(series, pd.DataFrame):  # duplicate names in a hand-made frame
        series = series.iloc[:, 0]
    n = len(series)
    if pd.api.types.is_bool_dtype(series.dtype):
        missing = series.isna().to_numpy(dtype=bool)
        numbers = np.full(n, np.nan)
        bad = ~missing
    elif pd.api.types.is_numeric_dtype(series.dtype):
        numbers = series.to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(numbers)
        bad = ~missing & ~np.isfinite(numbers)
    else:
        text = series.astype("str")
        cleaned = text.str.normalize("NFKC").str.strip()
        missing = (series.isna() | cleaned.str.casefold().isin(MISSING_TOKENS)).to_numpy(dtype=bool)
        parsed = pd.to_numeric(cleaned.where(~missing), errors="coerce")
        numbers = np.asarray(parsed, dtype="float64")
        bad = ~missing & ~np.isfinite(numbers)
    present = ~missing & ~bad
    if integer:
        with np.errstate(invalid="ignore"):
            bad |= present & (np.floor(numbers) != numbers)
    if allowed is not None:
        with np.errstate(invalid="ignore"):
            bad |= present & ((numbers < low) | (numbers > high))
    if bad.any():
        pos = int(np.argmax(bad))
        _raise_bad_value(
            series,
            pos,
            column=column,
            file=file,
            allowed=allowed,
            integer=integer,
            header_row=header_row,
        )
    numbers = numbers.copy()
    numbers[missing] = np.nan
    return pd.Series(numbers, index=series.index, name=column, dtype="float64")


# ---------------------------------------------------------------------------
# shared helpers


def _check_path(file: Path, name: str) -> str:
    fmt = SUPPORTED_EXTENSIONS.get(file.suffix.lower())
    if not file.exists():
        raise DataFileError("reader.not_found", file=name)
    if file.is_dir():
        raise DataFileError("reader.is_directory", file=name)
    if fmt is None:
        raise DataFileError(
            "reader.unsupported",
            file=name,
            extension=file.suffix,
            supported=", ".join(SUPPORTED_EXTENSIONS),
        )
    return fmt


def _show_number(value: float) -> str:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return repr(float(value))


def _show_value(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return _show_number(float(value))
    return str(value)


def _raise_bad_value(
    series: pd.Series,
    pos: int,
    *,
    column: str,
    file: str | os.PathLike[str] | None,
    allowed: tuple[float, float] | None,
    integer: bool,
    header_row: int,
) -> NoReturn:
    index = series.index
    if pd.api.types.is_integer_dtype(index.dtype) and len(index) and index.min() >= 0:
        data_row = int(index[pos])
    else:
        data_row = pos
    params: dict[str, Any] = {
        "row": header_row + 1 + data_row,
        "column": str(column),
        "value": _show_value(series.iloc[pos]),
    }
    kind = "integer" if integer else "number"
    expected = "a whole number" if integer else "a number"
    if allowed is not None:
        kind += "_range"
        params["low"] = _show_number(float(allowed[0]))
        params["high"] = _show_number(float(allowed[1]))
        expected += f" from {params['low']} to {params['high']}"
    params["expected"] = expected
    key = f"reader.value.{kind}"
    if file is None:
        raise DataFileError(key + "_nofile", **params)
    raise DataFileError(key, file=str(file), **params)


def _column_letter(index: int) -> str:
    """0-based column index to a spreadsheet letter: 0 → A, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def _clean_header(
    names: list[str],
    *,
    name: str,
    header_row: int,
    position: Callable[[int], str],
) -> list[str]:
    """Strip names; raise on duplicate non-blank names (blank ones are checked later)."""
    cleaned = [n.strip() for n in names]
    seen: dict[str, list[int]] = {}
    for i, n in enumerate(cleaned):
        if n:
            seen.setdefault(n, []).append(i)
    for n, where in seen.items():
        if len(where) > 1:
            raise DataFileError(
                "reader.duplicate_header",
                file=name,
                row=header_row,
                column=n,
                positions=", ".join(position(i) for i in where),
            )
    return cleaned


def _check_blank_columns(
    frame: pd.DataFrame,
    *,
    name: str,
    header_row: int,
    position: Callable[[int], str],
    warnings: list[Message],
) -> pd.DataFrame:
    """Drop unnamed all-missing columns (a trailing delimiter); raise for unnamed data."""
    blank = [i for i, c in enumerate(frame.columns) if c == ""]
    if not blank:
        return frame
    keep = []
    for i in range(frame.shape[1]):
        if i not in blank:
            keep.append(i)
            continue
        col = frame.iloc[:, i]
        filled = col.notna().to_numpy()
        if filled.any():
            first = int(np.argmax(filled))
            raise DataFileError(
                "reader.blank_header",
                file=name,
                row=header_row,
                column=position(i),
                value=_show_value(col.iloc[first]),
                value_row=header_row + 1 + first,
            )
        warnings.append(
            Message("reader.warn.empty_column_dropped", {"file": name, "column": position(i)})
        )
    return frame.iloc[:, keep]


# ---------------------------------------------------------------------------
# text files


def _read_text(
    file: Path,
    name: str,
    *,
    encoding: str | None,
    columns: Sequence[str] | None,
    tsv: bool,
) -> DataTable:
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise DataFileError(
            "reader.unreadable", file=name, detail=exc.strerror or str(exc)
        ) from exc
    warnings: list[Message] = []
    data, used = _decode(raw, name, encoding, warnings)
    if not data.strip():
        raise DataFileError("reader.empty", file=name)

    head = data[:_SNIFF_BYTES]
    if len(data) > _SNIFF_BYTES:
        cut = head.rfind(b"\n")
        head = head[: cut + 1] if cut > 0 else head
    sample = head.decode("utf-8", errors="ignore")
    lines = sample.splitlines(keepends=True)
    blank_lead = 0
    while blank_lead < len(lines) and not lines[blank_lead].strip("\r\n"):
        blank_lead += 1
    lines = lines[blank_lead:]
    header_row = blank_lead + 1
    delimiter = _sniff_delimiter(lines, prefer_tab=tsv, truncated=len(data) > len(head))
    if delimiter == _SPACES:
        data = _collapse_spaces(data)
        lines = _collapse_spaces("".join(lines).encode("utf-8")).decode("utf-8").splitlines(True)
    parse_delimiter = "\t" if delimiter == _SPACES else delimiter
    try:
        raw_names = next(csv.reader(lines, delimiter=parse_delimiter), [])
    except csv.Error as exc:
        raise DataFileError("reader.parse", file=name, detail=f"line {header_row}: {exc}") from exc
    names = _clean_header(
        raw_names, name=name, header_row=header_row, position=lambda i: str(i + 1)
    )

    include: list[str] | None = None
    if columns is not None:
        require_columns(pd.DataFrame(columns=[n for n in names if n]), columns, file=name)
        include = [raw_names[names.index(c)] for c in columns]

    invalid: list[tuple[int, int]] = []

    def on_invalid(row: Any) -> str:
        if row.text is None or row.text.strip():  # a whitespace-only line is a blank line
            invalid.append((row.expected_columns, row.actual_columns))
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(use_threads=True),
            parse_options=pacsv.ParseOptions(
                delimiter=parse_delimiter,
                newlines_in_values=b'"' in data,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in raw_names},
                include_columns=include,
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError, ValueError) as exc:
        _raise_ragged(data, name, parse_delimiter, names, header_row)
        raise DataFileError("reader.parse", file=name, detail=str(exc)) from exc
    if invalid:
        _raise_ragged(data, name, parse_delimiter, names, header_row)
        expected, found = invalid[0]
        raise DataFileError(
            "reader.ragged",
            file=name,
            row="?",
            found=found,
            expected=expected,
            header_row=header_row,
            delimiter=_DELIMITER_NAMES[delimiter],
        )

    selected = list(columns) if columns is not None else names
    if table.num_columns != len(selected):  # header parsed differently: trust pyarrow's names
        selected = [str(c).strip() for c in table.column_names]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        arrays = list(pool.map(lambda c: _clean_strings(c, infer=True), table.itercolumns()))
    frame = pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))]).to_pandas()
    frame.columns = pd.Index(selected)
    frame = _check_blank_columns(
        frame, name=name, header_row=header_row, position=lambda i: str(i + 1), warnings=warnings
    )
    return DataTable(
        frame=frame,
        path=file,
        format="tsv" if delimiter == "\t" else "csv",
        encoding=used,
        warnings=tuple(warnings),
        delimiter=delimiter,
        header_row=header_row,
    )


def _decode(
    raw: bytes, name: str, forced: str | None, warnings: list[Message]
) -> tuple[bytes, str]:
    """Return the file's text as UTF-8 bytes without BOM, and the encoding used."""
    if forced is not None:
        try:
            codec = codecs.lookup(forced).name
        except LookupError as exc:
            raise ValidationError("reader.unknown_encoding", file=name, encoding=forced) from exc
        if codec == "utf-8":
            codec = "utf-8-sig"
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError as exc:
            raise DataFileError(
                "reader.decode",
                file=name,
                encoding=forced,
                row=raw.count(b"\n", 0, exc.start) + 1,
                offset=exc.start,
                bytes=" ".join(f"0x{b:02x}" for b in raw[exc.start : max(exc.end, exc.start + 1)]),
            ) from exc
        if codec == "utf-8-sig":
            return _strip_bom(raw), forced
        return text.encode("utf-8"), forced

    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) and not raw.startswith(b"\xff\xfe\x00\x00"):
        try:
            return raw.decode("utf-16").encode("utf-8"), "utf-16"
        except UnicodeDecodeError:
            pass
    if b"\x00" in raw[:8192]:
        raise DataFileError("reader.binary", file=name)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if raw.startswith(codecs.BOM_UTF8):
            return raw[len(codecs.BOM_UTF8) :], "utf-8-sig"
        if not _gbk_disguised_as_utf8(raw, text):
            return raw, "utf-8"
    try:
        return raw.decode("gb18030").encode("utf-8"), "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None or best.encoding is None:
        raise DataFileError("reader.undetectable", file=name)
    guessed = str(best.encoding)
    try:
        text = raw.decode(guessed)
    except (UnicodeDecodeError, LookupError) as exc:
        raise DataFileError("reader.undetectable", file=name) from exc
    warnings.append(Message("reader.warn.encoding_guessed", {"file": name, "encoding": guessed}))
    return text.encode("utf-8"), guessed


def _gbk_disguised_as_utf8(raw: bytes, text: str) -> bool:
    """Whether valid UTF-8 bytes are more plausibly GB18030/GBK text.

    A short GBK file can be valid UTF-8 by chance (every Chinese character
    encoded as a byte pair that reads as one Latin, Greek or Cyrillic letter).
    Real UTF-8 Chinese text has Chinese characters and Western European text
    keeps to Latin-1 letters and punctuation; a file with few non-ASCII
    characters that has neither, while its GB18030 reading is all Chinese, is
    taken as GB18030.
    """
    if raw.isascii() or _CJK_RE.search(text) or not _NOT_LATIN_RE.search(text):
        return False
    if len(list(itertools.islice(_NON_ASCII_RE.finditer(text), 33))) > 32:
        return False  # chance agreement over this many characters is negligible: it is UTF-8
    try:
        gb = raw.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return _NOT_CJK_RE.search(gb) is None


def _strip_bom(raw: bytes) -> bytes:
    return raw[len(codecs.BOM_UTF8) :] if raw.startswith(codecs.BOM_UTF8) else raw


def _sniff_delimiter(lines: list[str], *, prefer_tab: bool, truncated: bool) -> str:
    """Pick comma, semicolon or tab: the one that splits the sample into equal rows of most fields."""
    candidates = ("\t", ",", ";") if prefer_tab else (",", ";", "\t")
    best = candidates[0]
    best_score = (False, 1)
    for delim in candidates:
        try:
            records = [r for r in csv.reader(lines, delimiter=delim) if r]
        except csv.Error:
            continue
        if truncated and len(records) > 1:
            records = records[:-1]  # the last record may be cut short
        counts = [len(r) for r in records[:_SNIFF_RECORDS]]
        if not counts or counts[0] < 2:
            continue
        score = (all(c == counts[0] for c in counts), counts[0])
        if score > best_score:
            best, best_score = delim, score
    if best_score[1] < 2 or not best_score[0]:
        # no delimiter splits the rows evenly: fields separated by runs of spaces or tabs?
        records = [line.split() for line in lines if line.strip()]
        if truncated and len(records) > 1:
            records = records[:-1]
        counts = [len(r) for r in records[:_SNIFF_RECORDS]]
        aligned = any(re.search(r"\S(?: {2,}|\t)\S", line) for line in lines)
        share = sum(c == counts[0] for c in counts) / len(counts) if counts else 0.0
        # two words per line with single spaces is more likely one column of text; a file
        # mostly of the header's width is read so that the odd line is reported, not merged
        if share == 1.0 and (counts[0] >= 3 or (counts[0] == 2 and aligned)):
            return _SPACES
        if counts and counts[0] >= 2 and aligned and share >= 0.8:
            return _SPACES
    return best


def _collapse_spaces(data: bytes) -> bytes:
    """Whitespace-separated text as tab-separated: runs of spaces/tabs become one tab, and the
    spaces that open or close a line go."""
    data = re.sub(rb"(?m)^[ \t]+|[ \t]+(?=\r?$)", b"", data)
    return re.sub(rb"[ \t]+", b"\t", data)


def _raise_ragged(
    data: bytes, name: str, delimiter: str, names: list[str], header_row: int
) -> None:
    """Find the first record whose field count differs from the header's; raise for it."""
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    expected = len(names)
    previous_end = 0
    header_seen = False
    try:
        for record in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not record:
                continue
            if not header_seen:
                header_seen = True
                continue
            if len(record) == expected or (len(record) == 1 and not record[0].strip()):
                continue
            common = {
                "file": name,
                "row": start,
                "found": len(record),
                "expected": expected,
                "header_row": header_row,
                "delimiter": _DELIMITER_NAMES[delimiter],
            }
            if reader.line_num > start:  # a quoted value ran over line ends
                raise DataFileError(
                    "reader.unclosed_quote",
                    file=name,
                    row=start,
                    column=names[min(len(record), expected) - 1] or str(len(record)),
                    end_row=reader.line_num,
                    header_row=header_row,
                    found=len(record),
                    expected=expected,
                )
            if len(record) < expected:
                raise DataFileError(
                    "reader.ragged_short",
                    column=names[len(record)] or str(len(record) + 1),
                    **common,
                )
            raise DataFileError(
                "reader.ragged_long",
                column=str(expected + 1),
                value=record[expected],
                last=names[-1] or str(expected),
                **common,
            )
    except csv.Error as exc:
        raise DataFileError(
            "reader.parse", file=name, detail=f"line {reader.line_num}: {exc}"
        ) from exc


def _clean_strings(col: pa.ChunkedArray | pa.Array, *, infer: bool) -> pa.ChunkedArray | pa.Array:
    """Missing tokens to null; with ``infer``, all-number text to int64/float64, ISO dates to timestamps.

    Survey columns hold few distinct answers, so the work is done once per
    distinct value and spread back with ``take``.
    """
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return col
    if len(col) >= 1024 and len(pc.unique(col.slice(0, 4096))) * 4 <= min(len(col), 4096):
        distinct = pc.unique(col)
        if len(distinct) * 4 <= len(col):
            cleaned = _clean_values(distinct, infer=infer)
            return pc.take(cleaned, pc.index_in(col, value_set=distinct))
    return _clean_values(col, infer=infer)


def _clean_values(col: pa.ChunkedArray | pa.Array, *, infer: bool) -> pa.ChunkedArray | pa.Array:
    trimmed = pc.utf8_trim_whitespace(col)
    missing = pc.or_kleene(pc.is_in(pc.utf8_lower(trimmed), value_set=_TOKENS), pc.is_null(col))
    missing = pc.fill_null(missing, True)
    null = pa.scalar(None, type=col.type)
    values = pc.if_else(missing, null, col)
    if not infer:
        return values
    present = pc.if_else(missing, null, trimmed)
    if present.null_count == len(present):
        return pa.nulls(len(present), type=pa.float64())

    def every(pattern: str) -> bool:
        head = present.slice(0, 1000)  # cheap early "no" for long columns
        if len(present) > 1000 and not pc.all(pc.match_substring_regex(head, pattern)).as_py():
            return False
        return bool(pc.all(pc.match_substring_regex(present, pattern)).as_py())

    if every(_INT_RE):
        if pc.any(pc.match_substring_regex(present, _LEADING_ZERO_RE)).as_py():
            return values  # identifiers such as 00123 keep their zeros
        try:
            return pc.cast(pc.replace_substring_regex(present, r"^\+", ""), pa.int64())
        except pa.ArrowInvalid:
            return values  # too long for int64: an identifier, keep the text
    if every(_FLOAT_RE):
        return pc.cast(present, pa.float64())
    if every(_DATE_RE):
        try:
            return pc.cast(present, pa.timestamp("us"))
        except pa.ArrowInvalid:
            return values
    return values


def _clean_text_series(series: pd.Series) -> pd.Series:
    """Missing tokens to NaN in a pandas text column (no type inference)."""
    if not (pd.api.types.is_string_dtype(series.dtype) or series.dtype == object):
        return series
    stripped = series.str.strip() if series.dtype != object else series.map(_strip_text)
    lowered = stripped.str.casefold() if series.dtype != object else stripped.map(_fold_text)
    missing = series.isna() | lowered.isin(MISSING_TOKENS)
    if not missing.any():
        return series
    return series.where(~missing)


def _strip_text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _fold_text(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


# ---------------------------------------------------------------------------
# Excel


def _read_xlsx(
    file: Path,
    name: str,
    *,
    sheet: str | int | None,
    columns: Sequence[str] | None,
) -> DataTable:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(file))
        sheet_names = list(book.sheet_names)
    except Exception as exc:  # calamine raises its own errors, zip errors, OSError
        raise DataFileError("reader.corrupt", file=name, format="xlsx", detail=str(exc)) from exc
    available = ", ".join(f"{i}: {s}" for i, s in enumerate(sheet_names))
    if sheet is None:
        chosen = 0
    elif isinstance(sheet, int) and not isinstance(sheet, bool):
        chosen = sheet
    elif str(sheet) in sheet_names:
        chosen = sheet_names.index(str(sheet))
    elif str(sheet).strip().isdigit():
        chosen = int(str(sheet).strip())
    else:
        chosen = -1
    if not 0 <= chosen < len(sheet_names):
        raise DataFileError(
            "reader.sheet_not_found", file=name, sheet=str(sheet), available=available
        )
    sheet_name = sheet_names[chosen]
    try:
        ws = book.get_sheet_by_index(chosen)
        rows = ws.to_python(skip_empty_area=True)
        start = ws.start
    except Exception as exc:
        raise DataFileError("reader.corrupt", file=name, format="xlsx", detail=str(exc)) from exc
    if not rows or start is None:
        raise DataFileError("reader.empty_sheet", file=name, sheet=sheet_name)
    first_row, first_col = int(start[0]), int(start[1])
    header_row = first_row + 1

    def position(i: int) -> str:
        return _column_letter(first_col + i)

    width = max(len(r) for r in rows)
    header = [_header_text(v) for v in rows[0]] + [""] * (width - len(rows[0]))
    names = _clean_header(header, name=name, header_row=header_row, position=position)
    wanted = list(range(width))
    if columns is not None:
        require_columns(pd.DataFrame(columns=[n for n in names if n]), columns, file=name)
        wanted = [names.index(c) for c in columns]
    body = rows[1:]
    n = len(body)
    grid = np.empty((n, width), dtype=object)
    grid.fill("")
    for i, r in enumerate(body):  # calamine rows are already Python lists
        grid[i, : len(r)] = r
    data = {f"c{j}": _clean_cells(grid[:, j]) for j in wanted}
    frame = pd.DataFrame(data)
    if not len(wanted):
        frame = pd.DataFrame(index=pd.RangeIndex(n))
    frame.columns = pd.Index([names[j] for j in wanted])
    warnings: list[Message] = []
    if columns is None:
        frame = _check_blank_columns(
            frame, name=name, header_row=header_row, position=position, warnings=warnings
        )
    return DataTable(
        frame=frame,
        path=file,
        format="xlsx",
        warnings=tuple(warnings),
        sheet=sheet_name,
        header_row=header_row,
    )


def _header_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _cell_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _clean_cells(values: np.ndarray) -> pd.Series:
    """One spreadsheet column (Python objects from calamine) to a typed pandas column.

    Numeric, date and boolean cells keep their type; text cells go through the
    same missing-token and number rules as CSV text (vectorised in Arrow); a
    column mixing numbers and text is read as text first, so "numbers stored
    as text" mixed with real numbers still end up numeric.
    """
    values = values.copy()
    values[values == ""] = None  # calamine gives "" for empty cells
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "empty":
        return pd.Series(np.full(len(values), np.nan))
    if kind in {"integer", "floating", "mixed-integer-float"}:
        numbers = np.array(values, dtype="float64")
        finite = numbers[~np.isnan(numbers)]
        whole = bool((finite == np.floor(finite)).all()) and bool((np.abs(finite) < 2**53).all())
        if whole and len(finite) == len(numbers):
            return pd.Series(numbers.astype("int64"))
        return pd.Series(numbers)
    if kind in {"datetime", "date", "datetime64"}:
        return pd.Series(pd.to_datetime(pd.Series(values))).astype("datetime64[us]")
    if kind == "boolean":
        series = pd.Series(values)
        return series.astype(bool) if series.notna().all() else series
    if kind != "string":
        values = np.array([_cell_text(v) for v in values], dtype=object)
    arrow = _clean_strings(pa.array(values, type=pa.string(), from_pandas=True), infer=True)
    return cast(pd.Series, arrow.to_pandas())


# ---------------------------------------------------------------------------
# Parquet and SPSS


def _read_parquet(file: Path, name: str, *, columns: Sequence[str] | None) -> DataTable:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(file)
    except Exception as exc:
        raise DataFileError("reader.corrupt", file=name, format="parquet", detail=str(exc)) from exc
    names = [str(n) for n in schema.names if not str(n).startswith("__index_level_")]
    for n in names:
        if names.count(n) > 1:
            where = [str(i + 1) for i, m in enumerate(names) if m == n]
            raise DataFileError(
                "reader.duplicate_header", file=name, row=1, column=n, positions=", ".join(where)
            )
    if columns is not None:
        require_columns(pd.DataFrame(columns=names), columns, file=name)
    try:
        table = pq.read_table(file, columns=list(columns) if columns is not None else None)
    except Exception as exc:
        raise DataFileError("reader.corrupt", file=name, format="parquet", detail=str(exc)) from exc
    arrays = [_clean_strings(table.column(i), infer=False) for i in range(table.num_columns)]
    table = pa.Table.from_arrays(arrays, schema=table.schema)
    frame = table.to_pandas()
    named = any(level is not None for level in frame.index.names)
    if named or not frame.index.equals(pd.RangeIndex(len(frame))):  # a pandas index in the file
        frame = frame.reset_index(drop=not named)
    return DataTable(frame=frame, path=file, format="parquet")


def _read_sav(
    file: Path,
    name: str,
    *,
    encoding: str | None,
    columns: Sequence[str] | None,
) -> DataTable:
    import pyreadstat

    try:
        _, meta = pyreadstat.read_sav(str(file), metadataonly=True, encoding=encoding)
    except Exception as exc:
        raise DataFileError("reader.corrupt", file=name, format="sav", detail=str(exc)) from exc
    names = [str(n) for n in meta.column_names]
    if columns is not None:
        require_columns(pd.DataFrame(columns=names), columns, file=name)
    try:
        frame, meta = pyreadstat.read_sav(
            str(file),
            apply_value_formats=False,
            usecols=list(columns) if columns is not None else None,
            encoding=encoding,
        )
    except Exception as exc:
        raise DataFileError("reader.corrupt", file=name, format="sav", detail=str(exc)) from exc
    if columns is not None:
        frame = frame[list(columns)]
    for col in frame.columns:
        frame[col] = _clean_text_series(frame[col])
    kept = set(frame.columns)
    value_labels = {
        str(col): dict(labels)
        for col, labels in (meta.variable_value_labels or {}).items()
        if col in kept
    }
    column_labels = {
        str(col): str(lab)
        for col, lab in (meta.column_names_to_labels or {}).items()
        if col in kept and lab
    }
    return DataTable(
        frame=frame,
        path=file,
        format="sav",
        value_labels=value_labels,
        column_labels=column_labels,
    )
