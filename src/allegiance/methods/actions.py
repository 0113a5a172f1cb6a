"""Action plans and customer care: from what to fix, to who does it, to what changed.

SPEC section 6 ("find the root cause, fix it, and tell surveyed customers what changed") and
section 5 (customer care, 客户关怀). Pure computations on frames; reading and writing the
register file is :mod:`allegiance.store.action_register`.

**The action register.** One row per improvement action (:data:`REGISTER_COLUMNS`): its title
in Chinese and English, where it came from (``source``: a weakest link of the
importance-performance analysis, a complaint root cause, an audit standard, a blueprint step,
or entered by hand) and what exactly (``source_ref``), the ``owner``, the ``raised`` and
``due`` dates, the ``status`` (:data:`STATUSES`), the survey column whose score should show
the effect (``measure``) with the waves before and after (``baseline_wave``,
``followup_wave``), and the texts of the "you said, we did" notice (``you_said_zh|en``,
``we_did_zh|en``). :func:`validate_register` checks a register and names the row and column
of a bad value; :func:`add_action` and :func:`update_action` return a changed copy.

**Proposals.** :func:`propose_actions` drafts actions from the weakest links (a frame with
``item`` and ``fix_rank``, as :func:`allegiance.methods.drivers.ipa` gives in
``weakest``), from complaint causes (a plain frame of ``cause`` and ``count``, optionally
``class``: its Pareto's vital few, the causes up to and including the one that brings the
cumulative share to 80 %, force-majeure class 4 left out), from an audit's most-failed
standards and from a blueprint's step to fix first; each draft names an owner by source (or
complaint class) and is due ``due_days`` after it was raised.

**Measured effect.** :func:`measure_effects` compares the measure's answers in the baseline
and follow-up waves: the mean in each wave with its t interval, and the difference
(follow-up − baseline) with Welch's interval and two-sided p-value.

**"You said, we did".** :func:`notices` renders, per finished action, the notice text in
Chinese and English from a template (``templates/actions/notice.yaml``, or your own), and
the list of surveyed customers to send it to (the baseline wave's respondents who answered
the measure, at or below ``threshold`` when given), each in their own language.

**Customer-care calendar.** :func:`care_calendar` lists the care contacts due in a date range
per owner: a call-back ``callback_days`` after a purchase, membership anniversaries (each
whole year since joining; a 29 February join date is celebrated on 28 February in other
years), birthdays when a ``birth_date`` column exists, a contact ``eol_lead_days`` before a
product held reaches its end of life, and a notice ``price_notice_days`` before a price rise
takes effect. Customers who have left (``churn_month`` or ``left_on`` on or before the due
date) are not contacted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from allegiance.errors import ColumnNotFoundError, ConfigError, ValidationError
from allegiance.i18n import Message, t
from allegiance.methods.intervals import z_value
from allegiance.results import plain, records

__all__ = [
    "CARE_KINDS",
    "REGISTER_COLUMNS",
    "SOURCES",
    "STATUSES",
    "ActionListResult",
    "CareResult",
    "CareRules",
    "EffectResult",
    "NoticeResult",
    "ProposalResult",
    "action_list",
    "add_action",
    "care_calendar",
    "empty_register",
    "load_notice_template",
    "measure_effect",
    "measure_effects",
    "notices",
    "propose_actions",
    "update_action",
    "validate_register",
]

FloatArray = npt.NDArray[np.float64]

STATUSES: tuple[str, ...] = ("open", "in_progress", "done", "cancelled")
SOURCES: tuple[str, ...] = (
    "weakest_link",
    "complaint_cause",
    "audit_standard",
    "blueprint_step",
    "manual",
)
REGISTER_COLUMNS: tuple[str, ...] = (
    "id",
    "title_zh",
    "title_en",
    "source",
    "source_ref",
    "owner",
    "raised",
    "due",
    "status",
    "measure",
    "baseline_wave",
    "followup_wave",
    "you_said_zh",
    "you_said_en",
    "we_did_zh",
    "we_did_en",
)
_DATES = ("raised", "due")
_REQUIRED = ("id", "title_zh", "title_en", "owner", "due", "status")
CARE_KINDS: tuple[str, ...] = ("callback", "anniversary", "birthday", "end_of_life", "price_notice")
UNASSIGNED = "unassigned"
VITAL_FEW = 0.8
FORCE_MAJEURE_CLASS = 4


# --------------------------------------------------------------------------------------------
# The register
# --------------------------------------------------------------------------------------------


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a small frame as plain dicts (registers, proposals: not customer tables)."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]


def empty_register() -> pd.DataFrame:
    """A register with no actions (every column, text dtype; dates as objects)."""
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in REGISTER_COLUMNS})


def _to_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date()
    text = str(value).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(text) from None


def _clean_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    text = str(value).strip()
    return text or None


def validate_register(
    register: pd.DataFrame, /, *, source: str | None = None, first_row: int = 1
) -> pd.DataFrame:
    """A checked copy of ``register`` with every column of :data:`REGISTER_COLUMNS`.

    Dates become :class:`datetime.date`; text is stripped; ids must be unique; ``status``
    one of :data:`STATUSES`; ``source`` one of :data:`SOURCES` (default ``manual``).
    ``first_row`` is how the first action is counted in messages (1 for a YAML list's first
    entry, 2 for a CSV under its header). Errors name ``source`` (the file), the row, the
    column and the value.
    """
    if not isinstance(register, pd.DataFrame):
        raise ValidationError("actions.not_a_frame", kind=type(register).__name__)
    where = source or "register"
    out = register.copy().reset_index(drop=True)
    for column in REGISTER_COLUMNS:
        if column not in out.columns:
            out[column] = None
    extra = [c for c in out.columns if c not in REGISTER_COLUMNS]
    out = out[[*REGISTER_COLUMNS, *extra]].astype(object)
    checked: list[dict[str, Any]] = []
    for i, record in enumerate(_rows(out)):  # tens or hundreds of actions, not millions
        row = first_row + i
        for column in REGISTER_COLUMNS:
            value = record[column]
            if column in _DATES:
                try:
                    record[column] = _to_date(value)
                except ValueError:
                    raise ValidationError(
                        "actions.bad_date", file=where, row=row, column=column, value=str(value)
                    ) from None
            else:
                record[column] = _clean_text(value)
        for column in _REQUIRED:
            if record[column] is None:
                raise ValidationError("actions.missing_value", file=where, row=row, column=column)
        status = str(record["status"])
        if status not in STATUSES:
            raise ValidationError(
                "actions.bad_choice",
                file=where,
                row=row,
                column="status",
                value=status,
                allowed=", ".join(STATUSES),
            )
        src = record["source"] or "manual"
        if src not in SOURCES:
            raise ValidationError(
                "actions.bad_choice",
                file=where,
                row=row,
                column="source",
                value=str(src),
                allowed=", ".join(SOURCES),
            )
        record["source"] = src
        raised, due = record["raised"], record["due"]
        if raised is not None and due is not None and due < raised:
            raise ValidationError(
                "actions.due_before_raised", file=where, row=row, due=str(due), raised=str(raised)
            )
        checked.append(record)
    out = pd.DataFrame(checked, columns=list(out.columns), dtype=object)
    ids = out["id"].tolist()
    dup = next((x for x in ids if ids.count(x) > 1), None)
    if dup is not None:
        raise ValidationError("actions.duplicate_id", file=where, id=str(dup))
    return out


def _next_id(register: pd.DataFrame, prefix: str = "A") -> str:
    numbers = []
    for value in register["id"].dropna().astype(str):
        if value.startswith(prefix) and value[len(prefix) :].isdigit():
            numbers.append(int(value[len(prefix) :]))
    return f"{prefix}{(max(numbers) + 1) if numbers else 1:03d}"


def add_action(register: pd.DataFrame, /, **fields: Any) -> pd.DataFrame:
    """``register`` with one more action (``id`` given or the next ``A###``; ``status``
    ``open`` and ``raised`` today unless given; a title in one language fills the other)."""
    base = validate_register(register)
    unknown = sorted(k for k in fields if k not in REGISTER_COLUMNS)
    if unknown:
        raise ValidationError(
            "actions.unknown_field", field=unknown[0], allowed=", ".join(REGISTER_COLUMNS)
        )
    row: dict[str, Any] = dict.fromkeys(REGISTER_COLUMNS)
    row.update({k: v for k, v in fields.items() if v is not None})
    row["id"] = row["id"] or _next_id(base)
    row["status"] = row["status"] or "open"
    row["raised"] = row["raised"] or date.today()
    row["title_zh"] = row["title_zh"] or row["title_en"]
    row["title_en"] = row["title_en"] or row["title_zh"]
    row["owner"] = row["owner"] or UNASSIGNED
    new = pd.DataFrame([row], columns=list(REGISTER_COLUMNS), dtype=object)
    combined = pd.concat([base, new], ignore_index=True) if len(base) else new
    return validate_register(combined)


def update_action(register: pd.DataFrame, action_id: str, /, **changes: Any) -> pd.DataFrame:
    """``register`` with action ``action_id`` changed (status, owner, due, texts ...)."""
    base = validate_register(register)
    hits = np.flatnonzero(base["id"].astype(str).to_numpy() == str(action_id))
    if not hits.size:
        raise ValidationError(
            "actions.unknown_action",
            id=str(action_id),
            available=", ".join(base["id"].astype(str).tolist()[:20]) or "-",
        )
    unknown = sorted(k for k in changes if k not in REGISTER_COLUMNS or k == "id")
    if unknown:
        raise ValidationError(
            "actions.unknown_field", field=unknown[0], allowed=", ".join(REGISTER_COLUMNS[1:])
        )
    out = base.copy()
    for key, value in changes.items():
        if value is not None:
            out.at[int(hits[0]), key] = value
    return validate_register(out)


# --------------------------------------------------------------------------------------------
# Listing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class ActionListResult:
    """The register as of a date.

    ``actions``: the register's columns plus ``overdue`` (not done or cancelled and due
    before ``as_of``) and ``days_left`` (due − as_of). ``by_owner``: ``owner | open |
    in_progress | done | cancelled | overdue | n_actions``.
    """

    actions: pd.DataFrame
    by_owner: pd.DataFrame
    as_of: date
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"actions": self.actions, "by_owner": self.by_owner}

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "n_actions": len(self.actions),
            "n_overdue": int(self.actions["overdue"].sum()) if len(self.actions) else 0,
            "tables": {name: records(frame) for name, frame in self.tables().items()},
        }


def action_list(
    register: pd.DataFrame,
    /,
    *,
    as_of: date | None = None,
    owner: str | None = None,
    status: Sequence[str] | None = None,
) -> ActionListResult:
    """The actions (optionally of one owner, in some statuses), overdue flags, per-owner counts."""
    day = as_of or date.today()
    frame = validate_register(register)
    if owner is not None:
        frame = frame[frame["owner"] == owner]
    if status:
        bad = [s for s in status if s not in STATUSES]
        if bad:
            raise ValidationError("actions.bad_status", value=bad[0], allowed=", ".join(STATUSES))
        frame = frame[frame["status"].isin(list(status))]
    frame = frame.reset_index(drop=True)
    live = ~frame["status"].isin(["done", "cancelled"])
    due = frame["due"]
    frame["days_left"] = pd.array(
        [None if d is None else (d - day).days for d in due], dtype="Int64"
    )
    frame["overdue"] = (live & frame["days_left"].fillna(0).lt(0)).astype(bool)
    rows = []
    for name, part in frame.groupby("owner", sort=True):
        counts = part["status"].value_counts()
        rows.append(
            {
                "owner": str(name),
                **{s: int(counts.get(s, 0)) for s in STATUSES},
                "overdue": int(part["overdue"].sum()),
                "n_actions": len(part),
            }
        )
    by_owner = pd.DataFrame(rows, columns=["owner", *STATUSES, "overdue", "n_actions"])
    for column in (*STATUSES, "overdue", "n_actions"):
        by_owner[column] = by_owner[column].astype(np.int64)
    return ActionListResult(actions=frame, by_owner=by_owner, as_of=day)


# --------------------------------------------------------------------------------------------
# Proposals
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class ProposalResult:
    """Draft actions in register form (``actions``), each with the figure that raised it
    (``evidence``: e.g. a weakest link's priority, a cause's share, a standard's compliance)."""

    actions: pd.DataFrame
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"proposals": self.actions}

    def to_dict(self) -> dict[str, Any]:
        return {"n_actions": len(self.actions), "tables": {"proposals": records(self.actions)}}


