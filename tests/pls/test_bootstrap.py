"""The PLS bootstrap: reproducible, consistent with a slow refit loop, honest intervals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from allegiance.datasets import load_mobi
from allegiance.errors import InputError, ValidationError
from allegiance.pls import PathModel, estimate
from allegiance.pls.bootstrap import (
    FAMILIES,
    STATS,
    BootstrapResult,
    bca_interval,
    bootstrap,
    percentile_interval,
)
from allegiance.pls.templates import load_model


@pytest.fixture(scope="module")
def mobi() -> pd.DataFrame:
    return load_mobi()


@pytest.fixture(scope="module")
def ecsi() -> PathModel:
    return load_model("ecsi")


@pytest.fixture(scope="module")
def boot(mobi: pd.DataFrame, ecsi: PathModel) -> BootstrapResult:
    return bootstrap(mobi, model=ecsi, n_boot=2000, seed=20240601)


def test_same_seed_same_numbers_other_seed_other_numbers(
    mobi: pd.DataFrame, ecsi: PathModel
) -> None:
    a = bootstrap(mobi, model=ecsi, n_boot=300, seed=7)
    b = bootstrap(mobi, model=ecsi, n_boot=300, seed=7)
    c = bootstrap(mobi, model=ecsi, n_boot=300, seed=8)
    for family in FAMILIES:
        np.testing.assert_array_equal(a.draws[family], b.draws[family])
        pd.testing.assert_frame_equal(a.table(family), b.table(family))
    assert not np.allclose(a.draws["paths"], c.draws["paths"])
    assert a.seed == 7


def test_unseeded_run_records_a_seed_that_repeats_it(mobi: pd.DataFrame, ecsi: PathModel) -> None:
    first = bootstrap(mobi, model=ecsi, n_boot=50)
    again = bootstrap(mobi, model=ecsi, n_boot=50, seed=first.seed)
    np.testing.assert_array_equal(first.draws["paths"], again.draws["paths"])


def test_first_resamples_do_not_depend_on_n_boot(mobi: pd.DataFrame, ecsi: PathModel) -> None:
    small = bootstrap(mobi, model=ecsi, n_boot=100, seed=3)
    large = bootstrap(mobi, model=ecsi, n_boot=700, seed=3)
    # the same resamples; only the floating-point order of the batched products differs
    np.testing.assert_allclose(small.draws["paths"], large.draws["paths"][:100], atol=1e-10)


def test_estimates_are_the_core_fit(
    boot: BootstrapResult, mobi: pd.DataFrame, ecsi: PathModel
) -> None:
    fit = estimate(ecsi, mobi)
    paths = fit.paths_table()
    assert list(boot.paths["source"]) == list(paths["source"])
    assert list(boot.paths["target"]) == list(paths["target"])
    np.testing.assert_allclose(boot.paths["estimate"], paths["coefficient"], atol=1e-10)
    np.testing.assert_allclose(boot.table("weights")["estimate"], fit.outer_weights, atol=1e-10)
    np.testing.assert_allclose(boot.table("loadings")["estimate"], fit.loadings, atol=1e-10)
    np.testing.assert_allclose(boot.table("r2")["estimate"], fit.r2, atol=1e-10)
    effects = fit.effects_table()
    total = boot.table("total")
    assert list(total["source"]) == list(effects["source"])
    np.testing.assert_allclose(total["estimate"], effects["total"], atol=1e-10)


def test_direct_plus_indirect_is_total_in_every_resample(boot: BootstrapResult) -> None:
    keys = ["source", "target"]
    total = boot.table("total")[keys]
    direct = boot.table("paths")[keys]
    indirect = boot.table("indirect")[keys]
    summed = np.zeros_like(boot.draws["total"])
    for frame, draws in ((direct, boot.draws["paths"]), (indirect, boot.draws["indirect"])):
        for k, (src, dst) in enumerate(frame.itertuples(index=False)):
            col = int(np.flatnonzero((total["source"] == src) & (total["target"] == dst))[0])
            summed[:, col] += draws[:, k]
    np.testing.assert_allclose(summed, boot.draws["total"], atol=1e-10)


def test_every_interval_holds_its_estimate(boot: BootstrapResult) -> None:
    for family in ("paths", "weights", "loadings", "total"):
        table = boot.table(family)
        assert list(table.columns[-len(STATS) :]) == list(STATS)
        assert (table["ci_low"] <= table["estimate"]).all(), family
        assert (table["estimate"] <= table["ci_high"]).all(), family
        assert (table["bca_low"] <= table["estimate"]).all(), family
        assert (table["estimate"] <= table["bca_high"]).all(), family
        if "item" in table:
            single = (table["item"] == "CUSCO").to_numpy()
        else:
            single = np.zeros(len(table), dtype=bool)
        assert (table.loc[~single, "se"] > 0).all()
        assert (table.loc[single, "se"] == 0).all()
        assert table.loc[single, "t"].isna().all()
    paths = boot.paths.set_index(["source", "target"])
    # Satisfaction -> Loyalty is clearly positive on mobi, Expectation -> Perceived value is not.
    assert paths.loc[("Satisfaction", "Loyalty"), "p"] < 0.001
    assert paths.loc[("Expectation", "Perceived value"), "p"] > 0.2


def test_same_resamples_as_a_plain_refit_loop(mobi: pd.DataFrame, ecsi: PathModel) -> None:
    """Resample b is rows rng.integers(0, n, (B, n))[b]: refit each with the core, one by one."""
    n_boot, seed = 120, 11
    fast = bootstrap(mobi, model=ecsi, n_boot=n_boot, seed=seed)
    rows = np.random.default_rng(seed).integers(0, len(mobi), size=(n_boot, len(mobi)))
    slow = np.array(
        [estimate(ecsi, mobi.iloc[r]).paths_table()["coefficient"].to_numpy() for r in rows]
    )
    np.testing.assert_allclose(fast.draws["paths"], slow, atol=1e-6)


def test_standard_errors_agree_with_an_independent_slow_loop(
    boot: BootstrapResult, mobi: pd.DataFrame, ecsi: PathModel
) -> None:
    """300 refits with their own random numbers: SEs agree within Monte-Carlo error.

    The relative standard error of an SE from B resamples is about 1/sqrt(2B): 4% for
    B = 300, 1.6% for B = 2,000; 20% leaves room for every one of 12 paths.
    """
    rng = np.random.default_rng(99)
    slow = np.array(
        [
            estimate(ecsi, mobi.iloc[rng.integers(0, len(mobi), len(mobi))])
            .paths_table()["coefficient"]
            .to_numpy()
            for _ in range(300)
        ]
    )
    ratio = boot.paths["se"].to_numpy() / slow.std(axis=0, ddof=1)
    assert np.all(np.abs(ratio - 1) < 0.2), ratio


def test_t_and_p_follow_their_definitions(boot: BootstrapResult) -> None:
    from scipy import stats

    table = boot.paths
    np.testing.assert_allclose(table["t"], table["estimate"] / table["se"])
    expected = 2 * stats.t.sf(np.abs(table["t"]), df=boot.n - 1)
    np.testing.assert_allclose(table["p"], expected, rtol=1e-10)
    draws = boot.draws["paths"]
    np.testing.assert_allclose(table["se"], draws.std(axis=0, ddof=1))
    np.testing.assert_allclose(table["ci_low"], np.quantile(draws, 0.025, axis=0))
    np.testing.assert_allclose(table["ci_high"], np.quantile(draws, 0.975, axis=0))


def test_bca_matches_a_direct_computation(
    boot: BootstrapResult, mobi: pd.DataFrame, ecsi: PathModel
) -> None:
    """BCa of one path recomputed from scratch: jackknife by leaving each row out with the core."""
    from scipy.stats import norm

    k = 10  # Satisfaction -> Loyalty
    assert tuple(boot.paths.iloc[k][["source", "target"]]) == ("Satisfaction", "Loyalty")
    theta = boot.paths["estimate"].iloc[k]
    draws = boot.draws["paths"][:, k]
    jack = np.array(
        [estimate(ecsi, mobi.drop(index=mobi.index[i])).path_array[4, 6] for i in range(len(mobi))]
    )
    z0 = norm.ppf((np.sum(draws < theta) + 0.5 * np.sum(draws == theta)) / draws.size)
    d = jack.mean() - jack
    a = np.sum(d**3) / (6 * np.sum(d**2) ** 1.5)
    z = norm.ppf([0.025, 0.975])
    q = norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))
    expected = np.quantile(draws, q)
    got = boot.paths.iloc[k][["bca_low", "bca_high"]].to_numpy(dtype=float)
    np.testing.assert_allclose(got, expected, atol=1e-7)


@given(
    centre=st.floats(-5, 5),
    spread=arrays(np.float64, st.integers(5, 60), elements=st.floats(0, 3)),
    jack=arrays(np.float64, st.integers(5, 40), elements=st.floats(0, 1)),
    level=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_bca_is_percentile_without_bias_or_acceleration(
    centre: float, spread: np.ndarray, jack: np.ndarray, level: float
) -> None:
    draws = np.concatenate([centre + spread, centre - spread])[:, None]
    jackknife = np.concatenate([jack, -jack])[:, None]  # symmetric: no skew, so a = 0
    low, high = bca_interval(draws, estimate=np.array([centre]), jackknife=jackknife, level=level)
    p_low, p_high = percentile_interval(draws, level=level)
    np.testing.assert_allclose([low[0], high[0]], [p_low[0], p_high[0]], atol=1e-9)


def test_bca_moves_with_bias() -> None:
    rng = np.random.default_rng(1)
    draws = rng.normal(0.3, 1.0, size=(4000, 1))  # the estimate 0 sits below most draws
    jackknife = rng.normal(size=(100, 1))
    low, high = bca_interval(draws, estimate=np.array([0.0]), jackknife=jackknife)
    p_low, p_high = percentile_interval(draws)
    assert low[0] < p_low[0] - 0.2
    assert high[0] < p_high[0] - 0.2


def test_bca_is_nan_when_every_draw_is_on_one_side() -> None:
    draws = np.linspace(1, 2, 50)[:, None]
    low, high = bca_interval(draws, estimate=np.array([0.0]), jackknife=np.ones((10, 1)))
    assert np.isnan(low[0])
    assert np.isnan(high[0])


def _mixed_block(seed: int, n: int = 300) -> tuple[pd.DataFrame, PathModel]:
    """A block whose loadings sum to about zero: resamples flip it at random."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n)
    g = 0.6 * f + 0.8 * rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "a1": f + rng.normal(size=n),
            "a2": f + rng.normal(size=n),
            "a3": -f + rng.normal(size=n),
            "a4": -f + rng.normal(size=n),
            "b1": g + 0.5 * rng.normal(size=n),
            "b2": g + 0.5 * rng.normal(size=n),
        }
    )
    model = PathModel.build(
        constructs={"A": ["a1", "a2", "a3", "a4"], "B": ["b1", "b2"]}, paths=[("A", "B")]
    )
    return frame, model


