"""Reliability and validity of a fitted model against seminr's fixtures (tests/golden/psychometrics)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allegiance.datasets import load_mobi
from allegiance.pls import PathModel, estimate, evaluate

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "psychometrics" / "seminr_mobi4"

MOBI4 = """
Image        =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5
Expectation  =~ CUEX1 + CUEX2 + CUEX3
Value        =~ PERV1 + PERV2
Satisfaction =~ CUSA1 + CUSA2 + CUSA3
Satisfaction ~ Image + Expectation + Value
"""
MOBI = load_mobi()
REPORT = evaluate(estimate(PathModel.from_syntax(MOBI4), MOBI, scheme="path"))


def test_reliability_matches_seminr() -> None:
    expected = pd.read_csv(GOLDEN / "reliability.csv", index_col=0)
    got = REPORT.reliability.set_index("construct").loc[expected.index]
    # seminr's "alpha" is computed on standardised items: our alpha_std
    np.testing.assert_allclose(got["alpha_std"], expected["alpha"], atol=1e-6)
    np.testing.assert_allclose(got["rho_c"], expected["rhoC"], atol=1e-6)
    np.testing.assert_allclose(got["ave"], expected["AVE"], atol=1e-6)
    np.testing.assert_allclose(got["rho_a"], expected["rhoA"], atol=1e-6)
    # raw alpha uses the covariances: a different, documented number
    items = ["IMAG1", "IMAG2", "IMAG3", "IMAG4", "IMAG5"]
    cov = MOBI[items].cov().to_numpy()
    raw = 5 / 4 * (1 - np.trace(cov) / cov.sum())
    assert got.loc["Image", "alpha"] == pytest.approx(raw)


def test_htmt_and_fornell_larcker_match_seminr() -> None:
    expected = pd.read_csv(GOLDEN / "htmt.csv", index_col=0)
    upper = np.triu(np.ones(expected.shape, dtype=bool), 1)
    got = REPORT.htmt.loc[expected.index, expected.columns].to_numpy()
    np.testing.assert_allclose(got[upper], expected.to_numpy()[upper], atol=1e-9)
    np.testing.assert_allclose(got, got.T, equal_nan=True)
    fl = pd.read_csv(GOLDEN / "fl_table.csv")
    fl.index = fl.columns
    got_fl = REPORT.fornell_larcker.loc[fl.index, fl.columns].to_numpy()
    lower = np.tril(np.ones(fl.shape, dtype=bool))
    np.testing.assert_allclose(got_fl[lower], fl.to_numpy()[lower], atol=1e-6)
    assert np.isnan(got_fl[~lower]).all()


def test_vifs_match_seminr() -> None:
    items = pd.read_csv(GOLDEN / "flat_item_vifs1.csv")
    got = REPORT.vif_items.set_index(["construct", "item"])["vif"]
    for key, value in items.iloc[0].items():
        construct, item = str(key).split("*")
        assert got.loc[(construct, item)] == pytest.approx(value, abs=1e-9)
    inner = pd.read_csv(GOLDEN / "flat_vif_antecedents1.csv")
    got_inner = REPORT.vif_inner.set_index(["target", "predictor"])["vif"]
    for key, value in inner.iloc[0].items():
        target, predictor = str(key).split("*")
        assert got_inner.loc[(target, predictor)] == pytest.approx(value, abs=1e-6)


def test_structural_vifs_of_a_second_equation_match_seminr() -> None:
    model = PathModel.from_syntax(MOBI4 + "Value ~ Image + Expectation\n")
    report = evaluate(estimate(model, MOBI, scheme="path"))
    expected = pd.read_csv(GOLDEN / "flat_vif_antecedents2.csv")
    got = report.vif_inner.set_index(["target", "predictor"])["vif"]
    for key, value in expected.iloc[0].items():
        target, predictor = str(key).split("*")
        assert got.loc[(target, predictor)] == pytest.approx(value, abs=1e-6)


def test_warnings_follow_the_thresholds() -> None:
    keys = [w.key for w in REPORT.warnings]
    # Expectation: alpha 0.43, AVE 0.48; Image: AVE 0.478, √AVE below r(Image, Satisfaction)
    assert keys.count("psychometrics.warn.ave_low") == 2
    assert "psychometrics.warn.alpha_low" in keys
    assert "psychometrics.warn.fornell_larcker" in keys
    assert "psychometrics.warn.htmt_high" in keys  # Image-Satisfaction 0.910 > 0.90
    lenient = evaluate(
        estimate(PathModel.from_syntax(MOBI4), MOBI), alpha_min=0.3, ave_min=0.4, htmt_max=0.95
    )
    lenient_keys = {w.key for w in lenient.warnings}
    assert {"psychometrics.warn.ave_low", "psychometrics.warn.alpha_low"}.isdisjoint(lenient_keys)
    assert "psychometrics.warn.htmt_high" not in lenient_keys
    texts = [w.render("zh") for w in REPORT.warnings]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in texts)


def test_formative_and_single_item_blocks() -> None:
    model = PathModel.from_syntax(
        "Quality <~ PERQ1 + PERQ2 + PERQ3\nComplaints =~ CUSCO\nLoyalty =~ CUSL1 + CUSL3\n"
        "Loyalty ~ Quality + Complaints"
    )
    report = evaluate(estimate(model, MOBI))
    rel = report.reliability.set_index("construct")
    assert rel.loc["Quality", ["alpha", "rho_c", "rho_a", "ave"]].isna().all()
    assert rel.loc["Complaints", ["rho_c", "rho_a", "ave"]].tolist() == pytest.approx([1, 1, 1])
    assert np.isnan(rel.loc["Complaints", "alpha"])
    assert set(report.tables()) == {
        "reliability", "fornell_larcker", "htmt", "cross_loadings", "vif_items", "vif_inner",
    }  # fmt: skip
    d = report.to_dict()
    assert d["thresholds"]["vif_max"] == 5.0
    assert len(d["tables"]["vif_items"]) == 6
