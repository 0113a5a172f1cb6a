"""Reliability of item blocks against pingouin and R plspm (tests/golden/psychometrics)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from allegiance.datasets import (
    load_cronbach_alpha,
    load_cronbach_wide_missing,
    load_mobi,
    load_plspm_satisfaction,
)
from allegiance.errors import ColumnNotFoundError, ValidationError
from allegiance.methods.psychometrics import (
    alpha_from_cov,
    average_variance_extracted,
    block_reliability,
    composite_reliability,
    cronbach_alpha,
    fornell_larcker,
    htmt,
    rho_a,
    standardized_alpha,
    vif,
)

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "psychometrics"
PINGOUIN = json.loads((GOLDEN / "pingouin_cronbach_alpha.json").read_text(encoding="utf-8"))


def test_alpha_long_format_matches_pingouin() -> None:
    ref = PINGOUIN["long_format"]
    res = cronbach_alpha(load_cronbach_alpha(), respondent="Subj", item="Items", score="Scores")
    assert res.alpha == pytest.approx(ref["alpha"], abs=1e-12)
    assert [round(res.ci_low, 3), round(res.ci_high, 3)] == ref["ci"]
    assert (res.n, res.k) == (15, 10)


def test_alpha_with_missing_values_matches_pingouin() -> None:
    data = load_cronbach_wide_missing()
    ref = PINGOUIN["wide_missing_pairwise"]
    res = cronbach_alpha(data)
    assert res.alpha == pytest.approx(ref["alpha"], abs=1e-12)
    assert [round(res.ci_low, 3), round(res.ci_high, 3)] == ref["ci"]
    assert [w.key for w in res.warnings] == ["psychometrics.warn.pairwise"]
    listwise = cronbach_alpha(data, nan_policy="listwise")
    assert listwise.alpha == pytest.approx(PINGOUIN["wide_missing_listwise"]["alpha"], abs=1e-12)
    assert listwise.n == 9  # pingouin's interval uses n = 12 here; ours uses the rows kept
    ref = PINGOUIN["wide_missing_median_imputed"]
    imputed = cronbach_alpha(data.fillna(data.median()))
    assert imputed.alpha == pytest.approx(ref["alpha"], abs=1e-12)
    assert [round(imputed.ci_low, 3), round(imputed.ci_high, 3)] == ref["ci"]


def test_block_reliability_matches_plspm_unidim() -> None:
    sat = load_plspm_satisfaction()
    blocks = {
        "IMAG": [f"imag{i}" for i in range(1, 6)],
        "EXPE": [f"expe{i}" for i in range(1, 6)],
        "QUAL": [f"qual{i}" for i in range(1, 6)],
        "VAL": [f"val{i}" for i in range(1, 5)],
        "SAT": [f"sat{i}" for i in range(1, 5)],
        "LOY": [f"loy{i}" for i in range(1, 5)],
    }
    res = block_reliability(sat, blocks=blocks)
    expected = pd.read_csv(GOLDEN / "plspm_satisfaction_unidim.csv", index_col=0)
    got = res.reliability.set_index("construct").loc[expected.index]
    # plspm's unidim alpha is on standardised items
    np.testing.assert_allclose(got["alpha_std"], expected["cronbach_alpha"], atol=1e-9)
    np.testing.assert_allclose(got["rho_c"], expected["dillon_goldstein_rho"], atol=1e-9)
    np.testing.assert_allclose(got["eig_1st"], expected["eig_1st"], atol=1e-9)
    np.testing.assert_allclose(got["eig_2nd"], expected["eig_2nd"], atol=1e-9)
    assert (got["k"] == expected["mvs"]).all()
    assert set(res.tables()) == {"reliability", "fornell_larcker", "htmt", "cross_loadings", "vif"}
    assert res.weights == dict.fromkeys(blocks, "first_component")
    cross = res.cross_loadings
    # each item loads highest on its own block here
    own = {i: b for b, items in blocks.items() for i in items}
    assert all(cross.loc[i].idxmax() == own[i] for i in cross.index if i != "imag4")


MOBI4 = {
    "Image": [f"IMAG{i}" for i in range(1, 6)],
    "Expectation": [f"CUEX{i}" for i in range(1, 4)],
    "Value": ["PERV1", "PERV2"],
    "Satisfaction": [f"CUSA{i}" for i in range(1, 4)],
}


def test_block_reliability_with_seminr_weights_matches_seminr() -> None:
    # seminr's published outer weights of its four-construct mobi model, given as the
    # blocks' weights, must give seminr's published rho_A, rho_C, AVE, alpha (standardised
    # items) and Fornell-Larcker table (tests/golden/psychometrics/README.md).
    w = pd.read_csv(GOLDEN / "seminr_mobi4" / "outer_weights_path.csv", index_col=0)
    weights = {b: {i: float(w.loc[i, b]) for i in items} for b, items in MOBI4.items()}
    res = block_reliability(load_mobi(), blocks=MOBI4, weights=weights)
    ref = pd.read_csv(GOLDEN / "seminr_mobi4" / "reliability.csv", index_col=0)
    got = res.reliability.set_index("construct").loc[ref.index]
    np.testing.assert_allclose(got["rho_a"], ref["rhoA"], atol=1e-9)
    np.testing.assert_allclose(got["rho_c"], ref["rhoC"], atol=1e-9)
    np.testing.assert_allclose(got["ave"], ref["AVE"], atol=1e-9)
    np.testing.assert_allclose(got["alpha_std"], ref["alpha"], atol=1e-9)
    fl = pd.read_csv(GOLDEN / "seminr_mobi4" / "fl_table.csv")
    np.testing.assert_allclose(res.fornell_larcker.to_numpy(), fl.to_numpy(), atol=1e-9)
    assert res.weights == dict.fromkeys(MOBI4, "given")
    # weights as lists in item order, on any scale, give the same
    scaled = {b: [3.0 * v for v in weights[b].values()] for b in MOBI4}
    again = block_reliability(load_mobi(), blocks=MOBI4, weights=scaled)
    pd.testing.assert_frame_equal(again.reliability, res.reliability)


def test_block_reliability_rho_a_and_fornell_larcker_without_weights() -> None:
    res = block_reliability(load_mobi(), blocks=MOBI4)
    rel = res.reliability.set_index("construct")
    assert (rel["rho_a"] > 0).all()
    assert (rel["rho_a"] <= 1).all()
    fl = res.fornell_larcker
    np.testing.assert_allclose(np.diag(fl.to_numpy()), np.sqrt(rel["ave"].to_numpy()))
    assert np.isnan(fl.to_numpy()[np.triu_indices(4, 1)]).all()
    # below the diagonal: correlations of the first-component scores
    cross = res.cross_loadings
    assert fl.loc["Satisfaction", "Image"] == pytest.approx(
        float(
            np.corrcoef(
                _pc_score(load_mobi(), MOBI4["Image"]),
                _pc_score(load_mobi(), MOBI4["Satisfaction"]),
            )[0, 1]
        )
    )
    assert cross.shape == (13, 4)
    # equal weights: rho_A is standardised alpha
    equal = block_reliability(load_mobi(), blocks=MOBI4, weights={"Image": [1.0] * 5})
    image = equal.reliability.set_index("construct").loc["Image"]
    assert image["rho_a"] == pytest.approx(image["alpha_std"], abs=1e-12)
    with pytest.raises(ValidationError):
        block_reliability(load_mobi(), blocks=MOBI4, weights={"Nope": [1.0]})
    with pytest.raises(ValidationError):
        block_reliability(load_mobi(), blocks=MOBI4, weights={"Value": [1.0]})
    with pytest.raises(ValidationError):
        block_reliability(load_mobi(), blocks=MOBI4, weights={"Value": {"PERV1": 1.0}})


def _pc_score(data: pd.DataFrame, items: list[str]) -> np.ndarray:
    z = (data[items] - data[items].mean()) / data[items].std()
    _vals, vecs = np.linalg.eigh(np.corrcoef(z.to_numpy(), rowvar=False))
    v = vecs[:, -1] * np.sign(vecs[:, -1].sum())
    return z.to_numpy() @ v


def test_formulas_on_small_examples() -> None:
    r = np.array([[1.0, 0.5, 0.4], [0.5, 1.0, 0.3], [0.4, 0.3, 1.0]])
    mean_r = 0.4
    assert standardized_alpha(r) == pytest.approx(3 * mean_r / (1 + 2 * mean_r))
    assert alpha_from_cov(r) == pytest.approx(standardized_alpha(r))
    lam = [0.8, 0.7, 0.6]
    assert composite_reliability(lam) == pytest.approx(2.1**2 / (2.1**2 + 0.36 + 0.51 + 0.64))
    assert average_variance_extracted(lam) == pytest.approx((0.64 + 0.49 + 0.36) / 3)
    # rho_A equals rho_c-like value for equal weights on a parallel block: check invariances
    w = np.array([1.0, 2.0, 3.0])
    assert rho_a(r, w) == pytest.approx(rho_a(r, 5 * w))
    assert rho_a(np.eye(1), np.array([1.0])) == 1.0
    v = vif(pd.DataFrame(r, index=list("abc"), columns=list("abc")))
    np.testing.assert_allclose(v.to_numpy(), np.diag(np.linalg.inv(r)))
    assert list(v.index) == ["a", "b", "c"]


def test_htmt_and_fornell_larcker_by_hand() -> None:
    items = ["a1", "a2", "b1", "b2"]
    r = pd.DataFrame(
        [[1, 0.6, 0.3, 0.2], [0.6, 1, 0.25, -0.35], [0.3, 0.25, 1, 0.5], [0.2, -0.35, 0.5, 1]],
        index=items,
        columns=items,
        dtype=float,
    )
    h = htmt(r, blocks={"A": ["a1", "a2"], "B": ["b1", "b2"]})
    expected = np.mean([0.3, 0.2, 0.25, 0.35]) / np.sqrt(0.6 * 0.5)  # absolute values
    assert h.loc["A", "B"] == pytest.approx(expected)
    assert h.loc["B", "A"] == pytest.approx(expected)
    assert np.isnan(h.loc["A", "A"])
    fl = fornell_larcker(
        pd.DataFrame([[1, 0.4], [0.4, 1]], index=["A", "B"], columns=["A", "B"]),
        {"A": 0.49, "B": 0.64},
    )
    assert fl.loc["A", "A"] == pytest.approx(0.7)
    assert fl.loc["B", "A"] == 0.4
    assert np.isnan(fl.loc["A", "B"])


def test_errors() -> None:
    with pytest.raises(ValidationError, match="at least 2 items"):
        cronbach_alpha(pd.DataFrame({"a": [1, 2, 3]}))
    with pytest.raises(ColumnNotFoundError):
        cronbach_alpha(pd.DataFrame({"a": [1, 2], "b": [2, 3]}), items=["a", "c"])
    with pytest.raises(ValidationError, match="respondent=, item= and score="):
        cronbach_alpha(load_cronbach_alpha(), respondent="Subj")
    with pytest.raises(ValidationError, match="missing-data"):
        cronbach_alpha(load_cronbach_wide_missing(), nan_policy="drop")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="confidence level"):
        cronbach_alpha(load_cronbach_wide_missing(), ci=95)
    with pytest.raises(ValidationError, match="at least one block"):
        block_reliability(load_cronbach_wide_missing(), blocks={})


@given(
    st.lists(st.floats(0.05, 0.95), min_size=2, max_size=8),
    st.floats(0.1, 10.0),
)
def test_alpha_is_invariant_to_rescaling_and_bounded(loadings: list[float], factor: float) -> None:
    lam = np.array(loadings)
    r = np.outer(lam, lam)
    np.fill_diagonal(r, 1.0)
    # a one-factor correlation matrix: alpha_std <= rho_c <= 1, AVE in (0, 1)
    assert standardized_alpha(r) <= composite_reliability(lam) + 1e-12
    assert 0 < composite_reliability(lam) < 1
    assert 0 < average_variance_extracted(lam) < 1
    sd = np.linspace(0.5, 2, lam.size) * factor
    cov = r * np.outer(sd, sd)
    assert alpha_from_cov(cov * factor**2) == pytest.approx(alpha_from_cov(cov))
    assert alpha_from_cov(r) == pytest.approx(standardized_alpha(r))
