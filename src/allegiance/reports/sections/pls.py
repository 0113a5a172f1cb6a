"""The satisfaction index model (SPEC section 3, method 3): ECSI estimated by PLS path modelling.

Reads the 24 ECSI items of ``data.responses`` (IMAG1-5, CUEX1-3, PERQ1-7, PERV1-2,
CUSA1-3, CUSCO, CUSL1-3 on 1..10), estimates the shipped ``ecsi`` model
(:func:`allegiance.pls.estimate`, path weighting), evaluates it
(:func:`allegiance.pls.evaluate`) and bootstraps it (:data:`N_BOOT` resamples,
seed :data:`SEED`; :func:`allegiance.pls.bootstrap.bootstrap`).

Shows the Satisfaction and Loyalty 0-100 indices, their R², the GoF; a path
diagram in the classic ECSI layout; the paths with bootstrap intervals; the
index, R² and reliability/validity per construct; the HTMT matrix; and, when
the project was generated, the estimated paths next to the generator's true
ones (``truth["customers"]["latent"]["paths"]``): the honesty check. Beside the
truth it shows what PLS converges to with the survey's measurement error
(the PLS estimate on the population item correlations implied by the true
loadings and construct covariances), since PLS composites attenuate paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import pandas as pd

from allegiance.i18n import Message
from allegiance.reports.registry import (
    Chart,
    ColumnFormat,
    KeyFigure,
    ReportTable,
    Section,
    SectionOutput,
    register_section,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from allegiance.pls import Evaluation, PathModel, PLSResult
    from allegiance.pls.bootstrap import BootstrapResult
    from allegiance.workflow import ProjectData

MODEL = "ecsi"
N_BOOT = 500
JACKKNIFE_GROUPS = 200  # BCa acceleration from a delete-a-group jackknife: cheap at any n
SEED = 20240601
LEVEL = 0.95
SCHEME: Final[Literal["path"]] = "path"

# Where each ECSI construct sits in the diagram (x to the right, y up): the classic picture,
# drivers on the left, satisfaction in the middle, complaints and loyalty on the right.
ECSI_LAYOUT: dict[str, tuple[float, float]] = {
    "Image": (1.2, 3.0),
    "Expectation": (0.0, 2.0),
    "Perceived quality": (0.0, 0.4),
    "Perceived value": (1.6, -0.3),
    "Satisfaction": (2.4, 1.5),
    "Complaints": (3.7, 0.3),
    "Loyalty": (4.6, 2.2),
}
# The generator's construct names (truth) for the template's.
TRUTH_NAMES: dict[str, str] = {"Perceived quality": "Quality", "Perceived value": "Value"}
NODE_W, NODE_H = 0.95, 0.5


def compute(answers: pd.DataFrame) -> tuple[PathModel, PLSResult, Evaluation, BootstrapResult]:
    """The section's computation: the ECSI fit, its evaluation and its bootstrap."""
    from allegiance.pls import estimate, evaluate
    from allegiance.pls.bootstrap import bootstrap
    from allegiance.pls.templates import load_model

    model = load_model(MODEL)
    fit = estimate(model, answers, scheme=SCHEME)
    quality = evaluate(fit)
    boot = bootstrap(
        answers,
        model=model,
        n_boot=N_BOOT,
        seed=SEED,
        scheme=SCHEME,
        level=LEVEL,
        jackknife_groups=JACKKNIFE_GROUPS,
    )
    return model, fit, quality, boot


# --------------------------------------------------------------------------- the diagram


def positions(model: PathModel) -> dict[str, tuple[float, float]]:
    """The ECSI layout for ECSI constructs; otherwise columns by causal depth."""
    names = model.construct_names
    if all(n in ECSI_LAYOUT for n in names):
        return {n: ECSI_LAYOUT[n] for n in names}
    depth: dict[str, int] = {}
    for name in names:  # constructs of the shipped models are listed in causal order
        preds = model.predecessors(name)
        depth[name] = 1 + max((depth.get(p, 0) for p in preds), default=-1)
    out: dict[str, tuple[float, float]] = {}
    for level in sorted(set(depth.values())):
        column = [n for n in names if depth[n] == level]
        for row, name in enumerate(column):
            out[name] = (1.4 * level, 1.2 * (len(column) - 1) / 2 - 1.2 * row)
    return out


def _edge(start: tuple[float, float], end: tuple[float, float]) -> tuple[float, ...]:
    """The arrow from box ``start`` to box ``end``, clipped at both boxes' borders."""
    (x0, y0), (x1, y1) = start, end
    dx, dy = x1 - x0, y1 - y0
    # parameter where the segment leaves a box of half-sizes (w, h) centred at its origin
    w, h = NODE_W / 2 + 0.04, NODE_H / 2 + 0.04
    s = min(w / abs(dx) if dx else np.inf, h / abs(dy) if dy else np.inf)
    return (x0 + s * dx, y0 + s * dy, x1 - s * dx, y1 - s * dy)


