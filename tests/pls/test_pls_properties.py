"""Invariants of PLS estimation (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from allegiance.pls import PathModel, estimate, estimate_from_cov

MODEL = PathModel.from_syntax(
    """
    A =~ a1 + a2 + a3
    B <~ b1 + b2
    C =~ c1 + c2 + c3
    D =~ d1
    B ~ A
    C ~ A + B
    D ~ C
    """
)
ITEMS = list(MODEL.items)


def _data(seed: int, n: int) -> pd.DataFrame:
    """Items generated from a latent chain A -> B -> C -> D with random loadings (1-7 answers)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = rng.uniform(0.2, 0.8) * a + rng.normal(size=n)
    c = rng.uniform(-0.6, 0.6) * a + rng.uniform(0.1, 0.7) * b + rng.normal(size=n)
    d = rng.uniform(0.1, 0.9) * c + rng.normal(size=n)
    cols = {}
    for name, latent, k in (("a", a, 3), ("b", b, 2), ("c", c, 3), ("d", d, 1)):
        for i in range(1, k + 1):
            raw = rng.uniform(0.3, 1.0) * latent + rng.normal(scale=rng.uniform(0.4, 1.2), size=n)
            cols[f"{name}{i}"] = np.clip(np.round(4 + 1.2 * raw), 1, 7)
    return pd.DataFrame(cols)


seeds = st.integers(0, 2**31 - 1)
sizes = st.integers(40, 400)
schemes = st.sampled_from(["path", "centroid", "factorial"])


@given(seeds, sizes, schemes)
def test_loadings_and_r2_are_in_range(seed: int, n: int, scheme: str) -> None:
    data = _data(seed, n)
    if (data.std() == 0).any():
        return
    fit = estimate(MODEL, data, scheme=scheme)  # type: ignore[arg-type]
    assert (
        (fit.cross_loadings.to_numpy() >= -1 - 1e-12) & (fit.cross_loadings.to_numpy() <= 1 + 1e-12)
    ).all()
    assert ((fit.r2 >= -1e-12) & (fit.r2 <= 1 + 1e-12)).all()
    np.testing.assert_allclose(np.diag(fit.lv_corr_array), 1.0, atol=1e-9)
    # reflective blocks are oriented: their loadings sum to a positive number
    sums = fit.outer_table().groupby("construct")["loading"].sum()
    assert (sums > 0).all()


@given(seeds, sizes, st.randoms(use_true_random=False))
@settings(max_examples=40)
def test_invariant_to_row_order(seed: int, n: int, rnd: object) -> None:
    data = _data(seed, n)
    if (data.std() == 0).any():
        return
    order = list(range(n))
    rnd.shuffle(order)  # type: ignore[attr-defined]
    a = estimate(MODEL, data)
    b = estimate(MODEL, data.iloc[order])
    np.testing.assert_allclose(a.path_array, b.path_array, atol=1e-9)
    np.testing.assert_allclose(a.weights_array, b.weights_array, atol=1e-9)
    assert a.scores is not None
    assert b.scores is not None
    np.testing.assert_allclose(
        a.scores.loc[b.scores.index].to_numpy(), b.scores.to_numpy(), atol=1e-9
    )


@given(
    seeds,
    sizes,
    st.lists(st.floats(0.01, 100.0), min_size=len(ITEMS), max_size=len(ITEMS)),
    st.lists(st.floats(-50.0, 50.0), min_size=len(ITEMS), max_size=len(ITEMS)),
)
@settings(max_examples=40)
def test_invariant_to_positive_rescaling(
    seed: int, n: int, factors: list[float], shifts: list[float]
) -> None:
    data = _data(seed, n)
    if (data.std() == 0).any():
        return
    rescaled = data * np.array(factors) + np.array(shifts)
    a = estimate(MODEL, data, scale=(1, 7))
    b = estimate(
        MODEL,
        rescaled,
        scale={i: (1 * f + s, 7 * f + s) for i, f, s in zip(ITEMS, factors, shifts, strict=True)},
    )
    np.testing.assert_allclose(a.path_array, b.path_array, atol=1e-8)
    np.testing.assert_allclose(a.weights_array, b.weights_array, atol=1e-8)
    np.testing.assert_allclose(a.r2_array, b.r2_array, atol=1e-8, equal_nan=True)
    # the 0-100 index does not depend on the unit of the answers either
    np.testing.assert_allclose(a.index.to_numpy(), b.index.to_numpy(), atol=1e-6)


@given(seeds, sizes, schemes)
@settings(max_examples=40)
def test_data_and_covariance_give_the_same_fit(seed: int, n: int, scheme: str) -> None:
    data = _data(seed, n)
    if (data.std() == 0).any():
        return
    a = estimate(MODEL, data, scheme=scheme, scale=(1, 7))  # type: ignore[arg-type]
    b = estimate_from_cov(
        MODEL,
        data.cov(),
        n=n,
        means=data.mean(),
        scheme=scheme,
        scale=(1, 7),  # type: ignore[arg-type]
    )
    np.testing.assert_allclose(a.path_array, b.path_array, atol=1e-10)
    np.testing.assert_allclose(a.cross_loadings_array, b.cross_loadings_array, atol=1e-10)
    np.testing.assert_allclose(a.r2_adj.to_numpy(), b.r2_adj.to_numpy(), atol=1e-10)
    np.testing.assert_allclose(
        a.rescaled_weights.to_numpy(), b.rescaled_weights.to_numpy(), atol=1e-10
    )
    np.testing.assert_allclose(a.index.to_numpy(), b.index.to_numpy(), atol=1e-8)
