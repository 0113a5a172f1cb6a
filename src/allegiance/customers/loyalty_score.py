"""The AHP loyalty score (SPEC section 4, "Loyalty index by AHP"): 0-100 per customer.

Factors (one value X_i per customer, computed as Ibis expressions on the engine):

- ``nature``: customer nature scored by :data:`NATURE_SCORES` (key government account 6 …
  retail 1, the order in which the material lists them);
- ``products_held``: products (services) held in the scoring month;
- ``tenure``: whole months since the customer joined, at the scoring month;
- ``product_breadth``: number of product types used (``product_types`` of the loyalty facts;
  without them, the most products held in any month);
- ``sole_supplier``: 1 when we are the customer's only supplier, else 0;
- ``never_switched``: 1 when the customer never switched supplier, else 0 (the material's
  "whether the customer ever switched", turned so that more is more loyal).

Normalisation ``DC_i`` (:data:`NORMALISATIONS`): ``max`` (default, as the material says:
``X_i / X_max`` with X_max the largest value among the customers scored), ``cap`` (``min(X_i /
cap_i, 1)`` with a fixed cap per factor) and ``minmax`` (``(X_i - X_min) / (X_max - X_min)``).
The score is ``100 · Σ_i C_i · DC_i`` with the global AHP weights ``C_i`` of a hierarchy file
(leaves name their factor with ``factor:``, or by id), through :mod:`allegiance.methods.ahp`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from allegiance.errors import ConfigError, InputError
from allegiance.i18n import Message
from allegiance.results import records

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from allegiance.customers.engine import Engine
    from allegiance.methods.ahp import HierarchyResult

__all__ = [
    "DEFAULT_HIERARCHY",
    "FACTORS",
    "NATURE_SCORES",
    "NORMALISATIONS",
    "LoyaltyScoreResult",
    "factor_table",
    "loyalty_score",
    "normalise",
    "weights_from_hierarchy",
]

DEFAULT_HIERARCHY = "loyalty_standard"
FACTORS: tuple[str, ...] = (
    "nature",
    "products_held",
    "tenure",
    "product_breadth",
    "sole_supplier",
    "never_switched",
)
NATURE_SCORES: dict[str, float] = {
    "key_government": 6.0,
    "public_welfare": 5.0,
    "other_key": 4.0,
    "other_large": 3.0,
    "wholesale": 2.0,
    "retail": 1.0,
}
NORMALISATIONS: tuple[str, ...] = ("max", "cap", "minmax")


def weights_from_hierarchy(analysed: HierarchyResult) -> dict[str, float]:
    """Factor → global weight C_i; a leaf names its factor by ``factor:`` or by its id."""
    weights: dict[str, float] = {}
    for leaf in analysed.hierarchy.leaves():
        factor = str(leaf.attrs.get("factor") or leaf.id)
        if factor not in FACTORS:
            raise ConfigError(
                "loyalty.score.unknown_factor", factor=factor, factors=", ".join(FACTORS)
            )
        weights[factor] = weights.get(factor, 0.0) + float(analysed.leaf_weights[leaf.id])
    return weights


def factor_table(
    engine: Engine,
    customers: Any,
    activity: Any,
    /,
    *,
    facts: Any = None,
    as_of: dt.date | None = None,
    nature_scores: Mapping[str, float] | None = None,
) -> ir.Table:
    """One row per customer with the raw factor values X_i (an Ibis expression)."""
    import ibis

    scores = dict(nature_scores or NATURE_SCORES)
    c = engine.table(customers)
    a = engine.table(activity)
    for need, table, where in (
        (("customer_id",), c, "customers"),
        (("customer_id", "month", "products_held"), a, "activity"),
    ):
        missing = [x for x in need if x not in table.columns]
        if missing:
            raise InputError(
                "loyalty.score.missing_columns",
                table=where,
                columns=", ".join(missing),
                available=", ".join(table.columns),
            )
    a = a.mutate(customer_id=a.customer_id.cast("string"), month=a.month.cast("date"))
    month = a.month.max().as_scalar() if as_of is None else ibis.literal(as_of, type="date")
    now = (
        a.filter(a.month == month)
        .group_by("customer_id")
        .agg(products_held=a.products_held.cast("float64").max())
    )
    upto = a.filter(a.month <= month)
    most = upto.group_by("customer_id").agg(most_held=upto.products_held.cast("float64").max())
    nature_col = c.nature.cast("string") if "nature" in c.columns else ibis.null("string")
    nature = nature_col.cases(*[(k, float(v)) for k, v in scores.items()], else_=None)
    if "join_date" in c.columns:
        join = c.join_date.cast("date")
        tenure = ((month.year() - join.year()) * 12 + (month.month() - join.month())).cast(
            "float64"
        )
    else:
        tenure = ibis.null("float64")
    base = c.select(
        customer_id=c.customer_id.cast("string"),
        nature=nature.cast("float64"),
        tenure=ibis.greatest(tenure, 0.0),
    )
    out = base.left_join(now, "customer_id").drop("customer_id_right")
    out = out.left_join(most, "customer_id").drop("customer_id_right")
    if facts is not None:
        f = engine.table(facts)
        f = f.mutate(customer_id=f.customer_id.cast("string"))
        cols = {"customer_id": f.customer_id}
        for name, kind in (
            ("product_types", "float64"),
            ("sole_supplier", "bool"),
            ("ever_switched", "bool"),
        ):
            cols[name] = f[name].cast(kind) if name in f.columns else ibis.null(kind)
        out = out.left_join(f.select(**cols), "customer_id").drop("customer_id_right")
        breadth = out.product_types.fill_null(out.most_held)
        sole = out.sole_supplier.cast("float64")
        never = 1.0 - out.ever_switched.cast("float64")
    else:
        breadth = out.most_held
        sole = ibis.null("float64")
        never = ibis.null("float64")
    return out.select(
        "customer_id",
        "nature",
        products_held=out.products_held.fill_null(0.0),
        tenure="tenure",
        product_breadth=breadth.fill_null(0.0),
        sole_supplier=sole,
        never_switched=never,
    )


def normalise(
    table: ir.Table,
    /,
    *,
    factors: tuple[str, ...] = FACTORS,
    method: str = "max",
    caps: Mapping[str, float] | None = None,
) -> ir.Table:
    """Add ``dc_<factor>`` columns: each factor's X_i turned into DC_i in [0, 1]."""
    import ibis

    if method not in NORMALISATIONS:
        raise InputError(
            "loyalty.score.bad_normalisation", method=method, choices=", ".join(NORMALISATIONS)
        )
    cols: dict[str, Any] = {}
    for f in factors:
        x = table[f]
        if method == "max":
            top = x.max().as_scalar()
            dc = ibis.ifelse(top > 0, x / top.nullif(0.0), 0.0)
        elif method == "minmax":
            low, top = x.min().as_scalar(), x.max().as_scalar()
            span = (top - low).nullif(0.0)
            dc = ((x - low) / span).fill_null(0.0)
        else:
            cap = (caps or {}).get(f)
            if cap is None or cap <= 0:
                raise InputError("loyalty.score.no_cap", factor=f)
            dc = ibis.least(x / float(cap), 1.0)
        cols[f"dc_{f}"] = ibis.greatest(dc, 0.0).fill_null(0.0)
    return table.mutate(**cols)