def _label(code: str, labels: Mapping[str, Any] | None, lang: str) -> str:
    if labels and code in labels:
        value = labels[code]
        if isinstance(value, Mapping):
            return str(value.get(lang) or value.get("en") or value.get("zh") or code)
        if isinstance(value, (tuple, list)) and len(value) == 2:
            zh, en = value
            return str((zh if lang == "zh" else en) or code)
        return str(value)
    return code


def _frame_labels(frame: pd.DataFrame, code: str) -> dict[str, dict[str, str]]:
    """Labels carried by an input table: ``label_zh``/``label_en`` (or ``name_zh``/``name_en``)."""
    for zh, en in (("label_zh", "label_en"), ("name_zh", "name_en")):
        if code in frame.columns and zh in frame.columns and en in frame.columns:
            return {
                str(r[code]): {"zh": str(r[zh]), "en": str(r[en])}
                for r in _rows(frame[[code, zh, en]])
                if _clean_text(r[zh]) and _clean_text(r[en])
            }
    return {}


def _owner(owners: Mapping[str, str] | None, *keys: str) -> str:
    for key in keys:
        if owners and key in owners and owners[key]:
            return str(owners[key])
    return UNASSIGNED


def _texts(kind: str, **params: Any) -> dict[str, str]:
    """``title``, ``you_said`` in both languages; ``params`` hold per-language values."""
    out: dict[str, str] = {}
    for lang in ("zh", "en"):
        values = {k: (v[lang] if isinstance(v, Mapping) else v) for k, v in params.items()}
        out[f"title_{lang}"] = t(f"actions.title.{kind}", lang, **values)
        out[f"you_said_{lang}"] = t(f"actions.you_said.{kind}", lang, **values)
    return out


