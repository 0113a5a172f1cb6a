"""The latent model behind every Huaxun customer, and the exact laws of the answers it drives.

Structure: the ECSI model of Tenenhaus et al. (2005) (the ``mobi`` mobile-phone
study): Image → Expectation, Satisfaction, Loyalty; Expectation → Quality,
Value, Satisfaction; Quality → Value, Satisfaction; Value → Satisfaction;
Satisfaction → Complaints, Loyalty; Complaints → Loyalty.

The path coefficients are standardised: every construct has variance 1 in the
whole population, each disturbance variance is what is left after its causes.
On top, the customer's segment and region shift Satisfaction (and, through the
paths, Complaints and Loyalty); those shifts are centred so the population mean
stays 0 and their variance is taken out of Satisfaction's disturbance.

The ECSI Complaints construct is measured by CUSCO (how well complaints are, or
would be, handled: high = good). The customers table stores its negative as
``complaints_propensity`` (high = more inclined to complain); ``paths`` in
truth keep the ECSI orientation so they compare directly with a PLS estimate.

Every survey answer is an *ordinal item*: a continuous response
``y = offset + w·η + e`` with ``var(y - offset) = 1``, cut at fixed cutpoints.
Because η is Gaussian within each segment × region group, the probability of
every answer category is known exactly (:func:`ordinal_probs`); those are the
truths the tests compare the sampled data with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from allegiance.generate import vocab

__all__ = [
    "CONSTRUCTS",
    "ECSI_NAMES",
    "PATHS",
    "REGION_EFFECTS",
    "SEGMENT_EFFECTS",
    "LatentModel",
    "OrdinalItem",
    "construct_law",
    "expected_code",
    "mixture_mean",
    "model",
    "ordinal_codes",
    "ordinal_probs",
    "rounding_cutpoints",
]

FloatArray = npt.NDArray[np.float64]

CONSTRUCTS: tuple[str, ...] = vocab.CONSTRUCTS
ECSI_NAMES: dict[str, str] = {
    "image": "Image",
    "expectation": "Expectation",
    "quality": "Quality",
    "value": "Value",
    "satisfaction": "Satisfaction",
    "complaints": "Complaints",
    "loyalty": "Loyalty",
}

# Standardised path coefficients, chosen near the PLS estimates Tenenhaus et al. (2005)
# report for the mobi data (rounded to two decimals; they are our choice, not a copy).
PATHS: dict[tuple[str, str], float] = {
    ("image", "expectation"): 0.50,
    ("image", "satisfaction"): 0.18,
    ("image", "loyalty"): 0.20,
    ("expectation", "quality"): 0.56,
    ("expectation", "value"): 0.05,
    ("expectation", "satisfaction"): 0.06,
    ("quality", "value"): 0.56,
    ("quality", "satisfaction"): 0.51,
    ("value", "satisfaction"): 0.20,
    ("satisfaction", "complaints"): 0.53,
    ("satisfaction", "loyalty"): 0.49,
    ("complaints", "loyalty"): 0.07,
}

# Shifts of latent Satisfaction (in its standard deviations) before centring.
SEGMENT_EFFECTS: dict[str, float] = {
    "consumer": 0.0,
    "sme": -0.15,
    "enterprise": 0.15,
    "government": 0.30,
}
REGION_EFFECTS: dict[str, float] = {
    "beijing": 0.10,
    "shanghai": 0.20,
    "guangdong": 0.05,
    "jiangsu": 0.10,
    "zhejiang": 0.15,
    "shandong": -0.05,
    "sichuan": -0.15,
    "hubei": -0.05,
    "shaanxi": -0.20,
}
SHIFTED = "satisfaction"


@dataclass(frozen=True)
class LatentModel:
    """The solved latent model: covariances, disturbance variances and group shifts."""

    names: tuple[str, ...]
    paths: dict[tuple[str, str], float]
    beta: FloatArray  # beta[j, i]: effect of construct i on construct j
    total: FloatArray  # (I - beta)^-1, total effects
    psi: FloatArray  # disturbance variances
    cov: FloatArray  # population covariance (within + between groups); diagonal 1
    cov_within: FloatArray  # covariance inside one segment x region group
    spread: FloatArray  # how a unit shift of Satisfaction moves every construct
    segment_shift: FloatArray  # centred segment effects, in SEGMENTS order
    region_shift: FloatArray  # centred region effects, in REGIONS order
    group_prob: FloatArray  # (segments, regions) population probabilities
    group_variance: float

    def index(self, name: str) -> int:
        return self.names.index(name)

    def group_shift(self) -> FloatArray:
        """Satisfaction shift of every segment x region group, shape (segments, regions)."""
        return self.segment_shift[:, None] + self.region_shift[None, :]

    def r_squared(self) -> dict[str, float]:
        """Share of each endogenous construct's variance its structural causes explain."""
        out: dict[str, float] = {}
        for j, name in enumerate(self.names):
            parents = np.flatnonzero(self.beta[j])
            if parents.size == 0:
                continue
            b = self.beta[j, parents]
            out[name] = float(b @ self.cov[np.ix_(parents, parents)] @ b)
        return out

    def simulate(
        self,
        rng: np.random.Generator,
        /,
        *,
        segment: npt.NDArray[np.integer],
        region: npt.NDArray[np.integer],
    ) -> FloatArray:
        """Latent scores, shape (n, constructs), for customers in the given groups."""
        n = segment.shape[0]
        k = len(self.names)
        noise = rng.standard_normal((n, k))
        eta = np.empty((n, k))
        shift = self.segment_shift[segment] + self.region_shift[region]
        s = self.index(SHIFTED)
        for j in range(k):  # constructs are in causal order
            col = noise[:, j] * np.sqrt(self.psi[j])
            for i in np.flatnonzero(self.beta[j]):
                col += self.beta[j, i] * eta[:, i]
            if j == s:
                col += shift
            eta[:, j] = col
        return eta


