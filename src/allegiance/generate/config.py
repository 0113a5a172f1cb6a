"""How big the demo company is, over which months, from which seed."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from allegiance.errors import ValidationError

__all__ = ["MAX_CUSTOMERS", "MAX_MONTHS", "DemoConfig"]

MAX_CUSTOMERS = 10_000_000
MAX_MONTHS = 120


def _whole(name: str, value: Any, *, low: int, high: int | None) -> int:
    if isinstance(value, bool):
        raise ValidationError("generate.error.not_integer", name=name, value=repr(value))
    try:
        number = operator.index(value)
    except TypeError:
        raise ValidationError("generate.error.not_integer", name=name, value=repr(value)) from None
    if number < low or (high is not None and number > high):
        if high is None:
            raise ValidationError("generate.error.too_small", name=name, value=number, low=low)
        raise ValidationError(
            "generate.error.out_of_range", name=name, value=number, low=low, high=high
        )
    return int(number)


@dataclass(frozen=True)
class DemoConfig:
    """Size and seed of a generated demo company.

    ``customers`` customers are on the books at ``start`` (the first day of a
    month); ``months`` months of activity follow. ``survey_size`` respondents
    answer the survey; by default ``min(customers, max(300, customers // 10), 20000)``
    (see :attr:`survey_n`).
    """

    customers: int = 20000
    months: int = 24
    seed: int = 20240601
    start: date = date(2024, 1, 1)
    survey_size: int | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "customers", _whole("customers", self.customers, low=1, high=MAX_CUSTOMERS))
        set_(self, "months", _whole("months", self.months, low=1, high=MAX_MONTHS))
        set_(self, "seed", _whole("seed", self.seed, low=0, high=None))
        set_(self, "start", _start(self.start))
        if self.survey_size is not None:
            size = _whole("survey_size", self.survey_size, low=1, high=None)
            if size > self.customers:
                raise ValidationError(
                    "generate.error.survey_too_big", value=size, customers=self.customers
                )
            set_(self, "survey_size", size)

    @property
    def survey_n(self) -> int:
        """The number of survey respondents: ``survey_size`` or its default."""
        if self.survey_size is not None:
            return self.survey_size
        return min(self.customers, max(300, self.customers // 10), 20000)

    def to_dict(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "months": self.months,
            "seed": self.seed,
            "start": self.start.isoformat(),
            "survey_size": self.survey_size,
            "survey_n": self.survey_n,
        }


def _start(value: Any) -> date:
    if isinstance(value, datetime):
        value = value.date()
    elif isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError("generate.error.bad_start", value=repr(value)) from None
    if not isinstance(value, date):
        raise ValidationError("generate.error.bad_start", value=repr(value))
    if value.day != 1:
        raise ValidationError("generate.error.start_not_first", value=value.isoformat())
    if not 1900 <= value.year <= 2200:
        raise ValidationError("generate.error.bad_start", value=value.isoformat())
    return value
