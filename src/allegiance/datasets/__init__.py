"""Reference datasets shipped with allegiance (origin and licence in ``data/README.md``).

>>> load_mobi().shape
(250, 24)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "DATASETS",
    "DatasetInfo",
    "dataset_path",
    "load_cdnow_master",
    "load_cdnow_sample",
    "load_cdnow_summary",
    "load_cronbach_alpha",
    "load_cronbach_wide_missing",
    "load_dataset",
    "load_donations",
    "load_mobi",
    "load_plspm_mobile",
    "load_plspm_satisfaction",
]


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    file: str
    licence: str
    description: str


DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in (
        DatasetInfo("mobi", "mobi.csv", "GPL-3", "ECSI mobile-phone survey, 250 x 24, 1-10"),
        DatasetInfo("plspm_mobile", "plspm_mobile_0_100.csv", "GPL-3", "mobi rescaled to 0-100"),
        DatasetInfo(
            "plspm_satisfaction", "plspm_satisfaction.csv", "GPL-3", "Sanchez satisfaction"
        ),
        DatasetInfo("cdnow_sample", "lifetimes_CDNOW_sample.txt", "MIT", "CDNOW 1/10 cohort log"),
        DatasetInfo("cdnow_master", "lifetimes_CDNOW_master.txt", "MIT", "CDNOW master log"),
        DatasetInfo(
            "cdnow_summary", "lifetimes_cdnow_customers_summary.csv", "MIT", "CDNOW x, t_x, T"
        ),
        DatasetInfo(
            "cdnow_summary_with_transactions",
            "lifetimes_cdnow_customers_summary_with_transactions.csv",
            "MIT",
            "CDNOW x, t_x, T, zbar",
        ),
        DatasetInfo("donations", "lifetimes_donations.csv", "MIT", "BG/BB donations"),
        DatasetInfo("cronbach_alpha", "pingouin_cronbach_alpha.csv", "GPL-3", "long-format items"),
        DatasetInfo(
            "cronbach_wide_missing", "pingouin_cronbach_wide_missing.csv", "GPL-3", "binary items"
        ),
    )
}


def dataset_path(name: str) -> Path:
    """The file of a shipped dataset."""
    info = DATASETS[name]
    return Path(str(resources.files("allegiance.datasets") / "data" / info.file))


def _csv(name: str, **kwargs: Any) -> pd.DataFrame:
    frame: pd.DataFrame = pd.read_csv(dataset_path(name), **kwargs)
    return frame


def load_mobi() -> pd.DataFrame:
    """ECSI mobile-phone survey (Tenenhaus et al. 2005), 250 respondents, items on 1-10."""
    return _csv("mobi")


def load_plspm_mobile() -> pd.DataFrame:
    """The mobi survey rescaled to 0-100 as shipped by R plspm (``mobile``)."""
    return _csv("plspm_mobile")


def load_plspm_satisfaction() -> pd.DataFrame:
    """plspm's ``satisfaction`` data (Sanchez 2013)."""
    return _csv("plspm_satisfaction")


def load_cdnow_sample() -> pd.DataFrame:
    """CDNOW 1/10 cohort transactions: customer_id, customer_index, date, number_of_cds, amount."""
    frame = pd.read_csv(
        dataset_path("cdnow_sample"),
        sep=r"\s+",
        header=None,
        names=["customer_id", "customer_index", "date", "number_of_cds", "amount"],
        dtype={"customer_id": str, "date": str},
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame


def load_cdnow_master() -> pd.DataFrame:
    """Full CDNOW master transactions: customer_id, date, number_of_cds, amount."""
    frame = pd.read_csv(
        dataset_path("cdnow_master"),
        sep=r"\s+",
        header=0,
        names=["customer_id", "date", "number_of_cds", "amount"],
        dtype={"customer_id": str, "date": str},
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame


def load_cdnow_summary(*, with_transactions: bool = False) -> pd.DataFrame:
    """Fader-Hardie CDNOW calibration summary (frequency, recency, T in weeks[, zbar])."""
    if with_transactions:
        return _csv("cdnow_summary_with_transactions")
    return _csv("cdnow_summary")


def load_donations() -> pd.DataFrame:
    """Aggregated BG/BB donations data (frequency, recency, periods, weights)."""
    return _csv("donations")


def load_cronbach_alpha() -> pd.DataFrame:
    """pingouin's long-format Cronbach alpha example (Subj, Items, Scores)."""
    return _csv("cronbach_alpha")


def load_cronbach_wide_missing() -> pd.DataFrame:
    """pingouin's binary items with missing values (Q1..Q11)."""
    return _csv("cronbach_wide_missing")


_LOADERS: dict[str, Callable[[], pd.DataFrame]] = {
    "mobi": load_mobi,
    "plspm_mobile": load_plspm_mobile,
    "plspm_satisfaction": load_plspm_satisfaction,
    "cdnow_sample": load_cdnow_sample,
    "cdnow_master": load_cdnow_master,
    "cdnow_summary": load_cdnow_summary,
    "cdnow_summary_with_transactions": partial(load_cdnow_summary, with_transactions=True),
    "donations": load_donations,
    "cronbach_alpha": load_cronbach_alpha,
    "cronbach_wide_missing": load_cronbach_wide_missing,
}


def load_dataset(name: str) -> pd.DataFrame:
    """Load a shipped dataset by name (see :data:`DATASETS`)."""
    try:
        loader = _LOADERS[name]
    except KeyError:
        from allegiance.errors import ValidationError

        raise ValidationError(
            "error.validation", detail=f"unknown dataset {name!r}; known: {', '.join(DATASETS)}"
        ) from None
    return loader()
