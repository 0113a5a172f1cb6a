"""Service compliance audits (服务落实度): mystery shopping and on-site supervision.

SPEC section 3, method 1, and section 6. A company writes its service standards down as a
checklist; mystery shoppers (神秘顾客暗访, the staff do not know they are observed) and
on-site supervisors (明查, they do) visit branches and record, for every standard, whether
it was met. This module scores those visits.

**Checklist.** Items with an id, a section, a weight (default 1), the standard's text in
Chinese and English, a ``critical`` flag and ``max`` (1 for a met / not-met standard, or the
top of a score such as 0-4). Shipped examples: ``bank_branch``, ``hotel`` and
``telecom_store`` (``templates/audits/``); :func:`load_checklist` reads a name or a YAML file.

**Visits.** One row per visit: ``visit_id``, ``date``, ``branch``, optionally ``employee``
and ``method`` (``mystery`` or ``onsite``; 暗访 and 明查 are understood), and one column per
item holding 1 / 0 / NA (yes / no, 是 / 否 …) or a score from 0 to the item's ``max``.

**Scores.** Each observed item contributes ``x = answer / max`` (1 met … 0 not met).
A visit's score is the weighted share of the standards met, items marked NA left out:

    score_v = Σ_i w_i x_vi / Σ_i w_i      (sums over the items observed on visit v)

With ``critical_cap`` (e.g. 0), a visit on which a critical standard was not fully met
scores at most ``critical_cap`` (the usual "a critical failure fails the visit" rule);
``n_critical_failed`` is reported either way. Per branch, employee, period (month or
quarter) and method: the number of visits, the mean visit score with its t interval
(n − 1 degrees of freedom, clipped to 0..1), the rank (1 = best) and whether the interval
lies wholly ``below`` or ``above`` the overall mean. Per standard: how often it was observed
and met (compliance with a Wilson interval for met / not-met items, a t interval for scored
ones), the failures (Σ (1 − x): the visits not meeting a met / not-met standard; a score of
3 of 4 counts a quarter of a failure) and their Pareto share and cumulative share, the vital
few that make up 80 % of all failures, and the weighted points lost. Per section: the mean of
the visits' section scores. The trend: the least-squares slope of visit scores on the month
(per month, with its t interval). Mystery against on-site: the mean of each, their
difference (on-site − mystery) with Welch's interval, and the same within branches (the mean
over branches with both kinds of visit of their on-site − mystery difference, t interval),
which is not confounded by which branches got which kind of visit.

>>> import pandas as pd
>>> checklist = parse_checklist({"id": "mini", "items": [
...     {"id": "greet", "weight": 1, "standard": {"zh": "问候", "en": "Greets"}},
...     {"id": "id_check", "weight": 3, "critical": True,
...      "standard": {"zh": "核验身份", "en": "Checks ID"}}]})
>>> visits = pd.DataFrame({"visit_id": ["v1", "v2"], "date": ["2024-01-05", "2024-01-20"],
...     "branch": ["A", "A"], "greet": [1, 0], "id_check": [1, "NA"]})
>>> result = audit_scores(visits, checklist=checklist)
>>> result.visits["score"].tolist()
[1.0, 0.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml

from allegiance.errors import ColumnNotFoundError, ConfigError, DataFileError, ValidationError
from allegiance.i18n import Message
from allegiance.methods.intervals import wilson_interval, z_value
from allegiance.results import plain, records

__all__ = [
    "BY",
    "META_COLUMNS",
    "METHODS",
    "AuditItem",
    "AuditResult",
    "Checklist",
    "audit_scores",
    "checklist_names",
    "infer_checklist",
    "load_checklist",
    "parse_checklist",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

META_COLUMNS: tuple[str, ...] = ("visit_id", "date", "branch", "employee", "method")
"""Visit columns that are not checklist items."""
BY: tuple[str, ...] = ("branch", "employee", "period", "method")
"""What visit scores can be grouped by."""
METHODS: tuple[str, ...] = ("mystery", "onsite")
"""Mystery shopping (神秘顾客暗访) and on-site supervision (明查)."""
PERIODS: tuple[str, ...] = ("month", "quarter")
VITAL_FEW = 0.8

_METHOD_WORDS: dict[str, str] = {
    "mystery": "mystery",
    "mystery_shopper": "mystery",
    "mystery shopper": "mystery",
    "mystery shopping": "mystery",
    "暗访": "mystery",
    "神秘顾客": "mystery",
    "神秘顾客暗访": "mystery",
    "onsite": "onsite",
    "on-site": "onsite",
    "on_site": "onsite",
    "on site": "onsite",
    "supervision": "onsite",
    "明查": "onsite",
    "现场": "onsite",
    "现场检查": "onsite",
    "现场督导": "onsite",
}
_YES = frozenset({"yes", "y", "true", "t", "是", "符合", "合格", "达标", "pass", "met", "√", "✓"})
_NO = frozenset({"no", "n", "false", "f", "否", "不符合", "不合格", "未达标", "fail", "×", "✗"})
_NA = frozenset({"", "na", "n/a", "n.a.", "nan", "none", "null", "-", "—", "不适用", "无此项"})


# --------------------------------------------------------------------------------------------
# Checklists
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditItem:
    """One service standard of a checklist."""

    id: str
    section: str = "all"
    weight: float = 1.0
    critical: bool = False
    max: float = 1.0
    standard_zh: str = ""
    standard_en: str = ""

    def standard(self, lang: str) -> str:
        """The standard's text in ``lang`` (the other language, else the id, when missing)."""
        first, second = (
            (self.standard_zh, self.standard_en)
            if lang == "zh"
            else (self.standard_en, self.standard_zh)
        )
        return first or second or self.id


