"""Reliability and validity of a fitted PLS path model (the measurement model's report card).

For each construct (see :mod:`allegiance.methods.psychometrics` for the formulas):
Cronbach's alpha (raw, on the items' covariances, and standardised), composite
reliability rho_c and AVE from the PLS loadings, rho_A (Dijkstra & Henseler
2015) from the PLS outer weights. Between constructs: the Fornell-Larcker table
and the HTMT matrix. Collinearity: the VIF of every item within its block (what
matters for formative blocks) and of the predictors of every structural equation.

Reliability and AVE describe reflective (mode A) blocks; for formative (mode B)
blocks they are left empty (NaN) and the item VIFs and weights are what to read.
A single-item construct has rho_c = rho_A = AVE = 1 and no alpha.

Thresholds for the warnings (all keyword arguments): alpha and rho_c below 0.7
(Nunnally & Bernstein 1994), AVE below 0.5 (Fornell & Larcker 1981), HTMT above
0.90 (Henseler et al. 2015; 0.85 is the conservative choice), VIF above 5 (Hair
et al. 2017), and any Fornell-Larcker violation.

>>> from allegiance.datasets import load_mobi
>>> from allegiance.pls.estimate import estimate
>>> from allegiance.pls.spec import PathModel
>>> m = PathModel.from_syntax("Image =~ IMAG1 + IMAG2 + IMAG3\\nValue =~ PERV1 + PERV2\\nValue ~ Image")
>>> report = evaluate(estimate(m, load_mobi()))
>>> list(report.reliability.columns)
['construct', 'mode', 'k', 'alpha', 'alpha_std', 'rho_c', 'rho_a', 'ave']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from allegiance.i18n import Message
from allegiance.methods.psychometrics import (
    alpha_from_cov,
    average_variance_extracted,
    composite_reliability,
    fornell_larcker,
    htmt,
    rho_a,
    standardized_alpha,
    vif,
)
from allegiance.pls.estimate import PLSResult
from allegiance.results import records

__all__ = ["Evaluation", "evaluate"]


@dataclass(frozen=True, eq=False, kw_only=True)
class Evaluation:
    """Reliability and validity of a fitted model.

    ``reliability``: ``construct | mode | k | alpha | alpha_std | rho_c | rho_a |
    ave``; ``fornell_larcker``: constructs x constructs (√AVE on the diagonal,
    correlations below, NaN above); ``htmt``: constructs x constructs
    (symmetric, NaN diagonal); ``cross_loadings``: items x constructs;
    ``vif_items``: ``construct | item | mode | vif``; ``vif_inner``: ``target |
    predictor | vif``.
    """

    reliability: pd.DataFrame
    fornell_larcker: pd.DataFrame
    htmt: pd.DataFrame
    cross_loadings: pd.DataFrame
    vif_items: pd.DataFrame
    vif_inner: pd.DataFrame
    thresholds: dict[str, float]
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "reliability": self.reliability,
            "fornell_larcker": self.fornell_larcker.rename_axis("construct"),
            "htmt": self.htmt.rename_axis("construct"),
            "cross_loadings": self.cross_loadings.rename_axis("item"),
            "vif_items": self.vif_items,
            "vif_inner": self.vif_inner,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "pls_evaluation",
            "thresholds": dict(self.thresholds),
            "tables": {name: records(frame) for name, frame in self.tables().items()},
            "warnings": [w.to_dict() for w in self.warnings],
        }


def evaluate(
    result: PLSResult,
    /,
    *,
    alpha_min: float = 0.7,
    rho_c_min: float = 0.7,
    ave_min: float = 0.5,
    htmt_max: float = 0.90,
    vif_max: float = 5.0,
) -> Evaluation:
    """The reliability and validity report of a fitted model (see the module)."""
    layout = result.layout
    model = result.model
    corr = result.correlation
    sds = result.sds if result.sds is not None else np.ones(layout.p)
    cov = corr * np.outer(sds, sds)
    loadings = result.loadings.to_numpy()
    weights = result.outer_weights.to_numpy()
    warnings: list[Message] = []
    rows = []
    vif_rows: list[dict[str, Any]] = []
    item_corr = pd.DataFrame(corr, index=pd.Index(layout.items), columns=pd.Index(layout.items))
    for j, construct in enumerate(model.constructs):
        idx = layout.blocks[j]
        k = int(idx.size)
        reflective = construct.mode == "A"
        lam = loadings[idx]
        r = corr[np.ix_(idx, idx)]
        row: dict[str, Any] = {"construct": construct.name, "mode": construct.mode, "k": k}
        row["alpha"] = alpha_from_cov(cov[np.ix_(idx, idx)]) if k > 1 and reflective else np.nan
        row["alpha_std"] = standardized_alpha(r) if k > 1 and reflective else np.nan
        row["rho_c"] = composite_reliability(lam) if reflective else np.nan
        row["rho_a"] = rho_a(r, weights[idx]) if reflective else np.nan
        row["ave"] = average_variance_extracted(lam) if reflective else np.nan
        rows.append(row)
        if reflective and k > 1:
            if row["alpha"] < alpha_min:
                warnings.append(_warn("alpha_low", construct.name, row["alpha"], alpha_min))
            if row["rho_c"] < rho_c_min:
                warnings.append(_warn("rho_c_low", construct.name, row["rho_c"], rho_c_min))
            if row["ave"] < ave_min:
                warnings.append(_warn("ave_low", construct.name, row["ave"], ave_min))
        block_vif = vif(item_corr.iloc[idx, idx])
        for item, value in block_vif.items():
            vif_rows.append(
                {"construct": construct.name, "item": item, "mode": construct.mode, "vif": value}
            )
            if construct.mode == "B" and value > vif_max:
                warnings.append(
                    Message(
                        "psychometrics.warn.vif_high",
                        {
                            "name": item,
                            "where": construct.name,
                            "value": value,
                            "threshold": vif_max,
                        },
                    )
                )
    reliability = pd.DataFrame(
        rows, columns=["construct", "mode", "k", "alpha", "alpha_std", "rho_c", "rho_a", "ave"]
    )
    lv_corr = result.construct_correlations
    ave = pd.Series(reliability["ave"].to_numpy(), index=pd.Index(layout.constructs))
    fl = fornell_larcker(lv_corr, ave)
    ave_values = ave.to_numpy(dtype=np.float64)
    for a, name in enumerate(layout.constructs):
        if not np.isfinite(ave_values[a]) or layout.blocks[a].size < 2:
            continue
        root = float(np.sqrt(ave_values[a]))
        for b, other in enumerate(layout.constructs):
            value = abs(float(lv_corr.to_numpy()[a, b]))
            if a != b and value >= root:
                warnings.append(
                    Message(
                        "psychometrics.warn.fornell_larcker",
                        {"construct": name, "value": root, "other": other, "corr": value},
                    )
                )
    blocks = {c.name: list(c.items) for c in model.constructs}
    ht = htmt(item_corr, blocks=blocks)
    names = list(layout.constructs)
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            value = float(ht.to_numpy()[a, b])
            if value > htmt_max:
                warnings.append(
                    Message(
                        "psychometrics.warn.htmt_high",
                        {
                            "first": names[a],
                            "second": names[b],
                            "value": value,
                            "threshold": htmt_max,
                        },
                    )
                )
    inner_rows: list[dict[str, Any]] = []
    for j in layout.endogenous:
        preds = layout.predecessors[j]
        sub = lv_corr.iloc[preds, preds]
        for pred, value in vif(sub).items():
            inner_rows.append({"target": names[j], "predictor": pred, "vif": value})
            if value > vif_max:
                warnings.append(
                    Message(
                        "psychometrics.warn.vif_high",
                        {"name": pred, "where": names[j], "value": value, "threshold": vif_max},
                    )
                )
    return Evaluation(
        reliability=reliability,
        fornell_larcker=fl,
        htmt=ht,
        cross_loadings=result.cross_loadings,
        vif_items=pd.DataFrame(vif_rows, columns=["construct", "item", "mode", "vif"]),
        vif_inner=pd.DataFrame(inner_rows, columns=["target", "predictor", "vif"]),
        thresholds={
            "alpha_min": alpha_min,
            "rho_c_min": rho_c_min,
            "ave_min": ave_min,
            "htmt_max": htmt_max,
            "vif_max": vif_max,
        },
        warnings=tuple(warnings),
    )


def _warn(kind: str, construct: str, value: float, threshold: float) -> Message:
    return Message(
        f"psychometrics.warn.{kind}",
        {"construct": construct, "value": float(value), "threshold": threshold},
    )
