"""Loyalty by steps (台阶分析法, SPEC section 4): every customer sits on a level; events move it.

The rules are data (a YAML file; the shipped default is
``templates/loyalty/steps_default.yaml``). Each month the engine measures, for every customer
at once, a fixed catalogue of values (:data:`MEASURES`: month-over-month change of business,
cancellations, new products, tenure, the competitor's share of volume, the share of services
lost …), evaluates every rule's conditions on them, and moves the level:

- rules apply in file order; within a ``group`` only the first rule that fires applies (so the
  most severe reading of one event is listed first and the milder ones are not added to it);
- ``move: n`` adds ``n`` levels (negative: down) and the result is kept within the level
  bounds; ``set: k`` puts the customer on level ``k``;
- every rule that fires is recorded (customer, month, rule, the measured values, the level
  before and after it), also when the level was already at its bound (then ``new == old``).

One month is one Ibis expression over all customers (the stored state joined to the month's
activity); the loop runs over months only. The state (customer, level, the last months' values)
is written as Parquet after every month, so a later month runs from it alone and gives the
same result as a run over the whole history (:func:`run_steps`).

>>> import pandas as pd
>>> from allegiance.customers import connect
>>> activity = pd.DataFrame({"customer_id": ["a", "a"], "month": pd.to_datetime(
...     ["2024-01-01", "2024-02-01"]).date, "amount": [100.0, 50.0]})
>>> rules = parse_rules({"levels": {"min": 1, "max": 5, "start": 3}, "rules": [
...     {"name": "fall", "when": ["amount_change < -0.3"], "move": -1}]})
>>> with connect() as eng:
...     moves, state = step_frames(eng, activity, rules=rules)
>>> moves[["customer_id", "rule", "old_level", "new_level", "amount_change"]]
  customer_id  rule  old_level  new_level  amount_change
0           a  fall          3          2           -0.5
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from allegiance.errors import ConfigError, InputError
from allegiance.i18n import Message
from allegiance.results import plain, records

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from allegiance.customers.engine import Engine

__all__ = [
    "ACTIVITY_COLUMNS",
    "DEFAULT_RULES",
    "MEASURES",
    "OPS",
    "Condition",
    "Levels",
    "Rule",
    "StepRules",
    "StepsResult",
    "at_risk",
    "explain",
    "load_rules",
    "parse_rules",
    "read_moves",
    "run_steps",
    "step_frames",
]

DEFAULT_RULES = "steps_default"
"""The shipped rule set (``templates/loyalty/steps_default.yaml``)."""

ACTIVITY_COLUMNS: dict[str, bool] = {
    "customer_id": True,
    "month": True,
    "amount": True,
    "n_purchases": False,
    "products_held": False,
    "additions": False,
    "cancellations": False,
    "competitor_share": False,
}
"""The activity columns read (name → required); missing optional ones count as unknown."""

MEASURES: dict[str, str] = {
    "amount": "business (revenue) in the month",
    "amount_prev": "business in the previous month",
    "amount_change": "amount / amount_prev - 1 (unknown when amount_prev is 0)",
    "purchases": "number of purchases in the month (n_purchases)",
    "purchases_prev": "purchases in the previous month",
    "purchases_change": "purchases / purchases_prev - 1",
    "products_held": "products (services) held at the end of the month",
    "products_prev": "products held at the end of the previous month",
    "services_lost_share": "1 - products_held / products_prev: the share of all services dropped",
    "additions": "products added in the month",
    "cancellations": "products cancelled in the month",
    "period_change": "business of the last W months / business of the W months before - 1",
    "period_change_prev": "period_change one month earlier",
    "competitor_share": "share of the customer's volume served by a competitor (intelligence)",
    "competitor_share_prev": "competitor_share in the previous month",
    "tenure_months": "whole months since the customer joined",
    "tenure_months_prev": "tenure_months - 1",
    "active": "1 while the customer holds a product or has business, else 0",
}
"""The values measured for every customer and month; rule conditions use these names."""

OPS: tuple[str, ...] = ("<", "<=", ">", ">=", "==", "!=", "crosses", "known", "unknown")
"""Condition operators. ``x crosses v``: ``x >= v`` now and ``x_prev < v`` (or unknown) a
month earlier; ``v`` may be a list (any of the bands crossed). Comparisons with an unknown
value are false."""

_CROSSING = {
    "amount": "amount_prev",
    "purchases": "purchases_prev",
    "products_held": "products_prev",
    "period_change": "period_change_prev",
    "competitor_share": "competitor_share_prev",
    "tenure_months": "tenure_months_prev",
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.@-]*$")
_COND = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|==|!=|<|>|crosses|known|unknown)\s*(.*)$"
)


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """``measure op value`` (``value`` is ``None`` for ``known`` / ``unknown``)."""

    measure: str
    op: str
    value: float | tuple[float, ...] | None = None

    def text(self) -> str:
        if self.value is None:
            return f"{self.measure} {self.op}"
        if isinstance(self.value, tuple):
            return f"{self.measure} {self.op} [{', '.join(_num(v) for v in self.value)}]"
        return f"{self.measure} {self.op} {_num(self.value)}"


@dataclass(frozen=True)
class Rule:
    """A business rule: when every condition holds, ``move`` levels (or ``set`` a level)."""

    name: str
    when: tuple[Condition, ...]
    move: int | None = None
    set: int | None = None
    group: str | None = None
    description: Mapping[str, str] = field(default_factory=dict)
    spec: str | None = None

    @property
    def measures(self) -> tuple[str, ...]:
        """The measures its conditions read (in order, no repeats)."""
        return tuple(dict.fromkeys(c.measure for c in self.when))

    def describe(self, lang: str = "en") -> str:
        text = self.description.get(lang) or self.description.get("en")
        return text or " and ".join(c.text() for c in self.when)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "when": [c.text() for c in self.when]}
        if self.move is not None:
            out["move"] = self.move
        if self.set is not None:
            out["set"] = self.set
        if self.group is not None:
            out["group"] = self.group
        if self.description:
            out["description"] = dict(self.description)
        if self.spec:
            out["spec"] = self.spec
        return out


@dataclass(frozen=True)
class Levels:
    """Level bounds and the level a customer starts on."""

    min: int = 1
    max: int = 5
    start: int = 3


@dataclass(frozen=True)
class StepRules:
    """A whole rule set: level bounds, the business window ``window_months`` (W of
    ``period_change``) and the rules in the order they apply."""

    levels: Levels
    rules: tuple[Rule, ...]
    window_months: int = 3
    title: str | None = None
    source: str | None = None

    @property
    def lags(self) -> int:
        """How many past months of business the state keeps (2W)."""
        return 2 * self.window_months

    def rule(self, name: str, /) -> Rule:
        for r in self.rules:
            if r.name == name:
                return r
        raise ConfigError(
            "loyalty.steps.unknown_rule", name=name, rules=", ".join(r.name for r in self.rules)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "levels": {"min": self.levels.min, "max": self.levels.max, "start": self.levels.start},
            "window_months": self.window_months,
            "rules": [r.to_dict() for r in self.rules],
        }

    def fingerprint(self) -> str:
        """A hash of what decides the levels (not titles or descriptions)."""
        core = self.to_dict()
        core.pop("title")
        for r in core["rules"]:
            r.pop("description", None)
            r.pop("spec", None)
        text = json.dumps(core, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _num(value: float) -> str:
    return f"{value:g}"


def _where(source: str | None) -> str:
    return source or "rules"


def _int(value: Any, *, where: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ConfigError("loyalty.steps.not_integer", where=where, what=what, value=repr(value))
    return int(value)


def _float(value: Any, *, where: str) -> float:
    if isinstance(value, bool):
        raise ConfigError("loyalty.steps.bad_value", where=where, value=repr(value))
    try:
        out = float(str(value).strip().rstrip("%")) / (
            100.0 if str(value).strip().endswith("%") else 1.0
        )
    except ValueError:
        raise ConfigError("loyalty.steps.bad_value", where=where, value=repr(value)) from None
    if math.isnan(out):
        raise ConfigError("loyalty.steps.bad_value", where=where, value=repr(value))
    return out


def _condition(spec: Any, *, where: str) -> Condition:
    if isinstance(spec, Mapping):
        measure, op, value = spec.get("measure"), str(spec.get("op", "")), spec.get("value")
    elif isinstance(spec, str):
        m = _COND.match(spec)
        if m is None:
            raise ConfigError("loyalty.steps.bad_condition", where=where, text=spec)
        measure, op, rest = m.group(1), m.group(2), m.group(3).strip()
        if op in ("known", "unknown"):
            if rest:
                raise ConfigError("loyalty.steps.bad_condition", where=where, text=spec)
            value = None
        elif rest.startswith("["):
            try:
                value = yaml.safe_load(rest)
            except yaml.YAMLError:
                raise ConfigError("loyalty.steps.bad_condition", where=where, text=spec) from None
        else:
            value = rest
    else:
        raise ConfigError("loyalty.steps.bad_condition", where=where, text=repr(spec))
    if measure not in MEASURES:
        raise ConfigError(
            "loyalty.steps.unknown_measure",
            where=where,
            measure=str(measure),
            measures=", ".join(MEASURES),
        )
    if op not in OPS:
        raise ConfigError("loyalty.steps.unknown_op", where=where, op=op, ops=", ".join(OPS))
    if op in ("known", "unknown"):
        return Condition(str(measure), op, None)
    if value is None or value == "":
        raise ConfigError("loyalty.steps.bad_condition", where=where, text=f"{measure} {op}")
    if op == "crosses":
        if measure not in _CROSSING:
            raise ConfigError(
                "loyalty.steps.cannot_cross",
                where=where,
                measure=str(measure),
                measures=", ".join(_CROSSING),
            )
        values = value if isinstance(value, list | tuple) else [value]
        if not values:
            raise ConfigError("loyalty.steps.bad_condition", where=where, text=f"{measure} {op} []")
        return Condition(str(measure), op, tuple(_float(v, where=where) for v in values))
    if isinstance(value, list | tuple):
        raise ConfigError("loyalty.steps.list_only_crosses", where=where, op=op)
    return Condition(str(measure), op, _float(value, where=where))


def _rule(spec: Any, *, index: int, source: str | None, levels: Levels) -> Rule:
    where = f"{_where(source)}: rules[{index}]"
    if not isinstance(spec, Mapping):
        raise ConfigError("loyalty.steps.bad_rule", where=where, found=repr(spec)[:80])
    name = str(spec.get("name") or "").strip()
    if not name or not _NAME.match(name):
        raise ConfigError("loyalty.steps.bad_name", where=where, name=repr(spec.get("name")))
    where = f"{_where(source)}: rule '{name}'"
    known = {"name", "when", "move", "set", "group", "description", "spec", "enabled"}
    extra = sorted(set(map(str, spec)) - known)
    if extra:
        raise ConfigError(
            "loyalty.steps.unknown_keys",
            where=where,
            keys=", ".join(extra),
            known=", ".join(sorted(known)),
        )
    when = spec.get("when")
    if isinstance(when, str | Mapping):
        when = [when]
    if not isinstance(when, list) or not when:
        raise ConfigError("loyalty.steps.no_conditions", where=where)
    conditions = tuple(_condition(c, where=where) for c in when)
    has_move, has_set = spec.get("move") is not None, spec.get("set") is not None
    if has_move == has_set:
        raise ConfigError("loyalty.steps.move_or_set", where=where)
    move = _int(spec["move"], where=where, what="move") if has_move else None
    level = _int(spec["set"], where=where, what="set") if has_set else None
    if level is not None and not levels.min <= level <= levels.max:
        raise ConfigError(
            "loyalty.steps.set_out_of_bounds",
            where=where,
            level=level,
            min=levels.min,
            max=levels.max,
        )
    description = spec.get("description") or {}
    if isinstance(description, str):
        description = {"en": description}
    if not isinstance(description, Mapping):
        raise ConfigError("loyalty.steps.bad_description", where=where)
    group = spec.get("group")
    return Rule(
        name=name,
        when=conditions,
        move=move,
        set=level,
        group=str(group) if group is not None else None,
        description={str(k): str(v) for k, v in description.items()},
        spec=str(spec["spec"]) if spec.get("spec") else None,
    )


def _merge(base: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """``extends``: the base file's rules by name, changed by ``remove`` and ``rules``
    (a rule of the same name replaces the base one, key by key; a new name is appended)."""
    out = {k: v for k, v in base.items() if k not in ("rules", "title", "title_zh")}
    for key in ("levels", "window_months", "title", "title_zh"):
        if key in data:
            if key == "levels" and isinstance(data[key], Mapping):
                out[key] = {**(base.get("levels") or {}), **data[key]}
            else:
                out[key] = data[key]
    rules = [dict(r) for r in base.get("rules") or []]
    names = [str(r.get("name")) for r in rules]
    remove = data.get("remove") or []
    if isinstance(remove, str):
        remove = [remove]
    for name in remove:
        if str(name) not in names:
            raise ConfigError("loyalty.steps.unknown_rule", name=str(name), rules=", ".join(names))
    rules = [r for r in rules if str(r.get("name")) not in {str(n) for n in remove}]
    for change in data.get("rules") or []:
        if not isinstance(change, Mapping):
            raise ConfigError("loyalty.steps.bad_rule", where="rules", found=repr(change)[:80])
        hit = [r for r in rules if r.get("name") == change.get("name")]
        if hit:
            hit[0].update(change)
            if "move" in change and change["move"] is not None:
                hit[0].pop("set", None)
            if "set" in change and change["set"] is not None:
                hit[0].pop("move", None)
        else:
            rules.append(dict(change))
    out["rules"] = rules
    return out


def parse_rules(data: Mapping[str, Any] | str, /, *, source: str | None = None) -> StepRules:
    """A rule set from a mapping or YAML text (the format of ``steps_default.yaml``).

    With ``extends: default`` (or a file name) the rules are the base's, with ``remove:``
    (names) taken out and ``rules:`` entries replacing base rules of the same name key by key
    or added at the end; rules with ``enabled: false`` are left out.
    """
    if isinstance(data, str):
        try:
            data = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            raise ConfigError(
                "loyalty.steps.bad_yaml", where=_where(source), error=str(exc)
            ) from None
    if not isinstance(data, Mapping):
        raise ConfigError("loyalty.steps.bad_file", where=_where(source))
    if data.get("extends"):
        base_name = str(data["extends"])
        base_path = _rules_path(DEFAULT_RULES if base_name == "default" else base_name, source)
        base = yaml.safe_load(base_path.read_text(encoding="utf-8"))
        data = _merge(base, data)
    lv = data.get("levels") or {}
    if not isinstance(lv, Mapping):
        raise ConfigError("loyalty.steps.bad_levels", where=_where(source))
    where = f"{_where(source)}: levels"
    levels = Levels(
        min=_int(lv.get("min", 1), where=where, what="min"),
        max=_int(lv.get("max", 5), where=where, what="max"),
        start=_int(lv.get("start", 3), where=where, what="start"),
    )
    if not levels.min <= levels.start <= levels.max or levels.min == levels.max:
        raise ConfigError(
            "loyalty.steps.bad_bounds",
            where=where,
            min=levels.min,
            max=levels.max,
            start=levels.start,
        )
    window = _int(data.get("window_months", 3), where=_where(source), what="window_months")
    if not 1 <= window <= 24:
        raise ConfigError("loyalty.steps.bad_window", where=_where(source), value=window)
    specs = data.get("rules") or []
    if not isinstance(specs, list):
        raise ConfigError("loyalty.steps.bad_rule", where=_where(source), found=repr(specs)[:80])
    rules = tuple(
        _rule(s, index=i, source=source, levels=levels)
        for i, s in enumerate(specs)
        if not (isinstance(s, Mapping) and s.get("enabled") is False)
    )
    seen: set[str] = set()
    for r in rules:
        if r.name in seen:
            raise ConfigError("loyalty.steps.duplicate_rule", where=_where(source), name=r.name)
        seen.add(r.name)
    if not rules:
        raise ConfigError("loyalty.steps.no_rules", where=_where(source))
    title = data.get("title")
    return StepRules(
        levels=levels,
        rules=rules,
        window_months=window,
        title=str(title) if title else None,
        source=source,
    )


def _rules_path(name: str, relative_to: str | None = None) -> Path:
    from allegiance.templates import names, template_path

    path = Path(name).expanduser()
    if not path.is_absolute() and relative_to and not path.exists():
        candidate = Path(relative_to).parent / path
        if candidate.exists():
            path = candidate
    if path.is_file():
        return path
    if name in names("loyalty") or not path.suffix:
        return template_path("loyalty", name)
    raise ConfigError("loyalty.steps.no_file", file=str(path))


def load_rules(path: str | Path | None = None, /) -> StepRules:
    """Read a rules file (or the name of a shipped one; ``None``: the default rules)."""
    p = _rules_path(str(path) if path is not None else DEFAULT_RULES)
    return parse_rules(p.read_text(encoding="utf-8-sig"), source=str(p))


# --------------------------------------------------------------------------------------------
# One month as one Ibis expression
# --------------------------------------------------------------------------------------------


def _lag_names(rules: StepRules) -> list[str]:
    return [f"amount_lag{k}" for k in range(1, rules.lags + 1)]


def _state_schema(rules: StepRules) -> dict[str, str]:
    schema = {
        "customer_id": "string",
        "level": "int16",
        "last_month": "date",
        "join_date": "date",
    }
    schema.update(dict.fromkeys(_lag_names(rules), "float64"))
    schema.update(
        {
            "purchases_lag1": "float64",
            "products_lag1": "float64",
            "competitor_share_lag1": "float64",
        }
    )
    return schema


def _split_months(
    engine: Engine, activity: ir.Table, months: Sequence[dt.date], work: Path
) -> Path:
    """One pass writing the months to process into ``work/months/month=YYYY-MM-DD/`` (Hive
    partitions), so each month is then read alone instead of scanning the whole history."""
    import ibis

    first = ibis.literal(months[0], type="date")
    last = ibis.literal(months[-1], type="date")
    picked = activity.filter((activity.month >= first) & (activity.month <= last))
    picked = picked.mutate(ym=picked.month.year() * 100 + picked.month.month())
    target = work / "months"
    if engine.name == "duckdb":
        engine.con.raw_sql("SET enable_progress_bar = false")
        engine.con.to_parquet(picked, str(target), partition_by="ym")
    else:
        engine.con.to_parquet(picked, str(target), partitionBy="ym", mode="overwrite")
    return target


def _month_rows(
    engine: Engine, activity: ir.Table, month: dt.date, split: Path | None = None
) -> ir.Table:
    """The activity of one month, one row per customer (several rows are added up)."""
    import ibis

    part = split / f"ym={month.year * 100 + month.month}" if split is not None else None
    if part is not None and part.is_dir():
        files = sorted(str(f) for f in part.glob("*.parquet"))
        if engine.name == "duckdb":
            t = engine.con.read_parquet(files, hive_partitioning=False)
        else:
            t = engine.con.read_parquet(str(part))
    elif part is not None:
        t = activity.filter(ibis.literal(False))
    else:
        t = activity.filter(activity.month == ibis.literal(month, type="date"))
    return t.group_by("customer_id").agg(
        amount=t.amount.sum(),
        purchases=t.purchases.sum(),
        products_held=t.products_held.max(),
        additions=t.additions.sum(),
        cancellations=t.cancellations.sum(),
        competitor_share=t.competitor_share.max(),
    )


def _measures(j: ir.Table, rules: StepRules, month: dt.date) -> dict[str, ir.Value]:
    import ibis

    known = j.s_customer_id.notnull()
    amount = j.r_amount.fill_null(0.0)
    purchases = j.r_purchases.cast("float64")
    products = j.r_products_held.cast("float64")
    # a customer in the state with no row this month had no business (0); an unknown column
    # (all null in the activity) stays unknown
    purchases = ibis.ifelse(j.r_customer_id.isnull() & j.purchases_lag1.notnull(), 0.0, purchases)
    products = ibis.ifelse(j.r_customer_id.isnull() & j.products_lag1.notnull(), 0.0, products)
    return _measure_values(
        rules,
        amount=amount,
        amount_prev=ibis.ifelse(known, j.amount_lag1, ibis.null("float64")),
        lags=[j[name] for name in _lag_names(rules)],
        purchases=purchases,
        purchases_prev=j.purchases_lag1,
        products=products,
        products_prev=j.products_lag1,
        additions=j.r_additions.cast("float64"),
        cancellations=j.r_cancellations.cast("float64"),
        competitor_share=j.r_competitor_share.cast("float64"),
        competitor_share_prev=j.competitor_share_lag1,
        month=ibis.literal(month, type="date"),
        join_date=j.join_date,
    )


def _measure_values(
    rules: StepRules,
    *,
    amount: ir.Value,
    amount_prev: ir.Value,
    lags: Sequence[ir.Value],
    purchases: ir.Value,
    purchases_prev: ir.Value,
    products: ir.Value,
    products_prev: ir.Value,
    additions: ir.Value,
    cancellations: ir.Value,
    competitor_share: ir.Value,
    competitor_share_prev: ir.Value,
    month: ir.Value,
    join_date: ir.Value,
) -> dict[str, ir.Value]:
    """Every measure of :data:`MEASURES` from one month's values and the ones before (``lags``:
    business 1 … 2W months back). Both ways of running (month by month, and all months in
    one pass) call this, so they compute every value with the same arithmetic."""
    import ibis

    w = rules.window_months
    seq = [amount, *lags]
    recent = _sum(seq[0:w])
    before = _sum(seq[w : 2 * w])
    recent_prev = _sum(seq[1 : w + 1])
    before_prev = _sum(seq[w + 1 : 2 * w + 1])
    tenure = (month.year() - join_date.year()) * 12 + (month.month() - join_date.month())
    tenure = tenure.cast("float64")
    return {
        "amount": amount,
        "amount_prev": amount_prev,
        "amount_change": _change(amount, amount_prev),
        "purchases": purchases,
        "purchases_prev": purchases_prev,
        "purchases_change": _change(purchases, purchases_prev),
        "products_held": products,
        "products_prev": products_prev,
        "services_lost_share": 1.0 - products / products_prev.nullif(0.0),
        "additions": additions.fill_null(0.0),
        "cancellations": cancellations.fill_null(0.0),
        "period_change": recent / before.nullif(0.0) - 1.0,
        "period_change_prev": recent_prev / before_prev.nullif(0.0) - 1.0,
        "competitor_share": competitor_share,
        "competitor_share_prev": competitor_share_prev,
        "tenure_months": tenure,
        "tenure_months_prev": tenure - 1.0,
        "active": ibis.ifelse((products.fill_null(0.0) > 0) | (amount > 0), 1.0, 0.0),
    }


def _sum(values: Sequence[ir.Value]) -> ir.Value:
    """The sum, unknown when any term is unknown (a window not yet filled)."""
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total


def _change(now: ir.Value, prev: ir.Value) -> ir.Value:
    return now / prev.nullif(0.0) - 1.0


def _test(c: Condition, m: Mapping[str, ir.Value]) -> ir.BooleanValue:
    """The condition as a boolean that may be unknown (``NULL``) where it compares with an
    unknown value; :func:`_fire` turns an unknown rule into false once per rule."""
    import ibis

    x = m[c.measure]
    if c.op == "known":
        return x.notnull()
    if c.op == "unknown":
        return x.isnull()
    if c.op == "crosses":
        prev = m[_CROSSING[c.measure]]
        assert isinstance(c.value, tuple)
        hits = [(x >= v) & ~(prev >= v).fill_null(False) for v in c.value]
        out = hits[0]
        for h in hits[1:]:
            out = out | h
        return out
    assert isinstance(c.value, float)
    v = ibis.literal(c.value, type="float64")
    return {
        "<": x < v,
        "<=": x <= v,
        ">": x > v,
        ">=": x >= v,
        "==": x == v,
        "!=": x != v,
    }[c.op]


def _fire(base: ir.Table, rules: StepRules) -> ir.Table:
    """``base`` (with an ``m_<name>`` column per measure) and, per rule ``i``, ``c_i`` (its
    conditions hold) and ``fired_i`` (it applies: the first of its group to hold), plus
    ``fired_any``."""
    m = {name: base[f"m_{name}"] for name in MEASURES}
    conds = {}
    for i, rule in enumerate(rules.rules):
        cond = _test(rule.when[0], m)
        for c in rule.when[1:]:
            cond = cond & _test(c, m)
        # all conditions must hold: unknown (a comparison with an unknown value) is false
        conds[f"c_{i}"] = cond.fill_null(False)
    flagged = base.mutate(**conds)
    fired: dict[str, ir.BooleanValue] = {}
    seen: dict[str, ir.BooleanValue] = {}
    for i, rule in enumerate(rules.rules):
        cond = flagged[f"c_{i}"]
        before = seen.get(rule.group) if rule.group is not None else None
        fired[f"fired_{i}"] = cond if before is None else cond & ~before
        if rule.group is not None:
            seen[rule.group] = cond if before is None else before | cond
    flagged = flagged.mutate(**fired)
    mask = flagged.fired_0
    for i in range(1, len(rules.rules)):
        mask = mask | flagged[f"fired_{i}"]
    return flagged.mutate(fired_any=mask)


def _level_steps(table: ir.Table, start: ir.Value, rules: StepRules) -> dict[str, ir.Value]:
    """``level_1`` … ``level_n``: the level after each rule, from ``start`` and the
    ``fired_i`` flags of ``table`` (``move`` kept within the bounds, ``set`` replaces)."""
    import ibis

    lv = rules.levels
    level: ir.Value = start.cast("int32")
    out: dict[str, ir.Value] = {}
    for i, rule in enumerate(rules.rules):
        hit = table[f"fired_{i}"]
        if rule.set is not None:
            level = ibis.ifelse(hit, ibis.literal(rule.set, type="int32"), level)
        else:
            assert rule.move is not None
            level = ibis.greatest(lv.min, ibis.least(lv.max, level + hit.cast("int32") * rule.move))
        out[f"level_{i + 1}"] = level.cast("int16")
    return out


def _month_expr(
    state: ir.Table, rows: ir.Table, rules: StepRules, month: dt.date
) -> tuple[ir.Table, ir.Table]:
    """(new state, movers) of one month, as expressions over every customer: ``movers`` has
    the customers on whom a rule fired, with each rule's flag and the level after it.

    Built as stacked projections (measures, then rule flags, then levels), so every value is
    computed once per customer and the SQL stays small."""
    import ibis

    s = state.rename({"s_customer_id": "customer_id"})
    r = rows.rename({f"r_{c}": c for c in rows.columns})
    j = s.outer_join(r, s.s_customer_id == r.r_customer_id)
    lags = _lag_names(rules)
    measures = _measures(j, rules, month)
    base = j.select(
        customer_id=ibis.coalesce(j.s_customer_id, j.r_customer_id),
        level_0=j.level.fill_null(rules.levels.start).cast("int16"),
        join_date=j.join_date,
        **{f"_keep_{name}": j[name] for name in lags[:-1]},
        **{f"m_{name}": value for name, value in measures.items()},
    )
    flagged = _fire(base, rules)
    decided = flagged.mutate(**_level_steps(flagged, flagged.level_0, rules))
    final = decided[f"level_{len(rules.rules)}"]

    state_cols: dict[str, ir.Value] = {
        "customer_id": decided.customer_id,
        "level": final,
        "last_month": ibis.literal(month, type="date"),
        "join_date": decided.join_date,
        "amount_lag1": decided.m_amount,
    }
    for k in range(2, len(lags) + 1):
        state_cols[f"amount_lag{k}"] = decided[f"_keep_amount_lag{k - 1}"]
    state_cols["purchases_lag1"] = decided.m_purchases
    state_cols["products_lag1"] = decided.m_products_held
    state_cols["competitor_share_lag1"] = decided.m_competitor_share
    new_state = decided.select(**state_cols)

    used = _used_measures(rules)
    n = len(rules.rules)
    movers = decided.filter(decided.fired_any).select(
        "customer_id",
        *[f"fired_{i}" for i in range(n)],
        *[f"level_{i}" for i in range(n + 1)],
        **{name: decided[f"m_{name}"] for name in used},
    )
    return new_state, movers


def _moves(movers: ir.Table, rules: StepRules, month: dt.date | None = None) -> ir.Table:
    """One row per rule that fired, from the (small, stored) table of customers who moved
    (``month``: the month of all of them, else their ``month`` column; a ``mi`` column is
    kept)."""
    import ibis

    used = _used_measures(rules)
    extra = {"mi": movers.mi} if "mi" in movers.columns else {}
    parts = []
    for i, rule in enumerate(rules.rules):
        parts.append(
            movers.filter(movers[f"fired_{i}"]).select(
                customer_id=movers.customer_id,
                month=ibis.literal(month, type="date") if month is not None else movers.month,
                # (a cast, not an int16 literal: Spark would write a literal as int32)
                seq=ibis.literal(i, type="int32").cast("int16"),
                rule=ibis.literal(rule.name, type="string"),
                move=ibis.literal(rule.move if rule.move is not None else 0, type="int32").cast(
                    "int16"
                ),
                set_level=ibis.literal(rule.set, type="int16"),
                old_level=movers[f"level_{i}"].cast("int16"),
                new_level=movers[f"level_{i + 1}"].cast("int16"),
                **{name: movers[name].cast("float64") for name in used},
                **extra,
            )
        )
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def _used_measures(rules: StepRules) -> list[str]:
    out: dict[str, None] = {}
    for r in rules.rules:
        for c in r.when:
            out[c.measure] = None
            if c.op == "crosses":
                out[_CROSSING[c.measure]] = None
    return [name for name in MEASURES if name in out]


# --------------------------------------------------------------------------------------------
# All months in one pass
# --------------------------------------------------------------------------------------------
#
# A run over many months does not need a query per month. The measures of a month depend on
# the months before only through lags (business 1 … 2W months back, the previous month's
# purchases, products and competitor share), and the rule conditions depend on the measures
# only, never on the level. So one window pass over the customer × month rows (partitioned by
# customer, ordered by month) measures every month and tests every rule at once. The level is
# needed only where a rule fired: each customer's month is a function of the level before it
# (rules in order, every move kept within the bounds, ``set`` replacing), and such functions
# compose into the same form ``level ↦ clamp(level + a, lo, hi)``. The few rows where a rule
# fired are pivoted to one row per customer who moved, and the months are chained there.
#
# The stored state enters as rows before the first month (``mi`` = -1 … -2W, their business
# the stored lags); a customer without a row in some month (had no business) gets that row
# from the row before it. Rows that repeat a customer and month (added up, as in a month-by-
# month run) are detected in the same pass, and the pass is run again on the month totals.

_BLOCK_MONTHS = 24
"""At most this many months in one pass (longer histories go block by block; the state
between blocks is the same as the stored state)."""


def _safe_sql(value: str) -> str:
    return str(value).replace("'", "''")


def _keep(engine: Engine, expr: ir.Table, path: Path, *, barrier: bool = False) -> ir.Table:
    """Run ``expr`` into Parquet at ``path`` (a file on DuckDB, a folder on Spark) and read it
    back: an intermediate result used more than once is computed once."""
    if engine.name == "duckdb":
        engine.con.raw_sql("SET enable_progress_bar = false")
        if barrier:
            # DuckDB would push the final filter below the stacked projections, repeating
            # every measure and condition inside it (and then once more for the output)
            (before,) = engine.con.raw_sql(
                "SELECT current_setting('disabled_optimizers')"
            ).fetchone()
            engine.con.raw_sql("SET disabled_optimizers = 'filter_pushdown'")
            try:
                engine.con.to_parquet(expr, str(path))
            finally:
                engine.con.raw_sql(f"SET disabled_optimizers = '{_safe_sql(before)}'")
        else:
            engine.con.to_parquet(expr, str(path))
    else:
        engine.con.to_parquet(expr, str(path), mode="overwrite")
    # the types as built (Parquet may widen a small integer or a date)
    return engine.con.read_parquet(str(path)).cast(expr.schema())


def _batch_input(
    activity: ir.Table,
    months_table: ir.Table,
    state: ir.Table,
    rules: StepRules,
    *,
    state_lags: int,
) -> ir.Table:
    """The rows the window pass reads: the activity of the block's months (``mi`` 0 …) and,
    per customer of the state, ``state_lags`` rows before them (``mi`` -1 …)."""
    import ibis

    act = activity.join(months_table, "month")
    null_f = ibis.null("float64")
    real = act.select(
        customer_id=act.customer_id,
        mi=act.mi,
        month=act.month,
        level0=ibis.null("int16"),
        jd=ibis.null("date"),
        a=act.amount.fill_null(0.0),
        p=act.purchases,
        pr=act.products_held,
        cs=act.competitor_share,
        ad=act.additions,
        cn=act.cancellations,
    )
    parts = [real]
    for j in range(1, state_lags + 1):
        first = j == 1
        parts.append(
            state.select(
                customer_id=state.customer_id,
                mi=ibis.literal(-j, type="int32"),
                month=ibis.null("date"),
                level0=state.level.cast("int16"),
                jd=state.join_date.cast("date"),
                a=state[f"amount_lag{j}"].cast("float64"),
                p=state.purchases_lag1.cast("float64") if first else null_f,
                pr=state.products_lag1.cast("float64") if first else null_f,
                cs=state.competitor_share_lag1.cast("float64") if first else null_f,
                ad=null_f,
                cn=null_f,
            )
        )
    return ibis.union(*parts, distinct=False)


def _batch_window(rows: ir.Table, rules: StepRules, n_months: int, *, fresh: bool) -> ir.Table:
    """The rows that matter after one window pass over every row: those where a rule fired
    (``fire``), those of the last month (the new state), a customer's first row (``entry``),
    rows followed by months without a row (``gen``), and rows repeating a customer's month
    (``dup``). Each with ``lag1`` … ``lag2W`` (business k months back: 0 in a month without
    a row after the customer's first row, unknown before it) and the previous month's
    purchases, products and competitor share. With a ``fresh`` state everybody starts on
    the start level (``level0``), in the state or not; otherwise ``level0`` is the stored one
    (unknown for a customer not in the state)."""
    import ibis

    w = ibis.window(group_by="customer_id", order_by="mi")
    level0 = (
        ibis.literal(rules.levels.start, type="int32").cast("int16")
        if fresh
        else rows.level0.first().over(w)
    )
    depth = rules.lags
    back = {}
    for j in range(1, depth + 1):
        fields = {"t": rows.mi, "a": rows.a}
        if j == 1:
            fields.update(p=rows.p, pr=rows.pr, cs=rows.cs)
        back[f"s{j}"] = ibis.struct(fields).lag(j).over(w)
    x = rows.select(
        "customer_id",
        "mi",
        "month",
        "a",
        "p",
        "pr",
        "cs",
        "ad",
        "cn",
        level0=level0,
        jd=rows.jd.first().over(w),
        t_next=rows.mi.lead(1).over(w),
        **back,
    )
    x = x.select(
        "customer_id",
        "mi",
        "month",
        "a",
        "p",
        "pr",
        "cs",
        "ad",
        "cn",
        "level0",
        "jd",
        "t_next",
        p1=x.s1["p"],
        pr1=x.s1["pr"],
        cs1=x.s1["cs"],
        **{f"tl{j}": x[f"s{j}"]["t"] for j in range(1, depth + 1)},
        **{f"al{j}": x[f"s{j}"]["a"] for j in range(1, depth + 1)},
    )
    null_f = ibis.null("float64")
    lags: dict[str, ir.Value] = {}
    for k in range(1, depth + 1):
        # the row of k months back, if there is one, is at most k rows back (exactly k when
        # no month is missing: tested first)
        order = [k, *range(1, k)]
        deepest = ibis.coalesce(*[x[f"tl{j}"] for j in range(k, 0, -1)]) if k > 1 else x.tl1
        lags[f"lag{k}"] = ibis.cases(
            *[(x[f"tl{j}"] == x.mi - k, x[f"al{j}"]) for j in order],
            (deepest < x.mi - k, ibis.literal(0.0)),
            else_=null_f,
        )
    adjacent = x.tl1 == x.mi - 1
    y = x.select(
        "customer_id",
        "mi",
        "month",
        "level0",
        "jd",
        "t_next",
        "a",
        **lags,
        p=x.p,
        p_prev=ibis.cases((adjacent, x.p1), (x.tl1.notnull() & x.p1.notnull(), 0.0), else_=null_f),
        pr=x.pr,
        pr_prev=ibis.cases(
            (adjacent, x.pr1), (x.tl1.notnull() & x.pr1.notnull(), 0.0), else_=null_f
        ),
        cs=x.cs,
        cs_prev=ibis.ifelse(adjacent, x.cs1, null_f),
        ad=x.ad,
        cn=x.cn,
        dup=(x.tl1 == x.mi).fill_null(False),
        gen=((x.t_next.isnull() & (x.mi < n_months - 1)) | (x.t_next - x.mi > 1)).fill_null(False),
        entry=x.tl1.isnull() & (x.mi >= 0),
    )
    flagged = _fire(_measured(y, rules), rules)
    now = flagged.mi >= 0
    keep = (
        now
        & (
            flagged.fired_any
            | (flagged.mi == n_months - 1)
            | flagged.gen
            | flagged.dup
            | flagged.entry
        )
    ) | ((flagged.mi == -1) & flagged.gen)
    return flagged.filter(keep).select(*y.columns, fire=flagged.fired_any & now)


def _measured(b: ir.Table, rules: StepRules) -> ir.Table:
    """``b`` (the base columns of :func:`_batch_window`) with an ``m_<name>`` column per
    measure."""
    depth = rules.lags
    values = _measure_values(
        rules,
        amount=b.a,
        amount_prev=b.lag1,
        lags=[b[f"lag{k}"] for k in range(1, depth + 1)],
        purchases=b.p,
        purchases_prev=b.p_prev,
        products=b.pr,
        products_prev=b.pr_prev,
        additions=b.ad,
        cancellations=b.cn,
        competitor_share=b.cs,
        competitor_share_prev=b.cs_prev,
        month=b.month,
        join_date=b.jd,
    )
    return b.mutate(**{f"m_{name}": value for name, value in values.items()})


def _gap_rows(kept: ir.Table, months_table: ir.Table, rules: StepRules, n_months: int) -> ir.Table:
    """The months without a row of a customer after their first row (or after the state):
    each from the row before it (no business, no additions or cancellations, the competitor
    share unknown; purchases and products 0 unless they were unknown already)."""
    import ibis

    g = kept.filter(kept.gen)
    mt = months_table.rename(u="mi", u_month="month")
    j = g.cross_join(mt)
    j = j.filter((j.u > j.mi) & (j.u < ibis.coalesce(j.t_next, n_months)))
    d = j.u - j.mi
    null_f = ibis.null("float64")
    lags: dict[str, ir.Value] = {}
    for k in range(1, rules.lags + 1):
        lags[f"lag{k}"] = ibis.cases(
            (d == k, j.a),
            *[(d == e, j[f"lag{k - e}"]) for e in range(1, k)],
            else_=ibis.literal(0.0),
        )
    p_gap = ibis.ifelse(j.p.notnull(), 0.0, null_f)
    pr_gap = ibis.ifelse(j.pr.notnull(), 0.0, null_f)
    return j.select(
        customer_id=j.customer_id,
        mi=j.u,
        month=j.u_month,
        level0=j.level0,
        jd=j.jd,
        a=ibis.literal(0.0),
        **lags,
        p=p_gap,
        p_prev=ibis.ifelse(d == 1, j.p, p_gap),
        pr=pr_gap,
        pr_prev=ibis.ifelse(d == 1, j.pr, pr_gap),
        cs=null_f,
        cs_prev=ibis.ifelse(d == 1, j.cs, null_f),
        ad=ibis.literal(0.0),
        cn=ibis.literal(0.0),
    )


_BITS = 6
"""Bits of each field of a month code (levels and moves within ±63)."""


def _month_code(table: ir.Table, rules: StepRules) -> ir.Value:
    """A customer's month as one integer: the rules that fired, composed into
    ``level ↦ clamp(level + a, lo, hi)`` and packed as bit fields ``a + D-1 | lo - min |
    hi - min`` (``D`` levels; ``a`` is kept within ±(D-1), which changes no result)."""
    import ibis

    lv = rules.levels
    n = lv.max - lv.min + 1
    a: ir.Value = ibis.literal(0, type="int32")
    lo: ir.Value = ibis.literal(lv.min, type="int32")
    hi: ir.Value = ibis.literal(lv.max, type="int32")
    for i, rule in enumerate(rules.rules):
        hit = table[f"fired_{i}"]
        if rule.set is not None:
            s = ibis.literal(rule.set, type="int32")
            lo = ibis.ifelse(hit, s, lo)
            hi = ibis.ifelse(hit, s, hi)
        else:
            assert rule.move is not None
            step = hit.cast("int32") * rule.move
            a = a + step
            lo = ibis.greatest(lv.min, ibis.least(lv.max, lo + step))
            hi = ibis.greatest(lv.min, ibis.least(lv.max, hi + step))
    a = ibis.greatest(1 - n, ibis.least(n - 1, a))
    return (((a + (n - 1)) << _BITS) + (lo - lv.min) << _BITS) + (hi - lv.min)


def _chain(movers: ir.Table, rules: StepRules, n_months: int) -> ir.Table:
    """One row per customer who moved: ``L0`` (the level before the block) … ``L<T>`` (after
    its last month), the months' functions applied in order."""
    import ibis

    lv = rules.levels
    n = lv.max - lv.min + 1
    mask = (1 << _BITS) - 1
    identity = (n - 1) << (2 * _BITS) | (n - 1)
    p = movers.group_by("customer_id").agg(
        level0=movers.level0.max(),
        **{f"c{k}": movers.code.max(where=movers.mi == k) for k in range(n_months)},
    )
    p = p.mutate(L0=ibis.coalesce(p.level0.cast("int32"), lv.start))
    # a few months per projection: deep enough to keep the queries few, shallow enough
    # that no month is computed twice too often
    per = 4
    for k0 in range(0, n_months, per):
        level: ir.Value = p[f"L{k0}"]
        new = {}
        for k in range(k0, min(n_months, k0 + per)):
            code = ibis.coalesce(p[f"c{k}"].cast("int32"), identity)
            a = (code >> (2 * _BITS)) - (n - 1)
            lo = ((code >> _BITS) & mask) + lv.min
            hi = (code & mask) + lv.min
            level = ibis.greatest(lo, ibis.least(hi, level + a))
            new[f"L{k + 1}"] = level
        p = p.mutate(**new)
    return p.select(
        "customer_id", **{f"L{k}": p[f"L{k}"].cast("int16") for k in range(n_months + 1)}
    )


@dataclass
class _Block:
    """What a block of months left behind: the state, the moves (by month), the customers per
    level and month, the moves per rule."""

    state: Path
    moves: dict[dt.date, list[Path]]
    levels: list[pd.DataFrame]
    counts: dict[str, int]
    end_counts: dict[int, int]


_BUCKET_ROWS = 6_000_000
"""On DuckDB a block with more activity rows than this is split by customer (a hash of the
id) into parts of about this many rows, each run in its own pass: the window pass slows down
more than in proportion to its size."""


@dataclass
class _Part:
    """What one pass over some customers left: their moves, state and flows."""

    moves: dict[int, list[Path]]
    state: Path
    flows: pd.DataFrame
    entries: pd.DataFrame


def _month_totals(rows: ir.Table) -> ir.Table:
    """``rows`` with one row per customer and month (several are added up, as a run month
    by month does; products held and the competitor share: the largest)."""
    import ibis

    real = rows.filter(rows.mi >= 0)
    agg = real.group_by("customer_id", "mi").agg(
        month=real.month.max(),
        a=real.a.sum(),
        p=real.p.sum(),
        pr=real.pr.max(),
        cs=real.cs.max(),
        ad=real.ad.sum(),
        cn=real.cn.sum(),
    )
    agg = agg.mutate(level0=ibis.null("int16"), jd=ibis.null("date"))
    return ibis.union(agg.select(*rows.columns), rows.filter(rows.mi < 0), distinct=False)


def _run_rows(
    engine: Engine,
    rows: ir.Table,
    rules: StepRules,
    months: Sequence[dt.date],
    months_table: ir.Table,
    work: Path,
    *,
    fresh: bool,
) -> _Part:
    """One pass over ``rows`` (:func:`_batch_input`, some or all customers)."""
    import ibis

    n_months = len(months)
    work.mkdir(parents=True, exist_ok=True)
    window = _batch_window(rows, rules, n_months, fresh=fresh)
    kept = _keep(engine, window, work / "kept.parquet", barrier=True)
    if int(engine.to_pandas(kept.filter(kept.dup).count())):
        # some customer has several rows in a month: run again on the month totals
        window = _batch_window(_month_totals(rows), rules, n_months, fresh=fresh)
        kept = _keep(engine, window, work / "kept2.parquet", barrier=True)

    base = [c for c in kept.columns if c not in ("t_next", "dup", "gen", "entry", "fire")]
    real = kept.filter(kept.mi >= 0).select(*base)
    every = ibis.union(real, _gap_rows(kept, months_table, rules, n_months).select(*base))

    used = _used_measures(rules)
    n = len(rules.rules)
    flagged = _fire(_measured(every, rules), rules)
    movers = flagged.filter(flagged.fired_any)
    movers = movers.select(
        "customer_id",
        "mi",
        "month",
        "level0",
        *[f"fired_{i}" for i in range(n)],
        **{name: movers[f"m_{name}"] for name in used},
        code=_month_code(movers, rules),
    )
    movers = _keep(engine, movers, work / "movers.parquet", barrier=True)
    chain = _keep(engine, _chain(movers, rules, n_months), work / "chain.parquet")

    # the moves: each customer-month from the level before it
    mv = movers.join(chain, "customer_id")
    before = ibis.cases(*[(mv.mi == k, mv[f"L{k}"]) for k in range(n_months)])
    mv = mv.mutate(level_0=before.cast("int16"))
    mv = mv.mutate(**_level_steps(mv, mv.level_0, rules))
    mv = mv.select(
        "customer_id",
        "mi",
        "month",
        *[f"fired_{i}" for i in range(n)],
        *[f"level_{i}" for i in range(n + 1)],
        *used,
    )
    mv = _keep(engine, mv, work / "mv.parquet")
    target = work / "moves"
    if engine.name == "duckdb":
        engine.con.to_parquet(_moves(mv, rules), str(target), partition_by="mi")
    else:
        engine.con.to_parquet(_moves(mv, rules), str(target), partitionBy="mi", mode="overwrite")
    files = {k: sorted((target / f"mi={k}").glob("*.parquet")) for k in range(n_months)}
    flows = engine.to_pandas(
        mv.group_by("mi", "level_0", f"level_{n}").agg(
            n=mv.count(), **{f"n{i}": mv[f"fired_{i}"].cast("int64").sum() for i in range(n)}
        )
    )
    first = kept.filter(kept.entry)
    entries = engine.to_pandas(first.group_by("mi").agg(n=first.count()))

    # the state after the block: every customer's row of the last month
    final = every.filter(every.mi == n_months - 1)
    ends = chain.select("customer_id", end=chain[f"L{n_months}"])
    j = final.left_join(ends, "customer_id")
    lag_cols: dict[str, ir.Value] = {"amount_lag1": j.a}
    for k in range(2, rules.lags + 1):
        lag_cols[f"amount_lag{k}"] = j[f"lag{k - 1}"]
    start = ibis.literal(rules.levels.start, type="int32").cast("int16")
    new_state = j.select(
        customer_id=j.customer_id,
        level=ibis.coalesce(j.end, j.level0, start).cast("int16"),
        last_month=ibis.literal(months[-1], type="date"),
        join_date=j.jd,
        **lag_cols,
        purchases_lag1=j.p,
        products_lag1=j.pr,
        competitor_share_lag1=j.cs,
    )
    state_path = work / "state.parquet"
    _write(engine, new_state, state_path)
    return _Part(files, state_path, flows, entries)


def _run_block(
    engine: Engine,
    activity: ir.Table,
    state: ir.Table,
    rules: StepRules,
    months: Sequence[dt.date],
    work: Path,
    *,
    state_lags: int,
    start_counts: Mapping[int, int] | None,
) -> _Block:
    """Run ``months`` (in order) from ``state`` in one pass (on DuckDB, one pass per part of
    the customers when there are many); results under ``work``.

    ``state_lags``: the months of business the state brings (2W for a stored state, 1 for a
    state before any month, whose customers all start on the start level with nothing known).
    ``start_counts``: customers per level before the block (counted from ``state`` if not
    given)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n_months = len(months)
    work.mkdir(parents=True, exist_ok=True)
    months_table = engine.table(
        pd.DataFrame({"month": list(months), "mi": pd.Series(range(n_months), dtype="int32")})
    )
    months_table = months_table.select(
        month=months_table.month.cast("date"), mi=months_table.mi.cast("int32")
    )
    lv = rules.levels
    if start_counts is None:
        got = engine.to_pandas(state.group_by("level").agg(n=state.count()))
        start_counts = {int(k): int(v) for k, v in zip(got["level"], got["n"], strict=True)}

    fresh = state_lags == 1  # a state before any month: everybody on the start level
    rows = _batch_input(activity, months_table, state, rules, state_lags=state_lags)
    parts = [rows]
    if engine.name == "duckdb":
        n_parts = -(-int(engine.to_pandas(rows.count())) // _BUCKET_ROWS)
        if n_parts > 1:
            # one pass writes the rows split by customer; each part is then read alone
            split = work / "split"
            bucket = (rows.customer_id.hash() % n_parts).cast("int32")
            engine.con.to_parquet(rows.mutate(part=bucket), str(split), partition_by="part")
            parts = []
            for d in sorted(split.glob("part=*")):
                t = engine.con.read_parquet(str(d / "*.parquet"))
                parts.append((t.drop("part") if "part" in t.columns else t).cast(rows.schema()))
    done = [
        _run_rows(engine, part, rules, months, months_table, work / f"part-{i}", fresh=fresh)
        for i, part in enumerate(parts)
    ]

    files: dict[dt.date, list[Path]] = {}
    schema: pa.Schema | None = None
    for k, month in enumerate(months):
        found = [f for d in done for f in d.moves[k]]
        if not found:
            # a month without moves still has its file (as a month-by-month run leaves)
            if schema is None:
                mv_schema = next((f for d in done for m in d.moves.values() for f in m), None)
                schema = pq.read_schema(mv_schema) if mv_schema is not None else None
            empty = work / f"empty-{k}.parquet"
            pq.write_table(pa.Table.from_pylist([], schema=schema or _moves_schema(rules)), empty)
            found = [empty]
        files[month] = found
    if len(done) == 1:
        state_path = done[0].state
    else:
        state_path = work / "state.parquet"
        whole = engine.con.read_parquet([str(d.state) for d in done])
        _write(engine, whole, state_path)
    n = len(rules.rules)
    last = f"level_{n}"
    flows = pd.concat([d.flows for d in done], ignore_index=True)
    entries = pd.concat([d.entries for d in done], ignore_index=True)
    counts = {rule.name: int(flows[f"n{i}"].sum()) for i, rule in enumerate(rules.rules)}

    # customers per level and month: the level counts before the block, the customers who
    # appear, and the moves' net flows
    level = dict(start_counts)
    new_by_month = entries.groupby("mi")["n"].sum()
    frames = []
    for k, month in enumerate(months):
        level[lv.start] = level.get(lv.start, 0) + int(new_by_month.get(k, 0))
        here = flows[flows["mi"] == k]
        for b, a, c in zip(here["level_0"], here[last], here["n"], strict=True):
            level[int(b)] = level.get(int(b), 0) - int(c)
            level[int(a)] = level.get(int(a), 0) + int(c)
        shown = {lvl: c for lvl, c in sorted(level.items()) if c}
        frames.append(
            pd.DataFrame(
                {
                    "month": [month] * len(shown),
                    "level": list(shown),
                    "n_customers": list(shown.values()),
                }
            )
        )
    return _Block(
        state=state_path,
        moves=files,
        levels=frames,
        counts=counts,
        end_counts={k: v for k, v in level.items() if v},
    )


def _moves_schema(rules: StepRules) -> Any:
    """The Arrow schema of a moves file (for a month without moves)."""
    import pyarrow as pa

    fields = [
        ("customer_id", pa.string()),
        ("month", pa.date32()),
        ("seq", pa.int16()),
        ("rule", pa.string()),
        ("move", pa.int16()),
        ("set_level", pa.int16()),
        ("old_level", pa.int16()),
        ("new_level", pa.int16()),
    ]
    fields += [(name, pa.float64()) for name in _used_measures(rules)]
    return pa.schema(fields)


# --------------------------------------------------------------------------------------------
# Running over months
# --------------------------------------------------------------------------------------------


def _prepare(engine: Engine, activity: Any, columns: Mapping[str, str] | None) -> ir.Table:
    import ibis

    t = engine.table(activity, columns=columns)
    missing = [c for c, required in ACTIVITY_COLUMNS.items() if required and c not in t.columns]
    if missing:
        raise InputError(
            "loyalty.steps.missing_columns",
            columns=", ".join(missing),
            available=", ".join(t.columns),
        )

    def number(name: str) -> Any:
        # NaN (pandas' missing value) is unknown, as NULL is: Spark would sort NaN above 1
        x = t[name].cast("float64")
        return ibis.ifelse(x.isnan().fill_null(False), ibis.null("float64"), x)

    day = t.month.cast("date")
    cols: dict[str, Any] = {
        "customer_id": t.customer_id.cast("string"),
        # most activity is dated on the first of the month already (truncating every row is
        # the slowest step of reading on DuckDB)
        "month": ibis.ifelse(day.day() == 1, day, day.truncate("M").cast("date")),
        "amount": number("amount"),
    }
    names = {"n_purchases": "purchases"}
    for c in ("n_purchases", "products_held", "additions", "cancellations", "competitor_share"):
        cols[names.get(c, c)] = number(c) if c in t.columns else ibis.null("float64")
    return t.select(**cols)


def _initial_state(
    engine: Engine,
    customers: Any,
    rules: StepRules,
    columns: Mapping[str, str] | None,
    activity: ir.Table | None = None,
) -> ir.Table:
    import ibis

    schema = _state_schema(rules)
    if customers is None:
        # an empty state of the right types, built on the activity (Spark cannot infer the
        # schema of an empty frame)
        assert activity is not None
        empty = activity.filter(ibis.literal(False))
        return empty.select(
            customer_id=empty.customer_id,
            **{k: ibis.null(v) for k, v in schema.items() if k != "customer_id"},
        ).mutate(level=ibis.literal(rules.levels.start, type="int16"))
    c = engine.table(customers, columns=columns)
    if "customer_id" not in c.columns:
        raise InputError(
            "loyalty.steps.missing_columns", columns="customer_id", available=", ".join(c.columns)
        )
    join = c.join_date.cast("date") if "join_date" in c.columns else ibis.null("date")
    values: dict[str, Any] = {
        "customer_id": c.customer_id.cast("string"),
        "level": ibis.literal(rules.levels.start, type="int16"),
        "last_month": ibis.null("date"),
        "join_date": join,
    }
    for name, dtype in schema.items():
        if name not in values:
            values[name] = ibis.null(dtype)
    return c.select(**values)


def _months(engine: Engine, activity: ir.Table) -> list[dt.date]:
    frame = engine.to_pandas(activity.select("month").distinct().order_by("month"))
    return [pd.Timestamp(v).date() for v in frame["month"].dropna()]


def _write(engine: Engine, expr: ir.Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if engine.name == "duckdb":
        tmp = path.with_name(path.name + ".tmp")
        try:
            engine.con.to_parquet(expr, str(tmp))
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        return path
    return engine.to_parquet(expr, path)


def _read(engine: Engine, path: Path) -> ir.Table:
    return engine.table(path)


def read_moves(engine: Engine, folder: str | Path, /) -> ir.Table | None:
    """The moves written by :func:`run_steps` into ``folder`` (``None`` when there are none)."""
    files = sorted((Path(folder) / "moves").glob("*.parquet"))
    if not files:
        return None
    if engine.name == "duckdb":
        return engine.con.read_parquet([str(f) for f in files])
    return engine.con.read_parquet(str(Path(folder) / "moves"))


@dataclass(frozen=True)
class StepsResult:
    """What a run of the step engine did.

    - ``months``: the months processed in this run (earlier ones came from the stored state);
    - ``levels``: one row per processed month and level with the number of customers on it
      (``month | level | n_customers``), also for earlier runs stored in ``folder``;
    - ``rules``: per rule, how many moves it made in this run (``rule | group | move | n_moves
      | description``);
    - ``folder``: where the state, the moves and the level counts are kept.
    """

    rules_used: StepRules
    months: tuple[dt.date, ...]
    n_customers: int
    n_moves: int
    levels: pd.DataFrame
    rule_counts: pd.DataFrame
    folder: Path
    incremental: bool
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"rules": self.rule_counts, "levels": self.levels}

    def to_dict(self) -> dict[str, Any]:
        return {
            "months": [m.isoformat() for m in self.months],
            "n_customers": self.n_customers,
            "n_moves": self.n_moves,
            "incremental": self.incremental,
            "folder": str(self.folder),
            "rules_fingerprint": self.rules_used.fingerprint(),
            "levels": plain(self.rules_used.levels.__dict__),
            "rules": records(self.rule_counts),
            "level_counts": records(self.levels),
        }


def _rule_frame(rules: StepRules, counts: Mapping[str, int], lang: str = "en") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rule": [r.name for r in rules.rules],
            "group": [r.group or "" for r in rules.rules],
            "move": [f"={r.set}" if r.set is not None else f"{r.move:+d}" for r in rules.rules],
            "n_moves": [int(counts.get(r.name, 0)) for r in rules.rules],
            "description": [r.describe(lang) for r in rules.rules],
        }
    )


@dataclass
class _Ran:
    """What the months of a run left in the work folder (before it is published)."""

    state: Path | None
    moves: dict[dt.date, list[Path]]
    levels: list[pd.DataFrame]
    counts: dict[str, int]


def _run_monthly(
    engine: Engine,
    act: ir.Table,
    state: ir.Table,
    rules: StepRules,
    months: Sequence[dt.date],
    work: Path,
    progress: Callable[[int, int, dt.date], None] | None,
) -> _Ran:
    """The months one after the other: one expression over every customer per month."""
    counts: dict[str, int] = {}
    level_frames: list[pd.DataFrame] = []
    files: dict[dt.date, list[Path]] = {}
    current: Path | None = None
    split = _split_months(engine, act, months, work) if len(months) > 1 else None
    for i, month in enumerate(months):
        rows = _month_rows(engine, act, month, split)
        new_state, movers = _month_expr(state, rows, rules, month)
        target = work / f"state-{i}.parquet"
        _write(engine, new_state, target)
        state = _read(engine, target)
        moving = _read(engine, _write(engine, movers, work / f"movers-{i}.parquet"))
        moved = _write(engine, _moves(moving, rules, month), work / f"month-{i}.parquet")
        files[month] = [moved]
        mv = _read(engine, moved)
        got = engine.to_pandas(mv.group_by("rule").agg(n=mv.count()))
        for rule_name, n in zip(got["rule"], got["n"], strict=True):
            counts[str(rule_name)] = counts.get(str(rule_name), 0) + int(n)
        dist = engine.to_pandas(state.group_by("level").agg(n_customers=state.count()))
        dist.insert(0, "month", month)
        level_frames.append(dist)
        current = target
        if progress is not None:
            progress(i + 1, len(months), month)
    return _Ran(current, files, level_frames, counts)


def _run_batch(
    engine: Engine,
    act: ir.Table,
    state: ir.Table,
    rules: StepRules,
    months: Sequence[dt.date],
    work: Path,
    progress: Callable[[int, int, dt.date], None] | None,
    *,
    state_lags: int,
) -> _Ran:
    """The months in blocks of up to :data:`_BLOCK_MONTHS`, each block in one pass."""
    counts: dict[str, int] = {}
    level_frames: list[pd.DataFrame] = []
    files: dict[dt.date, list[Path]] = {}
    current: Path | None = None
    start_counts: dict[int, int] | None = None
    for b0 in range(0, len(months), _BLOCK_MONTHS):
        block = list(months[b0 : b0 + _BLOCK_MONTHS])
        done = _run_block(
            engine,
            act,
            state,
            rules,
            block,
            work / f"block-{b0}",
            state_lags=state_lags,
            start_counts=start_counts,
        )
        current = done.state
        state = _read(engine, current)
        state_lags = rules.lags
        start_counts = done.end_counts
        files.update(done.moves)
        level_frames.extend(done.levels)
        for name, n in done.counts.items():
            counts[name] = counts.get(name, 0) + n
        if progress is not None:
            for k, month in enumerate(block):
                progress(b0 + k + 1, len(months), month)
    return _Ran(current, files, level_frames, counts)


def run_steps(
    engine: Engine,
    activity: Any,
    /,
    *,
    folder: str | Path,
    rules: StepRules | str | Path | None = None,
    customers: Any = None,
    columns: Mapping[str, str] | None = None,
    customer_columns: Mapping[str, str] | None = None,
    full: bool = False,
    until: dt.date | None = None,
    progress: Callable[[int, int, dt.date], None] | None = None,
    lang: str = "en",
    method: str = "auto",
) -> StepsResult:
    """Run the step engine over the activity's months after the stored state in ``folder``.

    ``activity`` has one row per customer and month (``customer_id, month, amount`` and, when
    the rules use them, ``n_purchases, products_held, additions, cancellations,
    competitor_share``; ``columns`` maps these names to yours). ``customers``
    (``customer_id, join_date``) gives tenure and the customers who start on the start level
    before their first activity. Kept in ``folder``: ``state.parquet`` (customer, level, the
    values later months need), ``moves/<month>.parquet`` (every move), ``levels.parquet``
    (customers per level and month) and ``rules.json`` (the rules used). With ``full=True``
    (or no state yet) the run starts from the first month; otherwise it goes on after the
    state's last month with the same result as a full run. ``until`` stops after that month.

    ``method``: ``batch`` runs all the months in one pass over the customer × month rows
    (window functions; blocks of 24 months), ``monthly`` one expression per month over every
    customer; both give the same moves, levels and state. ``auto`` (the default) takes
    ``batch`` for two months or more.
    """
    import ibis

    if method not in ("auto", "batch", "monthly"):
        raise InputError("loyalty.steps.bad_method", method=str(method))
    rule_set = rules if isinstance(rules, StepRules) else load_rules(rules)
    out = Path(folder)
    state_path = out / "state.parquet"
    rules_path = out / "rules.json"
    moves_dir = out / "moves"
    levels_path = out / "levels.parquet"
    act = _prepare(engine, activity, columns)
    incremental = state_path.exists() and not full
    last: dt.date | None = None
    if incremental:
        stored = json.loads(rules_path.read_text(encoding="utf-8")) if rules_path.exists() else {}
        if stored.get("fingerprint") != rule_set.fingerprint():
            raise ConfigError("loyalty.steps.rules_changed", folder=str(out))
        last = dt.date.fromisoformat(stored["last_month"]) if stored.get("last_month") else None
    else:
        if moves_dir.exists():
            shutil.rmtree(moves_dir)
        for p in (state_path, levels_path, rules_path):
            p.unlink(missing_ok=True)
    months = [
        m
        for m in _months(engine, act)
        if (last is None or m > last) and (until is None or m <= until)
    ]
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="steps-", dir=out))
    n_customers = 0
    try:
        if incremental:
            state = _read(engine, state_path)
            if customers is not None:
                # customers who joined since the last run start on the start level
                fresh = _initial_state(engine, customers, rule_set, customer_columns, act)
                fresh = fresh.anti_join(state, "customer_id")
                state = ibis.union(state.select(*fresh.columns), fresh)
        else:
            state = _initial_state(engine, customers, rule_set, customer_columns, act)
        batch = method == "batch" or (method == "auto" and len(months) >= 2)
        if not months:
            ran = _Ran(None, {}, [], {})
        elif batch:
            # a fresh state has no business yet: one row per customer before the first
            # month is enough; a stored one brings its 2W months
            lags = rule_set.lags if incremental else 1
            ran = _run_batch(engine, act, state, rule_set, months, work, progress, state_lags=lags)
        else:
            ran = _run_monthly(engine, act, state, rule_set, months, work, progress)
        counts = ran.counts
        level_frames = ran.levels
        # publish: moves first, then the state and the bookkeeping (a crash leaves the old
        # state, and the month's moves are rewritten by the next run)
        moves_dir.mkdir(parents=True, exist_ok=True)
        for month, parts in ran.moves.items():
            stem = f"{month:%Y-%m}"
            for old in moves_dir.glob(f"{stem}.*.parquet"):
                old.unlink()
            for k, f in enumerate(parts):
                f.replace(moves_dir / (f"{stem}.parquet" if k == 0 else f"{stem}.{k}.parquet"))
        old_levels = pd.read_parquet(levels_path) if incremental and levels_path.exists() else None
        frames = [f for f in [old_levels, *level_frames] if f is not None and len(f)]
        level_table = (
            pd.concat(frames, ignore_index=True)
            if frames
            else pd.DataFrame({"month": [], "level": [], "n_customers": []})
        )
        level_table["level"] = level_table["level"].astype("int64")
        level_table["n_customers"] = level_table["n_customers"].astype("int64")
        level_table = level_table.sort_values(["month", "level"], ignore_index=True)
        if ran.state is not None:
            ran.state.replace(state_path)
        elif not incremental:
            _write(engine, state, state_path)
        level_table.to_parquet(levels_path, index=False)
        months_done = level_table["month"].tolist()
        newest = months[-1] if months else last
        rules_path.write_text(
            json.dumps(
                {
                    "fingerprint": rule_set.fingerprint(),
                    "last_month": newest.isoformat() if newest is not None else None,
                    "rules": rule_set.to_dict(),
                },
                ensure_ascii=False,
                indent=2,
            ),
            encoding="utf-8",
        )
        if level_frames:
            n_customers = int(level_frames[-1]["n_customers"].sum())
        elif months_done:
            n_customers = int(
                level_table[level_table["month"] == months_done[-1]]["n_customers"].sum()
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return StepsResult(
        rules_used=rule_set,
        months=tuple(months),
        n_customers=n_customers,
        n_moves=sum(counts.values()),
        levels=level_table,
        rule_counts=_rule_frame(rule_set, counts, lang),
        folder=out,
        incremental=incremental,
    )


def step_frames(
    engine: Engine,
    activity: Any,
    /,
    *,
    rules: StepRules | str | Path | None = None,
    customers: Any = None,
    columns: Mapping[str, str] | None = None,
    method: str = "auto",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the whole history in a temporary folder; (moves, final state) as DataFrames."""
    with tempfile.TemporaryDirectory(prefix="allegiance-steps-") as tmp:
        run_steps(
            engine,
            activity,
            folder=tmp,
            rules=rules,
            customers=customers,
            columns=columns,
            method=method,
        )
        moves = read_moves(engine, tmp)
        state = engine.to_pandas(_read(engine, Path(tmp) / "state.parquet"))
        if moves is None:
            frame = pd.DataFrame(
                columns=["customer_id", "month", "seq", "rule", "old_level", "new_level"]
            )
        else:
            frame = engine.to_pandas(moves)
    frame = frame.sort_values(["month", "customer_id", "seq"], ignore_index=True)
    state = state.sort_values("customer_id", ignore_index=True)
    return frame, state


# --------------------------------------------------------------------------------------------
# Reading the history back
# --------------------------------------------------------------------------------------------


def _stored_rules(folder: Path) -> StepRules:
    path = folder / "rules.json"
    if not path.exists():
        raise InputError("loyalty.steps.no_run", folder=str(folder))
    stored = json.loads(path.read_text(encoding="utf-8"))
    return parse_rules(stored["rules"], source=str(path))


def _values_text(row: Mapping[str, Any], rule: Rule | None) -> str:
    names: Iterable[str] = rule.measures if rule is not None else ()
    parts = []
    for name in names:
        v = row.get(name)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            parts.append(f"{name}=?")
        else:
            parts.append(f"{name}={float(v):.4g}")
        prev = _CROSSING.get(name)
        if (
            prev
            and rule is not None
            and any(c.op == "crosses" and c.measure == name for c in rule.when)
        ):
            pv = row.get(prev)
            pv_text = (
                "?"
                if pv is None or (isinstance(pv, float) and math.isnan(pv))
                else f"{float(pv):.4g}"
            )
            parts.append(f"{prev}={pv_text}")
    return ", ".join(parts)


@dataclass(frozen=True)
class ExplainResult:
    """One customer's level history: start level, every move with its reason, current level."""

    customer_id: str
    start_level: int
    level: int | None
    history: pd.DataFrame
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"history": self.history}

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "start_level": self.start_level,
            "level": self.level,
            "history": records(self.history),
        }