@dataclass(frozen=True)
class Checklist:
    """A checklist: items in order, section titles, and where it came from."""

    id: str
    items: tuple[AuditItem, ...]
    title_zh: str = ""
    title_en: str = ""
    sections: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    source: str = ""

    @property
    def item_ids(self) -> list[str]:
        return [i.id for i in self.items]

    def section_title(self, section: str, lang: str) -> str:
        zh, en = self.sections.get(section, ("", ""))
        return (zh or en if lang == "zh" else en or zh) or section

    def to_frame(self) -> pd.DataFrame:
        """One row per item: ``item | section | weight | critical | max | standard_zh | standard_en``."""
        return pd.DataFrame(
            {
                "item": pd.array(self.item_ids, dtype="str"),
                "section": pd.array([i.section for i in self.items], dtype="str"),
                "weight": np.array([i.weight for i in self.items], dtype=np.float64),
                "critical": np.array([i.critical for i in self.items], dtype=np.bool_),
                "max": np.array([i.max for i in self.items], dtype=np.float64),
                "standard_zh": pd.array([i.standard_zh for i in self.items], dtype="str"),
                "standard_en": pd.array([i.standard_en for i in self.items], dtype="str"),
            }
        )


def _bilingual(value: Any, where: str, source: str) -> tuple[str, str]:
    if value is None:
        return ("", "")
    if isinstance(value, str):
        return (value, value)
    if isinstance(value, Mapping):
        zh, en = value.get("zh"), value.get("en")
        if all(v is None or isinstance(v, str) for v in (zh, en)):
            return (str(zh or ""), str(en or ""))
    raise ConfigError("audit.checklist.bad_text", file=source, where=where)


