"""Importance-performance analysis: published relative weights and LMG values, hand-checked
cases, invariants (hypothesis) and clear errors.

Golden values come from R packages' documented output on the mtcars data (see
tests/golden/drivers/README.md for the exact sources).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allegiance.errors import ColumnNotFoundError, ValidationError
from allegiance.methods import drivers

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "drivers"


@pytest.fixture(scope="module")
def mtcars() -> pd.DataFrame:
    return pd.read_csv(GOLDEN / "mtcars.csv")


# ------------------------------------------------------------------------------------ golden


def test_relative_weights_match_rwa_readme(mtcars: pd.DataFrame) -> None:
    # rwa README (martinctc/rwa): rwa(mtcars, "mpg", c("cyl","disp","hp","gear")):
    # R² 0.7791896; raw weights 0.2284797 0.2221469 0.2321744 0.0963886;
    # rescaled 29.32274 28.50999 29.79691 12.37037 (% of R²).
    result = drivers.importance(
        mtcars, items=["cyl", "disp", "hp", "gear"], target="mpg", method="relative-weights"
    )
    assert result.method == "relative_weights"
    assert result.r2 == pytest.approx(0.7791896, abs=5e-8)
    raw = result.table["importance"].to_numpy()
    np.testing.assert_allclose(raw, [0.2284797, 0.2221469, 0.2321744, 0.0963886], atol=5e-8)
    rescaled = 100 * result.table["pct_r2"].to_numpy()
    np.testing.assert_allclose(rescaled, [29.32274, 28.50999, 29.79691, 12.37037], atol=5e-6)
    assert result.table["importance_rank"].tolist() == [2, 3, 1, 4]


def test_shapley_matches_relaimpo_lmg(mtcars: pd.DataFrame) -> None:
    # relaimpo::calc.relimp(mpg ~ am + vs + cyl, mtcars, type = "lmg") as printed in the domir
    # README: R² 0.7619773; lmg am 0.1774892, vs 0.2027032, cyl 0.3817849.
    result = drivers.importance(mtcars, items=["am", "vs", "cyl"], target="mpg", method="lmg")
    assert result.method == "shapley"
    assert result.exact is True
    assert result.r2 == pytest.approx(0.7619773, abs=5e-8)
    np.testing.assert_allclose(
        result.table["importance"].to_numpy(), [0.1774892, 0.2027032, 0.3817849], atol=5e-8
    )


def test_subset_r2_matches_domir_conditional_dominance(mtcars: pd.DataFrame) -> None:
    # domir README, conditional dominance: subset size 1 (r²) am 0.3597989, vs 0.4409477,
    # cyl 0.7261800; subset size 3 (R² gained entering last) 0.033684441, 0.002963748,
    # 0.075894823.
    corr = drivers.correlation_matrix(mtcars, columns=["am", "vs", "cyl", "mpg"])
    v = drivers.subset_r2(corr.matrix[:3, :3], corr.matrix[:3, 3])
    np.testing.assert_allclose([v[1], v[2], v[4]], [0.3597989, 0.4409477, 0.7261800], atol=5e-8)
    full = v[7]
    np.testing.assert_allclose(
        [full - v[6], full - v[5], full - v[3]], [0.033684441, 0.002963748, 0.075894823], atol=5e-9
    )


def test_two_items_closed_form() -> None:
    # r12 = 0.5, r1y = 0.6, r2y = 0.4: R² = (r1² + r2² − 2 r1 r2 r12)/(1 − r12²) = 0.28/0.75;
    # LMG_1 = (r1² + (R² − r2²))/2 = 0.286667, LMG_2 = (r2² + (R² − r1²))/2 = 0.086667.
    rxx = np.array([[1.0, 0.5], [0.5, 1.0]])
    rxy = np.array([0.6, 0.4])
    r2 = 0.28 / 0.75
    dec = drivers.shapley_r2(rxx, rxy)
    assert dec.r2 == pytest.approx(r2)
    np.testing.assert_allclose(dec.values, [(0.36 + r2 - 0.16) / 2, (0.16 + r2 - 0.36) / 2])
    # beta = R⁻¹ r: (0.6 − 0.5·0.4)/0.75 = 0.533333, (0.4 − 0.5·0.6)/0.75 = 0.133333
    np.testing.assert_allclose(
        drivers.standardized_coefficients(rxx, rxy), [0.4 / 0.75, 0.1 / 0.75]
    )


def test_regression_matches_least_squares_on_standardised_data(mtcars: pd.DataFrame) -> None:
    cols = ["cyl", "disp", "hp", "gear"]
    z = (mtcars[[*cols, "mpg"]] - mtcars[[*cols, "mpg"]].mean()) / mtcars[[*cols, "mpg"]].std()
    beta, *_ = np.linalg.lstsq(z[cols].to_numpy(), z["mpg"].to_numpy(), rcond=None)
    result = drivers.importance(mtcars, items=cols, target="mpg", method="regression")
    np.testing.assert_allclose(result.table["importance"].to_numpy(), beta, atol=1e-10)
    # usual OLS standard error of a standardised coefficient: sqrt((1-R²)/(n-p-1) · [R⁻¹]_jj)
    rxx = np.corrcoef(mtcars[cols].to_numpy().T)
    se = np.sqrt((1 - result.r2) / (32 - 4 - 1) * np.diag(np.linalg.inv(rxx)))
    np.testing.assert_allclose(result.table["importance_se"].to_numpy(), se)


def test_correlation_interval_is_fisher_z(mtcars: pd.DataFrame) -> None:
    result = drivers.importance(mtcars, items=["am", "vs"], target="mpg", method="correlation")
    r = float(np.corrcoef(mtcars["am"], mtcars["mpg"])[0, 1])
    assert result.table["importance"].iloc[0] == pytest.approx(r)
    half = 1.959963984540054 / math.sqrt(32 - 3)
    assert result.table["importance_ci_low"].iloc[0] == pytest.approx(
        math.tanh(math.atanh(r) - half)
    )
    assert result.table["importance_ci_high"].iloc[0] == pytest.approx(
        math.tanh(math.atanh(r) + half)
    )


def test_sampled_shapley_agrees_with_exact() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((400, 8))
    y = x @ np.linspace(0.1, 0.8, 8) + rng.standard_normal(400)
    c = np.corrcoef(np.column_stack([x, y]).T)
    exact = drivers.shapley_r2(c[:8, :8], c[:8, 8])
    sampled = drivers.shapley_r2(c[:8, :8], c[:8, 8], exact_max=4, n_perm=6000, seed=1)
    assert exact.exact
    assert not sampled.exact
    assert sampled.n_perm == 6000
    assert np.all(sampled.se > 0)
    assert np.all(np.abs(sampled.values - exact.values) <= 4.5 * sampled.se + 1e-12)
    assert sampled.values.sum() == pytest.approx(exact.r2)


def test_sampled_shapley_reported_with_its_error() -> None:
    rng = np.random.default_rng(11)
    n, p = 300, 17
    x = rng.standard_normal((n, p))
    frame = pd.DataFrame(x, columns=[f"q{i}" for i in range(p)])
    frame["y"] = x @ rng.uniform(0, 1, p) + rng.standard_normal(n)
    result = drivers.importance(frame, items=[f"q{i}" for i in range(p)], target="y")
    assert result.exact is False
    assert "mc_se" in result.table
    assert any(w.key == "drivers.shapley_sampled" for w in result.warnings)
    assert result.table["importance"].sum() == pytest.approx(result.r2)


# ------------------------------------------------------------------------------- properties


def _random_frame(seed: int, n: int, p: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(p, p)) * 0.6 + np.eye(p)
    x = rng.standard_normal((n, p)) @ mix
    y = x @ rng.uniform(-1, 1, p) + rng.standard_normal(n) * 1.5
    frame = pd.DataFrame(np.round(x, 3), columns=[f"x{i}" for i in range(p)])
    frame["y"] = np.round(y, 3)
    return frame


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(30, 200), p=st.integers(2, 7))
def test_decompositions_sum_to_r2(seed: int, n: int, p: int) -> None:
    frame = _random_frame(seed, n, p)
    items = [f"x{i}" for i in range(p)]
    shap = drivers.importance(frame, items=items, target="y", method="shapley")
    rw = drivers.importance(frame, items=items, target="y", method="relative_weights")
    reg = drivers.importance(frame, items=items, target="y", method="regression")
    assert shap.table["importance"].sum() == pytest.approx(shap.r2, abs=1e-10)
    assert rw.table["importance"].sum() == pytest.approx(rw.r2, abs=1e-10)
    assert shap.r2 == pytest.approx(reg.r2, abs=1e-10) == pytest.approx(rw.r2, abs=1e-10)
    assert (shap.table["importance"] >= -1e-12).all()
    assert (rw.table["importance"] >= -1e-12).all()
    assert shap.table["pct_r2"].sum() == pytest.approx(1.0)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    p=st.integers(2, 6),
    order_seed=st.integers(0, 1000),
    method=st.sampled_from(["correlation", "regression", "relative_weights", "shapley"]),
)
def test_item_order_and_row_shuffle_do_not_matter(
    seed: int, p: int, order_seed: int, method: str
) -> None:
    frame = _random_frame(seed, 80, p)
    items = [f"x{i}" for i in range(p)]
    base = drivers.importance(frame, items=items, target="y", method=method)
    rng = np.random.default_rng(order_seed)
    order = list(rng.permutation(items))
    shuffled = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    again = drivers.importance(shuffled, items=order, target="y", method=method)
    a = base.table.set_index("item")["importance"]
    b = again.table.set_index("item")["importance"].loc[items]
    np.testing.assert_allclose(b.to_numpy(), a.to_numpy(), atol=1e-10)
    assert again.table["item"].tolist() == order


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.integers(2, 5))
def test_whole_number_weights_equal_repeated_rows(seed: int, p: int) -> None:
    frame = _random_frame(seed, 60, p)
    rng = np.random.default_rng(seed + 1)
    frame["w"] = rng.integers(1, 4, len(frame))
    repeated = frame.loc[frame.index.repeat(frame["w"])].reset_index(drop=True)
    items = [f"x{i}" for i in range(p)]
    weighted = drivers.ipa(frame, items=items, target="y", weight="w", scale=(-50, 50))
    plain = drivers.ipa(repeated, items=items, target="y", scale=(-50, 50))
    for column in ("importance", "performance"):
        np.testing.assert_allclose(weighted.table[column], plain.table[column], atol=1e-10)


def test_pairwise_equals_listwise_without_missing(mtcars: pd.DataFrame) -> None:
    items = ["cyl", "disp", "hp", "gear"]
    a = drivers.importance(mtcars, items=items, target="mpg", missing="listwise")
    b = drivers.importance(mtcars, items=items, target="mpg", missing="pairwise")
    np.testing.assert_allclose(a.table["importance"], b.table["importance"], atol=1e-12)


def test_listwise_and_pairwise_with_missing_answers() -> None:
    frame = _random_frame(3, 200, 3)
    frame.loc[:49, "x0"] = np.nan
    lw = drivers.importance(frame, items=["x0", "x1", "x2"], target="y")
    pw = drivers.importance(frame, items=["x0", "x1", "x2"], target="y", missing="pairwise")
    assert lw.n == 150
    assert lw.n_rows == 200
    assert any(w.key == "drivers.listwise_dropped" for w in lw.warnings)
    assert pw.n == 150
    assert pw.table["n"].tolist() == [150, 200, 200]
    # pairwise r of x1 with y uses all 200 rows
    r = float(np.corrcoef(frame["x1"], frame["y"])[0, 1])
    assert pw.table["r"].iloc[1] == pytest.approx(r)


# ---------------------------------------------------------------------------------- the grid


def _grid_frame() -> pd.DataFrame:
    # Four items on 1..5 with a designed structure: "a" drives y strongly and scores low,
    # "b" drives y strongly and scores high, "c" barely matters and scores low, "d" barely
    # matters and scores high.
    rng = np.random.default_rng(0)
    n = 2000
    la, lb, lc, ld = (rng.standard_normal(n) for _ in range(4))
    y = 1.0 * la + 1.0 * lb + 0.1 * lc + 0.1 * ld + rng.standard_normal(n)

    def cut(latent: np.ndarray, shift: float) -> np.ndarray:
        return np.clip(np.round(3 + shift + latent), 1, 5)

    return pd.DataFrame(
        {"a": cut(la, -0.8), "b": cut(lb, 0.8), "c": cut(lc, -0.8), "d": cut(ld, 0.8), "y": y}
    )


def test_quadrants_and_weakest_links() -> None:
    frame = _grid_frame()
    result = drivers.ipa(frame, items=["a", "b", "c", "d"], target="y", scale=(1, 5))
    quadrant = dict(zip(result.table["item"], result.table["quadrant"], strict=True))
    assert quadrant == {
        "a": "concentrate_here",
        "b": "keep_up",
        "c": "low_priority",
        "d": "possible_overkill",
    }
    assert result.weakest["item"].tolist() == ["a"]
    assert result.weakest["fix_rank"].tolist() == [1]
    assert result.importance_line == pytest.approx(result.table["importance"].mean())
    assert result.performance_line == pytest.approx(result.table["performance"].mean())
    d = result.to_dict()
    assert d["kind"] == "ipa"
    assert d["tables"]["weakest_links"][0]["item"] == "a"


def test_midpoint_split_and_top2_performance() -> None:
    frame = pd.DataFrame(
        {
            "a": [5, 4, 4, 2, 1, 3, 5, 2],
            "b": [1, 2, 2, 3, 3, 4, 1, 2],
            "y": [9.0, 7.5, 7.0, 3.0, 2.0, 5.0, 8.0, 3.5],
        }
    )
    result = drivers.ipa(
        frame, items=["a", "b"], target="y", performance="top2", split="midpoint", scale=(1, 5)
    )
    # top-2 box = share of 4s and 5s: a has 4 of 8, b has 1 of 8
    assert result.table["performance"].tolist() == [0.5, 0.125]
    assert result.performance_line == 0.5
    # Wilson interval for 4/8 at 95 %: centre (0.5 + z²/16)/(1 + z²/8) = 0.5, half-width
    # z/(1+z²/8)·sqrt(0.25/8 + z²/256) = 0.2845...
    z = 1.959963984540054
    half = z / (1 + z * z / 8) * math.sqrt(0.25 / 8 + z * z / 256)
    assert result.table["performance_ci_low"].iloc[0] == pytest.approx(0.5 - half)


def test_stated_importance_is_the_mean_rating() -> None:
    frame = pd.DataFrame(
        {
            "q1": [4, 5, 3, 4],
            "q2": [2, 3, 3, 2],
            "imp1": [5, 5, 4, 4],
            "imp2": [2, 3, 2, 1],
        }
    )
    result = drivers.ipa(
        frame,
        items=["q1", "q2"],
        method="stated",
        stated=["imp1", "imp2"],
        scale=(1, 5),
        split="midpoint",
        stated_scale=(1, 5),
    )
    assert result.table["importance"].tolist() == [4.5, 2.0]
    assert result.importance_line == 3.0
    assert result.performance_line == 3.0
    assert result.table["quadrant"].tolist() == ["keep_up", "low_priority"]
    # t-interval of (5,5,4,4): mean 4.5, sd 0.57735, se 0.288675, t(0.975, 3) = 3.182446
    assert result.table["importance_ci_low"].iloc[0] == pytest.approx(
        4.5 - 3.182446305284263 * 0.5773502691896258 / 2
    )


def test_bootstrap_intervals_are_seeded(mtcars: pd.DataFrame) -> None:
    a = drivers.importance(
        mtcars, items=["am", "vs", "cyl"], target="mpg", method="shapley", n_boot=60, seed=3
    )
    b = drivers.importance(
        mtcars, items=["am", "vs", "cyl"], target="mpg", method="shapley", n_boot=60, seed=3
    )
    pd.testing.assert_frame_equal(a.table, b.table)
    low = a.table["importance_ci_low"].to_numpy()
    high = a.table["importance_ci_high"].to_numpy()
    assert np.all(low <= a.table["importance"].to_numpy() + 0.2)
    assert np.all(low < high)


# ---------------------------------------------------------------------------------- errors


def test_errors_are_clear(mtcars: pd.DataFrame) -> None:
    frame = mtcars.assign(cyl2=mtcars["cyl"] * 2, const=1.0)
    with pytest.raises(ValidationError) as singular:
        drivers.importance(frame, items=["cyl", "cyl2"], target="mpg")
    assert singular.value.key == "drivers.singular"
    with pytest.raises(ValidationError) as constant:
        drivers.importance(frame, items=["cyl", "const"], target="mpg")
    assert constant.value.key == "drivers.constant"
    with pytest.raises(ColumnNotFoundError) as missing:
        drivers.importance(frame, items=["Cyl"], target="mpg")
    assert "'cyl'" in str(missing.value)
    with pytest.raises(ValidationError) as in_items:
        drivers.importance(frame, items=["cyl", "mpg"], target="mpg")
    assert in_items.value.key == "drivers.target_in_items"
    with pytest.raises(ValidationError) as method:
        drivers.importance(frame, items=["cyl"], target="mpg", method="magic")
    assert method.value.key == "drivers.bad_option"
    with pytest.raises(ValidationError) as few:
        drivers.importance(frame.head(4), items=["cyl", "disp", "hp"], target="mpg")
    assert few.value.key == "drivers.too_few"
    with pytest.raises(ValidationError) as scale:
        drivers.ipa(frame, items=["cyl", "disp"], target="mpg", scale=(1, 5))
    assert scale.value.key == "drivers.off_scale"
    assert "disp" in str(scale.value) or "cyl" in str(scale.value)
    with pytest.raises(ValidationError) as no_target:
        drivers.importance(frame, items=["cyl"], method="shapley")
    assert no_target.value.key == "drivers.no_target"
    with pytest.raises(ValidationError) as text:
        drivers.importance(
            frame.assign(cyl=frame["cyl"].astype(str).replace("8", "eight")),
            items=["cyl"],
            target="mpg",
        )
    assert text.value.key == "drivers.not_numeric"


# ------------------------------------------------------------------------------------ IPMA


def test_ipma_importance_is_the_slope_on_0_100_scores() -> None:
    from allegiance.datasets import load_mobi
    from allegiance.pls import PathModel, estimate

    mobi = load_mobi()
    model = PathModel.from_syntax(
        """
        Image =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5
        Loyalty =~ CUSL1 + CUSL2 + CUSL3
        Loyalty ~ Image
        """
    )
    fit = estimate(model, mobi, scale=(1, 10))
    result = drivers.ipma(fit, target="Loyalty")
    # By definition (Ringle & Sarstedt 2016): importance is the total effect in the units of
    # the 0-100 rescaled scores, i.e. the standardised total effect × sd(target score) /
    # sd(driver score), the scores being 100·Σ w~_i (x_i − 1)/9 with the ACSI weights w~.
    # (For one path that is the slope of one rescaled score on the other.)
    w = fit.rescaled_weights
    image_items = [f"IMAG{i}" for i in range(1, 6)]
    loyalty_items = ["CUSL1", "CUSL2", "CUSL3"]
    image = 100 * ((mobi[image_items] - 1) / 9) @ w[image_items]
    loyalty = 100 * ((mobi[loyalty_items] - 1) / 9) @ w[loyalty_items]
    effect = float(fit.total_effects.loc["Image", "Loyalty"])
    row = result.table.iloc[0]
    assert row["construct"] == "Image"
    assert row["total_effect"] == pytest.approx(effect)
    assert row["importance"] == pytest.approx(effect * loyalty.std() / image.std(), rel=1e-9)
    assert row["performance"] == pytest.approx(float(image.mean()), rel=1e-9)
    assert result.to_dict()["kind"] == "ipma"
