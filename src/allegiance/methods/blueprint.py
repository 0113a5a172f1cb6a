"""Service blueprint reliability: a process of sequential steps that must all succeed.

SPEC section 6. A service process (a broadband installation, a loan application, a hotel
check-in) is a chain of steps; the customer is served right only when every step succeeds.
With independent steps of success probability ``p_i`` the whole process succeeds with

    R = p_1 · p_2 · … · p_k        (so R ≤ min p_i)

The material's example: ten steps 0.99, 0.98, 0.90, 0.98, 0.98, 0.99, 0.95, 0.99, 0.99, 0.99
give R = 0.765; raising the weakest step (0.90 → 0.96) gives 0.816, +0.051 absolute,
+6.67 % relative (tests/golden/blueprint/README.md).

What :func:`blueprint` computes:

- **steps**: per step its ``p`` (given, or estimated as successes / attempts), the interval of
  an estimated ``p`` (Wilson 1927 score interval, or Jeffreys: the 2.5 % and 97.5 % quantiles
  of Beta(s + ½, n − s + ½), with the lower bound 0 when s = 0 and the upper bound 1 when
  s = n, Brown, Cai & DasGupta 2001), and
  ``failure_share``: the share of failed processes that fail at this step. A process stops at
  its first failure, so it fails at step i with probability ``p_1 ⋯ p_(i-1) (1 − p_i)``; these
  add up to ``1 − R``.
- **gain if fixed**: the overall reliability when this step alone is raised to a target,
  ``R_i' = R · t_i / p_i``, its gain ``R_i' − R`` and relative gain ``t_i / p_i − 1``. The target
  ``t_i`` is, by ``target=``: ``"best"`` (default) the best step's ``p``; a number (every step
  below it raised to it); or, with ``delta=``, ``min(1, p_i + Δ)``. With a common target the
  gain ``R (t − p_i) / p_i`` is largest for the lowest ``p_i``; with +Δ the gain ``R Δ / p_i``
  too, but the ranking says by how much. ``fix_rank`` ranks the steps by gain (1 = fix first;
  ties keep the process order).
- **overall**: ``R``, the failure rate ``1 − R`` and, when some step is estimated, an interval
  for ``R``: ``product_interval="delta"`` (default) uses the delta method on the log scale,
  ``Var(log R̂) = Σ (1 − p̂_i) / (n_i p̂_i)`` over the estimated steps, ``R̂ · exp(± z·se)``
  clipped to [0, 1] (where ``p̂_i = 1`` the variance uses ``(s + ½) / (n + 1)`` so a step without
  failures still adds uncertainty); ``"beta"`` draws each estimated step from its Jeffreys
  posterior Beta(s + ½, n − s + ½) ``n_draws`` times (seeded) and takes percentiles of the
  product; it also gives intervals of each step's gain and ``p_first``, the share of draws in
  which the step has the largest gain (how sure "fix this first" is).
- **what-if** (``improve={step: p}``): the overall reliability with the given steps changed,
  its gain (absolute and relative); steps set this way count as known in the interval.

>>> result = blueprint([0.99, 0.98, 0.90, 0.98, 0.98, 0.99, 0.95, 0.99, 0.99, 0.99],
...                    improve={3: 0.96})
>>> round(result.reliability, 3), round(result.improved, 3), round(result.gain, 3)
(0.765, 0.816, 0.051)
>>> round(100 * result.gain_relative, 2)
6.67
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from allegiance.errors import ColumnNotFoundError, ValidationError
from allegiance.i18n import Message
from allegiance.methods.intervals import wilson_interval, z_value
from allegiance.results import plain, records

__all__ = [
    "INTERVALS",
    "PRODUCT_INTERVALS",
    "BlueprintResult",
    "ProcessStep",
    "blueprint",
    "failure_shares",
    "jeffreys_interval",
    "steps_from_frame",
]

FloatArray = npt.NDArray[np.float64]
Interval = Literal["wilson", "jeffreys"]
ProductInterval = Literal["delta", "beta"]
INTERVALS: tuple[str, ...] = ("wilson", "jeffreys")
PRODUCT_INTERVALS: tuple[str, ...] = ("delta", "beta")


@dataclass(frozen=True)
class ProcessStep:
    """One step: a name (and its Chinese and English names) and either ``p`` or counts."""

    name: str
    p: float | None = None
    successes: int | None = None
    attempts: int | None = None
    name_zh: str | None = None
    name_en: str | None = None

    @property
    def estimated(self) -> bool:
        return self.attempts is not None


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class BlueprintResult:
    """Reliability of a process of sequential steps, per step and overall, with a what-if.

    ``steps`` columns: ``step | name | [name_zh | name_en] | p | successes | attempts |
    estimated | ci_low | ci_high | failure_share | target_p | overall_if_fixed |
    gain_if_fixed | gain_relative_if_fixed | fix_rank`` and, with ``product_interval="beta"``
    and an estimated step, ``gain_ci_low | gain_ci_high | p_first``.

    ``overall`` (one row): ``n_steps | reliability | failure_rate | ci_low | ci_high |
    weakest_step | weakest_p | fix_first``.

    ``whatif`` (one row, when ``improve`` was given): ``overall_before | overall_after | gain |
    gain_relative | ci_low | ci_high``; ``whatif_steps``: ``step | name | [name_zh | name_en] |
    p_before | p_after``.
    """

    steps: pd.DataFrame
    overall: pd.DataFrame
    whatif: pd.DataFrame | None = None
    whatif_steps: pd.DataFrame | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[Message, ...] = ()
    method: ClassVar[str] = "blueprint"

    @property
    def reliability(self) -> float:
        """The overall reliability R (product of the steps' p)."""
        return float(self.overall["reliability"].iloc[0])

    @property
    def improved(self) -> float | None:
        """R after the what-if changes (``None`` without ``improve``)."""
        return None if self.whatif is None else float(self.whatif["overall_after"].iloc[0])

    @property
    def gain(self) -> float | None:
        """Absolute gain of the what-if."""
        return None if self.whatif is None else float(self.whatif["gain"].iloc[0])

    @property
    def gain_relative(self) -> float | None:
        """Relative gain of the what-if (0.0667 = +6.67 %); ``None`` when R = 0."""
        if self.whatif is None:
            return None
        value = float(self.whatif["gain_relative"].iloc[0])
        return None if math.isnan(value) else value

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"steps": self.steps, "overall": self.overall}
        if self.whatif is not None and self.whatif_steps is not None:
            out["whatif"] = self.whatif
            out["whatif_steps"] = self.whatif_steps
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: headline figures, settings and every table as records."""
        out: dict[str, Any] = {
            "method": self.method,
            "reliability": self.reliability,
            "failure_rate": 1.0 - self.reliability,
            "ci_low": plain(self.overall["ci_low"].iloc[0]),
            "ci_high": plain(self.overall["ci_high"].iloc[0]),
            "settings": plain(dict(self.settings)),
        }
        if self.whatif is not None and self.whatif_steps is not None:
            row = self.whatif.iloc[0]
            out["whatif"] = {
                "overall_before": plain(row["overall_before"]),
                "overall_after": plain(row["overall_after"]),
                "gain": plain(row["gain"]),
                "gain_relative": plain(row["gain_relative"]),
                "ci_low": plain(row["ci_low"]),
                "ci_high": plain(row["ci_high"]),
                "changes": records(self.whatif_steps),
            }
        out["tables"] = {name: records(frame) for name, frame in self.tables().items()}
        return out


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            return math.nan
    try:
        f = float(value)
    except (TypeError, ValueError):
        return math.nan
    return None if math.isnan(f) else f


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    text = str(value).strip()
    return text or None


def _fail(kind: str, at: tuple[str, int], **params: Any) -> ValidationError:
    """An error about one step: ``at`` is ``("step", 3)`` (the 3rd step given) or
    ``("row", 4)`` (row 4 of a table); the message key says which."""
    suffix = "_row" if at[0] == "row" else ""
    return ValidationError(f"blueprint.{kind}{suffix}", **{at[0]: at[1]}, **params)


def _check_step(step: ProcessStep, at: tuple[str, int]) -> ProcessStep:
    """Validate one step; ``at`` names it in messages (the 3rd step, row 4 of a table)."""
    if step.p is not None and step.attempts is not None:
        raise _fail(
            "p_and_counts",
            at,
        )
    if step.p is None and step.attempts is None:
        raise _fail(
            "no_value",
            at,
        )
    if step.p is not None:
        if not (math.isfinite(step.p) and 0.0 <= step.p <= 1.0):
            raise _fail("bad_p", at, value=_show(step.p))
        return step
    s, n = step.successes, step.attempts
    ok = (
        s is not None
        and n is not None
        and float(s).is_integer()
        and float(n).is_integer()
        and 0 <= s <= n
        and n >= 1
    )
    if not ok:
        raise _fail(
            "bad_counts",
            at,
            successes=_show(s),
            attempts=_show(n),
        )
    return step


def _show(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_step(item: Any, k: int) -> ProcessStep:
    at = ("step", k + 1)
    if isinstance(item, ProcessStep):
        return _check_step(item, at)
    if isinstance(item, Mapping):
        name = _text(item.get("name") or item.get("step")) or str(k + 1)
        p = _number(item.get("p"))
        s = _number(item.get("successes"))
        n = _number(item.get("attempts"))
        if p is not None and math.isnan(p):
            raise _fail("bad_p", at, value=str(item.get("p")))
        counts = s is not None or n is not None
        step = ProcessStep(
            name=name,
            p=p,
            successes=None if s is None or math.isnan(s) or not s.is_integer() else int(s),
            attempts=None if n is None or math.isnan(n) or not n.is_integer() else int(n),
            name_zh=_text(item.get("name_zh")),
            name_en=_text(item.get("name_en")),
        )
        if counts and (step.successes is None or step.attempts is None):
            raise _fail(
                "bad_counts",
                at,
                successes=str(item.get("successes")),
                attempts=str(item.get("attempts")),
            )
        return _check_step(step, at)
    if isinstance(item, tuple) and len(item) == 2:
        s, n = item
        ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (s, n))
        if not ok:
            raise _fail("bad_counts", at, successes=str(s), attempts=str(n))
        return _check_step(ProcessStep(name=str(k + 1), successes=int(s), attempts=int(n)), at)
    p = _number(item)
    if p is None or math.isnan(p):
        raise _fail("bad_p", at, value=str(item))
    return _check_step(ProcessStep(name=str(k + 1), p=p), at)


STEP_COLUMNS: tuple[str, ...] = ("step", "name", "name_zh", "name_en", "p", "successes", "attempts")


def steps_from_frame(frame: pd.DataFrame, /, *, header_row: int = 1) -> list[ProcessStep]:
    """Steps from a table, one row per step in process order.

    Columns: ``step`` or ``name`` (the step's name; else its row number), optional ``name_zh``
    and ``name_en``, and per row either ``p`` or ``successes`` and ``attempts``. A bad row
    raises :class:`ValidationError` naming the row (counted as in a spreadsheet, with
    ``header_row`` holding the names) and the column.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError("blueprint.not_a_frame", kind=type(frame).__name__)
    cols = {str(c).strip().lower(): c for c in frame.columns}
    has_p = "p" in cols
    has_counts = "successes" in cols or "attempts" in cols
    if not has_p and not has_counts:
        raise ColumnNotFoundError(["p"], [str(c) for c in frame.columns])
    if has_counts and not ("successes" in cols and "attempts" in cols):
        missing = "attempts" if "successes" in cols else "successes"
        raise ColumnNotFoundError([missing], [str(c) for c in frame.columns])
    out: list[ProcessStep] = []
    for i, row in enumerate(frame.itertuples(index=False)):
        values = dict(zip([str(c).strip().lower() for c in frame.columns], row, strict=True))
        where_row = header_row + 1 + i
        name = _text(values.get("step")) or _text(values.get("name")) or str(i + 1)
        p = _number(values.get("p")) if has_p else None
        s = _number(values.get("successes")) if has_counts else None
        n = _number(values.get("attempts")) if has_counts else None
        for column, value in (("p", p), ("successes", s), ("attempts", n)):
            if value is not None and math.isnan(value):
                raise ValidationError(
                    "blueprint.bad_cell",
                    row=where_row,
                    column=column,
                    value=str(values.get(column)),
                )
        if (s is None) != (n is None):
            column = "successes" if s is None else "attempts"
            raise ValidationError("blueprint.bad_cell", row=where_row, column=column, value="")
        if p is not None and s is not None:
            raise _fail("p_and_counts", ("row", where_row))
        if p is None and s is None:
            raise _fail("no_value", ("row", where_row))
        if s is not None and n is not None and not (s.is_integer() and n.is_integer()):
            column = "successes" if not s.is_integer() else "attempts"
            value = s if column == "successes" else n
            raise ValidationError(
                "blueprint.bad_cell", row=where_row, column=column, value=_show(value)
            )
        step = ProcessStep(
            name=name,
            p=p,
            successes=None if s is None else int(s),
            attempts=None if n is None else int(n),
            name_zh=_text(values.get("name_zh")),
            name_en=_text(values.get("name_en")),
        )
        out.append(_check_step(step, ("row", where_row)))
    return out


def jeffreys_interval(
    successes: npt.ArrayLike, attempts: npt.ArrayLike, /, *, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Jeffreys interval: quantiles of Beta(s + ½, n − s + ½); 0 when s = 0, 1 when s = n.

    >>> low, high = jeffreys_interval([8], [10])
    >>> round(float(low[0]), 4), round(float(high[0]), 4)
    (0.4972, 0.9559)
    """
    from scipy import stats

    z_value(confidence)  # validates the level
    s = np.asarray(successes, dtype=np.float64)
    n = np.asarray(attempts, dtype=np.float64)
    alpha = 1.0 - confidence
    low = np.asarray(stats.beta.ppf(alpha / 2.0, s + 0.5, n - s + 0.5), dtype=np.float64)
    high = np.asarray(stats.beta.ppf(1.0 - alpha / 2.0, s + 0.5, n - s + 0.5), dtype=np.float64)
    low = np.where(s <= 0, 0.0, low)
    high = np.where(s >= n, 1.0, high)
    return low, high


def failure_shares(p: npt.ArrayLike, /) -> FloatArray:
    """Share of failed processes that fail first at each step: ``p_1⋯p_(i-1)(1 − p_i) / (1 − R)``.

    NaN everywhere when the process never fails (R = 1).

    >>> [round(float(v), 3) for v in failure_shares([0.9, 0.5])]
    [0.182, 0.818]
    """
    arr = np.asarray(p, dtype=np.float64)
    before = np.concatenate(([1.0], np.cumprod(arr)[:-1]))
    first = before * (1.0 - arr)
    total = 1.0 - float(np.prod(arr))
    if total <= 0:
        return np.full(arr.shape, np.nan)
    out: FloatArray = first / total
    return out


# --------------------------------------------------------------------------------------------
# The analysis
# --------------------------------------------------------------------------------------------


def _resolve_step(key: Any, steps: Sequence[ProcessStep]) -> int:
    """0-based index of ``key``: a 1-based step number or a step name (any language)."""
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        if 1 <= int(key) <= len(steps):
            return int(key) - 1
    else:
        text = str(key).strip()
        for i, s in enumerate(steps):
            if text in {s.name, s.name_zh, s.name_en}:
                return i
        if text.isdigit() and 1 <= int(text) <= len(steps):
            return int(text) - 1
        lowered = text.casefold()
        for i, s in enumerate(steps):
            if lowered in {(v or "").casefold() for v in (s.name, s.name_zh, s.name_en)}:
                return i
    names = ", ".join(f"{i + 1}={s.name}" for i, s in enumerate(steps))
    raise ValidationError("blueprint.unknown_step", step=str(key), available=names)


def _check_probability(value: Any, what: str) -> float:
    f = _number(value)
    if f is None or math.isnan(f) or not 0.0 <= f <= 1.0:
        raise ValidationError("blueprint.bad_probability", what=what, value=str(value))
    return f


def _log_se(p: FloatArray, s: FloatArray, n: FloatArray, estimated: npt.NDArray[np.bool_]) -> float:
    """Delta-method standard error of log R over the estimated steps."""
    smooth = np.where(p >= 1.0, (s + 0.5) / (n + 1.0), p)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(estimated, (1.0 - smooth) / (np.where(n > 0, n, 1.0) * smooth), 0.0)
    return float(math.sqrt(float(np.sum(var))))


def _delta_interval(r: float, se: float, z: float) -> tuple[float, float]:
    if r <= 0:
        return (math.nan, math.nan)
    return (max(0.0, r * math.exp(-z * se)), min(1.0, r * math.exp(z * se)))


def _draws(
    p: FloatArray,
    s: FloatArray,
    n: FloatArray,
    estimated: npt.NDArray[np.bool_],
    *,
    n_draws: int,
    seed: int,
) -> FloatArray:
    """(n_draws, k) matrix: Jeffreys posterior draws for estimated steps, p for known ones."""
    rng = np.random.default_rng(seed)
    out = np.tile(p, (n_draws, 1))
    idx = np.flatnonzero(estimated)
    if idx.size:
        a = s[idx] + 0.5
        b = n[idx] - s[idx] + 0.5
        out[:, idx] = rng.beta(a, b, size=(n_draws, idx.size))
    return out


def blueprint(
    steps: Sequence[Any] | pd.DataFrame,
    /,
    *,
    improve: Mapping[Any, Any] | None = None,
    target: float | str = "best",
    delta: float | None = None,
    interval: str = "wilson",
    product_interval: str = "delta",
    confidence: float = 0.95,
    n_draws: int = 10_000,
    seed: int = 0,
) -> BlueprintResult:
    """Overall reliability of a process of sequential steps, what to fix first, and what-ifs.

    ``steps`` is a sequence of probabilities, ``(successes, attempts)`` pairs, mappings
    (``name``, ``name_zh``, ``name_en``, ``p`` or ``successes``/``attempts``) or
    :class:`ProcessStep`, or a frame (see :func:`steps_from_frame`). ``improve`` maps steps
    (1-based numbers or names) to new probabilities. ``target`` (``"best"`` or a probability)
    or ``delta`` sets how each step is improved for the ranking. See the module documentation.
    """
    if interval not in INTERVALS:
        raise ValidationError(
            "blueprint.bad_option",
            what="interval",
            value=str(interval),
            allowed=", ".join(INTERVALS),
        )
    if product_interval not in PRODUCT_INTERVALS:
        raise ValidationError(
            "blueprint.bad_option",
            what="product_interval",
            value=str(product_interval),
            allowed=", ".join(PRODUCT_INTERVALS),
        )
    z = z_value(confidence)
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 100:
        raise ValidationError("blueprint.bad_draws", value=str(n_draws))
    if isinstance(steps, pd.DataFrame):
        parsed = steps_from_frame(steps)
    elif isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence):
        raise ValidationError("blueprint.not_a_frame", kind=type(steps).__name__)
    else:
        parsed = [_as_step(item, k) for k, item in enumerate(steps)]
    if not parsed:
        raise ValidationError("blueprint.no_steps")
    names = [s.name for s in parsed]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValidationError("blueprint.duplicate_step", step=dup)

    k = len(parsed)
    estimated = np.array([s.estimated for s in parsed], dtype=np.bool_)
    succ = np.array([np.nan if s.successes is None else s.successes for s in parsed], dtype=float)
    att = np.array([np.nan if s.attempts is None else s.attempts for s in parsed], dtype=float)
    p = np.array(
        [
            float(s.p) if s.p is not None else float(s.successes or 0) / float(s.attempts or 1)
            for s in parsed
        ],
        dtype=np.float64,
    )
    warnings: list[Message] = []

    # per-step intervals
    ci_low = np.full(k, np.nan)
    ci_high = np.full(k, np.nan)
    if estimated.any():
        idx = np.flatnonzero(estimated)
        if interval == "jeffreys":
            lo, hi = jeffreys_interval(succ[idx], att[idx], confidence=confidence)
        else:
            ci = wilson_interval(p[idx], att[idx], confidence=confidence)
            lo, hi = ci.low, ci.high
        ci_low[idx] = lo
        ci_high[idx] = hi
        small = [parsed[i].name for i in idx if att[i] < 30]
        if small:
            warnings.append(Message("blueprint.few_attempts", {"steps": ", ".join(small)}))

    r = float(np.prod(p))
    shares = failure_shares(p)

    # ranking target
    if delta is not None:
        d = _number(delta)
        if d is None or math.isnan(d) or not 0.0 < d <= 1.0:
            raise ValidationError("blueprint.bad_probability", what="delta", value=str(delta))
        targets = np.minimum(1.0, p + d)
        target_desc: Any = {"delta": d}
    elif isinstance(target, str) and target.strip().lower() == "best":
        targets = np.full(k, float(p.max()))
        target_desc = "best"
    else:
        t_value = _check_probability(target, "target")
        targets = np.full(k, t_value)
        target_desc = t_value
    targets = np.maximum(targets, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(p > 0, targets / np.where(p > 0, p, 1.0), np.nan)
        others = np.array([float(np.prod(np.delete(p, i))) for i in range(k)])
    # R·(t/p − 1) is exactly 0 for a step already at its target; others·t where p = 0
    gain = np.where(p > 0, r * (np.where(np.isfinite(ratio), ratio, 1.0) - 1.0), others * targets)
    if_fixed = r + gain
    gain_rel = np.where(np.isfinite(ratio), ratio - 1.0, np.nan)
    order = np.lexsort((np.arange(k), -gain))
    fix_rank = np.empty(k, dtype=np.int64)
    fix_rank[order] = np.arange(1, k + 1)

    # overall interval
    overall_low = overall_high = math.nan
    gain_low = gain_high = p_first = None
    use_beta = product_interval == "beta"
    if estimated.any():
        if not use_beta and r <= 0:
            warnings.append(Message("blueprint.delta_fallback"))
            use_beta = True
        if use_beta:
            draws = _draws(p, succ, att, estimated, n_draws=int(n_draws), seed=int(seed))
            total = np.prod(draws, axis=1)
            alpha = 1.0 - confidence
            overall_low, overall_high = (
                float(v) for v in np.quantile(total, [alpha / 2.0, 1.0 - alpha / 2.0])
            )
            with np.errstate(divide="ignore", invalid="ignore"):
                t_draw = np.maximum(targets[None, :], draws)
                g = total[:, None] * (t_draw / np.where(draws > 0, draws, np.nan) - 1.0)
            g = np.where(np.isfinite(g), g, 0.0)
            gain_low = np.quantile(g, alpha / 2.0, axis=0)
            gain_high = np.quantile(g, 1.0 - alpha / 2.0, axis=0)
            best = np.argmax(g, axis=1)
            p_first = np.bincount(best, minlength=k) / float(len(best))
        else:
            se = _log_se(p, succ, att, estimated)
            overall_low, overall_high = _delta_interval(r, se, z)

    table: dict[str, Any] = {
        "step": np.arange(1, k + 1, dtype=np.int64),
        "name": pd.array(names, dtype="str"),
    }
    if any(s.name_zh for s in parsed):
        table["name_zh"] = pd.array([s.name_zh for s in parsed], dtype="str")
    if any(s.name_en for s in parsed):
        table["name_en"] = pd.array([s.name_en for s in parsed], dtype="str")
    table.update(
        {
            "p": p,
            "successes": pd.array([s.successes for s in parsed], dtype="Int64"),
            "attempts": pd.array([s.attempts for s in parsed], dtype="Int64"),
            "estimated": estimated,
            "ci_low": ci_low,
            "ci_high": ci_high,
            "failure_share": shares,
            "target_p": targets,
            "overall_if_fixed": if_fixed,
            "gain_if_fixed": gain,
            "gain_relative_if_fixed": gain_rel,
            "fix_rank": fix_rank,
        }
    )
    if gain_low is not None and gain_high is not None and p_first is not None:
        table["gain_ci_low"] = gain_low
        table["gain_ci_high"] = gain_high
        table["p_first"] = p_first
    weakest = int(np.argmin(p))
    first = int(order[0])
    overall = pd.DataFrame(
        {
            "n_steps": [k],
            "reliability": [r],
            "failure_rate": [1.0 - r],
            "ci_low": [overall_low],
            "ci_high": [overall_high],
            "weakest_step": pd.array([names[weakest]], dtype="str"),
            "weakest_p": [float(p[weakest])],
            "fix_first": pd.array([names[first]], dtype="str"),
        }
    )

    whatif = whatif_steps = None
    if improve:
        new_p = p.copy()
        known = estimated.copy()
        changed: list[int] = []
        for key, value in improve.items():
            i = _resolve_step(key, parsed)
            new_p[i] = _check_probability(value, f"--improve {key}")
            known[i] = False
            changed.append(i)
        after = float(np.prod(new_p))
        w_low = w_high = math.nan
        if known.any():
            if use_beta:
                draws = _draws(new_p, succ, att, known, n_draws=int(n_draws), seed=int(seed))
                total = np.prod(draws, axis=1)
                alpha = 1.0 - confidence
                w_low, w_high = (
                    float(v) for v in np.quantile(total, [alpha / 2.0, 1.0 - alpha / 2.0])
                )
            else:
                w_low, w_high = _delta_interval(after, _log_se(new_p, succ, att, known), z)
        whatif = pd.DataFrame(
            {
                "overall_before": [r],
                "overall_after": [after],
                "gain": [after - r],
                "gain_relative": [after / r - 1.0 if r > 0 else math.nan],
                "ci_low": [w_low],
                "ci_high": [w_high],
            }
        )
        changes: dict[str, Any] = {
            "step": np.array([i + 1 for i in changed], dtype=np.int64),
            "name": pd.array([names[i] for i in changed], dtype="str"),
        }
        for column in ("name_zh", "name_en"):
            if column in table:
                changes[column] = pd.array([table[column][i] for i in changed], dtype="str")
        changes["p_before"] = p[changed]
        changes["p_after"] = new_p[changed]
        whatif_steps = pd.DataFrame(changes)
        lowered = [names[i] for i in changed if new_p[i] < p[i]]
        if lowered:
            warnings.append(Message("blueprint.whatif_lower", {"steps": ", ".join(lowered)}))

    settings: dict[str, Any] = {
        "target": target_desc,
        "interval": interval,
        "product_interval": "beta" if use_beta else "delta",
        "confidence": float(confidence),
    }
    if use_beta and estimated.any():
        settings.update(n_draws=int(n_draws), seed=int(seed))
    return BlueprintResult(
        steps=pd.DataFrame(table),
        overall=overall,
        whatif=whatif,
        whatif_steps=whatif_steps,
        settings=settings,
        warnings=tuple(warnings),
    )