def _positive(value: Any, where: str, what: str, source: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not (math.isfinite(number) and number > 0):
        raise ConfigError(
            "audit.checklist.bad_number", file=source, where=where, what=what, value=str(value)
        )
    return number


def parse_checklist(data: Mapping[str, Any] | str, /, *, source: str | None = None) -> Checklist:
    """A checklist from its mapping or YAML text (format: ``templates/audits/*.yaml``).

    Errors name the file (``source``) and the item (``items[3]``) that is wrong.
    """
    where_file = source or "checklist"
    if isinstance(data, str):
        try:
            data = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            raise ConfigError(
                "audit.checklist.bad_yaml", file=where_file, error=str(exc).replace("\n", " ")
            ) from None
    if not isinstance(data, Mapping):
        raise ConfigError("audit.checklist.no_items", file=where_file)
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise ConfigError("audit.checklist.no_items", file=where_file)
    sections: dict[str, tuple[str, str]] = {}
    raw_sections = data.get("sections") or {}
    if not isinstance(raw_sections, Mapping):
        raise ConfigError("audit.checklist.bad_text", file=where_file, where="sections")
    for key, value in raw_sections.items():
        sections[str(key)] = _bilingual(value, f"sections.{key}", where_file)
    allowed = {"id", "section", "weight", "critical", "max", "standard"}
    items: list[AuditItem] = []
    seen: set[str] = set()
    for k, raw in enumerate(raw_items):
        where = f"items[{k}]"
        if not isinstance(raw, Mapping) or not str(raw.get("id") or "").strip():
            raise ConfigError("audit.checklist.bad_item", file=where_file, where=where)
        unknown = sorted(str(key) for key in raw if key not in allowed)
        if unknown:
            raise ConfigError(
                "audit.checklist.unknown_key",
                file=where_file,
                where=where,
                key=unknown[0],
                allowed=", ".join(sorted(allowed)),
            )
        item_id = str(raw["id"]).strip()
        if item_id in seen:
            raise ConfigError("audit.checklist.duplicate", file=where_file, item=item_id)
        if item_id in META_COLUMNS:
            raise ConfigError("audit.checklist.reserved", file=where_file, item=item_id)
        seen.add(item_id)
        critical = raw.get("critical", False)
        if not isinstance(critical, bool):
            raise ConfigError(
                "audit.checklist.bad_number",
                file=where_file,
                where=where,
                what="critical",
                value=str(critical),
            )
        zh, en = _bilingual(raw.get("standard"), f"{where}.standard", where_file)
        section = str(raw.get("section") or "all")
        items.append(
            AuditItem(
                id=item_id,
                section=section,
                weight=_positive(raw.get("weight", 1), where, "weight", where_file),
                critical=critical,
                max=_positive(raw.get("max", 1), where, "max", where_file),
                standard_zh=zh,
                standard_en=en,
            )
        )
        sections.setdefault(section, ("", ""))
    title_zh, title_en = _bilingual(data.get("title"), "title", where_file)
    return Checklist(
        id=str(data.get("id") or Path(where_file).stem),
        items=tuple(items),
        title_zh=title_zh,
        title_en=title_en,
        sections=sections,
        source=where_file,
    )


def _templates() -> Path:
    return Path(str(resources.files("allegiance.templates"))) / "audits"


def checklist_names() -> list[str]:
    """The shipped checklists (``bank_branch``, ``hotel``, ``telecom_store``)."""
    return sorted(p.stem for p in _templates().glob("*.yaml"))


def load_checklist(name_or_path: str | Path, /) -> Checklist:
    """A shipped checklist by name, or a YAML file (UTF-8 or GB18030)."""
    text = str(name_or_path)
    shipped = _templates() / f"{text}.yaml"
    path = shipped if ("/" not in text and "\\" not in text and shipped.is_file()) else Path(text)
    if not path.is_file():
        raise ConfigError(
            "audit.checklist.not_found", name=text, available=", ".join(checklist_names())
        )
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            content = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any bytes
        raise ConfigError("audit.checklist.bad_yaml", file=str(path), error="not text")
    return parse_checklist(content, source=str(path))


def infer_checklist(visits: pd.DataFrame, /) -> Checklist:
    """Every column that is not a visit column becomes a met / not-met standard of weight 1
    (scored standards, weights and critical flags need a checklist file)."""
    items = [AuditItem(id=str(c)) for c in visits.columns if str(c) not in META_COLUMNS]
    if not items:
        raise ValidationError("audit.no_items")
    return Checklist(id="inferred", items=tuple(items), source="inferred")


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class AuditResult:
    """Compliance scores of audit visits.

    ``visits``: ``visit_id | date | period | branch | employee | method | n_items | n_na |
    points | max_points | score_raw | n_failed | n_critical_failed | score``.

    ``by_<branch|employee|period|method>``: ``<group> | n_visits | mean | sd | ci_low |
    ci_high | min | max | visits_critical_failed | rank | signal`` (``signal``: ``below`` or
    ``above`` when the interval lies wholly below or above the overall mean, else ``level``).

    ``items`` (Pareto order, most failures first): ``item | section | weight | critical | max
    | standard_zh | standard_en | n_observed | n_na | compliance | ci_low | ci_high |
    n_failed | failures | lost_points | failure_share | cumulative_share | vital_few |
    lost_share | pareto_rank`` (``n_failed``: visits on which the standard was not fully
    met; ``failures``: Σ (1 − x), the same count for met / not-met standards, a score of 3
    of 4 counting a quarter; ``lost_points``: weight × failures).

    ``sections``: ``section | n_items | weight | n_visits | compliance | ci_low | ci_high``.

    ``method_difference``: ``comparison | n | difference | ci_low | ci_high | p_value``
    (``all_visits``: Welch; ``within_branch``: paired over branches).

    ``summary`` (one row): ``n_visits | n_scored | n_branches | n_employees | mean | ci_low
    | ci_high | visits_critical_failed | slope_per_month | slope_ci_low | slope_ci_high |
    slope_p_value``.
    """

    checklist: Checklist
    visits: pd.DataFrame
    groups: Mapping[str, pd.DataFrame]
    items: pd.DataFrame
    sections: pd.DataFrame
    method_difference: pd.DataFrame
    summary: pd.DataFrame
    settings: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[Message, ...] = ()
    method: ClassVar[str] = "audit"

    @property
    def mean(self) -> float:
        """Mean visit score over all scored visits."""
        return float(self.summary["mean"].iloc[0])

    def group(self, by: str) -> pd.DataFrame:
        """The table of one grouping (``branch``, ``employee``, ``period``, ``method``)."""
        if by not in self.groups:
            raise ValidationError("audit.bad_by", value=by, allowed=", ".join(self.groups) or "-")
        return self.groups[by]

    def tables(self) -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = {"summary": self.summary}
        out.update({f"by_{name}": frame for name, frame in self.groups.items()})
        out["items"] = self.items
        out["sections"] = self.sections
        if len(self.method_difference):
            out["method_difference"] = self.method_difference
        out["visits"] = self.visits
        return out

    def to_dict(self) -> dict[str, Any]:
        row = self.summary.iloc[0]
        return {
            "method": self.method,
            "checklist": {
                "id": self.checklist.id,
                "title_zh": self.checklist.title_zh,
                "title_en": self.checklist.title_en,
                "source": self.checklist.source,
                "items": len(self.checklist.items),
            },
            "settings": plain(dict(self.settings)),
            "mean": plain(row["mean"]),
            "ci_low": plain(row["ci_low"]),
            "ci_high": plain(row["ci_high"]),
            "tables": {name: records(frame) for name, frame in self.tables().items()},
        }


# --------------------------------------------------------------------------------------------
# Reading the visits
# --------------------------------------------------------------------------------------------


def _where(source: str | None) -> str:
    return source or "visits"


def _bad(
    source: str | None, row: int, column: str, value: Any, key: str, **params: Any
) -> DataFileError:
    """A bad visit value: ``key`` is ``audit.bad_binary|bad_score|bad_method|bad_date|
    bad_branch``; the message names the file, row, column and value."""
    return DataFileError(
        key, file=_where(source), row=row, column=column, value=str(value), **params
    )


def _answers(raw: pd.Series, item: AuditItem, *, source: str | None, header_row: int) -> FloatArray:
    """One item's answers as x = answer / max in 0..1, NaN for NA; bad values raise."""
    if pd.api.types.is_bool_dtype(raw.dtype):
        values: FloatArray = raw.to_numpy(dtype=np.float64, na_value=np.nan) / item.max
        return values
    if pd.api.types.is_numeric_dtype(raw.dtype):
        numbers = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        text = None
    else:
        text = raw.astype("string").str.normalize("NFKC").str.strip().str.casefold()
        filled = text.fillna("")
        mapped = np.where(filled.isin(_YES), 1.0, np.where(filled.isin(_NO), 0.0, np.nan)).astype(
            np.float64
        )
        na = filled.isin(_NA).to_numpy(dtype=np.bool_)
        parsed = pd.to_numeric(filled.where(~filled.isin(_YES | _NO | _NA)), errors="coerce")
        numbers = np.where(
            np.isnan(mapped), parsed.to_numpy(dtype=np.float64, na_value=np.nan), mapped
        )
        unparsed = ~na & np.isnan(numbers)
        if unparsed.any():
            first = int(np.flatnonzero(unparsed)[0])
            raise _bad(
                source,
                header_row + 1 + first,
                item.id,
                raw.iloc[first],
                "audit.bad_binary" if item.max == 1 else "audit.bad_score",
                max=_show(item.max),
            )
    given = np.isfinite(numbers)
    if item.max == 1:
        bad = given & ~np.isin(numbers, (0.0, 1.0))
    else:
        with np.errstate(invalid="ignore"):
            bad = given & ((numbers < 0) | (numbers > item.max))
    bad |= ~given & ~np.isnan(numbers)  # infinities
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise _bad(
            source,
            header_row + 1 + first,
            item.id,
            raw.iloc[first],
            "audit.bad_binary" if item.max == 1 else "audit.bad_score",
            max=_show(item.max),
        )
    out: FloatArray = numbers / item.max
    return out


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _methods(raw: pd.Series, *, source: str | None, header_row: int) -> pd.Series:
    text = raw.astype("string").str.normalize("NFKC").str.strip().str.casefold()
    mapped = text.map(lambda v: _METHOD_WORDS.get(v) if isinstance(v, str) else None)
    bad = text.notna() & (text != "") & mapped.isna()
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy(dtype=np.bool_))[0])
        raise _bad(
            source,
            header_row + 1 + first,
            "method",
            raw.iloc[first],
            "audit.bad_method",
        )
    return pd.Series(mapped.to_numpy(dtype=object), index=raw.index, dtype="str")