def _solve(
    names: Sequence[str],
    paths: Mapping[tuple[str, str], float],
    segment_effects: Mapping[str, float],
    region_effects: Mapping[str, float],
) -> LatentModel:
    k = len(names)
    beta = np.zeros((k, k))
    for (src, dst), value in paths.items():
        i, j = names.index(src), names.index(dst)
        if i >= j:
            raise RuntimeError(f"path {src}->{dst} is not in causal order")
        beta[j, i] = value
    total = np.asarray(np.linalg.inv(np.eye(k) - beta), dtype=np.float64)

    seg_p = np.asarray(vocab.SEGMENT_PROBS)
    reg_p = np.asarray(vocab.REGION_PROBS)
    seg = np.array([segment_effects[s] for s in vocab.SEGMENTS])
    reg = np.array([region_effects[r] for r in vocab.REGIONS])
    seg = seg - seg_p @ seg
    reg = reg - reg_p @ reg
    group_prob = seg_p[:, None] * reg_p[None, :]
    shift = seg[:, None] + reg[None, :]
    group_variance = float((group_prob * shift**2).sum())

    s = names.index(SHIFTED)
    between = np.zeros((k, k))
    between[s, s] = group_variance
    psi = np.zeros(k)
    for j in range(k):  # solve var(eta_j) = 1 in causal order
        cov = total @ (np.diag(psi) + between) @ total.T
        psi[j] = 1.0 - cov[j, j]
        if psi[j] <= 0:
            raise RuntimeError(f"paths into {names[j]} explain more than its variance")
    cov_within = total @ np.diag(psi) @ total.T
    cov = cov_within + total @ between @ total.T
    return LatentModel(
        names=tuple(names),
        paths=dict(paths),
        beta=beta,
        total=total,
        psi=psi,
        cov=cov,
        cov_within=cov_within,
        spread=total[:, s].copy(),
        segment_shift=seg,
        region_shift=reg,
        group_prob=group_prob,
        group_variance=group_variance,
    )


@cache
def model() -> LatentModel:
    """The Huaxun latent model (constants above), solved once."""
    return _solve(CONSTRUCTS, PATHS, SEGMENT_EFFECTS, REGION_EFFECTS)


