"""The analytic hierarchy process (层次分析法, AHP): priorities, consistency, hierarchies, groups.

Pure computation (SPEC section 4, the calculation standard): judgement matrices
go in, small frozen results come out. The one exception is the pair of thin
loaders at the end (:func:`load_hierarchy`, :func:`load_matrix`), which read a
file and hand its text to the pure parsers.

What is computed (formulas and sources in ``docs/methods/ahp.md``):

- priorities by the principal right eigenvector (Saaty 1977, 1980; default) or by
  the row geometric mean (Crawford & Williams 1985);
- ``lambda_max`` (always the principal eigenvalue of the matrix),
  ``CI = (lambda_max - n) / (n - 1)``, ``RI`` from a selectable table
  (:data:`RI_TABLES`) and ``CR = CI / RI``; ``n <= 2`` has ``CI = CR = 0``;
  acceptable when ``CR < threshold`` (0.10 by default);
- for the geometric mean also the geometric consistency index ``GCI``
  (Aguarón & Moreno-Jiménez 2003) with its thresholds 0.31 (n = 3), 0.35 (n = 4)
  and 0.37 (n > 4);
- missing judgements completed by Harker's method (Harker 1987);
- the judgements that contribute most to the inconsistency (``a_ij·w_j/w_i``
  and Harker's derivative ``∂λmax/∂a_ij``), the consistent value ``w_i/w_j``
  and its nearest value on Saaty's 1-9 scale; an optional repair that replaces
  the worst judgement, one at a time, until ``CR`` is below the threshold;
- hierarchies of any depth with local and global weights and Saaty's
  consistency ratio of the whole hierarchy ``CR_H = Σ g_j CI_j / Σ g_j RI_j``;
- several judges aggregated by the weighted geometric mean of their
  judgements (AIJ) or of their priorities (AIP), each judge's CR reported.

>>> result = ahp([[1, 3, 5], ["1/3", 1, 2], ["1/5", "1/2", 1]], labels=["a", "b", "c"])
>>> [round(w, 4) for w in result.weights.tolist()]
[0.6483, 0.2297, 0.122]
>>> round(result.cr, 4), result.consistent, result.ri_table
(0.0032, True, 'saaty1980')
"""

from __future__ import annotations

import csv
import functools
import io
import math
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml

from allegiance.errors import ConfigError, DataFileError, ValidationError
from allegiance.i18n import Message
from allegiance.results import plain, records