def _both(code: str, labels: Mapping[str, Any] | None) -> dict[str, str]:
    return {"zh": _label(code, labels, "zh"), "en": _label(code, labels, "en")}


def _cause_pareto(causes: pd.DataFrame) -> pd.DataFrame:
    cols = {str(c).lower(): c for c in causes.columns}
    cause_col = cols.get("cause") or cols.get("cause_code")
    count_col = cols.get("count") or cols.get("n")
    if cause_col is None or count_col is None:
        missing = ["cause" if cause_col is None else "count"]
        raise ColumnNotFoundError(missing, [str(c) for c in causes.columns])
    class_col = cols.get("class") or cols.get("cause_class")
    frame = pd.DataFrame(
        {
            "cause": causes[cause_col].astype(str).to_numpy(),
            "count": pd.to_numeric(causes[count_col], errors="coerce").fillna(0).to_numpy(),
            "class": (
                pd.to_numeric(causes[class_col], errors="coerce").to_numpy()
                if class_col is not None
                else np.full(len(causes), np.nan)
            ),
        }
    )
    frame = frame.groupby("cause", sort=False, as_index=False).agg(
        count=("count", "sum"), cls=("class", "first")
    )
    frame = frame.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)
    total = float(frame["count"].sum())
    frame["share"] = frame["count"] / total if total > 0 else 0.0
    cum = frame["share"].cumsum().to_numpy(dtype=np.float64)
    before = np.concatenate(([0.0], cum[:-1]))
    frame["cumulative_share"] = cum
    frame["vital_few"] = before < VITAL_FEW - 1e-12
    return frame


