"""The latent model and the exact answer laws the truths are built from."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import poisson as poisson_law

from allegiance.generate import latent, vocab
from allegiance.generate.common import poisson
from allegiance.generate.latent import OrdinalItem, rounding_cutpoints

# The ECSI structure of Tenenhaus et al. (2005), Figure 1 (the mobi model).
ECSI_PATHS = {
    ("image", "expectation"),
    ("image", "satisfaction"),
    ("image", "loyalty"),
    ("expectation", "quality"),
    ("expectation", "value"),
    ("expectation", "satisfaction"),
    ("quality", "value"),
    ("quality", "satisfaction"),
    ("value", "satisfaction"),
    ("satisfaction", "complaints"),
    ("satisfaction", "loyalty"),
    ("complaints", "loyalty"),
}


def test_structure_is_the_ecsi_model() -> None:
    assert set(latent.PATHS) == ECSI_PATHS
    assert all(0 < v < 1 for v in latent.PATHS.values())


def test_constructs_are_standardised_and_disturbances_positive() -> None:
    m = latent.model()
    np.testing.assert_allclose(np.diag(m.cov), 1.0, atol=1e-12)
    assert (m.psi > 0).all()
    assert np.all(np.linalg.eigvalsh(m.cov_within) > 0)
    # Segment and region shifts are centred on the population.
    assert float(np.sum(m.group_prob * m.group_shift())) == pytest.approx(0, abs=1e-12)


def test_simulated_latents_recover_the_paths() -> None:
    m = latent.model()
    rng = np.random.default_rng(1)
    n = 400_000
    seg = rng.choice(len(vocab.SEGMENTS), size=n, p=vocab.SEGMENT_PROBS)
    reg = rng.choice(len(vocab.REGIONS), size=n, p=vocab.REGION_PROBS)
    eta = m.simulate(rng, segment=seg, region=reg)
    np.testing.assert_allclose(eta.std(axis=0), 1.0, atol=0.01)
    np.testing.assert_allclose(np.corrcoef(eta.T), m.cov, atol=0.01)
    group = seg * len(vocab.REGIONS) + reg
    dummies = np.eye(len(vocab.SEGMENTS) * len(vocab.REGIONS))[group]
    for j, name in enumerate(m.names):
        parents = [i for i, p in enumerate(m.names) if (p, name) in latent.PATHS]
        if not parents:
            continue
        x = eta[:, parents]
        if name == "satisfaction":
            x = np.column_stack([x, dummies])
        coef = np.linalg.lstsq(x, eta[:, j], rcond=None)[0][: len(parents)]
        expected = [latent.PATHS[(m.names[i], name)] for i in parents]
        np.testing.assert_allclose(coef, expected, atol=0.01)


ITEM = OrdinalItem(
    name="demo",
    weights=(("loyalty", 0.5), ("satisfaction", 0.3)),
    cutpoints=(-1.0, 0.0, 0.8),
    offset=0.1,
)


def test_ordinal_probabilities_match_simulation() -> None:
    m = latent.model()
    rng = np.random.default_rng(2)
    n = 300_000
    seg = rng.choice(len(vocab.SEGMENTS), size=n, p=vocab.SEGMENT_PROBS)
    reg = rng.choice(len(vocab.REGIONS), size=n, p=vocab.REGION_PROBS)
    eta = m.simulate(rng, segment=seg, region=reg)
    codes = latent.ordinal_codes(ITEM, eta, rng, m=m)
    observed = np.bincount(codes - 1, minlength=4) / n
    np.testing.assert_allclose(observed, latent.ordinal_probs(ITEM, m=m), atol=0.004)
    gov = vocab.SEGMENTS.index("government")
    observed = np.bincount(codes[seg == gov] - 1, minlength=4) / (seg == gov).sum()
    np.testing.assert_allclose(
        observed, latent.ordinal_probs(ITEM, m=m, segment="government"), atol=0.02
    )


@settings(max_examples=40, deadline=None)
@given(
    mean=st.floats(0.0, 11.0),
    sd=st.floats(0.3, 3.0),
    weight=st.floats(-0.95, 0.95),
    segment=st.sampled_from((None, *vocab.SEGMENTS)),
)
def test_ordinal_probabilities_are_a_distribution(
    mean: float, sd: float, weight: float, segment: str | None
) -> None:
    item = OrdinalItem(
        name="x",
        weights=(("value", weight),),
        cutpoints=rounding_cutpoints(mean=mean, sd=sd, low=1, high=10),
    )
    probs = latent.ordinal_probs(item, m=latent.model(), segment=segment)
    assert probs.shape == (10,)
    assert (probs >= 0).all()
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)


def test_rounding_cutpoints_round_and_clip() -> None:
    cut = np.asarray(rounding_cutpoints(mean=7.5, sd=2.0, low=1, high=10))
    y = np.linspace(-6, 6, 2001)
    via_cut = 1 + np.searchsorted(cut, y, side="left")
    direct = np.clip(np.floor(7.5 + 2.0 * y + 0.5), 1, 10)
    inside = np.abs((7.5 + 2.0 * y) % 1 - 0.5) > 1e-9  # away from exact .5 ties
    np.testing.assert_array_equal(via_cut[inside], direct[inside])


def test_table_poisson_matches_the_poisson_law() -> None:
    rng = np.random.default_rng(3)
    means = np.array([0.0, 0.4, 1.7, 6.0, 16.0])
    code = rng.integers(0, means.size, size=(200_000, 3)).astype(np.int16)
    draws = poisson(rng, code, means)
    assert draws.shape == code.shape
    assert draws.dtype == np.int32
    for c, mean in enumerate(means):
        x = draws[code == c]
        assert x.mean() == pytest.approx(mean, abs=4 * np.sqrt(max(mean, 1e-9) / x.size) + 1e-9)
        k = np.arange(25)
        observed = np.bincount(x, minlength=60)[:25] / x.size
        np.testing.assert_allclose(observed, poisson_law.pmf(k, mean), atol=0.005)