def _dates(raw: pd.Series, *, source: str | None, header_row: int) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        parsed = pd.to_datetime(raw)
    else:
        text = raw.astype("string").str.strip()
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        bad = parsed.isna() & text.notna() & (text != "")
        missing = parsed.isna()
        if bad.any() or missing.any():
            first = int(np.flatnonzero((bad | missing).to_numpy(dtype=np.bool_))[0])
            raise _bad(source, header_row + 1 + first, "date", raw.iloc[first], "audit.bad_date")
    if parsed.isna().any():
        first = int(np.flatnonzero(parsed.isna().to_numpy(dtype=np.bool_))[0])
        raise _bad(source, header_row + 1 + first, "date", raw.iloc[first], "audit.bad_date")
    return parsed


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


def _t(confidence: float, df: npt.ArrayLike) -> FloatArray:
    from scipy import stats

    out: FloatArray = np.asarray(
        stats.t.ppf(0.5 + confidence / 2.0, np.asarray(df, dtype=np.float64)), dtype=np.float64
    )
    return out


def _group_table(
    keys: pd.Series,
    scores: pd.Series,
    critical: pd.Series,
    *,
    name: str,
    confidence: float,
    overall: float,
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"key": keys.to_numpy(), "score": scores.to_numpy(), "crit": critical.to_numpy()}
    )
    frame = frame[frame["key"].notna() & frame["score"].notna()]
    g = frame.groupby("key", sort=True)
    n = g["score"].size()
    mean = g["score"].mean()
    sd = g["score"].std(ddof=1)
    n_arr = n.to_numpy(dtype=np.float64)
    se = sd.to_numpy(dtype=np.float64) / np.sqrt(n_arr)
    tq = _t(confidence, np.maximum(n_arr - 1.0, 1.0))
    m = mean.to_numpy(dtype=np.float64)
    low = np.where(n_arr > 1, np.clip(m - tq * se, 0.0, 1.0), np.nan)
    high = np.where(n_arr > 1, np.clip(m + tq * se, 0.0, 1.0), np.nan)
    signal = np.where(high < overall, "below", np.where(low > overall, "above", "level"))
    out = pd.DataFrame(
        {
            name: pd.array([str(k) for k in n.index], dtype="str"),
            "n_visits": n.to_numpy(dtype=np.int64),
            "mean": m,
            "sd": sd.to_numpy(dtype=np.float64),
            "ci_low": low,
            "ci_high": high,
            "min": g["score"].min().to_numpy(dtype=np.float64),
            "max": g["score"].max().to_numpy(dtype=np.float64),
            "visits_critical_failed": g["crit"].sum().to_numpy(dtype=np.int64),
        }
    )
    out["rank"] = out["mean"].rank(ascending=False, method="min").astype(np.int64)
    out["signal"] = pd.array(signal, dtype="str")
    return out