def path_diagram(
    model: PathModel, paths: pd.DataFrame, r2: Mapping[str, float], *, lang: str
) -> go.Figure:
    """Boxes for the constructs, arrows annotated with coefficients, R² in each explained box.

    ``paths`` has ``source``, ``target``, ``estimate`` and, optionally, ``ci_low``/``ci_high``:
    a path whose interval holds 0 is drawn grey.
    """
    import plotly.graph_objects as go

    from allegiance.reports import charts

    pos = positions(model)
    notes: list[dict[str, Any]] = []  # built as plain dicts and set once: plotly validates
    boxes: list[dict[str, Any]] = []  # every add_annotation call against all earlier ones
    lows = paths["ci_low"] if "ci_low" in paths else pd.Series(np.nan, index=paths.index)
    highs = paths["ci_high"] if "ci_high" in paths else pd.Series(np.nan, index=paths.index)
    for source, target, estimate, low, high in zip(
        paths["source"].astype(str),
        paths["target"].astype(str),
        paths["estimate"].to_numpy(dtype=float),
        lows.to_numpy(dtype=float),
        highs.to_numpy(dtype=float),
        strict=True,
    ):
        x0, y0, x1, y1 = _edge(pos[source], pos[target])
        clear = not (np.isfinite(low) and np.isfinite(high) and low <= 0 <= high)
        colour = charts.PALETTE[0] if clear else "#9a9a9a"
        notes.append(
            {
                "x": x1, "y": y1, "ax": x0, "ay": y0, "xref": "x", "yref": "y", "axref": "x",
                "ayref": "y", "text": "", "showarrow": True, "arrowhead": 3, "arrowsize": 1.0,
                "arrowwidth": 1.0 + 4.0 * min(abs(estimate), 1.0),
                "arrowcolor": colour, "standoff": 0,
            }
        )  # fmt: skip
        notes.append(
            {
                "x": (x0 + x1) / 2, "y": (y0 + y1) / 2, "text": f"{estimate:.2f}",
                "showarrow": False, "bgcolor": "rgba(255,255,255,0.9)", "borderpad": 2,
                "font": {"size": 12, "color": colour},
            }
        )  # fmt: skip
    for name, (x, y) in pos.items():
        boxes.append(
            {
                "type": "rect", "x0": x - NODE_W / 2, "x1": x + NODE_W / 2,
                "y0": y - NODE_H / 2, "y1": y + NODE_H / 2, "layer": "below",
                "line": {"color": charts.PALETTE[0], "width": 1.5}, "fillcolor": "#eaf2fb",
            }
        )  # fmt: skip
        text = f"<b>{model.label(name, lang)}</b>"
        value = r2.get(name)
        if value is not None and np.isfinite(value):
            text += f"<br><span style='font-size:11px;color:#555555'>R² = {value:.2f}</span>"
        notes.append({"x": x, "y": y, "text": text, "showarrow": False, "font": {"size": 12}})
    fig = go.Figure(layout={"annotations": notes, "shapes": boxes})
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    fig.update_xaxes(visible=False, range=[min(xs) - 0.7, max(xs) + 0.7])
    fig.update_yaxes(visible=False, range=[min(ys) - 0.6, max(ys) + 0.5])
    charts.style(fig, height=480)
    fig.update_layout(showlegend=False, margin={"l": 10, "r": 10, "t": 20, "b": 10})
    return fig


# --------------------------------------------------------------------------- the honesty check


def _truth(data: ProjectData) -> Mapping[str, Any] | None:
    truth = getattr(data, "truth", None) or {}
    for key in ("customers", "generate.customers"):
        found = truth.get(key)
        if isinstance(found, Mapping) and isinstance(found.get("latent"), Mapping):
            return found
    return None


def _survey_loadings(data: ProjectData) -> Mapping[str, Any] | None:
    truth = getattr(data, "truth", None) or {}
    for key in ("survey", "generate.survey"):
        found = truth.get(key)
        if isinstance(found, Mapping) and isinstance(found.get("ecsi"), Mapping):
            items = found["ecsi"].get("items")
            return items if isinstance(items, Mapping) else None
    return None


def truth_table(data: ProjectData, model: PathModel, boot: BootstrapResult) -> pd.DataFrame | None:
    """Estimated paths beside the generator's true paths (None when the project has no truth).

    Columns: source, target, estimate, ci_low, ci_high, truth, pls_population (what PLS
    converges to with the survey's measurement error, when the true loadings are known),
    difference (estimate - truth) and covered (the truth inside the bootstrap interval).
    """
    customers = _truth(data)
    if customers is None:
        return None
    latent = customers["latent"]
    true_paths: Mapping[str, float] = latent.get("paths", {})

    def key(name: str) -> str:
        return TRUTH_NAMES.get(name, name)

    table = boot.paths.loc[:, ["source", "target", "estimate", "ci_low", "ci_high"]].copy()
    table["truth"] = [
        float(true_paths.get(f"{key(s)}->{key(d)}", np.nan))
        for s, d in zip(table["source"], table["target"], strict=True)
    ]
    table["pls_population"] = _population_paths(data, model, latent, table, key)
    table["difference"] = table["estimate"] - table["truth"]
    table["covered"] = (table["ci_low"] <= table["truth"]) & (table["truth"] <= table["ci_high"])
    return table