@dataclass(frozen=True)
class LoyaltyScoreResult:
    """Scores (``customer_id | score | X_i … | dc_i …``, highest first), the weights used
    (``factor | weight | x_max``) and the normalisation."""

    scores: pd.DataFrame
    weights: pd.DataFrame
    normalisation: str
    hierarchy_cr: float | None
    summary: pd.DataFrame
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"weights": self.weights, "summary": self.summary, "scores": self.scores}

    def to_dict(self) -> dict[str, Any]:
        return {
            "normalisation": self.normalisation,
            "hierarchy_cr": self.hierarchy_cr,
            "weights": records(self.weights),
            "summary": records(self.summary),
            "n_customers": len(self.scores),
        }


def loyalty_score(
    engine: Engine,
    factors: ir.Table,
    /,
    *,
    hierarchy: HierarchyResult | str | Path | None = None,
    weights: Mapping[str, float] | None = None,
    normalisation: str = "max",
    caps: Mapping[str, float] | None = None,
    top: int | None = None,
) -> LoyaltyScoreResult:
    """Score every customer of ``factors`` (:func:`factor_table`) 0-100 by AHP weights.

    ``hierarchy`` is an analysed hierarchy, a file or a shipped template name (default
    ``loyalty_standard``); ``weights`` (factor → C_i) may be given instead. Factors whose
    values are unknown for every customer (e.g. no loyalty facts) are left out with a
    warning and the remaining weights are rescaled to sum to 1.
    """
    import ibis

    from allegiance.methods import ahp

    cr: float | None = None
    if weights is None:
        if hierarchy is None or isinstance(hierarchy, str | Path):
            name = str(hierarchy) if hierarchy is not None else DEFAULT_HIERARCHY
            path = Path(name).expanduser()
            if not path.is_file():
                from allegiance.templates import template_path

                path = template_path("hierarchies", name)
            hierarchy = ahp.analyze(ahp.load_hierarchy(path))
        weights = weights_from_hierarchy(hierarchy)
        cr = float(hierarchy.cr)
    unknown = [f for f in weights if f not in FACTORS]
    if unknown:
        raise ConfigError(
            "loyalty.score.unknown_factor", factor=", ".join(unknown), factors=", ".join(FACTORS)
        )
    used = tuple(f for f in FACTORS if weights.get(f, 0.0) > 0)
    counts = engine.to_pandas(factors.aggregate(**{f: factors[f].count() for f in used}))
    warnings: list[Message] = []
    missing = [f for f in used if int(counts[f].iloc[0]) == 0]
    for f in missing:
        warnings.append(Message("loyalty.score.factor_missing", {"factor": f}))
    used = tuple(f for f in used if f not in missing)
    if not used:
        raise InputError("loyalty.score.no_factors")
    total = sum(weights[f] for f in used)
    c = {f: weights[f] / total for f in used}
    dcs = normalise(factors, factors=used, method=normalisation, caps=caps)
    score = sum((dcs[f"dc_{f}"] * c[f] for f in used[1:]), dcs[f"dc_{used[0]}"] * c[used[0]])
    scored = dcs.mutate(score=100.0 * score)
    summary = engine.to_pandas(
        scored.aggregate(
            n_customers=scored.count(),
            mean=scored.score.mean(),
            p10=scored.score.quantile(0.1),
            median=scored.score.quantile(0.5),
            p90=scored.score.quantile(0.9),
        )
    )
    maxima = engine.to_pandas(factors.aggregate(**{f: factors[f].max() for f in used}))
    table = scored.select("customer_id", "score", *used, *[f"dc_{f}" for f in used])
    table = table.order_by([ibis.desc("score"), "customer_id"])
    if top is not None:
        table = table.limit(top)
    frame = engine.to_pandas(table)
    weight_frame = pd.DataFrame(
        {
            "factor": list(used),
            "weight": [c[f] for f in used],
            "x_max": [float(maxima[f].iloc[0]) for f in used],
        }
    )
    return LoyaltyScoreResult(
        scores=frame,
        weights=weight_frame,
        normalisation=normalisation,
        hierarchy_cr=cr,
        summary=summary,
        warnings=tuple(warnings),
    )
