"""Small vectorised helpers shared by the generators: draws, dates, ids, compact columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import pdtr

__all__ = [
    "as_categorical",
    "date32",
    "draw",
    "draw_given",
    "keys",
    "month_index_dates",
    "month_numbers",
    "poisson",
    "sigmoid",
    "timestamps",
]

IntArray = npt.NDArray[np.integer]


def draw(rng: np.random.Generator, probs: Sequence[float], n: int, /) -> npt.NDArray[np.int16]:
    """``n`` category codes 0..K-1 drawn with probabilities ``probs``."""
    cum = np.cumsum(np.asarray(probs, dtype=np.float64))
    cum /= cum[-1]
    u = rng.random(n)
    return np.searchsorted(cum, u, side="right").astype(np.int16)


def draw_given(
    rng: np.random.Generator,
    table: Mapping[str, Sequence[float]],
    rows: Sequence[str],
    given: IntArray,
    /,
) -> npt.NDArray[np.int16]:
    """One code per element of ``given`` (row codes into ``rows``) from ``table[row]``."""
    matrix = np.asarray([table[r] for r in rows], dtype=np.float64)
    cum = np.cumsum(matrix, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(given.shape[0])
    out = np.zeros(given.shape[0], dtype=np.int16)
    for k in range(matrix.shape[1] - 1):  # a loop over categories, not rows
        out += (u >= cum[given, k]).astype(np.int16)
    return out


def as_categorical(codes: IntArray, categories: Sequence[str], /) -> pd.Categorical:
    """A categorical with all ``categories`` (present or not); code -1 is missing."""
    dtype = pd.CategoricalDtype(pd.Index(list(categories), dtype="str"))
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), dtype=dtype)


def month_index_dates(start: date, months: int, /) -> npt.NDArray[np.datetime64]:
    """First day of each of ``months`` months from ``start``, as datetime64[D]."""
    first = np.datetime64(start, "M")
    return (first + np.arange(months)).astype("datetime64[D]")


def date32(
    days: npt.NDArray[np.datetime64], /, valid: npt.NDArray[np.bool_] | None = None
) -> pd.api.extensions.ExtensionArray:
    """A pandas date column (Arrow ``date32``) from datetime64[D] values; ``valid`` masks nulls."""
    ints = np.ascontiguousarray(days.astype("datetime64[D]").astype(np.int32))
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    arr = pa.array(ints, type=pa.int32(), mask=mask).view(pa.date32())
    return pd.arrays.ArrowExtensionArray(arr)


def timestamps(
    rng: np.random.Generator,
    month_start: npt.NDArray[np.datetime64],
    /,
    *,
    first_hour: int = 8,
    last_hour: int = 22,
) -> npt.NDArray[np.datetime64]:
    """A random second inside each given month, between ``first_hour`` and ``last_hour`` o'clock."""
    start = month_start.astype("datetime64[M]")
    days = ((start + 1).astype("datetime64[D]") - start.astype("datetime64[D]")).astype(np.int64)
    day = np.floor(rng.random(start.shape[0]) * days).astype(np.int64)
    span = (last_hour - first_hour) * 3600
    second = first_hour * 3600 + np.floor(rng.random(start.shape[0]) * span).astype(np.int64)
    base = start.astype("datetime64[D]").astype("datetime64[s]")
    stamps: npt.NDArray[np.datetime64] = base + (day * 86400 + second).astype("timedelta64[s]")
    return stamps


def keys(prefix: str, n: int, /, *, width: int = 7, first: int = 1) -> pd.Series:
    """``prefix`` + zero-padded running numbers (``C0000001`` ...), as a ``str`` Series."""
    width = max(width, len(str(first + n - 1)))
    numbers = pc.cast(pa.array(np.arange(first, first + n, dtype=np.int64)), pa.string())
    joined = pc.binary_join_element_wise(prefix, pc.utf8_lpad(numbers, width, "0"), "")
    return pd.Series(joined.to_pandas(), dtype="str")


def poisson(
    rng: np.random.Generator,
    code: IntArray,
    means: npt.NDArray[np.floating],
    /,
    *,
    bins: int = 1024,
) -> npt.NDArray[np.int32]:
    """Exact Poisson draws with mean ``means[code]``, fast when the means take few values.

    Inverse-CDF sampling: one uniform ``u`` per draw gives ``#{k: F(k) <= u}``. A table
    indexed by (code, bin of u) answers directly wherever no CDF point falls inside the
    bin; the few remaining draws are resolved against the CDF itself.
    """
    means = np.asarray(means, dtype=np.float64)
    top = float(means.max()) if means.size else 0.0
    kmax = int(np.ceil(top + 12.0 * np.sqrt(top) + 40.0))
    cdf = pdtr(np.arange(kmax + 1)[None, :], means[:, None])
    cdf[:, -1] = 1.0  # the tail beyond kmax is below double precision
    edges = np.arange(bins + 1) / bins
    low = (cdf[:, None, :] <= edges[None, :-1, None]).sum(-1)
    high = (cdf[:, None, :] < edges[None, 1:, None]).sum(-1)
    table = np.where(low == high, low, -1).astype(np.int32).reshape(-1)
    u = rng.random(code.shape)
    cell = code.astype(np.int32) * np.int32(bins)
    cell += (u * bins).astype(np.int32)
    out: npt.NDArray[np.int32] = table[cell]
    del cell
    flat = out.reshape(-1)
    todo = np.flatnonzero(flat < 0)
    if todo.size:
        rows = code.reshape(-1)[todo]
        flat[todo] = (cdf[rows] <= u.reshape(-1)[todo, None]).sum(1)
    return out


def sigmoid(x: npt.NDArray[np.floating], /) -> npt.NDArray[np.float64]:
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def month_numbers(column: pd.Series, /, *, start: date, missing: int) -> npt.NDArray[np.int64]:
    """Months from ``start`` to each date of a date column; nulls become ``missing``."""
    arr = pa.array(column.array).cast(pa.int32())
    days = arr.fill_null(0).to_numpy(zero_copy_only=False).astype("datetime64[D]")
    first = np.datetime64(start, "M").astype(np.int64)
    out: npt.NDArray[np.int64] = days.astype("datetime64[M]").astype(np.int64) - first
    out[np.asarray(arr.is_null().to_numpy(zero_copy_only=False))] = missing
    return out
