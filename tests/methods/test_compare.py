"""Comparisons of segments, waves and competitors: published reference outputs, hand-checked
values, errors and invariants.

Reference data and outputs live in tests/golden/compare (README.md there names every source);
other expected numbers are worked out by hand in the comment beside them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allegiance.errors import ColumnNotFoundError, ValidationError
from allegiance.i18n import has
from allegiance.methods import compare
from allegiance.methods.compare import (
    CompareResult,
    adjust_pvalues,
    compare_competitors,
    compare_segments,
    compare_waves,
    cramers_v,
    expand_columns,
    factor_index,
    hedges_g,
    nps_difference,
)
from allegiance.results import Result

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "compare"
REF = json.loads((GOLDEN / "reference.json").read_text(encoding="utf-8"))
Z95 = 1.959963984540054  # 97.5% point of the standard normal


def golden(name: str) -> pd.DataFrame:
    return pd.read_csv(GOLDEN / name)


def test_tests_resolve_published_values_sleep_welch_t() -> None:
    # R: t.test(extra ~ group, data = sleep): t = -1.8608, df = 17.776, p = 0.07939,
    # CI -3.3654832 .. 0.2054832. Our difference is group 2 - group 1, so the signs flip.
    ref = REF["welch_t_sleep"]
    data = golden("sleep.csv").astype({"group": str})
    r = compare_segments(data, by="group", measures=["extra"])
    (pair,) = r.pairwise.itertuples(index=False)
    assert pair.test == "welch_t"
    assert pair.estimate_a == pytest.approx(ref["mean_1"])
    assert pair.estimate_b == pytest.approx(ref["mean_2"])
    assert pair.test_statistic == pytest.approx(-ref["t"], abs=5e-5)
    assert pair.df == pytest.approx(ref["df"], abs=5e-4)
    assert pair.p_value == pytest.approx(ref["p_value"], abs=5e-6)
    assert pair.ci_low == pytest.approx(-ref["ci_high"], abs=5e-8)
    assert pair.ci_high == pytest.approx(-ref["ci_low"], abs=5e-8)


def test_welch_anova_of_two_groups_is_the_squared_welch_t() -> None:
    # Welch's ANOVA with two groups: F = t² (1.8608² = 3.4626) on (1, 17.776) df, same p.
    ref = REF["welch_t_sleep"]
    data = golden("sleep.csv").astype({"group": str})
    tests = compare_segments(data, by="group", measures=["extra"]).tests.set_index("test")
    welch = tests.loc["welch_anova"]
    assert welch["statistic"] == pytest.approx(ref["t"] ** 2, rel=1e-4)
    assert welch["df1"] == 1
    assert welch["df2"] == pytest.approx(ref["df"], abs=5e-4)
    assert welch["p_value"] == pytest.approx(ref["p_value"], abs=5e-6)
    assert bool(welch["primary"])


def test_welch_anova_and_kruskal_plantgrowth() -> None:
    # R: oneway.test(weight ~ group, PlantGrowth): F = 5.181 on 2, 17.128 df, p = 0.01739;
    # kruskal.test: 7.9882, 2 df, p = 0.01842; anova: SS 3.7663 / (3.7663 + 10.4921) = eta².
    data = golden("plantgrowth.csv")
    tests = compare_segments(data, by="group", measures=["weight"]).tests.set_index("test")
    welch = tests.loc["welch_anova"]
    ref = REF["welch_anova_plantgrowth"]
    assert welch["statistic"] == pytest.approx(ref["f"], abs=5e-4)
    assert welch["df1"] == ref["df1"]
    assert welch["df2"] == pytest.approx(ref["df2"], abs=5e-4)
    assert welch["p_value"] == pytest.approx(ref["p_value"], abs=5e-6)
    ss = REF["classic_anova_plantgrowth"]
    assert welch["effect_size"] == pytest.approx(
        ss["ss_group"] / (ss["ss_group"] + ss["ss_residual"]), abs=5e-5
    )
    kw = tests.loc["kruskal_wallis"]
    ref_kw = REF["kruskal_plantgrowth"]
    assert kw["statistic"] == pytest.approx(ref_kw["h"], abs=5e-5)
    assert kw["p_value"] == pytest.approx(ref_kw["p_value"], abs=5e-6)
    # epsilon² = H / (n - 1) (Tomczak & Tomczak 2014), n = 30
    assert kw["effect_size"] == pytest.approx(ref_kw["h"] / 29, abs=5e-6)


def test_kruskal_wallis_hollander_wolfe() -> None:
    # R's kruskal.test example (Hollander & Wolfe 1973, p. 116): 0.77143, 2 df, p = 0.68.
    ref = REF["kruskal_mucociliary"]
    data = golden("mucociliary.csv")
    r = compare_segments(data, by="group", measures=["efficiency"], kinds={"efficiency": "mean"})
    kw = r.tests.set_index("test").loc["kruskal_wallis"]
    assert kw["statistic"] == pytest.approx(ref["h"], abs=5e-6)
    assert kw["df1"] == ref["df"]
    assert kw["p_value"] == pytest.approx(ref["p_value"], abs=5e-3)
    assert kw["groups"] == 3
    assert kw["n"] == 14


def test_chi_square_agresti_party_identification() -> None:
    # R's chisq.test example (Agresti 2007, p. 39): X-squared = 30.07, 2 df, p = 2.954e-07.
    # Expanded to one row per person, a categorical "party" answer coded 1..3 as a CSAT-like
    # scale; the chi-square test on its distribution by gender is exactly that test.
    ref = REF["chisq_party_gender"]
    table = golden("party_gender.csv").set_index("gender")
    counts = table.to_numpy()
    assert math.sqrt(ref["x_squared"] / (counts.sum() * 1)) == pytest.approx(
        cramers_v(counts), abs=5e-5
    )
    rows = [
        (gender, code)
        for gender, row in table.iterrows()
        for code, count in enumerate(row.to_numpy(), start=1)
        for _ in range(int(count))
    ]
    data = pd.DataFrame(rows, columns=["gender", "party"])
    r = compare_segments(
        data, by="gender", measures=["party"], kinds={"party": "csat"}, csat_points=3
    )
    chi = r.tests.set_index("test").loc["chi_square"]
    assert chi["statistic"] == pytest.approx(ref["x_squared"], abs=5e-3)
    assert chi["df1"] == ref["df"]
    assert chi["p_value"] == pytest.approx(ref["p_value"], rel=5e-4)
    assert chi["effect"] == "cramers_v"


@pytest.mark.parametrize(("method", "key"), [("holm", "holm_pingouin"), ("bh", "bh_pingouin")])
def test_adjusted_pvalues_match_pingouin(method: str, key: str) -> None:
    ref = REF[key]
    assert adjust_pvalues(ref["p"], method=method) == pytest.approx(ref["adjusted"], abs=1e-12)


def test_bh_rejects_four_of_benjamini_hochberg_1995() -> None:
    ref = REF["bh_1995"]
    adjusted = adjust_pvalues(ref["p"], method="bh")
    assert int((adjusted <= 0.05).sum()) == ref["rejected_at_005"]


def test_adjust_pvalues_other_methods_and_nan() -> None:
    # Bonferroni: p·m capped at 1; NaN stays NaN and does not count towards m.
    out = adjust_pvalues([0.01, np.nan, 0.3], method="bonferroni")
    assert out[0] == pytest.approx(0.02)
    assert np.isnan(out[1])
    assert out[2] == pytest.approx(0.6)
    assert adjust_pvalues([0.2, 0.4], method="none").tolist() == [0.2, 0.4]
    assert np.isnan(adjust_pvalues([np.nan])).all()
    with pytest.raises(ValidationError):
        adjust_pvalues([0.5], method="sidak")
    with pytest.raises(ValidationError):
        adjust_pvalues([1.5])


def test_nps_difference_hand_checked() -> None:
    # a: 10, 9, 9, 10, 9, 8, 7, 8, 3, 6 → P 0.5, D 0.2, NPS 30, var = 1e4·(0.7 − 0.09)/10 = 610
    # b: 10, 10, 9, 8 → P 0.75, D 0, NPS 75, var = 1e4·(0.75 − 0.5625)/4 = 468.75
    r = nps_difference([10, 9, 9, 10, 9, 8, 7, 8, 3, 6], [10, 10, 9, 8])
    assert r["nps_a"] == pytest.approx(30.0)
    assert r["nps_b"] == pytest.approx(75.0)
    assert r["var_a"] == pytest.approx(610.0)
    assert r["var_b"] == pytest.approx(468.75)
    se = math.sqrt(610.0 + 468.75)
    assert r["se"] == pytest.approx(se)
    assert r["ci_low"] == pytest.approx(45 - Z95 * se)
    assert r["z"] == pytest.approx(45 / se)
    # two-sided normal p of z = 1.37: 2·(1 − Φ(1.37)) ≈ 0.171 (normal table Φ(1.37) = 0.9147)
    assert r["p_value"] == pytest.approx(0.1706, abs=2e-3)


def test_segment_nps_rows_reuse_the_scale_module() -> None:
    data = pd.DataFrame(
        {"seg": ["a"] * 10 + ["b"] * 4, "nps": [10, 9, 9, 10, 9, 8, 7, 8, 3, 6, 10, 10, 9, 8]}
    )
    r = compare_segments(data, by="seg", measures=["nps"])
    rows = r.summary.set_index("group")
    assert rows.loc["a", "estimate"] == pytest.approx(30.0)
    assert rows.loc["a", "se"] == pytest.approx(math.sqrt(610.0))
    assert rows.loc["b", "estimate"] == pytest.approx(75.0)
    (pair,) = r.pairwise.itertuples(index=False)
    assert pair.difference == pytest.approx(45.0)
    assert pair.se == pytest.approx(math.sqrt(610 + 468.75))
    assert pair.test == "z_nps_difference"
    tests = r.tests.set_index("test")
    assert list(tests.index) == ["chi_square"]
    # 2×3 table [[5, 3, 2], [3, 1, 0]] (promoters, passives, detractors), N = 14; expected
    # counts row·column/N: [[5.714, 2.857, 1.429], [2.286, 1.143, 0.571]]; Σ (o − e)²/e =
    # 0.0893 + 0.0071 + 0.2286 + 0.2232 + 0.0179 + 0.5714 = 1.1375; most expected < 5 → warning.
    assert tests.loc["chi_square", "statistic"] == pytest.approx(1.1375, abs=1e-9)
    assert any(w.key == "compare.small_expected" for w in r.warnings)


def test_hedges_g_hand_checked() -> None:
    # a = 1, 2, 3; b = 2, 3, 4: d = 1 / 1 = 1, J = 1 − 3/(4·6 − 9) = 0.8
    assert hedges_g([1, 2, 3], [2, 3, 4]) == pytest.approx(0.8)
    assert math.isnan(hedges_g([1], [2, 3]))
    assert math.isnan(hedges_g([1, 1], [1, 1]))


def test_csat_kind_gives_mean_and_top2_with_scale_intervals() -> None:
    data = pd.DataFrame({"g": ["x"] * 4 + ["y"] * 4, "csat": [5, 4, 4, 3, 2, 3, 4, 2]})
    r = compare_segments(data, by="g", measures=["csat"])
    s = r.summary.set_index(["group", "statistic"])
    assert s.loc[("x", "mean"), "estimate"] == pytest.approx(4.0)
    assert s.loc[("x", "top2_box"), "estimate"] == pytest.approx(0.75)
    assert s.loc[("y", "top2_box"), "estimate"] == pytest.approx(0.25)
    assert set(r.tests["test"]) == {"kruskal_wallis", "chi_square", "welch_anova"}
    assert r.tests.set_index("test").loc["kruskal_wallis", "primary"]
    pairs = r.pairwise.set_index("statistic")
    # top-2-box: 0.25 − 0.75 = −0.5, se = √(0.1875/4 + 0.1875/4) = 0.30619
    assert pairs.loc["top2_box", "difference"] == pytest.approx(-0.5)
    assert pairs.loc["top2_box", "se"] == pytest.approx(math.sqrt(0.1875 / 2))
    # Cohen's h = 2·asin(√0.25) − 2·asin(√0.75) = π/3 − 2π/3 = −π/3
    assert pairs.loc["top2_box", "effect_size"] == pytest.approx(-math.pi / 3)


def test_factors_are_ranked_by_how_they_separate_segments() -> None:
    rng = np.random.default_rng(3)
    n = 600
    seg = rng.choice(["a", "b", "c"], size=n)
    shift = pd.Series(seg).map({"a": 0.0, "b": 0.6, "c": 1.2}).to_numpy()
    data = pd.DataFrame(
        {
            "seg": seg,
            "cs_strong": np.clip(np.round(3 + shift + rng.normal(0, 1, n)), 1, 5),
            "cs_weak": np.clip(np.round(3 + shift / 4 + rng.normal(0, 1, n)), 1, 5),
            "cs_none": np.clip(np.round(3 + rng.normal(0, 1, n)), 1, 5),
            "nps": rng.integers(0, 11, n),
        }
    )
    r = compare_segments(
        data, by="seg", measures=["nps"], factors=["cs_none", "cs_weak", "cs_strong"]
    )
    assert r.factors["factor"].tolist() == ["cs_strong", "cs_weak", "cs_none"]
    assert r.factors["rank"].tolist() == [1, 2, 3]
    top = r.factors.iloc[0]
    assert top["highest_group"] == "c"
    assert top["lowest_group"] == "a"
    assert top["p_adjusted"] < 1e-6
    assert r.factors.iloc[2]["p_adjusted"] > 0.01
    assert "factors" in r.tables()


def test_waves_in_given_order_with_consecutive_changes() -> None:
    data = pd.DataFrame(
        {
            "w": ["Q1"] * 4 + ["Q2"] * 4 + ["Q3"] * 4,
            "csat": [3, 3, 4, 2, 4, 4, 5, 3, 5, 5, 4, 5],
            "nps": [5, 6, 7, 9, 8, 9, 9, 6, 10, 10, 9, 8],
        }
    )
    r = compare_waves(data, wave="w", measures=["csat", "nps"], order=["Q1", "Q2", "Q3"])
    assert r.order == ("Q1", "Q2", "Q3")
    ch = r.changes.set_index(["measure", "statistic", "from_wave"])
    # csat means 3, 4, 4.75: changes +1 and +0.75
    assert ch.loc[("csat", "mean", "Q1"), "change"] == pytest.approx(1.0)
    assert ch.loc[("csat", "mean", "Q2"), "change"] == pytest.approx(0.75)
    # NPS: Q1 P 1/4, D 2/4 → −25; Q2 P 2/4, D 1/4 → 25; change 50
    assert ch.loc[("nps", "nps", "Q1"), "change"] == pytest.approx(50.0)
    assert set(r.changes["to_wave"]) == {"Q2", "Q3"}
    assert r.changes["significant"].dtype == bool
    assert r.summary.groupby("wave")["order"].first().to_dict() == {"Q1": 0, "Q2": 1, "Q3": 2}
    with pytest.raises(ValidationError) as err:
        compare_waves(data, wave="w", measures=["csat"], order=["Q1", "Q2"])
    assert err.value.key == "compare.order_incomplete"


def test_competitors_paired_sleep() -> None:
    # The sleep data are paired (same 10 patients): R t.test(..., paired = TRUE) gives
    # t = -4.0621, df = 9, p = 0.002833, CI -2.4598858 .. -0.7001142 for group 1 − group 2.
    ref = REF["paired_t_sleep"]
    data = golden("sleep.csv").astype({"group": str})
    r = compare_competitors(data, brand="group", respondent="ID", items=["extra"], ours="1")
    row = r.paired.iloc[0]
    assert row["competitor"] == "2"
    assert row["n_pairs"] == 10
    assert row["difference"] == pytest.approx(ref["mean_difference"])
    assert row["t"] == pytest.approx(ref["t"], abs=5e-5)
    assert row["df"] == ref["df"]
    assert row["p_value"] == pytest.approx(ref["p_value"], abs=5e-7)
    assert row["ci_low"] == pytest.approx(ref["ci_low"], abs=5e-8)
    assert row["ci_high"] == pytest.approx(ref["ci_high"], abs=5e-8)
    assert row["verdict"] == "behind"
    # Cohen's d_z = −1.58 / sd of the differences (1.2300): −1.2846
    assert row["effect_size"] == pytest.approx(-1.58 / 1.2300, abs=2e-4)
    assert 0 <= row["wilcoxon_p"] <= 0.05


def test_competitors_need_our_brand_and_unique_rows() -> None:
    data = pd.DataFrame({"id": [1, 1, 2], "b": ["us", "them", "us"], "q": [5, 4, 3]})
    with pytest.raises(ValidationError) as err:
        compare_competitors(data, brand="b", respondent="id", items=["q"], ours="we")
    assert err.value.key == "compare.ours_missing"
    dup = pd.concat([data, data.iloc[[0]]])
    with pytest.raises(ValidationError) as err:
        compare_competitors(dup, brand="b", respondent="id", items=["q"], ours="us")
    assert err.value.key == "compare.duplicate_rating"
    with pytest.raises(ValidationError):
        compare_competitors(
            data, brand="b", respondent="id", items=["q"], ours="us", competitors=["x"]
        )


def test_factor_index_and_expand_columns() -> None:
    d = pd.DataFrame({"a": [5, 4, 1], "b": [3, None, None], "c": [1, 2, None]})
    # row 1: (5+3+1)/(3·5) = 60; row 2: (4+2)/(2·5) = 60; row 3: one of three answered → NaN
    idx = factor_index(d, items=["a", "b", "c"])
    assert idx.iloc[0] == pytest.approx(60.0)
    assert idx.iloc[1] == pytest.approx(60.0)
    assert math.isnan(idx.iloc[2])
    w = factor_index(d, items=["a", "b"], weights=[3, 1])
    assert w.iloc[0] == pytest.approx(100 * (3 * 5 + 3) / (5 * 4))
    assert expand_columns(["c*", "a"], ["a", "cb", "ca"]) == ["cb", "ca", "a"]
    with pytest.raises(ColumnNotFoundError):
        expand_columns(["z*"], ["a"])
    with pytest.raises(ValidationError):
        factor_index(d, items=["a"], weights=[-1])


def test_bad_input_is_a_clear_error() -> None:
    data = pd.DataFrame({"g": ["a", "b"], "nps": [11, 3], "csat": [1, 7], "x": ["1", "bad"]})
    with pytest.raises(ValidationError) as err:
        compare_segments(data, by="g", measures=["nps"])
    assert err.value.key == "compare.bad_scale_value"
    assert err.value.params["column"] == "nps"
    with pytest.raises(ValidationError) as err:
        compare_segments(data, by="g", measures=["csat"])
    assert err.value.params["high"] == 5
    with pytest.raises(ValidationError) as err:
        compare_segments(data, by="g", measures=["x"])
    assert err.value.key == "compare.bad_number"
    with pytest.raises(ColumnNotFoundError):
        compare_segments(data, by="nope", measures=["nps"])
    with pytest.raises(ValidationError):
        compare_segments(data, by="g", measures=["x"], kinds={"x": "median"})
    with pytest.raises(ValidationError):
        compare_segments(data, by="g", measures=[])
    with pytest.raises(ValidationError):
        compare_segments(data, by="g", measures=["nps"], adjust="tukey")
    with pytest.raises(ValidationError):
        compare_segments(data, by="g", measures=["nps"], confidence=1.5)
    with pytest.raises(ValidationError):
        compare_segments("not a frame", by="g", measures=["nps"])  # type: ignore[arg-type]


def test_missing_groups_and_single_group_warn() -> None:
    data = pd.DataFrame({"g": ["a", None, "a"], "v": [1.0, 2.0, 3.0]})
    r = compare_segments(data, by="g", measures=["v"])
    keys = {w.key for w in r.warnings}
    assert {"compare.missing_group", "compare.one_group", "compare.untestable"} <= keys
    assert r.groups == ("a",)
    for w in r.warnings:
        assert has(w.key)


def test_results_meet_the_contract_and_serialise() -> None:
    data = golden("sleep.csv").astype({"group": str})
    seg = compare_segments(data, by="group", measures=["extra"])
    waves = compare_waves(data, wave="group", measures=["extra"])
    comp = compare_competitors(data, brand="group", respondent="ID", items=["extra"], ours="1")
    both = CompareResult(segments=seg, waves=waves, competitors=comp)
    for result in (seg, waves, comp, both):
        assert isinstance(result, Result)
        json.dumps(result.to_dict(), allow_nan=False)
    assert set(both.tables()) == {
        "segment_summary",
        "segment_tests",
        "segment_pairwise",
        "wave_summary",
        "wave_changes",
        "wave_tests",
        "competitor_summary",
        "competitor_paired",
    }
    assert both.to_dict()["segments"]["by"] == "group"


# --------------------------------------------------------------------------- properties

answers = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 10), st.integers(1, 5)),
    min_size=6,
    max_size=60,
)


@settings(max_examples=20)
@given(answers, st.randoms(use_true_random=False))
def test_shuffle_invariance(rows: list[tuple[str, int, int]], rnd: object) -> None:
    data = pd.DataFrame(rows, columns=["g", "nps", "csat"])
    order = list(range(len(data)))
    rnd.shuffle(order)  # type: ignore[attr-defined]
    first = compare_segments(data, by="g", measures=["nps", "csat"])
    second = compare_segments(
        data.iloc[order].reset_index(drop=True), by="g", measures=["nps", "csat"]
    )
    for name, frame in first.tables().items():
        pd.testing.assert_frame_equal(frame, second.tables()[name], rtol=1e-9, atol=1e-12)


@given(
    st.lists(st.integers(0, 10), min_size=1, max_size=40),
    st.lists(st.integers(0, 10), min_size=1, max_size=40),
)
def test_nps_difference_variance_at_least_each_variance(a: list[int], b: list[int]) -> None:
    r = nps_difference(a, b)
    assert r["var_a"] + r["var_b"] >= r["var_a"]
    assert r["var_a"] + r["var_b"] >= r["var_b"]
    if math.isfinite(r["se"]):
        assert r["se"] ** 2 == pytest.approx(r["var_a"] + r["var_b"])
        assert r["se"] >= math.sqrt(max(r["var_a"], r["var_b"])) - 1e-12
    assert -200 <= r["difference"] <= 200


@settings(max_examples=25)
@given(answers)
def test_pvalues_in_unit_interval_and_adjusted_not_below_raw(
    rows: list[tuple[str, int, int]],
) -> None:
    data = pd.DataFrame(rows, columns=["g", "nps", "csat"])
    r = compare_segments(data, by="g", measures=["nps", "csat"])
    for frame in (r.tests, r.pairwise):
        p = frame["p_value"].to_numpy(dtype=float)
        adj = frame["p_adjusted"].to_numpy(dtype=float)
        ok = np.isfinite(p)
        assert ((p[ok] >= 0) & (p[ok] <= 1)).all()
        assert ((adj[ok] >= 0) & (adj[ok] <= 1)).all()
        assert (adj[ok] >= p[ok] - 1e-15).all()


@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=30))
def test_holm_at_least_raw_and_bh_between(p: list[float]) -> None:
    raw = np.asarray(p)
    holm = adjust_pvalues(raw, method="holm")
    bh = adjust_pvalues(raw, method="bh")
    bonf = adjust_pvalues(raw, method="bonferroni")
    assert (holm >= raw - 1e-15).all()
    assert (bh >= raw - 1e-15).all()
    assert (bh <= holm + 1e-12).all()
    assert (holm <= bonf + 1e-12).all()
    assert ((holm >= 0) & (holm <= 1)).all()


def test_module_is_pure() -> None:
    import subprocess
    import sys

    code = (
        "import sys, allegiance.methods.compare, allegiance.methods.loyalty_link;"
        "bad = [m for m in ('typer', 'sqlalchemy', 'rich', 'plotly', 'duckdb') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert compare.KINDS == ("nps", "csat", "mean")


def test_csi_index_per_group_is_the_weighted_csi() -> None:
    # Two factors, weights 0.75 / 0.25; group a answers (5, 3) and (4, 3), group b (2, 5), (3, 5).
    # CSI_a = 0.75·(9/10) + 0.25·(6/10) = 0.825; CSI_b = 0.75·(5/10) + 0.25·(10/10) = 0.625.
    from allegiance.methods.compare import CSIIndex

    frame = pd.DataFrame(
        {
            "seg": ["a", "a", "b", "b"] * 5,
            "cs_speed": [5, 4, 2, 3] * 5,
            "cs_price": [3, 3, 5, 5] * 5,
        }
    )
    spec = CSIIndex(weights={"speed": 0.75, "price": 0.25}, n_boot=200, seed=1)
    result = compare_segments(frame.assign(x=1.0), by="seg", measures=["x"], index=spec)
    rows = result.summary.loc[result.summary["measure"] == "index"].set_index("group")
    assert rows.loc["a", "estimate"] == pytest.approx(82.5)
    assert rows.loc["b", "estimate"] == pytest.approx(62.5)
    assert (rows["kind"] == "csi").all()
    assert (rows["ci_low"] <= rows["estimate"]).all()
    assert (rows["estimate"] <= rows["ci_high"]).all()
    # tests and the pairwise difference use each respondent's weighted index (b − a = −20)
    pair = result.pairwise.loc[result.pairwise["measure"] == "index"].iloc[0]
    assert pair["difference"] == pytest.approx(-20.0)
    assert set(result.tests.loc[result.tests["measure"] == "index", "kind"]) == {"csi"}
    with pytest.raises(ValidationError):
        compare_segments(frame.assign(index=1.0), by="seg", measures=["index"], index=spec)