def _population_paths(
    data: ProjectData, model: PathModel, latent: Mapping[str, Any], table: pd.DataFrame, key: Any
) -> Any:
    """PLS on the item correlations the generator implies: corr(i, j) = λ_i λ_j Σ(c_i, c_j)."""
    from allegiance.pls import estimate_from_cov

    items = _survey_loadings(data)
    cov = latent.get("covariance")
    if items is None or not isinstance(cov, Mapping):
        return np.nan
    try:
        lam = np.array([float(items[i]["loading"]) for i in model.items])
        own = [key(model.construct_of(i)) for i in model.items]
        sigma = np.array([[float(cov[a][b]) for b in own] for a in own])
    except (KeyError, TypeError, ValueError):
        return np.nan
    implied = np.outer(lam, lam) * sigma
    np.fill_diagonal(implied, 1.0)
    fit = estimate_from_cov(model, implied, n=1_000_000, scheme=SCHEME)
    pos = {n: i for i, n in enumerate(model.construct_names)}
    return [
        fit.path_array[pos[s], pos[d]]
        for s, d in zip(table["source"], table["target"], strict=True)
    ]


# --------------------------------------------------------------------------- the section


def _named(
    frame: pd.DataFrame, model: PathModel, lang: str, columns: tuple[str, ...]
) -> pd.DataFrame:
    out = frame.copy()
    for col in columns:
        out[col] = [model.label(v, lang) for v in out[col]]
    return out


def build(data: ProjectData) -> SectionOutput:
    lang = data.lang
    model, fit, quality, boot = compute(data.responses)
    index = fit.index
    r2 = fit.r2
    figures = (
        KeyFigure("satisfaction_index", "section.pls.satisfaction_index", float(index["Satisfaction"]), kind="score"),
        KeyFigure("loyalty_index", "section.pls.loyalty_index", float(index["Loyalty"]), kind="score"),
        KeyFigure("satisfaction_r2", "section.pls.satisfaction_r2", float(r2["Satisfaction"]), digits=3),
        KeyFigure("loyalty_r2", "section.pls.loyalty_r2", float(r2["Loyalty"]), digits=3),
        KeyFigure("gof", "section.pls.gof", fit.gof, digits=3),
        KeyFigure("n", "section.pls.n", fit.n, kind="count"),
    )  # fmt: skip
    paths = boot.paths.loc[
        :, ["source", "target", "estimate", "se", "p", "ci_low", "ci_high", "bca_low", "bca_high"]
    ]
    constructs = fit.constructs_table().loc[:, ["construct", "n_items", "index", "r2", "r2_adj"]]
    reliability = quality.reliability.loc[:, ["construct", "k", "alpha", "rho_c", "rho_a", "ave"]]
    htmt = quality.htmt.copy()
    htmt.index = pd.Index([model.label(n, lang) for n in htmt.index], name="construct")
    htmt.columns = pd.Index([model.label(n, lang) for n in htmt.columns])
    tables = [
        ReportTable(
            "paths",
            "section.pls.paths",
            _named(paths, model, lang, ("source", "target")),
            digits=3,
            formats={"p": ColumnFormat(digits=4)},
            note_key=Message("section.pls.paths_note", {"n_boot": boot.n_boot, "seed": boot.seed}),
        ),
        ReportTable(
            "constructs",
            "section.pls.constructs",
            _named(constructs, model, lang, ("construct",)),
            digits=3,
            formats={"index": ColumnFormat(digits=1)},
            note_key="section.pls.index_note",
        ),
        ReportTable(
            "reliability",
            "section.pls.reliability",
            _named(reliability, model, lang, ("construct",)),
            digits=3,
            note_key="section.pls.reliability_note",
        ),
        ReportTable("htmt", "section.pls.htmt", htmt, digits=3, note_key="section.pls.htmt_note"),
    ]
    notes = [Message("section.pls.model_note", {"n": fit.n, "scheme": SCHEME})]
    honesty = truth_table(data, model, boot)
    if honesty is not None:
        tables.append(
            ReportTable(
                "truth",
                "section.pls.truth",
                _named(honesty, model, lang, ("source", "target")),
                digits=3,
                note_key="section.pls.truth_note",
            )
        )
    diagram = path_diagram(
        model, boot.paths, {str(name): float(v) for name, v in r2.items()}, lang=lang
    )
    warnings = (*fit.warnings, *quality.warnings, *boot.warnings)
    return SectionOutput(
        figures=figures,
        tables=tuple(tables),
        charts=(Chart("path_diagram", "section.pls.diagram", diagram),),
        notes=tuple(notes),
        warnings=tuple(warnings),
    )


SECTION = register_section(Section("pls", "section.pls.title", 40, build))