__all__ = [
    "METHODS",
    "REPAIR_RULES",
    "RI_TABLES",
    "SAATY_SCALE",
    "AHPBatchResult",
    "AHPResult",
    "Alternative",
    "Completion",
    "Hierarchy",
    "HierarchyResult",
    "Judge",
    "JudgeResult",
    "Node",
    "RITable",
    "RepairResult",
    "Suggestions",
    "aggregate",
    "ahp",
    "ahp_many",
    "analyze",
    "gci_threshold",
    "harker_complete",
    "load_hierarchy",
    "load_matrix",
    "nearest_scale_value",
    "parse_hierarchy",
    "parse_judgement",
    "parse_matrix_csv",
    "repair",
    "suggest_repairs",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
Method = Literal["eigen", "geometric"]
Aggregation = Literal["aij", "aip"]
MatrixLike: TypeAlias = Any
"""A square matrix (nested lists, numpy array, DataFrame with labels), an upper triangle
(rows of lengths n-1 … 1, or a flat list of n(n-1)/2 values), or pairs (``{("a", "b"): 3}``,
``{"a": {"b": 3}}``). Cells are numbers or fractions such as ``"1/3"``; ``None``, ``""`` or
``"?"`` mark a missing judgement."""

METHODS: tuple[str, ...] = ("eigen", "geometric")
"""The priority methods: principal eigenvector (default) and row geometric mean."""

AGGREGATIONS: tuple[str, ...] = ("aij", "aip")
REPAIR_RULES: tuple[str, ...] = ("smallest", "leave-one-out", "deviation")
"""How :func:`repair` picks the judgement to change (``smallest`` by default)."""

SAATY_SCALE: tuple[float, ...] = tuple(
    [1.0 / k for k in range(9, 1, -1)] + [float(k) for k in range(1, 10)]
)
"""Saaty's fundamental 1-9 scale and the reciprocals: 1/9, 1/8, …, 1/2, 1, 2, …, 9."""

_LOG_SCALE = np.log(np.asarray(SAATY_SCALE))
_SCALE_LOW, _SCALE_HIGH = 1.0 / 9.0, 9.0
_MISSING = frozenset({"", "?", "-", "—", "na", "n/a", "nan", "none", "null", "missing", "缺失"})
_DEFAULT_TOLERANCE = 0.02


# --------------------------------------------------------------------------------------------
# Random index tables
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RITable:
    """A random consistency index table: the mean CI of random reciprocal matrices by size.

    ``values`` maps n (>= 3) to RI; n <= 2 always has RI = 0. ``interpolate`` fills
    sizes between tabulated ones linearly; ``formula`` extends the table beyond its
    largest size with Alonso & Lamata's fit ``RI = (2.7699 n - 4.3513 - n) / (n - 1)``.
    """

    key: str
    title: str
    source: str
    values: Mapping[int, float]
    interpolate: bool = False
    formula: bool = False

    @property
    def max_n(self) -> int | None:
        """The largest size covered (``None``: any size)."""
        return None if self.formula else max(self.values)

    def covers(self, n: int, /) -> bool:
        return n <= 2 or n in self.values or self.max_n is None or n <= self.max_n

    def ri(self, n: int, /, *, node: str = "matrix") -> float:
        """RI for an n×n matrix; a :class:`ValidationError` when the table stops short of n."""
        if n <= 2:
            return 0.0
        if n in self.values:
            return self.values[n]
        sizes = sorted(self.values)
        if n > sizes[-1]:
            if self.formula:
                return (2.7699 * n - 4.3513 - n) / (n - 1)
            raise ValidationError("ahp.ri_too_large", node=node, table=self.key, max=sizes[-1], n=n)
        if self.interpolate:
            below = max(s for s in sizes if s < n)
            above = min(s for s in sizes if s > n)
            low, high = self.values[below], self.values[above]
            return low + (high - low) * (n - below) / (above - below)
        raise ValidationError(  # pragma: no cover - every shipped table is complete below its max
            "ahp.ri_too_large", node=node, table=self.key, max=sizes[-1], n=n
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "source": self.source,
            "values": {str(k): v for k, v in sorted(self.values.items())},
            "interpolate": self.interpolate,
            "formula": self.formula,
        }


RI_TABLES: Mapping[str, RITable] = MappingProxyType(
    {
        t.key: t
        for t in (
            RITable(
                key="saaty1980",
                title="Saaty (1980)",
                source=(
                    "Saaty, T.L. (1980). The Analytic Hierarchy Process. McGraw-Hill, New York "
                    "(random consistency index, n = 1-15)."
                ),
                values=MappingProxyType(
                    {
                        3: 0.58,
                        4: 0.90,
                        5: 1.12,
                        6: 1.24,
                        7: 1.32,
                        8: 1.41,
                        9: 1.45,
                        10: 1.49,
                        11: 1.51,
                        12: 1.48,
                        13: 1.56,
                        14: 1.57,
                        15: 1.59,
                    }
                ),
            ),
            RITable(
                key="saaty2005",
                title="Saaty (2005)",
                source=(
                    "Saaty, T.L. (2005). Theory and Applications of the Analytic Network "
                    "Process. RWS Publications, Pittsburgh, p. 31."
                ),
                values=MappingProxyType(
                    {
                        3: 0.52,
                        4: 0.89,
                        5: 1.11,
                        6: 1.25,
                        7: 1.35,
                        8: 1.40,
                        9: 1.45,
                        10: 1.49,
                        11: 1.52,
                        12: 1.54,
                        13: 1.56,
                        14: 1.58,
                        15: 1.59,
                    }
                ),
            ),
            RITable(
                key="alonso-lamata",
                title="Alonso & Lamata (2006)",
                source=(
                    "Alonso, J.A. & Lamata, M.T. (2006). Consistency in the analytic hierarchy "
                    "process: a new approach. International Journal of Uncertainty, Fuzziness "
                    "and Knowledge-Based Systems 14(4), 445-459 (table for n = 3-15; beyond, "
                    "their fit lambda_max = 2.7699 n - 4.3513)."
                ),
                values=MappingProxyType(
                    {
                        3: 0.5245,
                        4: 0.8815,
                        5: 1.1086,
                        6: 1.2479,
                        7: 1.3417,
                        8: 1.4056,
                        9: 1.4499,
                        10: 1.4854,
                        11: 1.5141,
                        12: 1.5365,
                        13: 1.5551,
                        14: 1.5713,
                        15: 1.5838,
                    }
                ),
                formula=True,
            ),
            RITable(
                key="donegan-dodd",
                title="Donegan & Dodd (1991)",
                source=(
                    "Donegan, H.A. & Dodd, F.J. (1991). A note on Saaty's random indexes. "
                    "Mathematical and Computer Modelling 15(10), 135-137 (n = 3-100; sizes "
                    "between tabulated ones interpolated linearly)."
                ),
                values=MappingProxyType(
                    {
                        3: 0.4914,
                        4: 0.8286,
                        5: 1.0591,
                        6: 1.1797,
                        7: 1.2519,
                        8: 1.3171,
                        9: 1.3733,
                        10: 1.4055,
                        11: 1.4213,
                        12: 1.4497,
                        13: 1.4643,
                        14: 1.4822,
                        15: 1.4969,
                        16: 1.5078,
                        17: 1.5153,
                        18: 1.5262,
                        19: 1.5313,
                        20: 1.5371,
                        25: 1.5619,
                        30: 1.5772,
                        40: 1.5976,
                        50: 1.6102,
                        60: 1.6178,
                        70: 1.6237,
                        80: 1.6277,
                        90: 1.6213,
                        100: 1.6339,
                    }
                ),
                interpolate=True,
            ),
        )
    }
)
"""The random index tables by name; ``saaty1980`` is the default."""


def _ri_table(ri: str | RITable | Mapping[int, float]) -> RITable:
    if isinstance(ri, RITable):
        return ri
    if isinstance(ri, Mapping):
        values = {int(k): float(v) for k, v in ri.items()}
        if not values or any(k < 3 or not v > 0 for k, v in values.items()):
            raise ValidationError(
                "ahp.unknown_option", option="ri", value=repr(ri), allowed=", ".join(RI_TABLES)
            )
        return RITable(key="custom", title="custom", source="given by the caller", values=values)
    key = str(ri).strip().lower().replace("_", "-")
    key = {"saaty": "saaty1980", "dd": "donegan-dodd", "al": "alonso-lamata"}.get(key, key)
    if key not in RI_TABLES:
        raise ValidationError(
            "ahp.unknown_option", option="ri", value=str(ri), allowed=", ".join(RI_TABLES)
        )
    return RI_TABLES[key]


def _method(method: str) -> str:
    key = str(method).strip().lower()
    key = {"ev": "eigen", "eigenvector": "eigen", "gm": "geometric", "rgmm": "geometric"}.get(
        key, key
    )
    if key not in METHODS:
        raise ValidationError(
            "ahp.unknown_option", option="method", value=str(method), allowed=", ".join(METHODS)
        )
    return key


def _aggregation(how: str) -> str:
    key = str(how).strip().lower()
    if key not in AGGREGATIONS:
        raise ValidationError(
            "ahp.unknown_option",
            option="aggregation",
            value=str(how),
            allowed=", ".join(AGGREGATIONS),
        )
    return key


def _threshold(threshold: float) -> float:
    value = float(threshold)
    if not 0.0 < value < 1.0:
        raise ValidationError("ahp.bad_threshold", value=str(threshold))
    return value


def gci_threshold(n: int, /) -> float:
    """The GCI threshold of Aguarón & Moreno-Jiménez (2003): 0.31 (n = 3), 0.35 (n = 4), 0.37.

    The three values correspond to Saaty's CR of 10 % for those sizes; n <= 2 has none (NaN).
    """
    if n <= 2:
        return math.nan
    if n == 3:
        return 0.31
    if n == 4:
        return 0.35
    return 0.37


# --------------------------------------------------------------------------------------------
# Scale helpers and judgement values
# --------------------------------------------------------------------------------------------


def nearest_scale_value(value: float, /) -> float:
    """The value on Saaty's scale (1/9 … 9) closest to ``value`` on the log scale.

    >>> nearest_scale_value(2.8), nearest_scale_value(0.3) == 1 / 3
    (3.0, True)
    """
    if not value > 0:
        raise ValueError(f"a judgement must be positive, got {value!r}")
    return SAATY_SCALE[int(np.argmin(np.abs(_LOG_SCALE - math.log(value))))]


def _show(value: float) -> str:
    """A judgement as a person writes it: 3, 1/3, 2.5."""
    if not math.isfinite(value):
        return str(value)
    if value >= 1 or value <= 0:
        return f"{value:g}"
    inverse = 1.0 / value
    if abs(inverse - round(inverse)) < 1e-9:
        return f"1/{round(inverse)}"
    return f"{value:.4g}"


def parse_judgement(
    value: object, /, *, node: str = "matrix", row: str = "", col: str = ""
) -> float:
    """A judgement cell as a float: numbers, fractions ``"1/3"``, full-width digits.

    Missing judgements (``None``, ``""``, ``"?"``, ``"-"``, ``NaN``) give NaN. Anything
    else raises :class:`ValidationError` naming the node and the cell.

    >>> parse_judgement("1/3") == 1 / 3, parse_judgement(" ５ "), parse_judgement("?")
    (True, 5.0, nan)
    """
    if value is None:
        return math.nan
    if isinstance(value, (bool, np.bool_)):
        raise ValidationError("ahp.bad_value", node=node, row=row, col=col, value=repr(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        if math.isinf(number):
            raise ValidationError("ahp.bad_value", node=node, row=row, col=col, value=repr(value))
        return number
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip().replace(" ", "")
        if text.lower() in _MISSING:
            return math.nan
        try:
            if "/" in text:
                num, den = text.split("/", 1)
                number = float(num) / float(den)
            else:
                number = float(text)
        except (ValueError, ZeroDivisionError):
            raise ValidationError(
                "ahp.bad_value", node=node, row=row, col=col, value=repr(value)
            ) from None
        if not math.isfinite(number):
            raise ValidationError("ahp.bad_value", node=node, row=row, col=col, value=repr(value))
        return number
    try:
        number = float(value)  # type: ignore[arg-type]  # Fraction, Decimal ...
    except (TypeError, ValueError):
        raise ValidationError(
            "ahp.bad_value", node=node, row=row, col=col, value=repr(value)
        ) from None
    if math.isinf(number):
        raise ValidationError("ahp.bad_value", node=node, row=row, col=col, value=repr(value))
    return number


# --------------------------------------------------------------------------------------------
# Turning user input into a raw matrix (NaN = missing)
# --------------------------------------------------------------------------------------------


def _is_row(value: object) -> bool:
    return isinstance(value, (list, tuple, np.ndarray)) and not isinstance(value, str)


def _default_labels(n: int) -> tuple[str, ...]:
    return tuple(str(i + 1) for i in range(n))


def _check_labels(labels: Sequence[object], *, node: str) -> tuple[str, ...]:
    out = tuple(str(x).strip() for x in labels)
    seen: set[str] = set()
    for label in out:
        if label in seen:
            raise ValidationError("ahp.duplicate_label", node=node, label=label)
        seen.add(label)
    return out


def _as_floats(values: Sequence[object]) -> FloatArray | None:
    """Plain Python numbers straight into an array (no per-cell parsing); else ``None``."""
    if not all(type(v) is float or type(v) is int for v in values):
        return None
    out = np.asarray(values, dtype=np.float64)
    return None if np.isinf(out).any() else out


def _cells(rows: Sequence[Sequence[object]], labels: Sequence[str], *, node: str) -> FloatArray:
    n = len(labels)
    fast = _as_floats([x for row in rows for x in row])
    if fast is not None and fast.size == n * n:
        return fast.reshape(n, n)
    out = np.full((n, n), np.nan)
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            out[i, j] = parse_judgement(value, node=node, row=labels[i], col=labels[j])
    return out


def _full(
    rows: Sequence[Sequence[object]], labels: Sequence[str] | None, *, node: str
) -> tuple[FloatArray, tuple[str, ...]]:
    n = len(rows)
    bad = [len(r) for r in rows if len(r) != n]
    if bad:
        raise ValidationError("ahp.not_square", node=node, rows=n, cols=bad[0])
    names = _default_labels(n) if labels is None else tuple(labels)
    if len(names) != n:
        raise ValidationError("ahp.labels_mismatch", node=node, n_labels=len(names), n=n)
    return _cells(rows, names, node=node), names


def _upper(
    values: Sequence[object], labels: Sequence[str] | None, *, node: str
) -> tuple[FloatArray, tuple[str, ...]]:
    """An upper triangle, nested (rows n-1 … 1) or flat (row by row)."""
    if values and all(_is_row(v) for v in values):
        rows = [list(v) for v in values]  # type: ignore[call-overload]
        n = len(rows) + 1 if labels is None else len(labels)
        expected = list(range(n - 1, 0, -1))
        found = [len(r) for r in rows]
        if found != expected:
            raise ValidationError(
                "ahp.triangle_shape",
                node=node,
                n=n,
                n_rows=n - 1,
                expected=", ".join(map(str, expected)),
                found=", ".join(map(str, found)),
            )
        flat: list[object] = [x for r in rows for x in r]
    else:
        flat = list(values)
        m = len(flat)
        if labels is None:
            n = round((1 + math.sqrt(1 + 8 * m)) / 2)
            if n * (n - 1) // 2 != m:
                raise ValidationError(
                    "ahp.flat_length", node=node, n="?", expected="n(n-1)/2", found=m
                )
        else:
            n = len(labels)
            if n * (n - 1) // 2 != m:
                raise ValidationError(
                    "ahp.flat_length", node=node, n=n, expected=n * (n - 1) // 2, found=m
                )
    names = _default_labels(n) if labels is None else tuple(labels)
    out = np.full((n, n), np.nan)
    np.fill_diagonal(out, 1.0)
    iu = _triu(n)
    fast = _as_floats(flat)
    if fast is not None:
        out[iu] = fast
        return out, names
    for (i, j), value in zip(zip(*iu, strict=True), flat, strict=True):
        out[i, j] = parse_judgement(value, node=node, row=names[i], col=names[j])
    return out, names


def _pairs(
    entries: Iterable[tuple[object, object, object]], labels: Sequence[str] | None, *, node: str
) -> tuple[FloatArray, tuple[str, ...]]:
    items = [(str(a).strip(), str(b).strip(), v) for a, b, v in entries]
    if labels is None:
        order: dict[str, None] = {}
        for a, b, _ in items:
            order.setdefault(a)
            order.setdefault(b)
        names = tuple(order)
    else:
        names = tuple(labels)
    index = {name: k for k, name in enumerate(names)}
    n = len(names)
    out = np.full((n, n), np.nan)
    np.fill_diagonal(out, 1.0)
    seen: set[frozenset[str]] = set()
    for a, b, value in items:
        for label in (a, b):
            if label not in index:
                raise ValidationError(
                    "ahp.unknown_label", node=node, label=label, labels=", ".join(names)
                )
        if a == b:
            raise ValidationError("ahp.self_pair", node=node, label=a)
        key = frozenset((a, b))
        if key in seen:
            raise ValidationError("ahp.pair_twice", node=node, row=a, col=b)
        seen.add(key)
        out[index[a], index[b]] = parse_judgement(value, node=node, row=a, col=b)
    return out, names


def _pair_entries(
    spec: Mapping[Any, Any] | Sequence[Any], *, node: str
) -> list[tuple[object, object, object]]:
    if isinstance(spec, Mapping):
        entries: list[tuple[object, object, object]] = []
        for key, value in spec.items():
            if isinstance(key, tuple) and len(key) == 2:
                entries.append((key[0], key[1], value))
            elif isinstance(value, Mapping):
                entries.extend((key, other, v) for other, v in value.items())
            else:
                raise ValidationError("ahp.bad_judgements", node=node, found=repr(dict(spec))[:80])
        return entries
    entries = []
    for item in spec:
        if not (_is_row(item) and len(item) == 3):
            raise ValidationError("ahp.bad_judgements", node=node, found=repr(item)[:80])
        entries.append((item[0], item[1], item[2]))
    return entries


def _looks_like_pairs(rows: Sequence[Any], labels: Sequence[str] | None) -> bool:
    """Rows ``[a, b, value]`` whose first two entries are labels rather than judgements."""
    if not rows or not all(_is_row(r) and len(r) == 3 for r in rows):
        return False
    for r in rows:
        for x in (r[0], r[1]):
            if not isinstance(x, str):
                return False
            if labels is not None and x.strip() in labels:
                continue
            try:
                parse_judgement(x)
            except ValidationError:
                continue
            return False
    return True


def _raw_matrix(
    spec: MatrixLike, labels: Sequence[str] | None, *, node: str
) -> tuple[FloatArray, tuple[str, ...]]:
    """Any accepted judgement form → (n×n float matrix with NaN for missing cells, labels)."""
    names = None if labels is None else _check_labels(labels, node=node)
    if isinstance(spec, pd.DataFrame):
        cols = _check_labels([str(c) for c in spec.columns], node=node)
        if not isinstance(spec.index, pd.RangeIndex):
            index_labels = tuple(str(x).strip() for x in spec.index)
            if index_labels != cols:
                raise ValidationError(
                    "ahp.labels_mismatch", node=node, n_labels=len(index_labels), n=len(cols)
                )
        if names is not None and len(names) != len(cols):
            raise ValidationError(
                "ahp.labels_mismatch", node=node, n_labels=len(names), n=len(cols)
            )
        return _full(spec.to_numpy(dtype=object).tolist(), names or cols, node=node)
    if isinstance(spec, np.ndarray):
        if spec.ndim == 2:
            if spec.shape[0] != spec.shape[1]:
                raise ValidationError(
                    "ahp.not_square", node=node, rows=spec.shape[0], cols=spec.shape[1]
                )
            if spec.dtype.kind in "fiu":
                matrix = spec.astype(np.float64)
                n = matrix.shape[0]
                names = names or _default_labels(n)
                if len(names) != n:
                    raise ValidationError(
                        "ahp.labels_mismatch", node=node, n_labels=len(names), n=n
                    )
                if np.isinf(matrix).any():
                    i, j = np.argwhere(np.isinf(matrix))[0]
                    raise ValidationError(
                        "ahp.bad_value", node=node, row=names[i], col=names[j], value="inf"
                    )
                return matrix.copy(), names
            return _full(spec.tolist(), names, node=node)
        if spec.ndim == 1:
            return _upper(spec.tolist(), names, node=node)
        raise ValidationError("ahp.bad_judgements", node=node, found=f"array of shape {spec.shape}")
    if isinstance(spec, Mapping):
        keys = set(spec)
        if keys == {"matrix"}:
            return _raw_matrix(_as_rows(spec["matrix"], node=node), names, node=node)
        if keys == {"upper"}:
            upper = spec["upper"]
            if not _is_row(upper):
                raise ValidationError("ahp.bad_judgements", node=node, found=repr(upper)[:80])
            return _upper(list(upper), names, node=node)
        if keys == {"pairs"}:
            return _pairs(_pair_entries(spec["pairs"], node=node), names, node=node)
        return _pairs(_pair_entries(spec, node=node), names, node=node)
    if _is_row(spec):
        rows = list(spec)
        if not rows:
            n = 0 if names is None else len(names)
            if n > 1:
                raise ValidationError("ahp.bad_judgements", node=node, found="[]")
            return np.ones((n, n)), names or _default_labels(n)
        if all(_is_row(r) for r in rows):
            if _looks_like_pairs(rows, names):
                return _pairs(_pair_entries(rows, node=node), names, node=node)
            n_rows = len(rows)
            square = all(len(r) == n_rows for r in rows)
            if names is not None:
                square = square and len(names) == n_rows
            if square:
                return _full(rows, names, node=node)
            return _upper(rows, names, node=node)
        if any(_is_row(r) for r in rows):
            raise ValidationError("ahp.bad_judgements", node=node, found=repr(rows)[:80])
        return _upper(rows, names, node=node)
    raise ValidationError("ahp.bad_judgements", node=node, found=type(spec).__name__)


def _as_rows(value: object, *, node: str) -> list[list[object]] | FloatArray:
    if isinstance(value, np.ndarray):
        return value
    if not (_is_row(value) and all(_is_row(r) for r in value)):  # type: ignore[attr-defined]
        raise ValidationError("ahp.bad_judgements", node=node, found=repr(value)[:80])
    return [list(r) for r in value]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# Validation: square, positive, reciprocal, connected
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Checked:
    """A validated matrix: reciprocal, diagonal 1, NaN where a judgement is missing."""

    matrix: FloatArray
    labels: tuple[str, ...]
    warnings: tuple[Message, ...]

    @property
    def missing(self) -> BoolArray:
        return ~np.isfinite(self.matrix)


@functools.lru_cache(maxsize=64)
def _triu(n: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Row and column indices of the strict upper triangle (cached: matrices are small)."""
    rows, cols = np.triu_indices(n, 1)
    rows.setflags(write=False)
    cols.setflags(write=False)
    return rows, cols


@functools.lru_cache(maxsize=64)
def _upper_mask(n: int) -> BoolArray:
    mask = np.triu(np.ones((n, n), dtype=bool), 1)
    mask.setflags(write=False)
    return mask


def _check(raw: FloatArray, labels: tuple[str, ...], *, node: str, tolerance: float) -> _Checked:
    n = raw.shape[0]
    if raw.ndim != 2 or raw.shape != (n, n):
        raise ValidationError("ahp.not_square", node=node, rows=raw.shape[0], cols=raw.shape[-1])
    if n == 0:
        raise ValidationError("ahp.empty", node=node)
    if len(labels) != n:
        raise ValidationError("ahp.labels_mismatch", node=node, n_labels=len(labels), n=n)
    a = np.array(raw, dtype=np.float64)
    upper = _upper_mask(n)
    # Fast path: a complete positive matrix that is already exactly reciprocal.
    if (
        n > 1
        and np.isfinite(a).all()
        and (a > 0).all()
        and (a * a.T == 1.0).all()
        and (a.diagonal() == 1.0).all()
    ):
        return _Checked(matrix=a, labels=labels, warnings=_off_scale(a, labels, node=node))
    diag = a.diagonal()
    off = np.abs(diag - 1.0) > tolerance  # NaN (missing) compares False
    if off.any():
        i = int(np.argmax(off))
        raise ValidationError("ahp.bad_diagonal", node=node, row=labels[i], value=_show(diag[i]))
    np.fill_diagonal(a, 1.0)
    finite = np.isfinite(a)
    bad = a <= 0  # NaN compares False
    if bad.any():
        i, j = (int(x) for x in np.argwhere(bad)[0])
        raise ValidationError(
            "ahp.not_positive", node=node, row=labels[i], col=labels[j], value=_show(a[i, j])
        )
    # NaN flows through these without a warning: only missing cells are NaN here.
    at = a.T
    both = finite & finite.T
    wrong = both & (np.abs(np.log(a * at)) > math.log1p(tolerance))
    if wrong.any():
        i, j = (int(x) for x in np.argwhere(np.triu(wrong, 1))[0])
        raise ValidationError(
            "ahp.not_reciprocal",
            node=node,
            row=labels[i],
            col=labels[j],
            value=_show(a[i, j]),
            mirror=_show(a[j, i]),
            expected=_show(1.0 / a[i, j]),
        )
    value = np.where(both, np.sqrt(a / at), np.where(finite, a, 1.0 / at))
    a = np.where(upper, value, np.where(upper.T, 1.0 / value.T, 1.0))
    warnings = _off_scale(a, labels, node=node)
    if not (finite | finite.T).all():
        _check_connected(a, labels, node=node)
    return _Checked(matrix=a, labels=labels, warnings=warnings)


def _off_scale(a: FloatArray, labels: tuple[str, ...], *, node: str) -> tuple[Message, ...]:
    """Warnings for judgements outside 1/9 … 9 (upper triangle; NaN compares False)."""
    rows, cols = _triu(a.shape[0])
    given = a[rows, cols]
    off_scale = (given > _SCALE_HIGH * (1 + 1e-9)) | (given < _SCALE_LOW * (1 - 1e-9))
    if not off_scale.any():
        return ()
    return tuple(
        Message(
            "ahp.warn.off_scale",
            {
                "node": node,
                "row": labels[int(rows[pos])],
                "col": labels[int(cols[pos])],
                "value": _show(float(given[pos])),
            },
        )
        for pos in np.flatnonzero(off_scale).tolist()
    )


def _check_connected(a: FloatArray, labels: tuple[str, ...], *, node: str) -> None:
    known = np.isfinite(a)
    if _connected(known):
        return
    reached = {0}
    frontier = [0]
    while frontier:
        i = frontier.pop()
        for j in np.flatnonzero(known[i]).tolist():
            if j not in reached:
                reached.add(j)
                frontier.append(j)
    group = [labels[i] for i in range(len(labels)) if i not in reached]
    raise ValidationError("ahp.disconnected", node=node, group=", ".join(group))


# --------------------------------------------------------------------------------------------
# Core numerics (vectorised over a stack of matrices where it matters)
# --------------------------------------------------------------------------------------------


def _principal(a: FloatArray) -> tuple[FloatArray, float]:
    """Perron vector (sums to 1) and Perron root of a positive matrix."""
    n = a.shape[0]
    if n == 1:
        return np.ones(1), 1.0
    values, vectors = np.linalg.eig(a)
    k = int(np.argmax(values.real))
    w = np.abs(vectors[:, k].real)
    return w / w.sum(), float(values[k].real)


def _principal_many(a: FloatArray) -> tuple[FloatArray, FloatArray]:
    """:func:`_principal` for a stack (k, n, n), vectorised: repeated squaring.

    A positive matrix's Perron root strictly dominates, so the rows of A^(2^t) line up
    with the Perron vector after a few squarings (each step squares the ratio of the
    second eigenvalue to the first); the stack is rescaled at each step. Matrices not
    settled to 1e-15 after 40 squarings are solved by LAPACK instead.
    """
    p = a / a.sum(axis=(1, 2), keepdims=True)
    w = p.sum(axis=2)
    w /= w.sum(axis=1, keepdims=True)
    change = np.full(a.shape[0], np.inf)
    for _ in range(40):
        p = p @ p
        p /= p.sum(axis=(1, 2), keepdims=True)
        new = p.sum(axis=2)
        new /= new.sum(axis=1, keepdims=True)
        change = np.abs(new - w).max(axis=1)
        w = new
        if change.max() < 1e-15:
            break
    lam = np.einsum("kij,kj->k", a, w) / w.sum(axis=1)
    slow = np.flatnonzero(~(change < 1e-12))
    if len(slow):
        values, vectors = np.linalg.eig(a[slow])
        k = np.argmax(values.real, axis=-1)
        lam[slow] = np.take_along_axis(values.real, k[:, None], axis=-1)[:, 0]
        ws = np.abs(np.take_along_axis(vectors.real, k[:, None, None], axis=-1)[..., 0])
        w[slow] = ws / ws.sum(axis=-1, keepdims=True)
    return w, lam


def _geometric(a: FloatArray) -> FloatArray:
    """Row geometric means, normalised (works on one matrix or a stack)."""
    g = np.exp(np.log(a).mean(axis=-1))
    out: FloatArray = g / g.sum(axis=-1, keepdims=True)
    return out


def _gci(a: FloatArray, w: FloatArray) -> float:
    n = a.shape[0]
    if n <= 2:
        return 0.0
    iu = _triu(n)
    e = np.log(a[iu]) + np.log(w[iu[1]]) - np.log(w[iu[0]])
    return float(2.0 / ((n - 1) * (n - 2)) * np.sum(e**2))


def _harker(a: FloatArray) -> tuple[FloatArray, FloatArray, float]:
    """Harker (1987): zero the missing cells, add their count to the diagonal, take the
    Perron vector w; the completed cells are w_i / w_j. Returns (completed, w, lambda)."""
    missing = ~np.isfinite(a)
    c = np.where(missing, 0.0, a)
    c[np.diag_indices_from(c)] = 1.0 + missing.sum(axis=1)
    w, lam = _principal(c)
    completed = np.where(missing, w[:, None] / w[None, :], a)
    return completed, w, lam


@dataclass(frozen=True, eq=False)
class _Numbers:
    weights: FloatArray
    lambda_max: float
    ci: float
    ri: float
    cr: float
    gci: float


def _numbers(a: FloatArray, *, method: str, table: RITable, node: str) -> _Numbers:
    n = a.shape[0]
    w_eig, lam = _principal(a)
    weights = w_eig if method == "eigen" else _geometric(a)
    ri = table.ri(n, node=node)
    if n <= 2:
        lam, ci = float(n), 0.0
    else:
        ci = max((lam - n) / (n - 1), 0.0)
    cr = ci / ri if ri > 0 else 0.0
    gci = _gci(a, weights) if method == "geometric" else math.nan
    return _Numbers(weights=weights, lambda_max=lam, ci=ci, ri=ri, cr=cr, gci=gci)


# --------------------------------------------------------------------------------------------
# Results for one matrix
# --------------------------------------------------------------------------------------------


def _names(labels: tuple[str, ...], names: Sequence[str] | None) -> tuple[str, ...]:
    if names is None:
        return labels
    out = tuple(str(x) for x in names)
    if len(out) != len(labels):
        raise ValidationError("ahp.labels_mismatch", node="names", n_labels=len(out), n=len(labels))
    return out


@dataclass(frozen=True, eq=False, kw_only=True)
class JudgeResult:
    """One judge's own priorities and consistency within a group decision."""

    judge: str
    weight: float
    weights: FloatArray
    lambda_max: float
    ci: float
    ri: float
    cr: float
    consistent: bool

    def to_dict(self, labels: Sequence[str]) -> dict[str, Any]:
        return {
            "judge": self.judge,
            "judge_weight": self.weight,
            "weights": dict(zip(labels, (float(x) for x in self.weights), strict=True)),
            "lambda_max": self.lambda_max,
            "ci": self.ci,
            "ri": self.ri,
            "cr": self.cr,
            "consistent": self.consistent,
        }


@dataclass(frozen=True, eq=False, kw_only=True)
class AHPResult:
    """Priorities and consistency of one judgement matrix (one node of a hierarchy).

    ``matrix`` is the reciprocal matrix used (missing judgements completed, marked
    ``False`` in ``given``); ``weights`` sum to 1 in the order of ``labels``.
    ``gci``/``gci_threshold`` are NaN unless ``method == "geometric"``. With several
    judges, ``judges`` holds each one's result and ``aggregation`` the rule; under
    AIP the group has no single matrix, so ``lambda_max``, ``ci`` and ``cr`` are NaN.

    Tables: ``weights`` (``label | name | name_zh | weight | rank``),
    ``consistency`` (``node | n_elements | method | lambda_max | ci | ri | cr |
    threshold | consistent | ri_table | gci | gci_threshold | gci_consistent``),
    ``completed`` (``row | column | completed_value``) when judgements were
    missing, ``judges`` (``judge | judge_weight | lambda_max | ci | ri | cr |
    consistent``) for a group.
    """

    node: str
    labels: tuple[str, ...]
    names: tuple[str, ...]
    names_zh: tuple[str, ...]
    matrix: FloatArray
    given: BoolArray
    weights: FloatArray
    method: str
    lambda_max: float
    ci: float
    ri: float
    cr: float
    threshold: float
    consistent: bool
    ri_table: str
    gci: float = math.nan
    gci_threshold: float = math.nan
    judges: tuple[JudgeResult, ...] = ()
    aggregation: str | None = None
    warnings: tuple[Message, ...] = ()

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def ri_source(self) -> str:
        table = RI_TABLES.get(self.ri_table)
        return table.source if table is not None else self.ri_table

    @property
    def gci_consistent(self) -> bool | None:
        """GCI within its threshold (``None`` unless the geometric method with n >= 3)."""
        if math.isnan(self.gci_threshold):
            return None
        return bool(self.gci <= self.gci_threshold)

    @property
    def priorities(self) -> pd.Series:
        """The weights as a Series indexed by label."""
        return pd.Series(self.weights, index=list(self.labels), name="weight")

    def weight(self, label: str, /) -> float:
        """The weight of one element."""
        return float(self.weights[self.labels.index(label)])

    @property
    def completed(self) -> pd.DataFrame:
        """The judgements that were missing and their completed values (upper triangle)."""
        missing = ~self.given
        iu = _triu(self.n)
        keep = missing[iu]
        rows = iu[0][keep]
        cols = iu[1][keep]
        return pd.DataFrame(
            {
                "row": [self.labels[i] for i in rows],
                "column": [self.labels[j] for j in cols],
                "completed_value": self.matrix[rows, cols],
            }
        )

    def _weights_table(self) -> pd.DataFrame:
        frame = pd.DataFrame(
            {
                "label": list(self.labels),
                "name": list(self.names),
                "name_zh": list(self.names_zh),
                "weight": self.weights,
            }
        )
        frame["rank"] = frame["weight"].rank(ascending=False, method="min").astype("int64")
        return frame

    def _consistency_row(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "n_elements": self.n,
            "method": self.method,
            "lambda_max": self.lambda_max,
            "ci": self.ci,
            "ri": self.ri,
            "cr": self.cr,
            "threshold": self.threshold,
            "consistent": self.consistent,
            "ri_table": self.ri_table,
            "gci": self.gci,
            "gci_threshold": self.gci_threshold,
            "gci_consistent": self.gci_consistent,
        }

    def _judges_table(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "judge": j.judge,
                    "judge_weight": j.weight,
                    "lambda_max": j.lambda_max,
                    "ci": j.ci,
                    "ri": j.ri,
                    "cr": j.cr,
                    "consistent": j.consistent,
                }
                for j in self.judges
            ],
            columns=["judge", "judge_weight", "lambda_max", "ci", "ri", "cr", "consistent"],
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {
            "weights": self._weights_table(),
            "consistency": pd.DataFrame([self._consistency_row()]),
        }
        completed = self.completed
        if len(completed):
            out["completed"] = completed
        if self.judges:
            out["judges"] = self._judges_table()
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "node": self.node,
            "labels": list(self.labels),
            "names": list(self.names),
            "names_zh": list(self.names_zh),
            "weights": [float(x) for x in self.weights],
            "lambda_max": self.lambda_max,
            "ci": self.ci,
            "ri": self.ri,
            "cr": self.cr,
            "threshold": self.threshold,
            "consistent": self.consistent,
            "method": self.method,
            "ri_table": self.ri_table,
            "ri_source": self.ri_source,
            "gci": self.gci,
            "gci_threshold": self.gci_threshold,
            "gci_consistent": self.gci_consistent,
            "matrix": self.matrix.tolist(),
            "completed": records(self.completed),
        }
        if self.judges:
            out["aggregation"] = self.aggregation
            out["judges"] = [j.to_dict(self.labels) for j in self.judges]
        return plain(out)  # type: ignore[no-any-return]


def _evaluate(
    checked: _Checked,
    *,
    node: str,
    names: tuple[str, ...],
    names_zh: tuple[str, ...],
    method: str,
    table: RITable,
    threshold: float,
    extra_warnings: Sequence[Message] = (),
) -> AHPResult:
    a = checked.matrix
    given = np.isfinite(a)
    warnings = list(checked.warnings) + list(extra_warnings)
    if not given.all():
        a = _harker(a)[0]
        n_missing = int((~given)[_triu(a.shape[0])].sum())
        warnings.append(Message("ahp.warn.completed", {"node": node, "n": n_missing}))
    numbers = _numbers(a, method=method, table=table, node=node)
    consistent = bool(numbers.cr < threshold)
    n = a.shape[0]
    gci_limit = gci_threshold(n) if method == "geometric" else math.nan
    if not consistent:
        warnings.append(
            Message(
                "ahp.warn.inconsistent",
                {"node": node, "cr": round(numbers.cr, 4), "threshold": threshold},
            )
        )
    if method == "geometric" and not math.isnan(gci_limit) and numbers.gci > gci_limit:
        warnings.append(
            Message(
                "ahp.warn.gci", {"node": node, "gci": round(numbers.gci, 4), "threshold": gci_limit}
            )
        )
    return AHPResult(
        node=node,
        labels=checked.labels,
        names=names,
        names_zh=names_zh,
        matrix=a,
        given=given,
        weights=numbers.weights,
        method=method,
        lambda_max=numbers.lambda_max,
        ci=numbers.ci,
        ri=numbers.ri,
        cr=numbers.cr,
        threshold=threshold,
        consistent=consistent,
        ri_table=table.key,
        gci=numbers.gci,
        gci_threshold=gci_limit,
        warnings=tuple(warnings),
    )


def ahp(
    matrix: MatrixLike,
    /,
    *,
    labels: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    names_zh: Sequence[str] | None = None,
    method: str = "eigen",
    ri: str | RITable | Mapping[int, float] = "saaty1980",
    threshold: float = 0.10,
    tolerance: float = _DEFAULT_TOLERANCE,
    node: str = "matrix",
) -> AHPResult:
    """Priorities and consistency of one pairwise comparison (judgement) matrix.

    ``matrix`` may be a full square matrix, an upper triangle or pairs (see
    :data:`MatrixLike`); missing judgements are completed by Harker's method and
    reported. ``labels`` name the elements (default: a DataFrame's columns, the
    labels met in pairs, else ``"1"`` … ``"n"``); ``names``/``names_zh`` are
    display names. ``method`` is ``"eigen"`` or ``"geometric"``; ``ri`` a key of
    :data:`RI_TABLES` (or a mapping n → RI); consistent when ``cr < threshold``.
    Reciprocal pairs may differ by ``tolerance`` (relative) and are then
    averaged geometrically.

    >>> r = ahp({("price", "service"): 3, ("price", "speed"): 5, ("service", "speed"): 2})
    >>> r.labels, round(r.weight("price"), 4)
    (('price', 'service', 'speed'), 0.6483)
    """
    method = _method(method)
    table = _ri_table(ri)
    threshold = _threshold(threshold)
    raw, found = _raw_matrix(matrix, labels, node=node)
    checked = _check(raw, found, node=node, tolerance=tolerance)
    shown = _names(found, names)
    return _evaluate(
        checked,
        node=node,
        names=shown,
        names_zh=_names(found, names_zh) if names_zh is not None else shown,
        method=method,
        table=table,
        threshold=threshold,
    )


# --------------------------------------------------------------------------------------------
# Many matrices at once (vectorised)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class AHPBatchResult:
    """Priorities and consistency of k complete n×n matrices computed together.

    ``weights`` has shape (k, n); ``lambda_max``, ``ci``, ``cr``, ``consistent``
    (and ``gci`` for the geometric method) shape (k,). Tables: ``consistency``
    (``matrix | lambda_max | ci | ri | cr | consistent | gci``) and ``weights``
    (``matrix`` then one column per label).
    """

    labels: tuple[str, ...]
    weights: FloatArray
    lambda_max: FloatArray
    ci: FloatArray
    ri: float
    cr: FloatArray
    consistent: BoolArray
    gci: FloatArray
    method: str
    threshold: float
    ri_table: str
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        k = self.weights.shape[0]
        consistency = pd.DataFrame(
            {
                "matrix": np.arange(k),
                "lambda_max": self.lambda_max,
                "ci": self.ci,
                "ri": self.ri,
                "cr": self.cr,
                "consistent": self.consistent,
                "gci": self.gci,
            }
        )
        weights = pd.DataFrame(self.weights, columns=list(self.labels))
        weights.insert(0, "matrix", np.arange(k))
        return {"consistency": consistency, "weights": weights}

    def to_dict(self) -> dict[str, Any]:
        return plain(  # type: ignore[no-any-return]
            {
                "method": self.method,
                "ri_table": self.ri_table,
                "ri": self.ri,
                "threshold": self.threshold,
                "labels": list(self.labels),
                "tables": {name: records(frame) for name, frame in self.tables().items()},
            }
        )


def ahp_many(
    matrices: npt.ArrayLike,
    /,
    *,
    labels: Sequence[str] | None = None,
    method: str = "eigen",
    ri: str | RITable | Mapping[int, float] = "saaty1980",
    threshold: float = 0.10,
    tolerance: float = _DEFAULT_TOLERANCE,
) -> AHPBatchResult:
    """:func:`ahp` for a stack of complete matrices of one size, shape (k, n, n), vectorised.

    Meant for simulations and many respondents' matrices: every matrix must be
    complete, positive and reciprocal (within ``tolerance``); the first bad one
    is named in the error.
    """
    method = _method(method)
    table = _ri_table(ri)
    threshold = _threshold(threshold)
    a = np.asarray(matrices, dtype=np.float64)
    if a.ndim != 3 or a.shape[1] != a.shape[2]:
        raise ValidationError("ahp.not_square", node="matrices", rows=a.shape[-2], cols=a.shape[-1])
    k, n, _ = a.shape
    names = _default_labels(n) if labels is None else _check_labels(labels, node="matrices")
    if len(names) != n:
        raise ValidationError("ahp.labels_mismatch", node="matrices", n_labels=len(names), n=n)
    ok = np.isfinite(a).all(axis=(1, 2)) & (a > 0).all(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        recip = np.abs(np.log(a * np.swapaxes(a, 1, 2))).max(axis=(1, 2)) <= math.log1p(tolerance)
    bad = ~(ok & recip)
    if bad.any():
        first = int(np.argmax(bad))
        missing = np.argwhere(~np.isfinite(a[first]))
        if len(missing):
            i, j = (int(x) for x in missing[0])
            raise ValidationError("ahp.many_missing", index=first, row=names[i], col=names[j])
        _check(a[first], names, node=f"matrix {first}", tolerance=tolerance)  # raises
        raise ValidationError(  # pragma: no cover - _check raised for the same reason
            "ahp.bad_value", node=f"matrix {first}", row="?", col="?", value="?"
        )
    a = np.sqrt(a / np.swapaxes(a, 1, 2))  # exact reciprocity, diagonal 1
    w_eig, lam = _principal_many(a)
    weights = w_eig if method == "eigen" else _geometric(a)
    ri_value = table.ri(n, node="matrices")
    if n <= 2:
        lam = np.full(k, float(n))
        ci = np.zeros(k)
    else:
        ci = np.maximum((lam - n) / (n - 1), 0.0)
    cr = ci / ri_value if ri_value > 0 else np.zeros(k)
    if method == "geometric" and n > 2:
        iu = _triu(n)
        lw = np.log(weights)
        e = np.log(a[:, iu[0], iu[1]]) + lw[:, iu[1]] - lw[:, iu[0]]
        gci = 2.0 / ((n - 1) * (n - 2)) * np.sum(e**2, axis=1)
    else:
        gci = np.full(k, np.nan if method == "eigen" else 0.0)
    return AHPBatchResult(
        labels=names,
        weights=weights,
        lambda_max=lam,
        ci=ci,
        ri=ri_value,
        cr=cr,
        consistent=cr < threshold,
        gci=gci,
        method=method,
        threshold=threshold,
        ri_table=table.key,
    )


# --------------------------------------------------------------------------------------------
# Incomplete matrices (Harker 1987)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class Completion:
    """A matrix completed by Harker's method.

    ``matrix`` is the completed reciprocal matrix, ``weights`` the Perron vector of
    Harker's auxiliary matrix (equal to the eigenvector of the completed matrix),
    ``lambda_max`` its Perron root; ``completed`` lists the filled cells
    (``row | column | completed_value``, upper triangle).
    """

    labels: tuple[str, ...]
    matrix: FloatArray
    given: BoolArray
    weights: FloatArray
    lambda_max: float
    warnings: tuple[Message, ...] = ()

    @property
    def completed(self) -> pd.DataFrame:
        n = len(self.labels)
        iu = _triu(n)
        keep = ~self.given[iu]
        rows, cols = iu[0][keep], iu[1][keep]
        return pd.DataFrame(
            {
                "row": [self.labels[i] for i in rows],
                "column": [self.labels[j] for j in cols],
                "completed_value": self.matrix[rows, cols],
            }
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"completed": self.completed}

    def to_dict(self) -> dict[str, Any]:
        return plain(  # type: ignore[no-any-return]
            {
                "labels": list(self.labels),
                "matrix": self.matrix.tolist(),
                "weights": [float(x) for x in self.weights],
                "lambda_max": self.lambda_max,
                "completed": records(self.completed),
            }
        )


def harker_complete(
    matrix: MatrixLike,
    /,
    *,
    labels: Sequence[str] | None = None,
    tolerance: float = _DEFAULT_TOLERANCE,
    node: str = "matrix",
) -> Completion:
    """Complete missing judgements by Harker's method (Harker 1987).

    Each missing a_ij is set to 0, each diagonal entry to 1 + (missing in its row);
    the Perron vector w of that matrix gives the completed values a_ij = w_i / w_j.
    The known judgements must connect all elements.

    >>> c = harker_complete([[1, 2, None], ["1/2", 1, 2], [None, "1/2", 1]])
    >>> round(float(c.completed["completed_value"].iloc[0]), 4)
    4.0
    """
    raw, found = _raw_matrix(matrix, labels, node=node)
    checked = _check(raw, found, node=node, tolerance=tolerance)
    given = np.isfinite(checked.matrix)
    if given.all():
        w, lam = _principal(checked.matrix)
        return Completion(
            labels=found,
            matrix=checked.matrix,
            given=given,
            weights=w,
            lambda_max=lam,
            warnings=checked.warnings,
        )
    completed, w, lam = _harker(checked.matrix)
    return Completion(
        labels=found,
        matrix=completed,
        given=given,
        weights=w,
        lambda_max=lam,
        warnings=checked.warnings,
    )


# --------------------------------------------------------------------------------------------
# Inconsistency: which judgements, and a repair
# --------------------------------------------------------------------------------------------


def _connected(known: BoolArray) -> bool:
    reached = {0}
    frontier = [0]
    while frontier:
        i = frontier.pop()
        for j in np.flatnonzero(known[i]).tolist():
            if j not in reached:
                reached.add(j)
                frontier.append(j)
    return bool(len(reached) == int(known.shape[0]))


def _leave_one_out(
    raw: FloatArray, rows: npt.NDArray[np.intp], cols: npt.NDArray[np.intp]
) -> tuple[FloatArray, FloatArray]:
    """For each judgement (rows[k], cols[k]): drop it, complete by Harker, and return the
    value the other judgements imply for it and the Perron root of the completed matrix.

    All candidates are solved together as one batched eigenproblem. A judgement whose
    removal would disconnect the elements gets NaN.
    """
    k, n = len(rows), raw.shape[0]
    stack = np.repeat(raw[None, :, :], k, axis=0)
    idx = np.arange(k)
    stack[idx, rows, cols] = np.nan
    stack[idx, cols, rows] = np.nan
    missing = ~np.isfinite(stack)
    c = np.where(missing, 0.0, stack)
    diag = np.arange(n)
    c[:, diag, diag] = 1.0 + missing.sum(axis=2)
    w, lam = _principal_many(c)
    implied = w[idx, rows] / w[idx, cols]
    if not np.isfinite(raw).all():
        ok = np.asarray([_connected(~m) for m in missing])
        implied = np.where(ok, implied, np.nan)
        lam = np.where(ok, lam, np.nan)
    return implied, lam


def _suggestion_frame(
    a: FloatArray, w: FloatArray, labels: tuple[str, ...], given: BoolArray, ri: float
) -> pd.DataFrame:
    n = a.shape[0]
    iu = _triu(n)
    keep = given[iu]
    rows, cols = iu[0][keep], iu[1][keep]
    value = a[rows, cols]
    ratio = value * w[cols] / w[rows]
    deviation = np.maximum(ratio, 1.0 / ratio)
    consistent_value = w[rows] / w[cols]
    # Harker (1987): dλmax/da_ij = v_i w_j - v_j w_i / a_ij², v the left Perron vector, v·w = 1.
    right, _ = _principal(a)
    left, _ = _principal(a.T)
    left = left / float(left @ right)
    derivative = left[rows] * right[cols] - left[cols] * right[rows] / value**2
    raw = np.where(given, a, np.nan)
    if len(rows) and n > 2:
        implied, lam = _leave_one_out(raw, rows, cols)
        ci = np.maximum((lam - n) / (n - 1), 0.0)
        cr_without = ci / ri if ri > 0 else np.zeros_like(ci)
    else:
        implied = consistent_value.copy()
        cr_without = np.zeros(len(rows))
    frame = pd.DataFrame(
        {
            "row": [labels[i] for i in rows],
            "column": [labels[j] for j in cols],
            "judgement": value,
            "ratio": ratio,
            "deviation": deviation,
            "derivative": derivative,
            "consistent_value": consistent_value,
            "scale_value": [nearest_scale_value(float(x)) for x in consistent_value],
            "implied_value": implied,
            "cr_without": cr_without,
        }
    )
    return frame.sort_values("deviation", ascending=False, kind="stable").reset_index(drop=True)


@dataclass(frozen=True, eq=False, kw_only=True)
class Suggestions:
    """The judgements that contribute most to a matrix's inconsistency, worst first.

    ``table`` columns: ``row | column | judgement | ratio | deviation | derivative |
    consistent_value | scale_value | implied_value | cr_without`` for every given
    judgement a_ij (i < j): ``ratio = a_ij·w_j/w_i`` (1 when consistent),
    ``deviation = max(ratio, 1/ratio)``, ``derivative`` Harker's ∂λmax/∂a_ij,
    ``consistent_value = w_i/w_j`` the value that would agree with the priorities and
    ``scale_value`` its nearest value on Saaty's scale; ``implied_value`` is what the
    other judgements alone imply for the cell (the cell dropped and completed by
    Harker's method) and ``cr_without`` the CR the matrix would then have.
    """

    node: str
    cr: float
    table: pd.DataFrame
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"suggestions": self.table}

    def to_dict(self) -> dict[str, Any]:
        return plain({"node": self.node, "cr": self.cr, "suggestions": records(self.table)})  # type: ignore[no-any-return]


def suggest_repairs(
    matrix: MatrixLike,
    /,
    *,
    labels: Sequence[str] | None = None,
    method: str = "eigen",
    ri: str | RITable | Mapping[int, float] = "saaty1980",
    top: int | None = None,
    tolerance: float = _DEFAULT_TOLERANCE,
    node: str = "matrix",
) -> Suggestions:
    """Rank the given judgements by how far each is from the priorities (worst first).

    >>> m = [[1, 2, 4, "1/8"], [None, 1, 2, 4], [None, None, 1, 2], [None, None, None, 1]]
    >>> s = suggest_repairs(m, labels=list("abcd"))
    >>> first = s.table.iloc[0]
    >>> first["row"], first["column"], round(float(first["implied_value"]), 6)
    ('a', 'd', 8.0)
    """
    result = ahp(matrix, labels=labels, method=method, ri=ri, tolerance=tolerance, node=node)
    frame = _suggestion_frame(result.matrix, result.weights, result.labels, result.given, result.ri)
    if top is not None:
        frame = frame.head(int(top))
    return Suggestions(node=node, cr=result.cr, table=frame, warnings=result.warnings)


_REPAIR_COLUMNS = [
    "step",
    "row",
    "column",
    "old_value",
    "new_value",
    "target_value",
    "log_change",
    "kind",
    "cr_before",
    "cr_after",
]


@dataclass(frozen=True, eq=False, kw_only=True)
class RepairResult:
    """A matrix brought below the CR threshold judgement by judgement.

    ``steps`` columns: ``step | row | column | old_value | new_value | target_value |
    log_change | kind | cr_before | cr_after``: ``target_value`` is the unrounded value
    the rule aimed at, ``log_change`` = ``|ln(new_value / old_value)|`` and ``kind`` says
    why the judgement was changed (``smallest``: the smallest single change that brings CR
    below the threshold; ``greedy``: no single change sufficed, so the change that lowers
    CR most; ``leave-one-out``/``deviation``: those rules). ``original`` and ``result`` are the analyses before and
    after; ``success`` whether CR is now below the threshold. ``tables()`` gives
    ``repairs`` and the repaired matrix's tables.
    """

    node: str
    original: AHPResult
    result: AHPResult
    steps: pd.DataFrame
    success: bool
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"repairs": self.steps, **self.result.tables()}

    def to_dict(self) -> dict[str, Any]:
        """The repaired matrix's :meth:`AHPResult.to_dict` plus ``repairs``, ``cr_before``
        and ``success``."""
        out = self.result.to_dict()
        out.update(
            plain(
                {
                    "success": self.success,
                    "cr_before": self.original.cr,
                    "repairs": records(self.steps),
                }
            )
        )
        return out


_SEARCH_GRID = np.linspace(math.log(_SCALE_LOW), math.log(_SCALE_HIGH), 241)
"""ln a_ij from ln(1/9) to ln 9: where the repair first looks, before refining by bisection."""
_SCALE_ARRAY = np.asarray(SAATY_SCALE)


def _cr_with(raw: FloatArray, i: int, j: int, values: FloatArray, ri_value: float) -> FloatArray:
    """The CR of ``raw`` (missing cells completed by Harker) with a_ij set to each of
    ``values`` (and a_ji to its reciprocal), all at once."""
    n = raw.shape[0]
    stack = np.repeat(raw[None, :, :], len(values), axis=0)
    stack[:, i, j] = values
    stack[:, j, i] = 1.0 / values
    missing = ~np.isfinite(stack)
    c = np.where(missing, 0.0, stack)
    diag = np.arange(n)
    c[:, diag, diag] = 1.0 + missing.sum(axis=2)
    _, lam = _principal_many(c)
    ci = np.maximum((lam - n) / (n - 1), 0.0)
    out: FloatArray = ci / ri_value
    return out


@dataclass(frozen=True)
class _Move:
    """One candidate change of judgement (i, j): the value to set, the exact value aimed at,
    its size |ln(new/old)| and the CR it leaves."""

    i: int
    j: int
    new: float
    target: float
    change: float
    cr: float
    deviation: float


def _smallest_move(
    raw: FloatArray,
    i: int,
    j: int,
    *,
    ri_value: float,
    threshold: float,
    round_to_scale: bool,
    deviation: float,
) -> _Move | None:
    """The value of a_ij closest to the current one (on the log scale, within 1/9..9) that
    brings CR below ``threshold``, everything else fixed; None when no value does.

    CR is a convex function of ln a_ij (λmax of a positive matrix is log-convex in its
    log-entries, Kingman 1961), so the values that pass form one interval: the grid finds
    it and a few rounds of finer grids find its end nearest the current value to 1e-12 on
    the log scale.
    With ``round_to_scale`` the new value is the passing value of Saaty's scale nearest
    the current one (``target`` keeps the exact end).
    """
    old = float(raw[i, j])
    x0 = math.log(old)
    crs = _cr_with(raw, i, j, np.exp(_SEARCH_GRID), ri_value)
    ok = crs < threshold
    best: tuple[float, float] | None = None  # (|x - x0|, x)
    for side in (1, -1):
        beyond = np.flatnonzero(ok & (side * (_SEARCH_GRID - x0) > 0))
        if not len(beyond):
            continue
        k = int(beyond[0] if side > 0 else beyond[-1])
        inside = float(_SEARCH_GRID[k])
        neighbour = k - side
        outside = x0
        if 0 <= neighbour < len(_SEARCH_GRID) and side * (_SEARCH_GRID[neighbour] - x0) > 0:
            outside = float(_SEARCH_GRID[neighbour])
        for _ in range(6):  # each round narrows the bracket 64-fold
            if abs(inside - outside) < 1e-13:
                break
            xs = np.linspace(outside, inside, 66)[1:-1]
            passed = _cr_with(raw, i, j, np.exp(xs), ri_value) < threshold
            first = int(np.argmax(passed)) if passed.any() else len(xs)
            if first < len(xs):
                inside = float(xs[first])
            if first > 0:
                outside = float(xs[first - 1])
        if best is None or abs(inside - x0) < best[0]:
            best = (abs(inside - x0), inside)
    if best is None:
        return None
    target = math.exp(best[1])
    if not round_to_scale:
        cr = float(_cr_with(raw, i, j, np.asarray([target]), ri_value)[0])
        return _Move(i, j, target, target, best[0], cr, deviation)
    scale_cr = _cr_with(raw, i, j, _SCALE_ARRAY, ri_value)
    passing = np.flatnonzero(scale_cr < threshold)
    if not len(passing):
        return None
    dist = np.abs(np.log(_SCALE_ARRAY[passing]) - x0)
    k = int(passing[int(np.argmin(dist))])
    new = float(_SCALE_ARRAY[k])
    return _Move(i, j, new, target, abs(math.log(new) - x0), float(scale_cr[k]), deviation)


def _greedy_move(
    raw: FloatArray, i: int, j: int, *, ri_value: float, round_to_scale: bool, deviation: float
) -> _Move:
    """The value of a_ij within 1/9..9 (on Saaty's scale with ``round_to_scale``) that
    leaves the lowest CR."""
    old = float(raw[i, j])
    values = _SCALE_ARRAY if round_to_scale else np.exp(_SEARCH_GRID)
    crs = _cr_with(raw, i, j, values, ri_value)
    k = int(np.argmin(crs))
    new = float(values[k])
    return _Move(i, j, new, new, abs(math.log(new / old)), float(crs[k]), deviation)


def _repair_checked(
    checked: _Checked,
    *,
    node: str,
    names: tuple[str, ...],
    names_zh: tuple[str, ...],
    method: str,
    table: RITable,
    threshold: float,
    round_to_scale: bool,
    max_steps: int | None,
    rule: str = "smallest",
) -> RepairResult:
    def run(c: _Checked) -> AHPResult:
        return _evaluate(
            c,
            node=node,
            names=names,
            names_zh=names_zh,
            method=method,
            table=table,
            threshold=threshold,
        )

    original = run(checked)
    current = original
    raw = checked.matrix.copy()
    labels = checked.labels
    n = len(labels)
    limit = n * (n - 1) // 2 if max_steps is None else int(max_steps)
    given = np.isfinite(raw)
    changed = np.zeros_like(given)
    steps: list[dict[str, Any]] = []
    ri_value = table.ri(n, node=node)
    while current.cr >= threshold and len(steps) < limit and ri_value > 0:
        a, w = current.matrix, current.weights
        deviation = np.abs(np.log(a * w[None, :] / w[:, None]))
        rows, cols = np.nonzero(np.triu(given & ~changed, 1))
        if not len(rows):
            break
        dev = deviation[rows, cols]
        kind = rule
        if rule == "smallest":
            moves = [
                _smallest_move(
                    raw,
                    int(i),
                    int(j),
                    ri_value=ri_value,
                    threshold=threshold,
                    round_to_scale=round_to_scale,
                    deviation=float(d),
                )
                for i, j, d in zip(rows, cols, dev, strict=True)
            ]
            found = [m for m in moves if m is not None]
            if found:
                # the smallest change; ties (within 1e-9): the lower CR, the most deviating,
                # then reading order (a_12, a_13, ..., a_23, ...)
                move = min(
                    found,
                    key=lambda m: (round(m.change, 9), round(m.cr, 9), -round(m.deviation, 9)),
                )
            else:
                kind = "greedy"
                tries = [
                    _greedy_move(
                        raw,
                        int(i),
                        int(j),
                        ri_value=ri_value,
                        round_to_scale=round_to_scale,
                        deviation=float(d),
                    )
                    for i, j, d in zip(rows, cols, dev, strict=True)
                ]
                move = min(tries, key=lambda m: (round(m.cr, 12), m.change, -m.deviation))
                if move.cr >= current.cr - 1e-12:
                    break
            i, j, new, target = move.i, move.j, move.new, move.target
        else:
            if rule == "deviation":
                k = int(np.argmax(dev))
                target = float(w[rows[k]] / w[cols[k]])
            else:
                implied, lam = _leave_one_out(raw, rows, cols)
                ci = np.maximum((lam - n) / (n - 1), 0.0)
                cr = np.where(np.isfinite(ci), ci / ri_value, np.inf)
                # the lowest CR once the judgement follows the others; ties: the most deviating
                order = np.lexsort((-dev, np.round(cr, 12)))
                k = int(order[0])
                target = float(implied[k])
            i, j = int(rows[k]), int(cols[k])
            if dev[k] <= 1e-12 or not math.isfinite(target):
                break
            new = nearest_scale_value(target) if round_to_scale else target
            if abs(math.log(new / raw[i, j])) < 1e-12:
                new = target
        old = float(raw[i, j])
        raw[i, j], raw[j, i] = new, 1.0 / new
        changed[i, j] = True
        after = run(_Checked(matrix=raw.copy(), labels=labels, warnings=checked.warnings))
        steps.append(
            {
                "step": len(steps) + 1,
                "row": labels[i],
                "column": labels[j],
                "old_value": old,
                "new_value": new,
                "target_value": target,
                "log_change": abs(math.log(new / old)),
                "kind": kind,
                "cr_before": current.cr,
                "cr_after": after.cr,
            }
        )
        current = after
    success = bool(current.cr < threshold)
    warnings: list[Message] = [w for w in current.warnings if w.key != "ahp.warn.inconsistent"]
    if steps:
        warnings.append(
            Message(
                "ahp.warn.repaired",
                {
                    "node": node,
                    "n": len(steps),
                    "before": round(original.cr, 4),
                    "after": round(current.cr, 4),
                },
            )
        )
    if not success:
        warnings.append(
            Message(
                "ahp.warn.repair_failed",
                {"node": node, "cr": round(current.cr, 4), "n": len(steps)},
            )
        )
    return RepairResult(
        node=node,
        original=original,
        result=replace(current, warnings=tuple(warnings)),
        steps=pd.DataFrame(steps, columns=_REPAIR_COLUMNS),
        success=success,
        warnings=tuple(warnings),
    )


def repair(
    matrix: MatrixLike,
    /,
    *,
    labels: Sequence[str] | None = None,
    method: str = "eigen",
    ri: str | RITable | Mapping[int, float] = "saaty1980",
    threshold: float = 0.10,
    round_to_scale: bool = True,
    max_steps: int | None = None,
    rule: str = "smallest",
    tolerance: float = _DEFAULT_TOLERANCE,
    node: str = "matrix",
) -> RepairResult:
    """Bring CR below ``threshold`` by the smallest change of the judgements.

    ``rule="smallest"`` (default): for every given judgement a_ij (i < j) find, by a
    1-D search on the log scale within Saaty's range 1/9..9 and everything else
    fixed, the value closest to the current one that brings CR below the threshold
    (CR is convex in ln a_ij, so the passing values form one interval; the search
    finds its nearer end to 1e-12); change the judgement whose change
    ``|ln(new/old)|`` is smallest (ties: the lower CR after, then the judgement that
    deviates most from the priorities). With ``round_to_scale`` (default) only
    values of Saaty's scale are proposed: the passing scale value nearest the
    current one, and the sizes compared are those of the rounded changes
    (``target_value`` keeps the exact value). Only when no single change suffices
    does it go greedy: change the judgement (to the value within 1/9..9) that
    lowers CR most, then look for the smallest single change again, and so on.

    The older rules remain: ``"leave-one-out"`` changes the judgement whose removal
    (Harker completion) lowers CR most to the value the other judgements imply;
    ``"deviation"`` the one with the largest ``|ln(a_ij·w_j/w_i)|`` to w_i/w_j
    (Saaty 2003); both repeat until CR < threshold.

    Every rule stops once CR < threshold, or after ``max_steps`` (default: every
    judgement once). Completed (missing) judgements are never changed; they are
    re-completed. Every change is reported (old value, new value, CR after): the
    judges should confirm it.

    >>> m = [[1, 2, 4, "1/8"], [None, 1, 2, 4], [None, None, 1, 2], [None, None, None, 1]]
    >>> r = repair(m, labels=list("abcd"))
    >>> r.steps[["row", "column", "old_value", "new_value", "kind"]].values.tolist()
    [['a', 'd', 0.125, 2.0, 'smallest']]
    >>> r.success, round(r.result.cr, 4)
    (True, 0.0923)
    """
    method = _method(method)
    table = _ri_table(ri)
    threshold = _threshold(threshold)
    raw, found = _raw_matrix(matrix, labels, node=node)
    checked = _check(raw, found, node=node, tolerance=tolerance)
    return _repair_checked(
        checked,
        node=node,
        names=found,
        names_zh=found,
        method=method,
        table=table,
        threshold=threshold,
        round_to_scale=round_to_scale,
        max_steps=max_steps,
        rule=_rule(rule),
    )


def _rule(rule: str) -> str:
    key = str(rule).strip().lower()
    if key not in REPAIR_RULES:
        raise ValidationError(
            "ahp.unknown_option", option="rule", value=str(rule), allowed=", ".join(REPAIR_RULES)
        )
    return key


# --------------------------------------------------------------------------------------------
# Group decisions
# --------------------------------------------------------------------------------------------


def _judge_weights(
    names: Sequence[str], weights: Sequence[float] | Mapping[str, float] | None
) -> FloatArray:
    k = len(names)
    if weights is None:
        values = np.ones(k)
    elif isinstance(weights, Mapping):
        try:
            values = np.asarray([float(weights[name]) for name in names])
        except KeyError:
            raise ValidationError("ahp.group_weights", n_weights=len(weights), n_judges=k) from None
    else:
        values = np.asarray([float(x) for x in weights])
    if (
        values.shape != (k,)
        or not np.isfinite(values).all()
        or (values < 0).any()
        or values.sum() <= 0
    ):
        raise ValidationError("ahp.group_weights", n_weights=int(values.size), n_judges=k)
    out: FloatArray = values / values.sum()
    return out


def _group(
    checked: Sequence[_Checked],
    judge_names: Sequence[str],
    judge_weights: FloatArray,
    *,
    how: str,
    node: str,
    names: tuple[str, ...],
    names_zh: tuple[str, ...],
    method: str,
    table: RITable,
    threshold: float,
) -> AHPResult:
    individual = [
        _evaluate(
            c,
            node=f"{node}/{j}",
            names=names,
            names_zh=names_zh,
            method=method,
            table=table,
            threshold=threshold,
        )
        for c, j in zip(checked, judge_names, strict=True)
    ]
    judges = tuple(
        JudgeResult(
            judge=j,
            weight=float(wt),
            weights=r.weights,
            lambda_max=r.lambda_max,
            ci=r.ci,
            ri=r.ri,
            cr=r.cr,
            consistent=r.consistent,
        )
        for j, wt, r in zip(judge_names, judge_weights, individual, strict=True)
    )
    warnings: list[Message] = []
    for r in individual:
        warnings.extend(
            w for w in r.warnings if w.key not in {"ahp.warn.inconsistent", "ahp.warn.gci"}
        )
    for jr in judges:
        if not jr.consistent:
            warnings.append(
                Message(
                    "ahp.warn.judge_inconsistent",
                    {
                        "node": node,
                        "judge": jr.judge,
                        "cr": round(jr.cr, 4),
                        "threshold": threshold,
                    },
                )
            )
    labels = checked[0].labels
    if how == "aij":
        stack = np.stack([c.matrix for c in checked])
        present = np.isfinite(stack)
        wts = np.where(present, judge_weights[:, None, None], 0.0)
        total = wts.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            logs = np.where(present, np.log(np.where(present, stack, 1.0)), 0.0)
            merged = np.exp((wts * logs).sum(axis=0) / total)
        merged = np.where(total > 0, merged, np.nan)
        group = _check(merged, labels, node=node, tolerance=_DEFAULT_TOLERANCE)
        result = _evaluate(
            group,
            node=node,
            names=names,
            names_zh=names_zh,
            method=method,
            table=table,
            threshold=threshold,
            extra_warnings=warnings,
        )
        return replace(result, judges=judges, aggregation="aij")
    logs = np.stack([np.log(r.weights) for r in individual])
    merged_w = np.exp(judge_weights @ logs)
    merged_w = merged_w / merged_w.sum()
    warnings.append(Message("ahp.warn.aip_no_cr", {"node": node}))
    n = len(labels)
    return AHPResult(
        node=node,
        labels=labels,
        names=names,
        names_zh=names_zh,
        matrix=merged_w[:, None] / merged_w[None, :],
        given=np.ones((n, n), dtype=bool),
        weights=merged_w,
        method=method,
        lambda_max=math.nan,
        ci=math.nan,
        ri=table.ri(n, node=node),
        cr=math.nan,
        threshold=threshold,
        consistent=all(j.consistent for j in judges),
        ri_table=table.key,
        judges=judges,
        aggregation="aip",
        warnings=tuple(warnings),
    )


def aggregate(
    judges_matrices: Sequence[MatrixLike] | Mapping[str, MatrixLike],
    /,
    *,
    weights: Sequence[float] | Mapping[str, float] | None = None,
    how: str = "aij",
    labels: Sequence[str] | None = None,
    method: str = "eigen",
    ri: str | RITable | Mapping[int, float] = "saaty1980",
    threshold: float = 0.10,
    tolerance: float = _DEFAULT_TOLERANCE,
    node: str = "matrix",
) -> AHPResult:
    """Combine several judges' matrices of the same elements (group decision).

    ``how="aij"`` (aggregation of individual judgements): the group matrix is the
    weighted geometric mean of the judges' judgements, cell by cell, over the
    judges who gave that cell (missing everywhere: completed by Harker); its
    priorities and CR follow. ``how="aip"`` (aggregation of individual
    priorities): the weighted geometric mean of each judge's priorities,
    normalised; the group then has no single matrix, so its ``cr`` is NaN.
    ``judges_matrices`` is a list (judges named 1, 2, …) or a mapping name →
    matrix; ``weights`` the judges' weights (default equal). Each judge's own
    weights and CR are in ``result.judges``.

    >>> a = [[1, 3], ["1/3", 1]]
    >>> b = [[1, "1/3"], [3, 1]]
    >>> [round(x, 4) for x in aggregate([a, b], labels=["x", "y"]).weights.tolist()]
    [0.5, 0.5]
    """
    how = _aggregation(how)
    method = _method(method)
    table = _ri_table(ri)
    threshold = _threshold(threshold)
    if isinstance(judges_matrices, Mapping):
        judge_names = [str(k) for k in judges_matrices]
        specs = list(judges_matrices.values())
    else:
        specs = list(judges_matrices)
        judge_names = [str(i + 1) for i in range(len(specs))]
    if not specs:
        raise ValidationError("ahp.group_empty")
    wts = _judge_weights(judge_names, weights)
    checked: list[_Checked] = []
    found: tuple[str, ...] | None = None if labels is None else tuple(labels)
    for name, spec in zip(judge_names, specs, strict=True):
        where = f"{node}/{name}"
        try:
            raw, got = _raw_matrix(spec, found, node=where)
        except ValidationError:
            if found is None:
                raise
            alone = _raw_matrix(spec, None, node=where)[1]
            if len(alone) != len(found):
                raise ValidationError(
                    "ahp.group_shape",
                    judge=name,
                    found=f"{len(alone)}×{len(alone)}",
                    expected=f"{len(found)}×{len(found)}",
                ) from None
            raise
        if found is None:
            found = got
        checked.append(_check(raw, got, node=where, tolerance=tolerance))
    assert found is not None  # at least one judge: set in the loop
    return _group(
        checked,
        judge_names,
        wts,
        how=how,
        node=node,
        names=found,
        names_zh=found,
        method=method,
        table=table,
        threshold=threshold,
    )


# --------------------------------------------------------------------------------------------
# Hierarchies: the model (a value), parsing, analysis
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Judge:
    """A judge (expert, 专家) of a group decision; ``weight`` is relative."""

    id: str
    name: str
    weight: float = 1.0


@dataclass(frozen=True)
class Alternative:
    """An alternative compared under every leaf criterion."""

    id: str
    name: str
    name_zh: str | None = None


@dataclass(frozen=True, eq=False)
class Node:
    """One node of a hierarchy: the goal, a criterion, a sub-criterion or a factor.

    ``judgements`` maps a judge id (``""`` when there is one judge) to the raw
    matrix comparing the children (for a leaf: the alternatives), NaN where a
    judgement is missing. ``attrs`` keeps any other keys of the node for other
    tools (e.g. the survey column a factor is measured by).
    """

    id: str
    name: str
    name_zh: str | None = None
    children: tuple[Node, ...] = ()
    judgements: Mapping[str, FloatArray] = field(default_factory=lambda: MappingProxyType({}))
    attrs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def walk(self) -> Iterator[Node]:
        """This node and every node below it, depth first (pre-order)."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True, eq=False)
class Hierarchy:
    """An AHP hierarchy: goal → criteria → … → factors, with judgements at every node.

    Built by :func:`parse_hierarchy` (from a mapping or YAML text) or
    :func:`load_hierarchy` (from a file); :func:`analyze` computes it.
    ``to_dict()`` gives the canonical mapping back (full matrices).
    """

    goal: Node
    alternatives: tuple[Alternative, ...] = ()
    judges: tuple[Judge, ...] = ()
    aggregation: str = "aij"
    attrs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    source: str | None = None

    def nodes(self) -> tuple[Node, ...]:
        """Every node, depth first from the goal."""
        return tuple(self.goal.walk())

    def leaves(self) -> tuple[Node, ...]:
        """The factors (nodes without children), in order."""
        return tuple(n for n in self.goal.walk() if n.is_leaf)

    def node(self, id: str, /) -> Node:
        for n in self.goal.walk():
            if n.id == id:
                return n
        raise KeyError(id)

    def to_dict(self) -> dict[str, Any]:
        def cell(x: float) -> Any:
            if not math.isfinite(x):
                return None
            if 0 < x < 1 and abs(1 / x - round(1 / x)) < 1e-12:
                return f"1/{round(1 / x)}"
            return float(x)

        def judgements(m: FloatArray) -> list[list[Any]]:
            return [[cell(float(x)) for x in row] for row in m]

        def node(n: Node) -> dict[str, Any]:
            out: dict[str, Any] = {"id": n.id, "name": n.name}
            if n.name_zh:
                out["name_zh"] = n.name_zh
            out.update(dict(n.attrs))
            if n.children:
                out["children"] = [node(c) for c in n.children]
            if n.judgements:
                if self.judges:
                    out["judgements"] = {
                        j: {"matrix": judgements(m)} for j, m in n.judgements.items()
                    }
                else:
                    out["judgements"] = {"matrix": judgements(n.judgements[""])}
            return out

        out: dict[str, Any] = dict(self.attrs)
        if self.judges:
            out["judges"] = [{"id": j.id, "name": j.name, "weight": j.weight} for j in self.judges]
            out["aggregation"] = self.aggregation
        if self.alternatives:
            out["alternatives"] = [
                {"id": a.id, "name": a.name, **({"name_zh": a.name_zh} if a.name_zh else {})}
                for a in self.alternatives
            ]
        out["goal"] = node(self.goal)
        return out


_CHILD_KEYS = ("children", "criteria", "subcriteria", "sub_criteria", "factors")
_JUDGEMENT_KEYS = ("judgements", "judgments", "comparisons")
_NODE_KEYS = ("id", "name", "name_zh", "name_en", *_CHILD_KEYS, *_JUDGEMENT_KEYS)


def _text(value: object) -> str | None:
    if value is None:
        return None
    out = str(value).strip()
    return out or None


def _one_of(mapping: Mapping[str, Any], keys: Sequence[str], *, where: str) -> Any:
    present = [k for k in keys if k in mapping]
    if len(present) > 1:
        raise ConfigError("ahp.file.unknown_key", where=where, key=present[1], allowed=present[0])
    return mapping[present[0]] if present else None


@dataclass
class _ParseState:
    judges: tuple[Judge, ...]
    alternatives: tuple[Alternative, ...]
    seen: dict[str, str] = field(default_factory=dict)


def _parse_node(data: object, *, where: str, state: _ParseState) -> Node:
    if isinstance(data, str):
        data = {"id": data}
    if not isinstance(data, Mapping):
        raise ConfigError("ahp.file.bad_node", where=where, found=repr(data)[:80])
    node_id = _text(data.get("id")) or _text(data.get("name")) or _text(data.get("name_en"))
    if node_id is None:
        raise ConfigError("ahp.file.missing_id", where=where)
    if node_id in state.seen:
        raise ConfigError(
            "ahp.file.duplicate_id", id=node_id, first=state.seen[node_id], second=where
        )
    here = f"{where}/{node_id}" if where != "goal" else node_id
    state.seen[node_id] = here
    name = _text(data.get("name")) or _text(data.get("name_en")) or node_id
    name_zh = _text(data.get("name_zh"))
    children_spec = _one_of(data, _CHILD_KEYS, where=here)
    if children_spec is None:
        children_spec = []
    if not _is_row(children_spec):
        raise ConfigError("ahp.file.bad_node", where=here, found=repr(children_spec)[:80])
    children = tuple(_parse_node(c, where=here, state=state) for c in children_spec)
    spec = _one_of(data, _JUDGEMENT_KEYS, where=here)
    attrs = MappingProxyType({str(k): v for k, v in data.items() if k not in _NODE_KEYS})
    if children:
        labels = tuple(c.id for c in children)
    elif state.alternatives:
        labels = tuple(a.id for a in state.alternatives)
    else:
        labels = ()
    judgements: dict[str, FloatArray] = {}
    if not children and not state.alternatives:
        if spec is not None:
            raise ConfigError("ahp.file.leaf_without_alternatives", node=node_id)
    elif len(labels) >= 2:
        if spec is None:
            if children:
                raise ConfigError("ahp.file.no_judgements", node=node_id, n=len(labels))
            raise ConfigError(
                "ahp.file.leaf_needs_judgements", node=node_id, alternatives=", ".join(labels)
            )
        if state.judges:
            if not isinstance(spec, Mapping):
                raise ConfigError("ahp.file.judges_need_mapping", node=node_id)
            ids = [j.id for j in state.judges]
            for judge, judge_spec in spec.items():
                key = str(judge).strip()
                if key not in ids:
                    raise ConfigError(
                        "ahp.file.unknown_judge", node=node_id, judge=key, judges=", ".join(ids)
                    )
                judgements[key] = _raw_matrix(judge_spec, labels, node=f"{node_id}/{key}")[0]
            if not judgements:
                raise ConfigError("ahp.file.no_judgements", node=node_id, n=len(labels))
        else:
            judgements[""] = _raw_matrix(spec, labels, node=node_id)[0]
    return Node(
        id=node_id,
        name=name,
        name_zh=name_zh,
        children=children,
        judgements=MappingProxyType(judgements),
        attrs=attrs,
    )


def parse_hierarchy(data: Mapping[str, Any] | str, /, *, source: str | None = None) -> Hierarchy:
    """A hierarchy from its mapping (or its YAML text); the format is in ``docs/methods/ahp.md``.

    >>> h = parse_hierarchy('''
    ... goal:
    ...   name: Choose a supplier
    ...   children: [price, quality, service]
    ...   judgements:
    ...     upper: [[3, 5], [2]]
    ... ''')
    >>> [n.id for n in h.leaves()]
    ['price', 'quality', 'service']
    """
    where = source or "hierarchy"
    if isinstance(data, str):
        try:
            data = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            raise ConfigError(
                "ahp.file.bad_yaml", file=where, error=str(exc).replace("\n", " ")
            ) from None
    if not isinstance(data, Mapping) or "goal" not in data:
        raise ConfigError("ahp.file.no_goal", file=where)
    judges: list[Judge] = []
    for k, item in enumerate(data.get("judges") or []):
        if isinstance(item, str):
            item = {"id": item}
        if not isinstance(item, Mapping) or _text(item.get("id") or item.get("name")) is None:
            raise ConfigError("ahp.file.bad_judge", where=f"judges[{k}]")
        judge_id = str(_text(item.get("id") or item.get("name")))
        try:
            weight = float(item.get("weight", 1.0))
        except (TypeError, ValueError):
            weight = -1.0
        if not (math.isfinite(weight) and weight >= 0):
            raise ConfigError("ahp.file.bad_judge", where=f"judges[{k}]")
        judges.append(Judge(id=judge_id, name=_text(item.get("name")) or judge_id, weight=weight))
    if judges and sum(j.weight for j in judges) <= 0:
        raise ConfigError("ahp.file.bad_judge", where="judges")
    alternatives: list[Alternative] = []
    for k, item in enumerate(data.get("alternatives") or []):
        if isinstance(item, str):
            item = {"id": item}
        if not isinstance(item, Mapping):
            raise ConfigError(
                "ahp.file.bad_node", where=f"alternatives[{k}]", found=repr(item)[:80]
            )
        alt_id = _text(item.get("id")) or _text(item.get("name"))
        if alt_id is None:
            raise ConfigError("ahp.file.missing_id", where=f"alternatives[{k}]")
        if any(a.id == alt_id for a in alternatives):
            raise ConfigError(
                "ahp.file.duplicate_id",
                id=alt_id,
                first="alternatives",
                second=f"alternatives[{k}]",
            )
        alternatives.append(
            Alternative(
                id=alt_id,
                name=_text(item.get("name")) or alt_id,
                name_zh=_text(item.get("name_zh")),
            )
        )
    aggregation = _aggregation(str(data.get("aggregation") or "aij"))
    state = _ParseState(judges=tuple(judges), alternatives=tuple(alternatives))
    goal = _parse_node(data["goal"], where="goal", state=state)
    known = {"goal", "judges", "alternatives", "aggregation"}
    attrs = MappingProxyType({str(k): v for k, v in data.items() if k not in known})
    return Hierarchy(
        goal=goal,
        alternatives=tuple(alternatives),
        judges=tuple(judges),
        aggregation=aggregation,
        attrs=attrs,
        source=source,
    )


_GLOBAL_COLUMNS = [
    "factor",
    "criterion",
    "path",
    "local_weight",
    "global_weight",
    "name",
    "name_zh",
    "parent",
    "depth",
]
_LEVEL_COLUMNS = ["depth", "n_elements", "weighted_ci", "weighted_ri", "cr_share"]
_ALTERNATIVE_COLUMNS = ["alternative", "name", "name_zh", "weight", "rank"]
_SUGGESTION_COLUMNS = [
    "node",
    "row",
    "column",
    "judgement",
    "ratio",
    "deviation",
    "derivative",
    "consistent_value",
    "scale_value",
    "implied_value",
    "cr_without",
]
_WEIGHT_COLUMNS = ["node", "parent", "depth", "name", "name_zh", "local_weight", "global_weight"]
_NODE_COLUMNS = [
    "node",
    "name",
    "name_zh",
    "depth",
    "global_weight",
    "n_elements",
    "method",
    "lambda_max",
    "ci",
    "ri",
    "cr",
    "threshold",
    "consistent",
    "ri_table",
    "gci",
    "gci_threshold",
    "gci_consistent",
]


@dataclass(frozen=True, eq=False, kw_only=True)
class HierarchyResult:
    """A whole hierarchy computed: every node's priorities, global weights, consistency.

    - ``nodes``: one :class:`AHPResult` per node that compares something (depth first);
    - ``global_weights``: one row per leaf factor, columns ``factor | criterion |
      path | local_weight | global_weight | name | name_zh | parent | depth``
      (``criterion`` is the leaf's ancestor just below the goal, ``path`` the ids
      from that criterion down to the leaf joined by ``/``); the global weights sum to 1;
    - ``weights``: every node below the goal with its local and global weight;
    - ``cr``: Saaty's consistency ratio of the whole hierarchy
      ``Σ g_j CI_j / Σ g_j RI_j`` over every compared node j with global weight g_j
      (the one hierarchy verdict: ``consistent`` is ``cr < threshold``); ``levels``
      splits it by depth: each level's ``weighted_ci``, ``weighted_ri`` and
      ``cr_share`` = its Σ g_j CI_j over the whole Σ g_j RI_j, so the shares add up to
      ``cr`` (no level has a verdict of its own);
    - ``alternatives`` (when the hierarchy has alternatives): their synthesised weights;
    - ``suggestions`` (the worst judgements of each inconsistent node), ``repairs``
      (with ``repair=True``), ``completed`` (Harker) and ``judges`` (group decisions).
    """

    hierarchy: Hierarchy
    nodes: tuple[AHPResult, ...]
    cr: float
    consistent: bool
    method: str
    ri_table: str
    threshold: float
    aggregation: str | None
    warnings: tuple[Message, ...] = ()
    parts: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """The rows behind the tables (frames are built when first asked for)."""

    @functools.cached_property
    def global_weights(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.parts["global_weights"]), columns=_GLOBAL_COLUMNS)

    @functools.cached_property
    def weights(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.parts["weights"]), columns=_WEIGHT_COLUMNS)

    @functools.cached_property
    def levels(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.parts["levels"]), columns=_LEVEL_COLUMNS)

    @functools.cached_property
    def alternatives(self) -> pd.DataFrame:
        frame = pd.DataFrame(list(self.parts["alternatives"]), columns=_ALTERNATIVE_COLUMNS[:-1])
        frame["rank"] = frame["weight"].rank(ascending=False, method="min").astype("int64")
        return frame

    @functools.cached_property
    def suggestions(self) -> pd.DataFrame:
        frames: list[pd.DataFrame] = list(self.parts["suggestions"])
        if not frames:
            return pd.DataFrame(columns=_SUGGESTION_COLUMNS)
        return pd.concat(frames, ignore_index=True)[_SUGGESTION_COLUMNS]

    @functools.cached_property
    def repairs(self) -> pd.DataFrame:
        frames: list[pd.DataFrame] = list(self.parts["repairs"])
        if not frames:
            return pd.DataFrame(columns=["node", *_REPAIR_COLUMNS])
        return pd.concat(frames, ignore_index=True)[["node", *_REPAIR_COLUMNS]]

    @property
    def leaf_weights(self) -> dict[str, float]:
        """Global weight of every leaf factor by id (the C_i of the calculation standard)."""
        return {str(r["factor"]): float(r["global_weight"]) for r in self.parts["global_weights"]}

    def node(self, id: str, /) -> AHPResult:
        """The result of one compared node."""
        for r in self.nodes:
            if r.node == id:
                return r
        raise KeyError(id)

    @property
    def node_table(self) -> pd.DataFrame:
        """One row per compared node: its consistency figures (columns in ``_NODE_COLUMNS``)."""
        info = {str(rec["node"]): rec for rec in self.parts["weights"]}
        rows = []
        for r in self.nodes:
            row = r._consistency_row()
            if r.node in info:
                rec = info[r.node]
                row.update(
                    name=rec["name"],
                    name_zh=rec["name_zh"],
                    depth=int(rec["depth"]),
                    global_weight=float(rec["global_weight"]),
                )
            else:
                goal = self.hierarchy.goal
                row.update(
                    name=goal.name, name_zh=goal.name_zh or goal.name, depth=0, global_weight=1.0
                )
            rows.append(row)
        return pd.DataFrame(rows, columns=_NODE_COLUMNS)

    @property
    def completed(self) -> pd.DataFrame:
        frames = [r.completed.assign(node=r.node) for r in self.nodes if not r.given.all()]
        if not frames:
            return pd.DataFrame(columns=["node", "row", "column", "completed_value"])
        return pd.concat(frames, ignore_index=True)[["node", "row", "column", "completed_value"]]

    @property
    def judges(self) -> pd.DataFrame:
        frames = [r._judges_table().assign(node=r.node) for r in self.nodes if r.judges]
        columns = ["node", "judge", "judge_weight", "lambda_max", "ci", "ri", "cr", "consistent"]
        if not frames:
            return pd.DataFrame(columns=columns)
        return pd.concat(frames, ignore_index=True)[columns]

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {
            "global_weights": self.global_weights,
            "weights": self.weights,
            "nodes": self.node_table,
            "levels": self.levels,
        }
        optional = {
            "alternatives": self.alternatives,
            "suggestions": self.suggestions,
            "repairs": self.repairs,
            "completed": self.completed,
            "judges": self.judges,
        }
        out.update({k: v for k, v in optional.items() if len(v)})
        return out

    def to_dict(self) -> dict[str, Any]:
        table = RI_TABLES.get(self.ri_table)
        return plain(  # type: ignore[no-any-return]
            {
                "goal": {
                    "id": self.hierarchy.goal.id,
                    "name": self.hierarchy.goal.name,
                    "name_zh": self.hierarchy.goal.name_zh,
                },
                "method": self.method,
                "ri_table": self.ri_table,
                "ri_source": table.source if table else self.ri_table,
                "threshold": self.threshold,
                "aggregation": self.aggregation,
                "hierarchy_cr": self.cr,
                "hierarchy_consistent": self.consistent,
                "nodes": [r.to_dict() for r in self.nodes],
                "global_weights": records(self.global_weights),
                "weights": records(self.weights),
                "levels": records(self.levels),
                "alternatives": records(self.alternatives),
                "suggestions": records(self.suggestions),
                "repairs": records(self.repairs),
                "completed": records(self.completed),
                "judges": records(self.judges),
            }
        )


def _trivial(
    node: str,
    labels: tuple[str, ...],
    names: tuple[str, ...],
    names_zh: tuple[str, ...],
    *,
    method: str,
    table: RITable,
    threshold: float,
) -> AHPResult:
    """A node with a single child: weight 1, nothing to judge."""
    return AHPResult(
        node=node,
        labels=labels,
        names=names,
        names_zh=names_zh,
        matrix=np.ones((1, 1)),
        given=np.ones((1, 1), dtype=bool),
        weights=np.ones(1),
        method=method,
        lambda_max=1.0,
        ci=0.0,
        ri=0.0,
        cr=0.0,
        threshold=threshold,
        consistent=True,
        ri_table=table.key,
        gci=math.nan if method == "eigen" else 0.0,
    )


def analyze(
    hierarchy: Hierarchy,
    /,
    *,
    method: str = "eigen",
    ri: str | RITable | Mapping[int, float] = "saaty1980",
    threshold: float = 0.10,
    aggregation: str | None = None,
    repair: bool = False,
    round_to_scale: bool = True,
    repair_rule: str = "smallest",
    tolerance: float = _DEFAULT_TOLERANCE,
) -> HierarchyResult:
    """Compute a hierarchy: local priorities at every node, global weights, consistency.

    ``aggregation`` overrides the hierarchy's own rule for several judges
    (``"aij"`` or ``"aip"``). With ``repair=True`` every node whose CR is not below
    ``threshold`` is repaired as by :func:`repair` (single judge or AIJ), and each
    change is listed in ``repairs`` (``repair_rule`` as in :func:`repair`).

    >>> h = parse_hierarchy({"goal": {"id": "g", "children": [
    ...     {"id": "a", "children": ["a1", "a2"], "judgements": [[3]]}, "b"],
    ...     "judgements": [[1]]}})
    >>> r = analyze(h)
    >>> {k: round(v, 9) for k, v in r.leaf_weights.items()}
    {'a1': 0.375, 'a2': 0.125, 'b': 0.5}
    """
    method = _method(method)
    rule = _rule(repair_rule)
    table = _ri_table(ri)
    threshold = _threshold(threshold)
    how = _aggregation(aggregation) if aggregation is not None else hierarchy.aggregation
    judge_ids = [j.id for j in hierarchy.judges]
    judge_weight = {j.id: j.weight for j in hierarchy.judges}
    alternatives = hierarchy.alternatives

    results: list[AHPResult] = []
    repairs: list[pd.DataFrame] = []
    suggestions: list[pd.DataFrame] = []
    global_w: dict[str, float] = {hierarchy.goal.id: 1.0}
    local_w: dict[str, float] = {hierarchy.goal.id: 1.0}
    parent_of: dict[str, str | None] = {hierarchy.goal.id: None}
    depth_of: dict[str, int] = {hierarchy.goal.id: 0}
    node_depth: dict[str, int] = {}
    alt_scores = np.zeros(len(alternatives))

    def compare(node: Node, depth: int) -> AHPResult | None:
        if node.children:
            labels = tuple(c.id for c in node.children)
            names = tuple(c.name for c in node.children)
            names_zh = tuple(c.name_zh or c.name for c in node.children)
        elif alternatives:
            labels = tuple(a.id for a in alternatives)
            names = tuple(a.name for a in alternatives)
            names_zh = tuple(a.name_zh or a.name for a in alternatives)
        else:
            return None
        node_depth[node.id] = depth
        if len(labels) == 1:
            return _trivial(
                node.id, labels, names, names_zh, method=method, table=table, threshold=threshold
            )
        if not hierarchy.judges:
            checked = _check(node.judgements[""], labels, node=node.id, tolerance=tolerance)
            if repair:
                fixed = _repair_checked(
                    checked,
                    node=node.id,
                    names=names,
                    names_zh=names_zh,
                    method=method,
                    table=table,
                    threshold=threshold,
                    round_to_scale=round_to_scale,
                    max_steps=None,
                    rule=rule,
                )
                if len(fixed.steps):
                    repairs.append(fixed.steps.assign(node=node.id))
                return fixed.result
            return _evaluate(
                checked,
                node=node.id,
                names=names,
                names_zh=names_zh,
                method=method,
                table=table,
                threshold=threshold,
            )
        present = [j for j in judge_ids if j in node.judgements]
        checked_list = [
            _check(node.judgements[j], labels, node=f"{node.id}/{j}", tolerance=tolerance)
            for j in present
        ]
        weights = _judge_weights(present, [judge_weight[j] for j in present])
        result = _group(
            checked_list,
            present,
            weights,
            how=how,
            node=node.id,
            names=names,
            names_zh=names_zh,
            method=method,
            table=table,
            threshold=threshold,
        )
        if repair and how == "aij" and not result.consistent:
            merged = _Checked(
                matrix=np.where(result.given, result.matrix, np.nan), labels=labels, warnings=()
            )
            fixed = _repair_checked(
                merged,
                node=node.id,
                names=names,
                names_zh=names_zh,
                method=method,
                table=table,
                threshold=threshold,
                round_to_scale=round_to_scale,
                max_steps=None,
                rule=rule,
            )
            if len(fixed.steps):
                repairs.append(fixed.steps.assign(node=node.id))
            keep = [w for w in result.warnings if w.key != "ahp.warn.inconsistent"]
            extra = [
                w
                for w in fixed.result.warnings
                if w.key in {"ahp.warn.repaired", "ahp.warn.repair_failed"}
            ]
            return replace(
                fixed.result, judges=result.judges, aggregation="aij", warnings=tuple(keep + extra)
            )
        return result

    def visit(node: Node, depth: int) -> None:
        result = compare(node, depth)
        if result is None:
            return
        results.append(result)
        if not result.consistent and result.aggregation != "aip" and result.n > 2:
            top = _suggestion_frame(
                result.matrix, result.weights, result.labels, result.given, result.ri
            ).head(3)
            suggestions.append(top.assign(node=node.id))
        if node.children:
            for child, w in zip(node.children, result.weights, strict=True):
                local_w[child.id] = float(w)
                global_w[child.id] = global_w[node.id] * float(w)
                parent_of[child.id] = node.id
                depth_of[child.id] = depth + 1
                visit(child, depth + 1)
        else:
            alt_scores[:] += global_w[node.id] * result.weights

    visit(hierarchy.goal, 0)

    # Global weights of the leaves, with their criterion and path.
    leaf_rows = []
    for leaf in hierarchy.leaves():
        chain = [leaf.id]
        while parent_of[chain[-1]] is not None:
            chain.append(str(parent_of[chain[-1]]))
        chain.reverse()  # goal, criterion, ..., leaf
        below_goal = chain[1:] if len(chain) > 1 else chain
        leaf_rows.append(
            {
                "factor": leaf.id,
                "criterion": below_goal[0],
                "path": "/".join(below_goal),
                "local_weight": local_w[leaf.id],
                "global_weight": global_w[leaf.id],
                "name": leaf.name,
                "name_zh": leaf.name_zh or leaf.name,
                "parent": parent_of[leaf.id],
                "depth": depth_of[leaf.id],
            }
        )
    weight_rows = [
        {
            "node": n.id,
            "parent": parent_of[n.id],
            "depth": depth_of[n.id],
            "name": n.name,
            "name_zh": n.name_zh or n.name,
            "local_weight": local_w[n.id],
            "global_weight": global_w[n.id],
        }
        for n in hierarchy.nodes()
        if n.id != hierarchy.goal.id
    ]

    # Consistency of the whole hierarchy (Saaty 1980): Σ g_j CI_j / Σ g_j RI_j.
    g = np.asarray([global_w[r.node] for r in results])
    ci = np.asarray([r.ci for r in results])
    ri_values = np.asarray([r.ri for r in results])
    depth = np.asarray([node_depth[r.node] for r in results])
    total_ri = float(np.sum(g * ri_values))
    total_ci = float(np.sum(g * ci))
    hierarchy_cr = (
        total_ci / total_ri if total_ri > 0 else (0.0 if math.isfinite(total_ci) else math.nan)
    )
    # Each level's share of that one ratio (Σ_level g_j CI_j / Σ_all g_j RI_j): the shares
    # add up to CR_H, so the table explains the headline and gives no verdict of its own.
    level_rows = []
    for d in sorted(set(depth.tolist())):
        mask = depth == d
        wci = float(np.sum(g[mask] * ci[mask]))
        wri = float(np.sum(g[mask] * ri_values[mask]))
        level_rows.append(
            {
                "depth": d,
                "n_elements": int(mask.sum()),
                "weighted_ci": wci,
                "weighted_ri": wri,
                "cr_share": wci / total_ri if total_ri > 0 else math.nan,
            }
        )
    if math.isnan(hierarchy_cr):
        consistent = all(r.consistent for r in results)
    else:
        consistent = bool(hierarchy_cr < threshold)

    alt_rows = [
        {
            "alternative": a.id,
            "name": a.name,
            "name_zh": a.name_zh or a.name,
            "weight": float(score),
        }
        for a, score in zip(alternatives, alt_scores, strict=True)
    ]

    warnings: list[Message] = []
    for r in results:
        warnings.extend(r.warnings)
    if not math.isnan(hierarchy_cr) and hierarchy_cr >= threshold:
        warnings.append(
            Message(
                "ahp.warn.hierarchy_inconsistent",
                {"cr": round(hierarchy_cr, 4), "threshold": threshold},
            )
        )
    return HierarchyResult(
        hierarchy=hierarchy,
        nodes=tuple(results),
        cr=hierarchy_cr,
        consistent=consistent,
        parts=MappingProxyType(
            {
                "global_weights": tuple(leaf_rows),
                "weights": tuple(weight_rows),
                "levels": tuple(level_rows),
                "alternatives": tuple(alt_rows),
                "suggestions": tuple(suggestions),
                "repairs": tuple(repairs),
            }
        ),
        method=method,
        ri_table=table.key,
        threshold=threshold,
        aggregation=how if hierarchy.judges else None,
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------------------------
# CSV matrices (pure parser) and the thin file loaders
# --------------------------------------------------------------------------------------------


def parse_matrix_csv(text: str, /, *, source: str = "matrix.csv") -> pd.DataFrame:
    """A square judgement matrix from CSV text: labels in the first row and first column.

    Returns a frame of the raw cells (text) indexed and headed by the labels,
    ready for :func:`ahp`; the top-left cell is ignored.

    >>> frame = parse_matrix_csv(",a,b\\na,1,3\\nb,1/3,1\\n")
    >>> list(frame.columns), frame.loc["b", "a"]
    (['a', 'b'], '1/3')
    """
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise ConfigError("ahp.file.bad_csv", file=source, found=f"{len(rows)} row(s)")
    header = [c.strip() for c in rows[0][1:]]
    while header and not header[-1]:
        header.pop()
    body = rows[1:]
    row_labels = [r[0].strip() for r in body]
    if header != row_labels:
        raise ConfigError("ahp.file.bad_csv", file=source, found=f"{header} / {row_labels}")
    n = len(header)
    cells = [[(r[j + 1] if j + 1 < len(r) else "") for j in range(n)] for r in body]
    return pd.DataFrame(cells, index=pd.Index(row_labels), columns=pd.Index(header), dtype=object)


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise DataFileError("ahp.file.not_found", file=str(path))
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DataFileError(
        "ahp.file.bad_type", file=str(path)
    )  # pragma: no cover - gb18030 decodes any bytes


def load_hierarchy(path: str | Path, /) -> Hierarchy:
    """Read a YAML hierarchy file (UTF-8 or GB18030) and parse it (:func:`parse_hierarchy`)."""
    p = Path(path)
    return parse_hierarchy(_read_text(p), source=str(p))


def load_matrix(path: str | Path, /) -> pd.DataFrame:
    """Read a CSV judgement matrix (UTF-8 or GB18030, `,`/`;`/tab) into a labelled frame."""
    p = Path(path)
    return parse_matrix_csv(_read_text(p), source=str(p))
