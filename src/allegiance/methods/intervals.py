"""Confidence intervals shared by the method modules.

One place for the interval formulas several methods need, so they agree:

- :func:`z_value`: the two-sided normal quantile of a confidence level (standard
  library, no scipy import, so commands stay quick to start).
- :func:`wilson_interval`: the Wilson (1927) score interval for a proportion,
  vectorised over groups; ``n`` may be an effective sample size (Kish).

>>> import numpy as np
>>> ci = wilson_interval(np.array([0.5]), np.array([100.0]), confidence=0.95)
>>> round(float(ci.low[0]), 4), round(float(ci.high[0]), 4)
(0.4038, 0.5962)
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from allegiance.errors import ValidationError

__all__ = ["Interval", "wilson_interval", "z_value"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Interval:
    """Lower and upper bounds, one per estimate (NaN where the estimate is undefined)."""

    low: FloatArray
    high: FloatArray


def z_value(confidence: float, /) -> float:
    """The normal quantile ``z`` with ``P(|Z| <= z) = confidence`` (1.959964 for 0.95)."""
    ok = isinstance(confidence, (int, float)) and not isinstance(confidence, bool)
    if not ok or not 0.0 < float(confidence) < 1.0:
        raise ValidationError("scales.bad_confidence", value=str(confidence))
    return NormalDist().inv_cdf(0.5 + float(confidence) / 2.0)


def wilson_interval(p: npt.ArrayLike, n: npt.ArrayLike, /, *, confidence: float = 0.95) -> Interval:
    """Wilson (1927) score interval for proportions ``p`` observed on ``n`` cases each.

    ``centre = (p + z²/2n) / (1 + z²/n)``, ``half = z/(1 + z²/n) · sqrt(p(1-p)/n + z²/4n²)``,
    clipped to 0..1. Where ``n <= 0`` or ``p`` is NaN the bounds are NaN.
    """
    z = z_value(confidence)
    pp_in = np.asarray(p, dtype=np.float64)
    nn_in = np.asarray(n, dtype=np.float64)
    ok = (nn_in > 0) & np.isfinite(pp_in)
    nn = np.where(ok, nn_in, 1.0)
    pp = np.where(ok, pp_in, 0.5)
    z2 = z * z
    denom = 1.0 + z2 / nn
    centre = (pp + z2 / (2.0 * nn)) / denom
    half = z / denom * np.sqrt(np.clip(pp * (1.0 - pp), 0.0, None) / nn + z2 / (4.0 * nn * nn))
    low: FloatArray = np.where(ok, np.clip(centre - half, 0.0, 1.0), np.nan)
    high: FloatArray = np.where(ok, np.clip(centre + half, 0.0, 1.0), np.nan)
    return Interval(low=low, high=high)