_HISTORY = ["month", "rule", "old_level", "new_level", "reason", "values"]


def _history(frame: pd.DataFrame, rules: StepRules, lang: str) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=["customer_id", *_HISTORY])
    by_name = {r.name: r for r in rules.rules}
    rows = frame.to_dict(orient="records")
    return pd.DataFrame(
        {
            "customer_id": [r["customer_id"] for r in rows],
            "month": [pd.Timestamp(r["month"]).date() for r in rows],
            "rule": [r["rule"] for r in rows],
            "old_level": [int(r["old_level"]) for r in rows],
            "new_level": [int(r["new_level"]) for r in rows],
            "reason": [
                by_name[r["rule"]].describe(lang) if r["rule"] in by_name else r["rule"]
                for r in rows
            ],
            "values": [
                _values_text({str(k): v for k, v in r.items()}, by_name.get(r["rule"]))
                for r in rows
            ],
        }
    )


def explain(
    engine: Engine, folder: str | Path, customer_id: str, /, *, lang: str = "en"
) -> ExplainResult:
    """The level history of one customer with the reason of every move."""
    out = Path(folder)
    rules = _stored_rules(out)
    state = _read(engine, out / "state.parquet")
    found = engine.to_pandas(state.filter(state.customer_id == str(customer_id)).select("level"))
    if found.empty:
        raise InputError(
            "loyalty.steps.unknown_customer", customer=str(customer_id), folder=str(out)
        )
    moves = read_moves(engine, out)
    if moves is None:
        frame = pd.DataFrame()
    else:
        frame = engine.to_pandas(moves.filter(moves.customer_id == str(customer_id)))
        frame = frame.sort_values(["month", "seq"], ignore_index=True)
    history = _history(frame, rules, lang).drop(columns=["customer_id"])
    return ExplainResult(
        customer_id=str(customer_id),
        start_level=rules.levels.start,
        level=int(found["level"].iloc[0]),
        history=history,
    )


