"""What every result shares: tables for people, a plain dict for JSON.

Methods return small frozen dataclasses; each implements :class:`Result`:
``tables()`` gives named tidy frames (one for most results, several for some),
``to_dict()`` a JSON-safe dict, and ``warnings`` the messages a reader must see.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from allegiance.i18n import Message


@runtime_checkable
class Result(Protocol):
    """The contract every analysis result meets."""

    @property
    def warnings(self) -> tuple[Message, ...]: ...

    def tables(self) -> dict[str, pd.DataFrame]: ...

    def to_dict(self) -> dict[str, Any]: ...


def plain(value: Any) -> Any:
    """Turn numpy/pandas scalars and containers into JSON-safe Python values (NaN → None)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    if value is pd.NaT:
        return None
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return records(value)
    if isinstance(value, (list, tuple, set, np.ndarray, pd.Series)):
        return [plain(v) for v in value]
    if isinstance(value, Message):
        return value.to_dict()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def plain_dict(value: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`plain` for a mapping, typed as a dict."""
    return {str(k): plain(v) for k, v in value.items()}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as a list of JSON-safe row dicts (index dropped unless named)."""
    if frame.index.name is not None or isinstance(frame.index, pd.MultiIndex):
        frame = frame.reset_index()
    return [{str(k): plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