def propose_actions(
    *,
    weakest: pd.DataFrame | None = None,
    causes: pd.DataFrame | None = None,
    audit_items: pd.DataFrame | None = None,
    blueprint_steps: pd.DataFrame | None = None,
    labels: Mapping[str, Any] | None = None,
    owners: Mapping[str, str] | None = None,
    raised: date | None = None,
    due_days: int = 90,
    top: int = 3,
    baseline_wave: str | None = None,
    followup_wave: str | None = None,
    first_id: int = 1,
) -> ProposalResult:
    """Draft actions from the analyses' outputs; see the module documentation.

    ``labels`` maps codes (items, causes, standards, steps) to ``{"zh": ..., "en": ...}``
    (the weakest-link and cause tables may carry them as ``label_zh``/``label_en``);
    ``owners`` maps a source (``weakest_link``, ``audit_standard``, ``blueprint_step``,
    ``complaint_cause``) or a complaint class (``complaint_class_1`` … ``_4``) to an owner.
    Audit standards and blueprint steps carry their own names (``standard_zh|en``,
    ``name_zh|en``) when no label is given.
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValidationError("actions.bad_top", value=str(top))
    if isinstance(due_days, bool) or not isinstance(due_days, int) or due_days < 0:
        raise ValidationError("actions.bad_days", what="due_days", value=str(due_days))
    day = raised or date.today()
    due = day + timedelta(days=due_days)
    found: dict[str, Any] = {}
    for frame_in, code in ((weakest, "item"), (causes, "cause")):
        if frame_in is not None:
            found.update(_frame_labels(frame_in, code))
    labels = {**found, **dict(labels or {})}
    rows: list[dict[str, Any]] = []
    warnings: list[Message] = []

    def add(source: str, ref: str, owner: str, evidence: float, **texts: str) -> None:
        rows.append(
            {
                "id": f"P{first_id + len(rows):03d}",
                **texts,
                "source": source,
                "source_ref": ref,
                "owner": owner,
                "raised": day,
                "due": due,
                "status": "open",
                "evidence": float(evidence),
            }
        )

    if weakest is not None and len(weakest):
        if "item" not in weakest.columns:
            raise ColumnNotFoundError(["item"], [str(c) for c in weakest.columns])
        frame = weakest
        if "fix_rank" in frame.columns:
            frame = frame.sort_values("fix_rank", kind="stable")
        for row in _rows(frame.head(top)):
            item = str(row["item"])
            evidence = float(row.get("priority", math.nan))
            texts = _texts("weakest_link", item=_both(item, labels))
            add("weakest_link", item, _owner(owners, "weakest_link"), evidence, **texts)
            rows[-1].update(measure=item, baseline_wave=baseline_wave, followup_wave=followup_wave)
    if causes is not None and len(causes):
        pareto = _cause_pareto(causes)
        vital = pareto[pareto["vital_few"] & (pareto["cls"] != FORCE_MAJEURE_CLASS)]
        for row in _rows(vital.head(top)):
            cause = str(row["cause"])
            cls = None if pd.isna(row["cls"]) else int(row["cls"])
            keys = ([f"complaint_class_{cls}"] if cls is not None else []) + ["complaint_cause"]
            texts = _texts(
                "complaint_cause",
                cause=_both(cause, labels),
                share=f"{100 * float(row['share']):.0f}%",
            )
            add("complaint_cause", cause, _owner(owners, *keys), float(row["share"]), **texts)
    if audit_items is not None and len(audit_items):
        frame = audit_items
        if "vital_few" in frame.columns:
            frame = frame[frame["vital_few"].astype(bool)]
        for row in _rows(frame.head(top)):
            item = str(row["item"])
            names = {
                "zh": _label(item, labels, "zh")
                if labels and item in labels
                else str(row.get("standard_zh", "") or item),
                "en": _label(item, labels, "en")
                if labels and item in labels
                else str(row.get("standard_en", "") or item),
            }
            compliance = float(row.get("compliance", math.nan))
            texts = _texts("audit_standard", standard=names, compliance=f"{100 * compliance:.0f}%")
            add("audit_standard", item, _owner(owners, "audit_standard"), compliance, **texts)
    if blueprint_steps is not None and len(blueprint_steps):
        frame = blueprint_steps.sort_values("fix_rank", kind="stable")
        frame = frame[frame["gain_if_fixed"] > 0]
        for row in _rows(frame.head(1)):
            step = str(row["name"])
            names = {
                "zh": _label(step, labels, "zh")
                if labels and step in labels
                else str(row.get("name_zh", "") or step),
                "en": _label(step, labels, "en")
                if labels and step in labels
                else str(row.get("name_en", "") or step),
            }
            texts = _texts(
                "blueprint_step",
                step=names,
                p=f"{100 * float(row['p']):.1f}%",
                target=f"{100 * float(row['target_p']):.1f}%",
            )
            add(
                "blueprint_step",
                step,
                _owner(owners, "blueprint_step"),
                float(row["gain_if_fixed"]),
                **texts,
            )
    if not rows:
        warnings.append(Message("actions.nothing_to_propose"))
    frame_out = pd.DataFrame(rows)
    for column in REGISTER_COLUMNS:
        if column not in frame_out.columns:
            frame_out[column] = None
    frame_out = frame_out[[*REGISTER_COLUMNS, "evidence"]] if rows else empty_register()
    return ProposalResult(actions=frame_out.reset_index(drop=True), warnings=tuple(warnings))


# --------------------------------------------------------------------------------------------
# Measured effect
# --------------------------------------------------------------------------------------------


EFFECT_COLUMNS: tuple[str, ...] = (
    "n_before",
    "before",
    "before_ci_low",
    "before_ci_high",
    "n_after",
    "after",
    "after_ci_low",
    "after_ci_high",
    "difference",
    "ci_low",
    "ci_high",
    "p_value",
)


def _mean_ci(x: FloatArray, confidence: float) -> tuple[int, float, float, float]:
    from scipy import stats

    n = int(x.size)
    if n == 0:
        return (0, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if n < 2:
        return (n, mean, math.nan, math.nan)
    half = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    return (n, mean, mean - half, mean + half)


def measure_effect(
    before: npt.ArrayLike, after: npt.ArrayLike, /, *, confidence: float = 0.95
) -> dict[str, float]:
    """Mean before and after with t intervals; the difference (after − before) with Welch's
    interval and two-sided p-value. Missing values are left out.

    >>> e = measure_effect([3, 4, 3, 2], [4, 4, 5, 3])
    >>> e["difference"]
    1.0
    """
    from scipy import stats

    z_value(confidence)
    a = np.asarray(before, dtype=np.float64)
    b = np.asarray(after, dtype=np.float64)
    a = a[np.isfinite(a)]
    b = b[np.isfinite(b)]
    na, ma, la, ha = _mean_ci(a, confidence)
    nb, mb, lb, hb = _mean_ci(b, confidence)
    diff = mb - ma if na and nb else math.nan
    low = high = p = math.nan
    if na > 1 and nb > 1:
        va, vb = a.var(ddof=1) / na, b.var(ddof=1) / nb
        se = math.sqrt(va + vb)
        if se > 0:
            df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
            tq = float(stats.t.ppf(0.5 + confidence / 2.0, df))
            low, high = diff - tq * se, diff + tq * se
            p = float(2.0 * stats.t.sf(abs(diff / se), df))
    return {
        "n_before": float(na),
        "before": ma,
        "before_ci_low": la,
        "before_ci_high": ha,
        "n_after": float(nb),
        "after": mb,
        "after_ci_low": lb,
        "after_ci_high": hb,
        "difference": diff,
        "ci_low": low,
        "ci_high": high,
        "p_value": p,
    }


@dataclass(frozen=True, eq=False, kw_only=True)
class EffectResult:
    """``effects``: ``id | title_zh | title_en | measure | baseline_wave | followup_wave``
    then :data:`EFFECT_COLUMNS`, one row per action that has a measure and both waves."""

    effects: pd.DataFrame
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"effects": self.effects}

    def to_dict(self) -> dict[str, Any]:
        return {"tables": {"effects": records(self.effects)}}


def measure_effects(
    register: pd.DataFrame,
    responses: pd.DataFrame,
    /,
    *,
    wave: str = "wave",
    confidence: float = 0.95,
) -> EffectResult:
    """The measured effect of every action with a ``measure``, ``baseline_wave`` and
    ``followup_wave``, from survey ``responses`` holding the ``wave`` column and the measures."""
    frame = validate_register(register)
    if wave not in responses.columns:
        raise ColumnNotFoundError([wave], [str(c) for c in responses.columns])
    waves = responses[wave].astype(str)
    rows = []
    warnings: list[Message] = []
    for action in _rows(frame):
        measure, w0, w1 = action["measure"], action["baseline_wave"], action["followup_wave"]
        if not (measure and w0 and w1):
            continue
        if measure not in responses.columns:
            warnings.append(
                Message("actions.measure_missing", {"id": action["id"], "measure": measure})
            )
            continue
        values = pd.to_numeric(responses[measure], errors="coerce")
        missing_waves = [w for w in (w0, w1) if not (waves == w).any()]
        if missing_waves:
            warnings.append(
                Message(
                    "actions.wave_missing", {"id": action["id"], "wave": ", ".join(missing_waves)}
                )
            )
            continue
        effect = measure_effect(
            values[waves == w0].to_numpy(dtype=np.float64, na_value=np.nan),
            values[waves == w1].to_numpy(dtype=np.float64, na_value=np.nan),
            confidence=confidence,
        )
        rows.append(
            {
                "id": action["id"],
                "title_zh": action["title_zh"],
                "title_en": action["title_en"],
                "measure": measure,
                "baseline_wave": w0,
                "followup_wave": w1,
                **effect,
            }
        )
    columns = ["id", "title_zh", "title_en", "measure", "baseline_wave", "followup_wave"]
    effects = pd.DataFrame(rows, columns=[*columns, *EFFECT_COLUMNS])
    for column in ("n_before", "n_after"):
        effects[column] = effects[column].astype(np.int64)
    return EffectResult(effects=effects, warnings=tuple(warnings))


# --------------------------------------------------------------------------------------------
# "You said, we did"
# --------------------------------------------------------------------------------------------


def load_notice_template(path: str | Path | None = None, /) -> dict[str, str]:
    """The notice template: ``{"zh": ..., "en": ...}`` with ``{title}``, ``{you_said}``,
    ``{we_did}``, ``{wave}`` and ``{effect}`` placeholders (shipped:
    ``templates/actions/notice.yaml``)."""
    if path is None:
        file = Path(str(resources.files("allegiance.templates"))) / "actions" / "notice.yaml"
    else:
        file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(
            "actions.bad_template", file=str(file), error=str(exc).replace("\n", " ")
        ) from None
    if not isinstance(data, Mapping) or not all(isinstance(data.get(k), str) for k in ("zh", "en")):
        raise ConfigError("actions.bad_template", file=str(file), error="expected zh: and en:")
    return {"zh": str(data["zh"]), "en": str(data["en"])}


def _render(template: str, **params: Any) -> str:
    try:
        return template.format(**params).strip()
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError("actions.bad_template", file="template", error=str(exc)) from None


@dataclass(frozen=True, eq=False, kw_only=True)
class NoticeResult:
    """``notices``: ``id | text_zh | text_en`` per finished action; ``recipients``:
    ``customer_id | lang | id | text`` per customer to tell (empty without respondents)."""

    notices: pd.DataFrame
    recipients: pd.DataFrame
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"notices": self.notices, "recipients": self.recipients}

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_notices": len(self.notices),
            "n_recipients": len(self.recipients),
            "tables": {name: records(frame) for name, frame in self.tables().items()},
        }


def notices(
    register: pd.DataFrame,
    /,
    respondents: pd.DataFrame | None = None,
    *,
    effects: pd.DataFrame | None = None,
    template: Mapping[str, str] | None = None,
    threshold: float | None = None,
    wave: str = "wave",
    customer: str = "customer_id",
    lang: str = "lang",
    statuses: Sequence[str] = ("done",),
    labels: Mapping[str, Any] | None = None,
) -> NoticeResult:
    """The "you said, we did" notices of the finished actions and who gets them.

    ``effects`` (:func:`measure_effects`' table) adds the measured change to the text, the
    measure named by ``labels`` (code → ``{"zh": ..., "en": ...}``) when given.
    """
    frame = validate_register(register)
    tmpl = dict(template) if template is not None else load_notice_template()
    frame = frame[frame["status"].isin(list(statuses))].reset_index(drop=True)
    eff = (
        effects.set_index("id")
        if effects is not None and len(effects) and "id" in effects.columns
        else None
    )
    rows = []
    for action in _rows(frame):
        texts: dict[str, str] = {}
        for code in ("zh", "en"):
            effect_text = ""
            if eff is not None and action["id"] in eff.index:
                e = eff.loc[action["id"]]
                if np.isfinite(e["difference"]):
                    effect_text = t(
                        "actions.notice.effect",
                        code,
                        measure=_label(str(action["measure"] or ""), labels, code),
                        before=f"{float(e['before']):.2f}",
                        after=f"{float(e['after']):.2f}",
                        wave=str(e["followup_wave"]),
                    )
            texts[code] = _render(
                tmpl[code],
                title=action[f"title_{code}"] or "",
                you_said=action[f"you_said_{code}"] or action[f"title_{code}"],
                we_did=action[f"we_did_{code}"]
                or t("actions.notice.we_did_default", code, title=action[f"title_{code}"]),
                wave=action["baseline_wave"] or "",
                effect=effect_text,
            )
        rows.append({"id": action["id"], "text_zh": texts["zh"], "text_en": texts["en"]})
    notice_frame = pd.DataFrame(rows, columns=["id", "text_zh", "text_en"])
    recipients = pd.DataFrame(columns=["customer_id", "lang", "id", "text"])
    warnings: list[Message] = []
    if respondents is not None and len(notice_frame):
        if customer not in respondents.columns:
            raise ColumnNotFoundError([customer], [str(c) for c in respondents.columns])
        parts = []
        by_id = notice_frame.set_index("id")
        for action in _rows(frame):
            chosen = respondents
            if action["baseline_wave"] and wave in respondents.columns:
                chosen = chosen[chosen[wave].astype(str) == action["baseline_wave"]]
            if action["measure"] and action["measure"] in chosen.columns:
                values = pd.to_numeric(chosen[action["measure"]], errors="coerce")
                keep = values.notna()
                if threshold is not None:
                    keep &= values <= threshold
                chosen = chosen[keep]
            langs = (
                chosen[lang].astype(str).where(chosen[lang].astype(str) == "en", "zh")
                if lang in chosen.columns
                else pd.Series("zh", index=chosen.index)
            )
            part = pd.DataFrame(
                {
                    "customer_id": chosen[customer].astype(str).to_numpy(),
                    "lang": langs.to_numpy(),
                    "id": action["id"],
                }
            )
            text_en = str(by_id.loc[action["id"], "text_en"])
            text_zh = str(by_id.loc[action["id"], "text_zh"])
            part["text"] = np.where(part["lang"] == "en", text_en, text_zh)
            parts.append(part)
        if parts:
            recipients = pd.concat(parts, ignore_index=True).drop_duplicates(["customer_id", "id"])
        if not len(recipients):
            warnings.append(Message("actions.no_recipients"))
    return NoticeResult(
        notices=notice_frame, recipients=recipients.reset_index(drop=True), warnings=tuple(warnings)
    )


# --------------------------------------------------------------------------------------------
# Customer-care calendar
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CareRules:
    """When each care contact is due (days; see the module documentation)."""

    callback_days: int = 7
    anniversary_lead_days: int = 0
    birthday_lead_days: int = 0
    eol_lead_days: int = 60
    price_notice_days: int = 30
    kinds: tuple[str, ...] = CARE_KINDS

    def __post_init__(self) -> None:
        for name in (
            "callback_days",
            "anniversary_lead_days",
            "birthday_lead_days",
            "eol_lead_days",
            "price_notice_days",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3650:
                raise ValidationError("actions.bad_days", what=name, value=str(value))
        bad = [k for k in self.kinds if k not in CARE_KINDS]
        if bad:
            raise ValidationError("actions.bad_kind", value=bad[0], allowed=", ".join(CARE_KINDS))


@dataclass(frozen=True, eq=False, kw_only=True)
class CareResult:
    """``due`` (table ``due_contacts``): ``owner | due_date | kind | customer_id | lang |
    event_date | detail`` sorted by owner and date (``detail``: the years of an anniversary
    or birthday, the product and date of an end of life, the product and rise of a price
    notice); ``by_owner``: ``owner | <kind> ... | n_contacts``."""

    due: pd.DataFrame
    by_owner: pd.DataFrame
    start: date
    end: date
    rules: CareRules
    warnings: tuple[Message, ...] = ()
    method: ClassVar[str] = "care_calendar"

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"due_contacts": self.due, "by_owner": self.by_owner}

    def to_dict(self) -> dict[str, Any]:
        counts = self.due["kind"].value_counts() if len(self.due) else pd.Series(dtype=int)
        return {
            "method": self.method,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rules": plain(
                {
                    "callback_days": self.rules.callback_days,
                    "anniversary_lead_days": self.rules.anniversary_lead_days,
                    "birthday_lead_days": self.rules.birthday_lead_days,
                    "eol_lead_days": self.rules.eol_lead_days,
                    "price_notice_days": self.rules.price_notice_days,
                    "kinds": list(self.rules.kinds),
                }
            ),
            "n_due": len(self.due),
            "by_kind": {str(k): int(v) for k, v in counts.items()},
            "tables": {name: records(frame) for name, frame in self.tables().items()},
        }


def _date_column(frame: pd.DataFrame, column: str, *, what: str) -> pd.Series:
    raw = frame[column]
    if isinstance(raw.dtype, pd.ArrowDtype) and pa.types.is_temporal(raw.dtype.pyarrow_dtype):
        # Arrow dates (Parquet date32) cast in Arrow: pandas would convert them one by one
        cast = pc.cast(pa.array(raw.array), pa.timestamp("ns"))
        values = cast.to_numpy(zero_copy_only=False)
        return pd.Series(values, index=raw.index, dtype="datetime64[ns]").dt.normalize()
    parsed = pd.to_datetime(raw, errors="coerce")
    bad = parsed.isna() & raw.notna()
    if bad.any():  # only the unparsed cells are looked at as text (blank text is missing)
        bad &= raw.astype(object).map(lambda v: str(v).strip() != "")
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy(dtype=np.bool_))[0])
        raise ValidationError(
            "actions.bad_table_date",
            what=what,
            row=first + 2,
            column=column,
            value=str(raw.iloc[first]),
        )
    return parsed.dt.normalize()


def _anniversaries(
    joined: pd.Series, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[npt.NDArray[np.int64], list[pd.Timestamp], npt.NDArray[np.int64]]:
    """(row positions, anniversary dates, years) of every anniversary in [start, end]."""
    ok = joined.notna().to_numpy()
    years_j = joined.dt.year.to_numpy(dtype=np.float64)
    months = joined.dt.month.to_numpy(dtype=np.float64)
    days = joined.dt.day.to_numpy(dtype=np.float64)
    pos_out: list[npt.NDArray[np.int64]] = []
    dates_out: list[pd.Series] = []
    years_out: list[npt.NDArray[np.int64]] = []
    for year in range(start.year, end.year + 1):  # a loop over calendar years, not customers
        n_years = year - years_j
        take = ok & (n_years >= 1)
        if not take.any():
            continue
        idx = np.flatnonzero(take)
        leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
        d = days[idx].copy()
        if not leap:
            d[(months[idx] == 2) & (d == 29)] = 28
        when = pd.to_datetime(
            pd.DataFrame({"year": year, "month": months[idx].astype(int), "day": d.astype(int)})
        )
        inside = ((when >= start) & (when <= end)).to_numpy()
        pos_out.append(idx[inside].astype(np.int64))
        dates_out.append(when[inside])
        years_out.append(n_years[idx][inside].astype(np.int64))
    if not pos_out:
        return (np.array([], dtype=np.int64), [], np.array([], dtype=np.int64))
    return (
        np.concatenate(pos_out),
        list(pd.concat(dates_out, ignore_index=True)),
        np.concatenate(years_out),
    )


def care_calendar(
    customers: pd.DataFrame,
    /,
    *,
    start: date,
    end: date,
    purchases: pd.DataFrame | None = None,
    price_changes: pd.DataFrame | None = None,
    end_of_life: Mapping[str, date] | None = None,
    rules: CareRules | None = None,
    owner: str | None = None,
    product: str = "main_product",
) -> CareResult:
    """The customer-care contacts due between ``start`` and ``end`` (inclusive), per owner.

    ``customers`` needs ``customer_id``; it may hold ``join_date`` (anniversaries),
    ``birth_date``, ``lang``, the ``owner`` column (default ``owner``; customers without
    one are ``unassigned``), ``product`` (default ``main_product``, for end of life) and
    ``churn_month`` or ``left_on``. ``purchases`` has ``customer_id`` and ``date`` (or
    ``month``: monthly data dates a purchase to the month's first day); an activity table
    with an ``additions`` column counts only the months in which products were added;
    ``price_changes`` ``customer_id``, ``effective_date`` and optionally
    ``product`` and ``change_pct``. ``end_of_life`` maps products to their end-of-life date.
    """
    rules = rules or CareRules()
    if end < start:
        raise ValidationError("actions.bad_range", start=str(start), end=str(end))
    if "customer_id" not in customers.columns:
        raise ColumnNotFoundError(["customer_id"], [str(c) for c in customers.columns])
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    cust = customers.reset_index(drop=True)
    ids = cust["customer_id"].astype(str)
    owner_col = owner or "owner"
    if owner is not None and owner not in cust.columns:
        raise ColumnNotFoundError([owner], [str(c) for c in cust.columns])
    owners = (
        cust[owner_col].astype(str).where(cust[owner_col].notna(), UNASSIGNED)
        if owner_col in cust.columns
        else pd.Series(UNASSIGNED, index=cust.index)
    )
    langs = (
        cust["lang"].astype(str).where(cust["lang"].notna(), "zh")
        if "lang" in cust.columns
        else pd.Series("zh", index=cust.index)
    )
    left_col = next((c for c in ("left_on", "churn_month") if c in cust.columns), None)
    left = (
        _date_column(cust, left_col, what="customers")
        if left_col
        else pd.Series(pd.NaT, index=cust.index)
    )
    position = pd.Series(np.arange(len(cust)), index=pd.Index(ids))
    position = position[~position.index.duplicated()]

    parts: list[pd.DataFrame] = []

    def emit(kind: str, pos: npt.NDArray[np.int64], event: Any, due: Any, detail: Any) -> None:
        frame = pd.DataFrame(
            {
                "pos": pos,
                "kind": kind,
                "event_date": pd.to_datetime(pd.Series(event)).to_numpy(),
                "due_date": pd.to_datetime(pd.Series(due)).to_numpy(),
                "detail": pd.Series(detail, dtype=object).astype(str).to_numpy(),
            }
        )
        frame = frame[(frame["due_date"] >= lo) & (frame["due_date"] <= hi)]
        parts.append(frame)

    def positions(frame: pd.DataFrame, what: str) -> npt.NDArray[np.int64]:
        if "customer_id" not in frame.columns:
            raise ColumnNotFoundError(["customer_id"], [str(c) for c in frame.columns])
        pos = position.reindex(frame["customer_id"].astype(str)).to_numpy(dtype=np.float64)
        unknown = int(np.isnan(pos).sum())
        if unknown:
            warnings.append(Message("actions.unknown_customers", {"what": what, "n": unknown}))
        return pos

    warnings: list[Message] = []
    if "callback" in rules.kinds and purchases is not None and len(purchases):
        col = "date" if "date" in purchases.columns else "month"
        if col not in purchases.columns:
            raise ColumnNotFoundError(["date"], [str(c) for c in purchases.columns])
        if "additions" in purchases.columns:  # an activity table: months with new products
            purchases = purchases[pd.to_numeric(purchases["additions"], errors="coerce") > 0]
        when = _date_column(purchases, col, what="purchases")
        pos = positions(purchases, "purchases")
        keep = np.isfinite(pos) & when.notna().to_numpy()
        due = when[keep] + pd.Timedelta(days=rules.callback_days)
        emit("callback", pos[keep].astype(np.int64), when[keep], due, [""] * int(keep.sum()))
    if "anniversary" in rules.kinds and "join_date" in cust.columns:
        joined = _date_column(cust, "join_date", what="customers")
        lead = pd.Timedelta(days=rules.anniversary_lead_days)
        pos, dates, years = _anniversaries(joined, lo + lead, hi + lead)
        emit("anniversary", pos, dates, pd.Series(dates, dtype="datetime64[ns]") - lead, years)
    if "birthday" in rules.kinds and "birth_date" in cust.columns:
        born = _date_column(cust, "birth_date", what="customers")
        lead = pd.Timedelta(days=rules.birthday_lead_days)
        pos, dates, years = _anniversaries(born, lo + lead, hi + lead)
        emit("birthday", pos, dates, pd.Series(dates, dtype="datetime64[ns]") - lead, years)
    if "end_of_life" in rules.kinds and end_of_life:
        if product not in cust.columns:
            raise ColumnNotFoundError([product], [str(c) for c in cust.columns])
        held = cust[product].astype(str)
        for code, eol in end_of_life.items():  # a loop over products, not customers
            eol_at = pd.Timestamp(eol)
            pos = np.flatnonzero(held.to_numpy() == str(code)).astype(np.int64)
            eol_due = eol_at - pd.Timedelta(days=rules.eol_lead_days)
            emit(
                "end_of_life",
                pos,
                [eol_at] * pos.size,
                [eol_due] * pos.size,
                [f"{code} {eol_at.date().isoformat()}"] * pos.size,
            )
    if "price_notice" in rules.kinds and price_changes is not None and len(price_changes):
        if "effective_date" not in price_changes.columns:
            raise ColumnNotFoundError(["effective_date"], [str(c) for c in price_changes.columns])
        when = _date_column(price_changes, "effective_date", what="price_changes")
        pos = positions(price_changes, "price_changes")
        keep = np.isfinite(pos) & when.notna().to_numpy()
        pct = (
            pd.to_numeric(price_changes["change_pct"], errors="coerce").to_numpy()
            if "change_pct" in price_changes.columns
            else np.full(len(price_changes), np.nan)
        )
        prod = (
            price_changes["product"].astype(str).to_numpy()
            if "product" in price_changes.columns
            else np.full(len(price_changes), "")
        )
        detail = [
            (f"{p} " if p else "") + (f"{100 * c:+.0f}%" if np.isfinite(c) else "")
            for p, c in zip(prod[keep], pct[keep], strict=True)
        ]
        due = when[keep] - pd.Timedelta(days=rules.price_notice_days)
        emit("price_notice", pos[keep].astype(np.int64), when[keep], due, detail)

    if parts:
        found = pd.concat(parts, ignore_index=True)
    else:
        found = pd.DataFrame(
            {
                "pos": np.array([], dtype=np.int64),
                "kind": [],
                "event_date": pd.Series([], dtype="datetime64[ns]"),
                "due_date": pd.Series([], dtype="datetime64[ns]"),
                "detail": [],
            }
        )
    pos = found["pos"].to_numpy(dtype=np.int64)
    gone = left.to_numpy()[pos]
    alive = pd.isna(gone) | (found["due_date"].to_numpy() < gone)
    found = found[alive]
    pos = found["pos"].to_numpy(dtype=np.int64)
    due_table = pd.DataFrame(
        {
            "owner": pd.array(owners.iloc[pos].to_numpy(), dtype="str"),
            "due_date": found["due_date"].dt.date.to_numpy(),
            "kind": pd.array(found["kind"].to_numpy(), dtype="str"),
            "customer_id": pd.array(ids.iloc[pos].to_numpy(), dtype="str"),
            "lang": pd.array(langs.iloc[pos].to_numpy(), dtype="str"),
            "event_date": found["event_date"].dt.date.to_numpy(),
            "detail": pd.array(found["detail"].to_numpy(), dtype="str"),
        }
    )
    due_table = due_table.sort_values(
        ["owner", "due_date", "kind", "customer_id"], kind="stable"
    ).reset_index(drop=True)
    kinds = [k for k in rules.kinds if k in CARE_KINDS]
    if len(due_table):
        counts = due_table.groupby(["owner", "kind"]).size().unstack(fill_value=0)
    else:
        counts = pd.DataFrame(index=pd.Index([], name="owner"))
    for kind in kinds:
        if kind not in counts.columns:
            counts[kind] = 0
    by_owner = counts[kinds].astype(np.int64)
    by_owner["n_contacts"] = by_owner.sum(axis=1).astype(np.int64)
    by_owner = by_owner.reset_index()
    by_owner.columns = ["owner", *kinds, "n_contacts"]
    by_owner["owner"] = by_owner["owner"].astype("str")
    by_owner = by_owner.sort_values(["n_contacts", "owner"], ascending=[False, True], kind="stable")
    return CareResult(
        due=due_table,
        by_owner=by_owner.reset_index(drop=True),
        start=start,
        end=end,
        rules=rules,
        warnings=tuple(warnings),
    )