@dataclass(frozen=True)
class AtRiskResult:
    """Customers whose level fell by ``drop`` or more over the last ``months`` processed
    months: ``customers`` (``customer_id | level_before | level | change | reasons``) and
    ``moves`` (every move of theirs in that period)."""

    months: tuple[dt.date, ...]
    drop: int
    customers: pd.DataFrame
    moves: pd.DataFrame
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"at_risk": self.customers}

    def to_dict(self) -> dict[str, Any]:
        return {
            "months": [m.isoformat() for m in self.months],
            "drop": self.drop,
            "n_customers": len(self.customers),
            "customers": records(self.customers),
        }


def at_risk(
    engine: Engine,
    folder: str | Path,
    /,
    *,
    months: int = 1,
    drop: int = 2,
    limit: int | None = None,
    lang: str = "en",
) -> AtRiskResult:
    """Customers down ``drop`` or more levels over the last ``months`` months, with reasons
    (largest fall first)."""
    import ibis

    if months < 1 or drop < 1:
        raise InputError("loyalty.steps.bad_period", months=months, drop=drop)
    out = Path(folder)
    rules = _stored_rules(out)
    levels_path = out / "levels.parquet"
    done = sorted(set(pd.read_parquet(levels_path)["month"])) if levels_path.exists() else []
    period = tuple(pd.Timestamp(m).date() for m in done[-months:])
    moves = read_moves(engine, out)
    empty = pd.DataFrame(columns=["customer_id", "level_before", "level", "change", "reasons"])
    if moves is None or not period:
        return AtRiskResult(period, drop, empty, pd.DataFrame(columns=["customer_id", *_HISTORY]))
    first = ibis.literal(period[0], type="date")
    recent = moves.filter(moves.month >= first)
    change = recent.group_by("customer_id").agg(
        change=(recent.new_level.cast("int32") - recent.old_level.cast("int32")).sum()
    )
    hit = change.filter(change.change <= -drop)
    order = [hit.change, hit.customer_id]
    hit = hit.order_by(order)
    if limit is not None:
        hit = hit.limit(limit)
    picked = engine.to_pandas(hit)
    if picked.empty:
        return AtRiskResult(period, drop, empty, pd.DataFrame(columns=["customer_id", *_HISTORY]))
    ids = engine.table(picked[["customer_id"]])
    detail = engine.to_pandas(recent.semi_join(ids, "customer_id"))
    detail = detail.sort_values(["customer_id", "month", "seq"], ignore_index=True)
    history = _history(detail, rules, lang)
    state = _read(engine, out / "state.parquet")
    now = engine.to_pandas(state.semi_join(ids, "customer_id").select("customer_id", "level"))
    table = picked.merge(now, on="customer_id", how="left")
    table["change"] = table["change"].astype("int64")
    table["level"] = table["level"].astype("int64")
    table["level_before"] = table["level"] - table["change"]
    reasons = history.groupby("customer_id", sort=False)["reason"].agg(
        lambda s: "; ".join(dict.fromkeys(s))
    )
    table["reasons"] = table["customer_id"].map(reasons).fillna("")
    table = table.sort_values(["change", "customer_id"], ignore_index=True)
    return AtRiskResult(
        period,
        drop,
        table[["customer_id", "level_before", "level", "change", "reasons"]],
        history,
    )