def _welch(a: FloatArray, b: FloatArray, confidence: float) -> tuple[float, float, float, float]:
    """Difference of means a − b: estimate, Welch interval, two-sided p-value."""
    from scipy import stats

    na, nb = a.size, b.size
    if na < 2 or nb < 2:
        return (float(a.mean() - b.mean()) if na and nb else math.nan, math.nan, math.nan, math.nan)
    va, vb = a.var(ddof=1) / na, b.var(ddof=1) / nb
    diff = float(a.mean() - b.mean())
    se = math.sqrt(va + vb)
    if se == 0:
        return (diff, diff, diff, math.nan)
    df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    tq = float(stats.t.ppf(0.5 + confidence / 2.0, df))
    p = float(2.0 * stats.t.sf(abs(diff / se), df))
    return (diff, diff - tq * se, diff + tq * se, p)


def _one_sample(d: FloatArray, confidence: float) -> tuple[float, float, float, float]:
    from scipy import stats

    n = d.size
    if n < 2:
        return (float(d.mean()) if n else math.nan, math.nan, math.nan, math.nan)
    mean = float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(n))
    if se == 0:
        return (mean, mean, mean, math.nan)
    tq = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1))
    p = float(2.0 * stats.t.sf(abs(mean / se), n - 1))
    return (mean, mean - tq * se, mean + tq * se, p)