@dataclass(frozen=True)
class OrdinalItem:
    """An answer driven by latent constructs: ``y = offset + Σ w·η + e`` cut into categories.

    ``cutpoints`` are increasing; the code is ``first`` plus the number of
    cutpoints below ``y``. The noise variance makes ``var(y - offset) = 1``.
    """

    name: str
    weights: tuple[tuple[str, float], ...]
    cutpoints: tuple[float, ...]
    offset: float = 0.0
    first: int = 1

    def weight_vector(self, m: LatentModel, /) -> FloatArray:
        w = np.zeros(len(m.names))
        for name, value in self.weights:
            w[m.index(name)] += value
        return w

    def noise_sd(self, m: LatentModel, /) -> float:
        w = self.weight_vector(m)
        rest = 1.0 - float(w @ m.cov @ w)
        if rest <= 0:
            raise RuntimeError(f"item {self.name}: weights explain more than its variance")
        return float(np.sqrt(rest))

    @property
    def levels(self) -> npt.NDArray[np.int64]:
        return self.first + np.arange(len(self.cutpoints) + 1)

    def to_dict(self) -> dict[str, object]:
        return {
            "weights": dict(self.weights),
            "offset": self.offset,
            "cutpoints": list(self.cutpoints),
            "codes": [int(c) for c in self.levels],
        }


def rounding_cutpoints(*, mean: float, sd: float, low: int, high: int) -> tuple[float, ...]:
    """Cutpoints that turn ``y`` into ``clip(round(mean + sd·y), low, high)``."""
    return tuple((k - 0.5 - mean) / sd for k in range(low + 1, high + 1))


def ordinal_codes(
    item: OrdinalItem, eta: FloatArray, rng: np.random.Generator, /, *, m: LatentModel
) -> npt.NDArray[np.int8]:
    """Answers of respondents with latent scores ``eta`` (n, constructs)."""
    w = item.weight_vector(m)
    y = item.offset + eta @ w + item.noise_sd(m) * rng.standard_normal(eta.shape[0])
    cut = np.asarray(item.cutpoints)
    return (item.first + np.searchsorted(cut, y, side="left")).astype(np.int8)


def ordinal_probs(
    item: OrdinalItem, /, *, m: LatentModel, segment: str | None = None
) -> FloatArray:
    """Exact probability of each code in the population (or one segment of it)."""
    w = item.weight_vector(m)
    sd = np.sqrt(float(w @ m.cov_within @ w) + item.noise_sd(m) ** 2)
    move = float(w @ m.spread)
    means = item.offset + move * m.group_shift()  # (segments, regions)
    probs = m.group_prob
    if segment is not None:
        row = vocab.SEGMENTS.index(segment)
        means = means[row : row + 1]
        probs = probs[row : row + 1] / probs[row].sum()
    cut = np.asarray(item.cutpoints)
    upper = ndtr((cut[None, None, :] - means[..., None]) / sd)  # P(y <= c)
    cdf = np.concatenate([np.zeros((*means.shape, 1)), upper, np.ones((*means.shape, 1))], -1)
    cell = np.diff(cdf, axis=-1)
    return np.asarray((cell * probs[..., None]).sum(axis=(0, 1)), dtype=np.float64)


def expected_code(item: OrdinalItem, /, *, m: LatentModel, segment: str | None = None) -> float:
    """The population mean of the item's codes."""
    return float(ordinal_probs(item, m=m, segment=segment) @ item.levels)


def mixture_mean(
    func: Callable[[FloatArray], FloatArray],
    /,
    *,
    means: FloatArray,
    sd: float,
    weights: FloatArray,
    n_nodes: int = 64,
) -> float:
    """E[func(X)] for X a mixture of normals N(means_g, sd²) weighted by ``weights``.

    Gauss-Hermite quadrature; exact enough (1e-10) for the smooth functions used here.
    """
    nodes, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    w = w / w.sum()
    x = means.reshape(-1, 1) + sd * nodes[None, :]
    return float((func(x) @ w) @ weights.reshape(-1))


def construct_law(name: str, /, *, m: LatentModel) -> tuple[FloatArray, float, FloatArray]:
    """Group means, within-group sd and group weights of one construct (a normal mixture)."""
    j = m.index(name)
    means = m.spread[j] * m.group_shift()
    return means.reshape(-1), float(np.sqrt(m.cov_within[j, j])), m.group_prob.reshape(-1)