def test_construct_sign_change_aligns_resamples_with_the_estimate() -> None:
    frame, model = _mixed_block(5)
    aligned = bootstrap(frame, model=model, n_boot=400, seed=1, sign_change="construct")
    loose = bootstrap(frame, model=model, n_boot=400, seed=1, sign_change="none")
    reference = aligned.table("loadings")["estimate"].to_numpy()[:4]
    agree = aligned.draws["loadings"][:, :4] @ reference
    assert (agree > 0).all()
    flipped = loose.draws["loadings"][:, :4] @ reference < 0
    assert flipped.any()  # without alignment the block comes out mirrored in some resamples
    # aligned, the path keeps the estimate's sign; mirrored, its spread blows up
    assert aligned.paths["se"].iloc[0] < loose.paths["se"].iloc[0] / 2


def test_missing_rows_are_dropped_or_filled(mobi: pd.DataFrame, ecsi: PathModel) -> None:
    holes = mobi.astype(float).copy()
    holes.iloc[[0, 5, 9], [0, 3, 7]] = np.nan
    listwise = bootstrap(holes, model=ecsi, n_boot=20, seed=1)
    assert listwise.n == len(mobi) - 3
    assert [w.key for w in listwise.warnings] == ["plsx.warn.listwise"]
    filled = bootstrap(holes, model=ecsi, n_boot=20, seed=1, missing="mean")
    assert filled.n == len(mobi)
    assert [w.key for w in filled.warnings] == ["plsx.warn.mean_imputed"]
    assert filled.warnings[0].params["cells"] == 9