def _slope(x: FloatArray, y: FloatArray, confidence: float) -> tuple[float, float, float, float]:
    from scipy import stats

    n = x.size
    if n < 3 or np.ptp(x) == 0:
        return (math.nan, math.nan, math.nan, math.nan)
    xc = x - x.mean()
    sxx = float(xc @ xc)
    b = float(xc @ (y - y.mean())) / sxx
    resid = y - y.mean() - b * xc
    s2 = float(resid @ resid) / (n - 2)
    se = math.sqrt(s2 / sxx)
    tq = float(stats.t.ppf(0.5 + confidence / 2.0, n - 2))
    p = float(2.0 * stats.t.sf(abs(b / se), n - 2)) if se > 0 else math.nan
    return (b, b - tq * se, b + tq * se, p)


def _period(dates: pd.Series, period: str) -> pd.Series:
    if period == "quarter":
        values = [f"{d.year}Q{(d.month - 1) // 3 + 1}" for d in dates]
    else:
        values = [f"{d.year}-{d.month:02d}" for d in dates]
    return pd.Series(values, index=dates.index, dtype="str")


# --------------------------------------------------------------------------------------------
# The analysis
# --------------------------------------------------------------------------------------------


def audit_scores(
    visits: pd.DataFrame,
    /,
    *,
    checklist: Checklist | None = None,
    by: Sequence[str] = ("branch", "employee", "period", "method"),
    period: str = "month",
    critical_cap: float | None = None,
    confidence: float = 0.95,
    source: str | None = None,
    header_row: int = 1,
) -> AuditResult:
    """Score audit visits against a checklist; see the module documentation.

    ``checklist`` defaults to :func:`infer_checklist` (every non-visit column an item of
    weight 1). ``by`` names the groupings to tabulate (those whose column is absent are
    skipped). ``source`` (a file name) and ``header_row`` make error messages name the file
    and the spreadsheet row of a bad value.
    """
    if not isinstance(visits, pd.DataFrame):
        raise ValidationError("audit.not_a_frame", kind=type(visits).__name__)
    z_value(confidence)
    if period not in PERIODS:
        raise ValidationError("audit.bad_period", value=str(period), allowed=", ".join(PERIODS))
    wanted = [by] if isinstance(by, str) else list(by)
    for name in wanted:
        if name not in BY:
            raise ValidationError("audit.bad_by", value=str(name), allowed=", ".join(BY))
    if critical_cap is not None:
        cap = float(critical_cap)
        if not 0.0 <= cap <= 1.0:
            raise ValidationError("audit.bad_cap", value=str(critical_cap))
    warnings: list[Message] = []
    frame = visits.reset_index(drop=True)
    required = ["date", "branch"]
    absent = [c for c in required if c not in frame.columns]
    extra = {} if source is None else {"file": source}
    if absent:
        raise ColumnNotFoundError(absent, [str(c) for c in frame.columns], **extra)
    if checklist is None:
        checklist = infer_checklist(frame)
        warnings.append(Message("audit.inferred_checklist", {"n": len(checklist.items)}))
    missing_items = [i for i in checklist.item_ids if i not in frame.columns]
    if missing_items:
        raise ColumnNotFoundError(missing_items, [str(c) for c in frame.columns], **extra)
    unused = [
        str(c) for c in frame.columns if str(c) not in META_COLUMNS and c not in checklist.item_ids
    ]
    if unused:
        warnings.append(Message("audit.unused_columns", {"columns": ", ".join(unused[:10])}))

    n = len(frame)
    dates = _dates(frame["date"], source=source, header_row=header_row)
    periods = _period(dates, period)
    branch = frame["branch"].astype("string").str.strip()
    if branch.isna().any() or (branch == "").any():
        first = int(np.flatnonzero((branch.isna() | (branch == "")).to_numpy(dtype=np.bool_))[0])
        raise _bad(source, header_row + 1 + first, "branch", "", "audit.bad_branch")
    employee = (
        frame["employee"].astype("string").str.strip()
        if "employee" in frame.columns
        else pd.Series(pd.NA, index=frame.index, dtype="string")
    )
    method = (
        _methods(frame["method"], source=source, header_row=header_row)
        if "method" in frame.columns
        else pd.Series([None] * n, index=frame.index, dtype="str")
    )
    visit_id = (
        frame["visit_id"].astype("string")
        if "visit_id" in frame.columns
        else pd.Series([f"V{i + 1}" for i in range(n)], dtype="string")
    )
    if visit_id.duplicated().any():
        dup = str(visit_id[visit_id.duplicated()].iloc[0])
        warnings.append(Message("audit.duplicate_visit", {"visit": dup}))

    items = checklist.items
    k = len(items)
    x = np.empty((n, k), dtype=np.float64)
    for j, item in enumerate(items):  # a loop over checklist items, not visits
        x[:, j] = _answers(frame[item.id], item, source=source, header_row=header_row)
    w = np.array([i.weight for i in items], dtype=np.float64)
    crit = np.array([i.critical for i in items], dtype=np.bool_)
    obs = np.isfinite(x)
    xz = np.where(obs, x, 0.0)
    points = xz @ w
    max_points = obs.astype(np.float64) @ w
    with np.errstate(divide="ignore", invalid="ignore"):
        raw_score = np.where(
            max_points > 0, points / np.where(max_points > 0, max_points, 1.0), np.nan
        )
    failed = obs & (x < 1.0)
    n_crit = (failed & crit[None, :]).sum(axis=1)
    score = raw_score.copy()
    if critical_cap is not None:
        score = np.where(n_crit > 0, np.minimum(score, float(critical_cap)), score)
    empty = int((max_points <= 0).sum())
    if empty:
        warnings.append(Message("audit.empty_visits", {"n": empty}))

    visits_table = pd.DataFrame(
        {
            "visit_id": pd.array(visit_id.to_numpy(dtype=object), dtype="str"),
            "date": dates.dt.date.to_numpy(),
            "period": periods.to_numpy(),
            "branch": pd.array(branch.to_numpy(dtype=object), dtype="str"),
            "employee": pd.array(
                list(employee.astype(object).where(employee.notna(), None)), dtype="str"
            ),
            "method": pd.array(method.to_numpy(dtype=object), dtype="str"),
            "n_items": obs.sum(axis=1).astype(np.int64),
            "n_na": (~obs).sum(axis=1).astype(np.int64),
            "points": points,
            "max_points": max_points,
            "score_raw": raw_score,
            "n_failed": failed.sum(axis=1).astype(np.int64),
            "n_critical_failed": n_crit.astype(np.int64),
            "score": score,
        }
    )
    scored = np.isfinite(score)
    s_all = score[scored]
    overall_mean = float(s_all.mean()) if s_all.size else math.nan

    group_sources: dict[str, pd.Series] = {
        "branch": visits_table["branch"],
        "employee": visits_table["employee"],
        "period": visits_table["period"],
        "method": visits_table["method"],
    }
    groups: dict[str, pd.DataFrame] = {}
    crit_flag = pd.Series(n_crit > 0)
    for name in wanted:
        keys = group_sources[name]
        if keys.isna().all():
            continue
        groups[name] = _group_table(
            keys,
            visits_table["score"],
            crit_flag,
            name=name,
            confidence=confidence,
            overall=overall_mean,
        )

    # items, Pareto order
    n_obs = obs.sum(axis=0).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        compliance = np.where(n_obs > 0, xz.sum(axis=0) / np.maximum(n_obs, 1), np.nan)
    maxes = np.array([i.max for i in items], dtype=np.float64)
    ci = wilson_interval(compliance, n_obs, confidence=confidence)
    lo, hi = ci.low.copy(), ci.high.copy()
    scored_items = np.flatnonzero(maxes > 1)
    if scored_items.size:
        sd = np.array(
            [np.nanstd(x[:, j], ddof=1) if n_obs[j] > 1 else np.nan for j in scored_items]
        )
        tq = _t(confidence, np.maximum(n_obs[scored_items] - 1, 1))
        se = sd / np.sqrt(np.maximum(n_obs[scored_items], 1))
        lo[scored_items] = np.clip(compliance[scored_items] - tq * se, 0.0, 1.0)
        hi[scored_items] = np.clip(compliance[scored_items] + tq * se, 0.0, 1.0)
    n_failed = failed.sum(axis=0).astype(np.int64)
    failures = np.where(obs, 1.0 - x, 0.0).sum(axis=0)
    lost = w * failures
    total_failed = float(failures.sum())
    total_lost = float(lost.sum())
    item_table = checklist.to_frame()
    item_table["n_observed"] = n_obs
    item_table["n_na"] = (n - n_obs).astype(np.int64)
    item_table["compliance"] = compliance
    item_table["ci_low"] = lo
    item_table["ci_high"] = hi
    item_table["n_failed"] = n_failed
    item_table["failures"] = failures
    item_table["lost_points"] = lost
    order = np.lexsort((np.arange(k), -lost, -failures))
    item_table = item_table.iloc[order].reset_index(drop=True)
    share = (
        item_table["failures"].to_numpy(dtype=np.float64) / total_failed
        if total_failed > 0
        else np.zeros(k)
    )
    cumulative = np.cumsum(share)
    before = np.concatenate(([0.0], cumulative[:-1]))
    item_table["failure_share"] = share
    item_table["cumulative_share"] = cumulative
    item_table["vital_few"] = (before < VITAL_FEW - 1e-12) & (share > 0)
    item_table["lost_share"] = (
        item_table["lost_points"].to_numpy(dtype=np.float64) / total_lost
        if total_lost > 0
        else np.zeros(k)
    )
    item_table["pareto_rank"] = np.arange(1, k + 1, dtype=np.int64)

    # sections
    section_names = list(dict.fromkeys(i.section for i in items))
    rows = []
    for name in section_names:  # a loop over sections, not visits
        cols = np.array([i.section == name for i in items])
        mp = obs[:, cols].astype(np.float64) @ w[cols]
        pts = xz[:, cols] @ w[cols]
        ok = mp > 0
        sec = pts[ok] / mp[ok]
        count = int(ok.sum())
        mean = float(sec.mean()) if count else math.nan
        if count > 1:
            half = float(_t(confidence, count - 1)) * float(sec.std(ddof=1)) / math.sqrt(count)
            low, high = max(0.0, mean - half), min(1.0, mean + half)
        else:
            low = high = math.nan
        rows.append(
            {
                "section": name,
                "n_items": int(cols.sum()),
                "weight": float(w[cols].sum()),
                "n_visits": count,
                "compliance": mean,
                "ci_low": low,
                "ci_high": high,
            }
        )
    sections = pd.DataFrame(rows)
    sections["section"] = sections["section"].astype("str")

    # mystery against on-site
    diff_rows = []
    has_both = method.notna().any() and {"mystery", "onsite"} <= set(method.dropna())
    if has_both:
        m_arr = method.to_numpy(dtype=object)
        a = score[scored & (m_arr == "onsite")]
        b = score[scored & (m_arr == "mystery")]
        est, low, high, p = _welch(a, b, confidence)
        diff_rows.append(
            {
                "comparison": "all_visits",
                "n": int(a.size + b.size),
                "difference": est,
                "ci_low": low,
                "ci_high": high,
                "p_value": p,
            }
        )
        per = (
            pd.DataFrame({"b": branch.to_numpy(), "m": m_arr, "s": score})[scored]
            .groupby(["b", "m"])["s"]
            .mean()
            .unstack()
        )
        if {"mystery", "onsite"} <= set(per.columns):
            d = (per["onsite"] - per["mystery"]).dropna().to_numpy(dtype=np.float64)
            est, low, high, p = _one_sample(d, confidence)
            diff_rows.append(
                {
                    "comparison": "within_branch",
                    "n": int(d.size),
                    "difference": est,
                    "ci_low": low,
                    "ci_high": high,
                    "p_value": p,
                }
            )
    method_difference = pd.DataFrame(
        diff_rows,
        columns=["comparison", "n", "difference", "ci_low", "ci_high", "p_value"],
    )
    method_difference["comparison"] = method_difference["comparison"].astype("str")

    # summary and trend
    month_index = (dates.dt.year * 12 + dates.dt.month).to_numpy(dtype=np.float64)
    slope, s_low, s_high, s_p = _slope(month_index[scored], s_all, confidence)
    if s_all.size > 1:
        half = (
            float(_t(confidence, s_all.size - 1)) * float(s_all.std(ddof=1)) / math.sqrt(s_all.size)
        )
        m_low, m_high = max(0.0, overall_mean - half), min(1.0, overall_mean + half)
    else:
        m_low = m_high = math.nan
    summary = pd.DataFrame(
        {
            "n_visits": [n],
            "n_scored": [int(scored.sum())],
            "n_branches": [int(branch.nunique())],
            "n_employees": [int(employee.dropna().nunique())],
            "mean": [overall_mean],
            "ci_low": [m_low],
            "ci_high": [m_high],
            "visits_critical_failed": [int((n_crit > 0).sum())],
            "slope_per_month": [slope],
            "slope_ci_low": [s_low],
            "slope_ci_high": [s_high],
            "slope_p_value": [s_p],
        }
    )
    small = [
        str(g)
        for name in groups
        for g, c in zip(groups[name][name], groups[name]["n_visits"], strict=True)
        if name == "branch" and c < 5
    ]
    if small:
        warnings.append(Message("audit.few_visits", {"groups": ", ".join(small[:10])}))
    return AuditResult(
        checklist=checklist,
        visits=visits_table,
        groups=groups,
        items=item_table,
        sections=sections,
        method_difference=method_difference,
        summary=summary,
        settings={
            "checklist": checklist.id,
            "by": list(groups),
            "period": period,
            "critical_cap": critical_cap,
            "confidence": float(confidence),
        },
        warnings=tuple(warnings),
    )