def test_progress_is_told_until_done(mobi: pd.DataFrame, ecsi: PathModel) -> None:
    seen: list[tuple[str, int, int]] = []
    bootstrap(
        mobi,
        model=ecsi,
        n_boot=1200,
        seed=1,
        progress=lambda step, done, total: seen.append((step, done, total)),
    )
    boot_steps = [s for s in seen if s[0] == "bootstrap"]
    assert boot_steps[0] == ("bootstrap", 0, 1200)
    assert boot_steps[-1] == ("bootstrap", 1200, 1200)
    assert [s[1] for s in boot_steps] == sorted(s[1] for s in boot_steps)
    assert seen[-1] == ("jackknife", 1, 1)


def test_grouped_jackknife_above_the_group_count(mobi: pd.DataFrame, ecsi: PathModel) -> None:
    result = bootstrap(mobi, model=ecsi, n_boot=100, seed=1, jackknife_groups=50)
    assert result.n_jackknife == 50
    assert "50 groups" in result.jackknife
    assert np.isfinite(result.paths["bca_low"]).all()


def test_result_serialises(boot: BootstrapResult) -> None:
    data = boot.to_dict()
    text = json.dumps(data)
    assert set(data["tables"]) == set(FAMILIES)
    assert data["settings"]["n_boot"] == 2000
    assert data["settings"]["df"] == boot.n - 1
    assert "BootstrapResult(n=250" in repr(boot)
    assert "NaN" not in text
    assert set(boot.tables()) == {f"boot_{f}" for f in FAMILIES}


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"n_boot": 5}, "plsx.error.n_boot"),
        ({"n_boot": 100.0}, "plsx.error.n_boot"),
        ({"level": 1.5}, "plsx.error.level"),
        ({"scheme": "magic"}, "plsx.error.choice"),
        ({"sign_change": "individual"}, "plsx.error.choice"),
        ({"missing": "drop"}, "plsx.error.choice"),
        ({"jackknife_groups": 2}, "plsx.error.jackknife_groups"),
    ],
)
def test_bad_settings_are_refused(
    mobi: pd.DataFrame, ecsi: PathModel, kwargs: dict[str, object], key: str
) -> None:
    with pytest.raises(ValidationError) as info:
        bootstrap(mobi, model=ecsi, **kwargs)  # type: ignore[arg-type]
    assert info.value.key == key


def test_bad_data_is_refused(mobi: pd.DataFrame, ecsi: PathModel) -> None:
    with pytest.raises(InputError):
        bootstrap(mobi.drop(columns=["CUSL1"]), model=ecsi, n_boot=20)
    constant = mobi.assign(CUSCO=5)
    with pytest.raises(InputError, match="CUSCO"):
        bootstrap(constant, model=ecsi, n_boot=20)
    with pytest.raises(InputError):
        bootstrap(mobi.head(5), model=ecsi, n_boot=20)
    with pytest.raises(ValidationError):
        bootstrap(mobi, model="ecsi", n_boot=20)  # type: ignore[arg-type]
