"""Customer lifetime value: buy-till-you-die models, retention models, survival curves.

Pure numpy/scipy (SPEC sections 4 and 5; issue 5 part 6). Every model is fitted by maximum
likelihood on the logarithms of its parameters with L-BFGS-B; the log-likelihoods are written
with ``gammaln``/``betaln``/``logaddexp`` so they stay finite for large counts, and work on
whole arrays (no loop over customers; BG/BB loops over purchase opportunities only).

Non-contractual settings (retail, airline: a customer's leaving is never seen)
    - **BG/NBD** (Fader, Hardie & Lee 2005a, *"Counting your customers" the easy way*):
      :func:`fit_bgnbd`, analytic gradient.
    - **Pareto/NBD** (Schmittlein, Morrison & Colombo 1987; likelihood as in Fader & Hardie
      2005, *A note on deriving the Pareto/NBD model*): :func:`fit_paretonbd`.
    - **Gamma-Gamma** spend model (Fader, Hardie & Lee 2005b, *RFM and CLV*; Fader & Hardie
      2013, *The Gamma-Gamma model of monetary value*): :func:`fit_gammagamma`.
    - **BG/BB** for discrete purchase opportunities (Fader, Hardie & Shang 2010):
      :func:`fit_bgbb`.

    Inputs are the condensed (frequency, recency, T) summary: ``frequency`` = repeat
    purchases (purchase periods after the first), ``recency`` = time from the first to the
    last purchase, ``T`` = time from the first purchase to the end of observation
    (:mod:`allegiance.customers.summary` computes it from a transaction log on the engine).

Contractual settings (banks, telecoms, insurers: a customer visibly leaves)
    - **sBG**, the shifted-beta-geometric model of retention (Fader & Hardie 2007, *How to
      project customer retention*), from the survivors of a cohort per period:
      :func:`fit_sbg`, with survival, retention and discounted expected (residual) lifetime
      (Fader & Hardie 2010, *Customer-base valuation in a contractual setting*).
    - **Kaplan-Meier** survival curves by segment with Greenwood standard errors:
      :func:`kaplan_meier`.

The SPEC's own figures
    - :func:`simple_clv`: average transaction x transactions a year x years retained.
    - :func:`lost_customer_value`: the "Mrs Smith" reading of SPEC section 4, every number
      a parameter.

Standard errors come from the inverse of the observed information, the Hessian of the total
log-likelihood on the natural parameters at the optimum, taken by central finite
differences: of the analytic gradient where there is one (BG/NBD, Gamma-Gamma), of the
log-likelihood itself otherwise (step ``1e-4`` relative to each parameter).

>>> fit = fit_sbg([1000, 869, 743, 653, 593, 551, 517, 491])
>>> round(fit.params["alpha"], 3), round(fit.params["beta"], 3)
(0.668, 3.806)
>>> lost_customer_value(told=10).total
221000.0
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special, stats

from allegiance.errors import ValidationError
from allegiance.i18n import Message
from allegiance.results import plain_dict, records

__all__ = [
    "MODELS",
    "ClvFit",
    "KaplanMeierResult",
    "LostCustomerValue",
    "SbgCohorts",
    "SimpleClv",
    "ValueResult",
    "bgbb_conditional_expected",
    "bgbb_expected_in_first_periods",
    "bgbb_log_likelihood",
    "bgbb_p_alive",
    "bgnbd_conditional_expected",
    "bgnbd_expected",
    "bgnbd_log_likelihood",
    "bgnbd_p_alive",
    "customer_value",
    "fit_bgbb",
    "fit_bgnbd",
    "fit_gammagamma",
    "fit_model",
    "fit_paretonbd",
    "fit_sbg",
    "fit_sbg_by",
    "gammagamma_expected_spend",
    "gammagamma_log_likelihood",
    "kaplan_meier",
    "lost_customer_value",
    "paretonbd_conditional_expected",
    "paretonbd_expected",
    "paretonbd_log_likelihood",
    "paretonbd_p_alive",
    "predict",
    "sbg_del",
    "sbg_derl",
    "sbg_log_likelihood",
    "sbg_retention",
    "sbg_survival",
    "simple_clv",
    "simulate_bgnbd",
    "value_customers",
]

Array = NDArray[np.float64]
ModelName = Literal["bgnbd", "paretonbd", "gammagamma", "sbg", "bgbb"]

MODELS: dict[str, tuple[str, ...]] = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "paretonbd": ("r", "alpha", "s", "beta"),
    "gammagamma": ("p", "q", "gamma"),
    "sbg": ("alpha", "beta"),
    "bgbb": ("alpha", "beta", "gamma", "delta"),
}
"""Each model's parameters, in the order they are reported."""

_LOG_BOUND = 25.0  # log-parameters stay in [-25, 25]: 1e-11 .. 7e10


def _arr(values: ArrayLike, name: str) -> Array:
    out = np.asarray(values, dtype=np.float64)
    if out.ndim == 0:
        out = out.reshape(1)
    if out.ndim != 1:
        raise ValidationError("clv.error.shape", name=name)
    if not np.all(np.isfinite(out)):
        raise ValidationError("clv.error.not_finite", name=name)
    return out


def _weights(weights: ArrayLike | None, n: int) -> Array:
    if weights is None:
        return np.ones(n)
    w = _arr(weights, "weights")
    if w.shape != (n,) or np.any(w < 0) or w.sum() <= 0:
        raise ValidationError("clv.error.weights", n=n)
    return w


def _rfm(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> tuple[Array, Array, Array]:
    x = _arr(frequency, "frequency")
    tx = _arr(recency, "recency")
    t_ = _arr(T, "T")
    if not (x.shape == tx.shape == t_.shape):
        raise ValidationError("clv.error.lengths")
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise ValidationError("clv.error.frequency")
    if np.any(tx < 0) or np.any(tx > t_ * (1 + 1e-9) + 1e-9):
        raise ValidationError("clv.error.recency")
    if np.any((x > 0) & (tx <= 0)):
        raise ValidationError("clv.error.recency_zero")
    if np.any(t_ <= 0):
        raise ValidationError("clv.error.age")
    return x, np.minimum(tx, t_), t_


# ============================================================================================
# Fitted model (value object)
# ============================================================================================


@dataclass(frozen=True)
class ClvFit:
    """A fitted CLV model: parameters, standard errors, log-likelihood.

    ``n`` is the number of customers (the sum of the weights), ``n_rows`` the rows the
    likelihood was evaluated on. Persist with :meth:`to_dict` and :meth:`from_dict` (JSON).
    """

    model: str
    params: dict[str, float]
    se: dict[str, float]
    log_likelihood: float
    n: float
    n_rows: int
    converged: bool
    iterations: int
    warnings: tuple[Message, ...] = ()

    @property
    def aic(self) -> float:
        return 2 * len(self.params) - 2 * self.log_likelihood

    @property
    def bic(self) -> float:
        return len(self.params) * math.log(max(self.n, 1.0)) - 2 * self.log_likelihood

    def param_array(self) -> Array:
        return np.array([self.params[k] for k in MODELS[self.model]], dtype=np.float64)

    def parameters_table(self, confidence: float = 0.95) -> pd.DataFrame:
        """parameter | estimate | se | ci_low | ci_high (Wald intervals on the log scale, so
        they stay positive: estimate x exp(+-z se / estimate))."""
        z = float(stats.norm.ppf(0.5 + confidence / 2))
        rows = []
        for name in MODELS[self.model]:
            est, se = self.params[name], self.se.get(name, float("nan"))
            spread = math.exp(z * se / est) if est > 0 and math.isfinite(se) else float("nan")
            rows.append(
                {
                    "parameter": name,
                    "estimate": est,
                    "se": se,
                    "ci_low": est / spread,
                    "ci_high": est * spread,
                }
            )
        return pd.DataFrame(rows)

    def fit_table(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "model": self.model,
                    "n": self.n,
                    "log_likelihood": self.log_likelihood,
                    "aic": self.aic,
                    "bic": self.bic,
                    "converged": self.converged,
                    "iterations": self.iterations,
                }
            ]
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"clv_parameters": self.parameters_table(), "clv_fit": self.fit_table()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "params": plain_dict(self.params),
            "se": plain_dict(self.se),
            "log_likelihood": self.log_likelihood,
            "aic": self.aic,
            "bic": self.bic,
            "n": self.n,
            "n_rows": self.n_rows,
            "converged": self.converged,
            "iterations": self.iterations,
            "parameters": records(self.parameters_table()),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClvFit:
        """A fit read back from :meth:`to_dict` (or the ``result`` of ``clv fit --format
        json``)."""
        model = str(data.get("model", ""))
        if model not in MODELS:
            raise ValidationError("clv.error.model", model=model, choices=", ".join(MODELS))
        raw = data.get("params") or {}
        missing = [k for k in MODELS[model] if k not in raw]
        if missing:
            raise ValidationError("clv.error.params", model=model, missing=", ".join(missing))
        se = data.get("se") or {}
        return cls(
            model=model,
            params={k: float(raw[k]) for k in MODELS[model]},
            se={k: float(se[k]) if se.get(k) is not None else float("nan") for k in MODELS[model]},
            log_likelihood=float(data.get("log_likelihood") or float("nan")),
            n=float(data.get("n") or 0.0),
            n_rows=int(data.get("n_rows") or 0),
            converged=bool(data.get("converged", True)),
            iterations=int(data.get("iterations") or 0),
        )

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.params.items())
        return f"<ClvFit {self.model}: {shown}; LL={self.log_likelihood:.2f}, n={self.n:g}>"


# ============================================================================================
# The optimiser and the Hessian
# ============================================================================================

LogLik = Callable[[Array], float]
Grad = Callable[[Array], Array]


def _maximise(
    model: str,
    loglik: LogLik,
    start: Sequence[float],
    *,
    total_weight: float,
    n_rows: int,
    value_and_grad: Callable[[Array], tuple[float, Array]] | None = None,
    tol: float = 1e-10,
    max_iter: int = 2000,
    newton: bool = False,
) -> ClvFit:
    """Maximise ``loglik`` (total log-likelihood on natural parameters) over log-parameters."""
    names = MODELS[model]
    scale = 1.0 / total_weight

    def objective(z: Array) -> float | tuple[float, Array]:
        theta = np.exp(z)
        if value_and_grad is None:
            with np.errstate(all="ignore"):
                value = loglik(theta)
            return -value * scale if np.isfinite(value) else 1e300
        with np.errstate(all="ignore"):
            value, g = value_and_grad(theta)
        g = g * theta  # chain rule for log-parameters
        if not (np.isfinite(value) and np.all(np.isfinite(g))):
            return 1e300, np.zeros_like(theta)
        return -value * scale, -g * scale

    z0 = np.log(np.asarray(start, dtype=np.float64))
    polished = None
    if value_and_grad is not None and newton:
        with np.errstate(all="ignore"):
            polished = _newton(value_and_grad, np.exp(z0))
    if polished is not None:
        theta, hess, n_iter = polished
        success, z_final = True, np.log(theta)
    else:
        bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(names)
        res = optimize.minimize(
            objective,
            z0,
            jac=value_and_grad is not None,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": max_iter, "ftol": tol * 1e-2, "gtol": tol, "maxcor": 20},
        )
        theta, success, n_iter, z_final, hess = (
            np.exp(res.x),
            bool(res.success),
            res.nit,
            res.x,
            None,
        )
    warnings: list[Message] = []
    if not success:
        warnings.append(Message("clv.warning.not_converged", {"model": model}))
    at_bound = [names[i] for i, z in enumerate(z_final) if abs(z) > _LOG_BOUND - 1e-6]
    if at_bound:
        warnings.append(Message("clv.warning.bound", {"model": model, "params": at_bound}))
    with np.errstate(all="ignore"):
        ll = float(loglik(theta))
        gradient = None if value_and_grad is None else (lambda th: value_and_grad(th)[1])
        if hess is None:
            hess = _hessian(loglik, theta, gradient)
        se = _se_from_hessian(hess)
    if not np.all(np.isfinite(se)):
        warnings.append(Message("clv.warning.no_se", {"model": model}))
    return ClvFit(
        model=model,
        params={k: float(v) for k, v in zip(names, theta, strict=True)},
        se={k: float(v) for k, v in zip(names, se, strict=True)},
        log_likelihood=ll,
        n=float(total_weight),
        n_rows=n_rows,
        converged=success,
        iterations=int(n_iter),
        warnings=tuple(warnings),
    )


def _hessian(loglik: LogLik, theta: Array, gradient: Grad | None) -> Array:
    """Central finite-difference Hessian of the total log-likelihood at ``theta``."""
    k = theta.size
    h = 1e-4 * np.maximum(np.abs(theta), 1e-8)
    hess = np.empty((k, k))
    if gradient is not None:
        for i in range(k):
            e = np.zeros(k)
            e[i] = h[i]
            hess[i] = (gradient(theta + e) - gradient(theta - e)) / (2 * h[i])
        return np.asarray((hess + hess.T) / 2, dtype=np.float64)
    f0 = loglik(theta)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = h[i]
        hess[i, i] = (loglik(theta + ei) - 2 * f0 + loglik(theta - ei)) / h[i] ** 2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = h[j]
            value = (
                loglik(theta + ei + ej)
                - loglik(theta + ei - ej)
                - loglik(theta - ei + ej)
                + loglik(theta - ei - ej)
            ) / (4 * h[i] * h[j])
            hess[i, j] = hess[j, i] = value
    return hess


def _newton(
    value_and_grad: Callable[[Array], tuple[float, Array]], theta0: Array, max_iter: int = 25
) -> tuple[Array, Array, int] | None:
    """Newton-Raphson on log-parameters from a nearby start, with step halving.

    The Hessian is the central finite difference of the analytic gradient, so the last one
    also gives the standard errors. ``None`` when it fails (the caller falls back to L-BFGS).
    """
    theta = theta0.copy()
    value, grad = value_and_grad(theta)

    def gradient(th: Array) -> Array:
        return value_and_grad(th)[1]

    k = theta.size
    for it in range(1, max_iter + 1):
        # forward differences of the gradient we already have: k more passes over the data
        hess = np.empty((k, k))
        for i in range(k):
            h = 1e-5 * theta[i]
            e = np.zeros(k)
            e[i] = h
            hess[i] = (gradient(theta + e) - grad) / h
        hess = (hess + hess.T) / 2
        # in z = log(theta): g_z = theta * g, H_z = D H D + diag(theta * g)
        g_z = theta * grad
        h_z = hess * np.outer(theta, theta) + np.diag(g_z)
        try:
            if np.any(np.linalg.eigvalsh(h_z) >= 0):
                return None
            step = -np.linalg.solve(h_z, g_z)
        except np.linalg.LinAlgError:
            return None
        for _ in range(30):
            trial = theta * np.exp(step)
            new_value, new_grad = value_and_grad(trial)
            if np.isfinite(new_value) and new_value >= value - 1e-12 * abs(value):
                break
            step = step / 2
        else:
            return None
        theta, value, grad = trial, new_value, new_grad
        if np.max(np.abs(step)) < 1e-4:  # the next step would be ~1e-8: done
            return theta, hess, it
    return None


def _se_from_hessian(hess: Array) -> Array:
    try:
        cov = np.linalg.inv(-hess)
    except np.linalg.LinAlgError:
        return np.full(hess.shape[0], np.nan)
    diag = np.diag(cov)
    return np.asarray(np.where(diag > 0, np.sqrt(np.abs(diag)), np.nan), dtype=np.float64)


def _by_unique(x: Array) -> tuple[Array, NDArray[Any]]:
    """Unique values of an integer-valued array and the index back (per-x terms are cheap)."""
    values, inverse = np.unique(x, return_inverse=True)
    return values, inverse


# ============================================================================================
# BG/NBD
# ============================================================================================


def _bgnbd_parts(
    params: Array, x: Array, tx: Array, T: Array
) -> tuple[Array, Array, Array, Array, Array]:
    r, alpha, a, b = params
    ux, inv = _by_unique(x)
    # per distinct x: lgamma terms
    base_u = (
        special.gammaln(r + ux)
        - special.gammaln(r)
        + r * np.log(alpha)
        + special.gammaln(a + b)
        + special.gammaln(b + ux)
        - special.gammaln(b)
        - special.gammaln(a + b + ux)
    )
    pos_u = ux > 0
    log_ab_u = np.where(pos_u, np.log(a) - np.log(np.where(pos_u, b + ux - 1, 1.0)), -np.inf)
    rx = r + x
    log_aT = np.log(alpha + T)
    log_atx = np.log(alpha + tx)
    a3 = -rx * log_aT
    a4 = log_ab_u[inv] - rx * log_atx
    return base_u[inv], a3, a4, log_aT, log_atx


def bgnbd_log_likelihood(
    params: Sequence[float] | Array,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
) -> Array:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005a, eq. 6)."""
    x, tx, t_ = _rfm(frequency, recency, T)
    p = np.asarray(params, dtype=np.float64)
    with np.errstate(divide="ignore"):
        base, a3, a4, _, _ = _bgnbd_parts(p, x, tx, t_)
        return np.asarray(base + np.logaddexp(a3, a4), dtype=np.float64)


def _threads() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def _bgnbd_value_and_grad(
    x: Array, tx: Array, T: Array, w: Array
) -> Callable[[Array], tuple[float, Array]]:
    """Total BG/NBD log-likelihood and its gradient, with the data arranged once.

    Customers with no repeat purchase only need log(α + T): their ages are pooled (summed
    weights per distinct T). Terms in x alone are evaluated once per distinct x. The
    per-row work runs in chunks on a few threads (numpy releases the GIL in ufuncs).
    """
    ux, inv = np.unique(x, return_inverse=True)
    wsum_u = np.bincount(inv, weights=w, minlength=ux.size)
    total = float(w.sum())
    zero = x == 0
    t0, inv0 = np.unique(T[zero], return_inverse=True)
    w0 = np.bincount(inv0, weights=w[zero], minlength=t0.size)
    pos = ~zero
    xp, txp, tp, wp = x[pos], tx[pos], T[pos], w[pos]
    uxp, invp = np.unique(xp, return_inverse=True)
    n_chunks = _threads() if x.size >= 100_000 else 1
    zero_parts = np.array_split(np.arange(t0.size), n_chunks)
    pos_parts = np.array_split(np.arange(xp.size), n_chunks)
    zero_chunks = [(t0[i], w0[i]) for i in zero_parts]
    pos_chunks = [(xp[i], txp[i], tp[i], wp[i], invp[i]) for i in pos_parts]

    def zero_rows(chunk: tuple[Array, Array], r: float, alpha: float) -> Array:
        tt, ww = chunk
        l0 = np.log(alpha + tt)
        return np.array([float(ww @ l0), float(ww @ np.reciprocal(alpha + tt))])

    def pos_rows(chunk: tuple[Array, ...], theta: Array, c_u: Array) -> tuple[Array, Array]:
        xc, txc, tc, wc, invc = chunk
        r, alpha = theta[0], theta[1]
        rx = r + xc
        l_t = np.log(alpha + tc)
        l_tx = np.log(alpha + txc)
        # d = log-odds of "left after the last purchase" against "alive through T"
        d = l_tx - l_t
        d *= -rx
        d += c_u[invc]
        np.minimum(d, 700.0, out=d)
        e = np.exp(d)
        value = float(wc @ np.log1p(e) - (wc * rx) @ l_t)
        e /= 1.0 + e
        ww4 = wc * e
        ww3 = wc - ww4
        d_r = float(ww3 @ l_t + ww4 @ l_tx)
        ww4_u = np.bincount(invc, weights=ww4, minlength=uxp.size)
        ww3 *= rx
        ww4 *= rx
        d_alpha = float(ww3 @ np.reciprocal(alpha + tc) + ww4 @ np.reciprocal(alpha + txc))
        return np.array([value, d_r, d_alpha]), np.asarray(ww4_u, dtype=np.float64)

    def run(func: Callable[..., Any], chunks: Sequence[Any], *args: Any) -> list[Any]:
        if n_chunks == 1:
            return [func(c, *args) for c in chunks]
        with ThreadPoolExecutor(n_chunks) as pool:
            return list(pool.map(lambda c: func(c, *args), chunks))

    def value_and_grad(theta: Array) -> tuple[float, Array]:
        r, alpha, a, b = theta
        log_alpha = math.log(alpha)
        value = float(
            (
                special.gammaln(r + ux)
                - special.gammaln(r)
                + r * log_alpha
                + special.gammaln(a + b)
                + special.gammaln(b + ux)
                - special.gammaln(b)
                - special.gammaln(a + b + ux)
            )
            @ wsum_u
        )
        dig_ab = special.digamma(a + b) - special.digamma(a + b + ux)
        d_r = float((special.digamma(r + ux) - special.digamma(r) + log_alpha) @ wsum_u)
        d_alpha = r / alpha * total
        d_a = float(dig_ab @ wsum_u)
        d_b = float((dig_ab + special.digamma(b + ux) - special.digamma(b)) @ wsum_u)
        # no repeat purchase: L = ... (α + T)^-r
        s0 = np.sum(run(zero_rows, zero_chunks, r, alpha), axis=0)
        value -= r * s0[0]
        d_r -= s0[0]
        d_alpha -= r * s0[1]
        if xp.size:
            c_u = math.log(a) - np.log(b + uxp - 1)
            parts = run(pos_rows, pos_chunks, theta, c_u)
            sums = np.sum([p_[0] for p_ in parts], axis=0)
            ww4_u = np.sum([p_[1] for p_ in parts], axis=0)
            value += sums[0]
            d_r -= sums[1]
            d_alpha -= sums[2]
            d_a += float(ww4_u.sum()) / a
            d_b -= float(ww4_u @ (1.0 / (b + uxp - 1)))
        return value, np.array([d_r, d_alpha, d_a, d_b], dtype=np.float64)

    return value_and_grad


def fit_bgnbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    start: Sequence[float] | None = None,
) -> ClvFit:
    """BG/NBD by maximum likelihood (analytic gradient).

    Above 200,000 rows the fit starts from a fit on a 20,000-row subsample (the same optimum,
    fewer passes over the full data).
    """
    x, tx, t_ = _rfm(frequency, recency, T)
    w = _weights(weights, x.size)
    if start is None and x.size > 200_000:
        rng = np.random.default_rng(20050101)
        pick = rng.choice(x.size, 20_000, replace=False)
        sub = fit_bgnbd(x[pick], tx[pick], t_[pick], weights=w[pick], start=(1, 1, 1, 1))
        start = [float(v) for v in sub.param_array()]
    vg = _bgnbd_value_and_grad(x, tx, t_, w)
    return _maximise(
        "bgnbd",
        lambda theta: vg(theta)[0],
        start or (1.0, 1.0, 1.0, 1.0),
        total_weight=float(w.sum()),
        n_rows=x.size,
        value_and_grad=vg,
        newton=x.size > 200_000,
    )


def bgnbd_p_alive(
    params: Sequence[float] | Array, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> Array:
    """P(alive | x, t_x, T) under BG/NBD (Fader, Hardie & Lee 2005a, eq. 11); 1 when x = 0."""
    r, alpha, a, b = np.asarray(params, dtype=np.float64)
    x, tx, t_ = _rfm(frequency, recency, T)
    with np.errstate(divide="ignore"):
        log_ratio = (
            np.log(a)
            - np.log(np.where(x > 0, b + x - 1, 1.0))
            + (r + x) * (np.log(alpha + t_) - np.log(alpha + tx))
        )
    out = np.where(x > 0, special.expit(-log_ratio), 1.0)
    return np.asarray(out, dtype=np.float64)


def bgnbd_expected(params: Sequence[float] | Array, t: ArrayLike) -> Array:
    """E[X(t)]: expected repeat purchases of a new customer in (0, t] (eq. 9)."""
    r, alpha, a, b = np.asarray(params, dtype=np.float64)
    tt = np.asarray(t, dtype=np.float64)
    z = tt / (alpha + tt)
    value = (
        (a + b - 1)
        / (a - 1)
        * (1 - (alpha / (alpha + tt)) ** r * special.hyp2f1(r, b, a + b - 1, z))
    )
    return np.atleast_1d(np.asarray(value, dtype=np.float64))


def bgnbd_conditional_expected(
    params: Sequence[float] | Array,
    t: float,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
) -> Array:
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T + t] of a customer (eq. 10)."""
    r, alpha, a, b = np.asarray(params, dtype=np.float64)
    x, tx, t_ = _rfm(frequency, recency, T)
    z = t / (alpha + t_ + t)
    term = 1 - ((alpha + t_) / (alpha + t_ + t)) ** (r + x) * special.hyp2f1(
        r + x, b + x, a + b + x - 1, z
    )
    lead = (a + b + x - 1) / (a - 1)
    return np.asarray(lead * term * bgnbd_p_alive(params, x, tx, t_), dtype=np.float64)


def simulate_bgnbd(
    params: Sequence[float] | Array, T: ArrayLike, *, seed: int | None = None
) -> pd.DataFrame:
    """Draw (frequency, recency, T) summaries from a BG/NBD population, exactly.

    Each customer has a purchase rate λ ~ Gamma(r, scale 1/α) and a dropout probability
    p ~ Beta(a, b); after each repeat purchase the customer leaves with probability p, so the
    repeat purchases before leaving J are geometric on 1, 2, ...; with N(T) ~ Poisson(λT)
    purchases possible in (0, T], x = min(N(T), J) and the x-th of N(T) uniform arrival times
    is T · Beta(x, N(T) − x + 1).
    """
    r, alpha, a, b = np.asarray(params, dtype=np.float64)
    t_ = _arr(T, "T")
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, t_.size)
    drop = rng.beta(a, b, t_.size)
    n_possible = rng.poisson(lam * t_)
    j = rng.geometric(np.clip(drop, 1e-12, 1.0))
    x = np.minimum(n_possible, j)
    pos = x > 0
    recency = np.zeros_like(t_)
    recency[pos] = t_[pos] * rng.beta(x[pos], n_possible[pos] - x[pos] + 1)
    return pd.DataFrame({"frequency": x.astype(np.int64), "recency": recency, "T": t_})


# ============================================================================================
# Pareto/NBD
# ============================================================================================


def _log_hyp2f1_diff(
    a_: Array, b_: Array, c_: Array, z1: Array, z2: Array, log_d1: Array, log_d2: Array
) -> Array:
    """log( F(z1) / d1^a - F(z2) / d2^a ), with F = 2F1(a, b; c; .), d = exp(log_d)."""
    l1 = np.log(special.hyp2f1(a_, b_, c_, z1)) - a_ * log_d1
    l2 = np.log(special.hyp2f1(a_, b_, c_, z2)) - a_ * log_d2
    with np.errstate(divide="ignore", invalid="ignore"):
        out = l1 + np.log1p(-np.exp(np.minimum(l2 - l1, 0.0)))
    return np.asarray(out, dtype=np.float64)


def _paretonbd_terms(params: Array, x: Array, tx: Array, T: Array) -> tuple[Array, Array, Array]:
    """(constant, log of the 'alive through T' term, log of the 'died in (t_x, T]' term)."""
    r, alpha, s, beta = params
    const = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    rsx = r + s + x
    if alpha >= beta:
        log_a0 = _log_hyp2f1_diff(
            rsx,
            np.full_like(x, s + 1),
            rsx + 1,
            (alpha - beta) / (alpha + tx),
            (alpha - beta) / (alpha + T),
            np.log(alpha + tx),
            np.log(alpha + T),
        )
    else:
        log_a0 = _log_hyp2f1_diff(
            rsx,
            r + x,
            rsx + 1,
            (beta - alpha) / (beta + tx),
            (beta - alpha) / (beta + T),
            np.log(beta + tx),
            np.log(beta + T),
        )
    died = np.log(s) - np.log(rsx) + log_a0
    return const, alive, died


def paretonbd_log_likelihood(
    params: Sequence[float] | Array, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> Array:
    """Per-customer Pareto/NBD log-likelihood (Fader & Hardie 2005 note, eq. 22)."""
    x, tx, t_ = _rfm(frequency, recency, T)
    with np.errstate(divide="ignore"):
        const, alive, died = _paretonbd_terms(np.asarray(params, dtype=np.float64), x, tx, t_)
        return np.asarray(const + np.logaddexp(alive, died), dtype=np.float64)


def fit_paretonbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    start: Sequence[float] | None = None,
) -> ClvFit:
    """Pareto/NBD by maximum likelihood (numerical gradient)."""
    x, tx, t_ = _rfm(frequency, recency, T)
    w = _weights(weights, x.size)

    def loglik(theta: Array) -> float:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            const, alive, died = _paretonbd_terms(theta, x, tx, t_)
            return float(w @ (const + np.logaddexp(alive, died)))

    if start is None:
        # start from the BG/NBD-like scale of the data: rate near mean(x)/mean(T)
        start = (0.5, max(float(np.average(t_, weights=w)) / 4, 0.1), 0.5, 10.0)
    return _maximise(
        "paretonbd", loglik, start, total_weight=float(w.sum()), n_rows=x.size, tol=1e-9
    )


def paretonbd_p_alive(
    params: Sequence[float] | Array, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> Array:
    """P(alive | x, t_x, T) under Pareto/NBD (Fader & Hardie 2005 note, eq. 18)."""
    x, tx, t_ = _rfm(frequency, recency, T)
    with np.errstate(divide="ignore"):
        _, alive, died = _paretonbd_terms(np.asarray(params, dtype=np.float64), x, tx, t_)
        return np.asarray(np.exp(alive - np.logaddexp(alive, died)), dtype=np.float64)


def paretonbd_expected(params: Sequence[float] | Array, t: ArrayLike) -> Array:
    """E[X(t)] for a new customer under Pareto/NBD (Schmittlein et al. 1987)."""
    r, alpha, s, beta = np.asarray(params, dtype=np.float64)
    tt = np.asarray(t, dtype=np.float64)
    value = r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + tt)) ** (s - 1))
    return np.atleast_1d(np.asarray(value, dtype=np.float64))


def paretonbd_conditional_expected(
    params: Sequence[float] | Array,
    t: float,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
) -> Array:
    """E[Y(t) | x, t_x, T] under Pareto/NBD (Fader & Hardie 2005 note, eq. 21)."""
    r, alpha, s, beta = np.asarray(params, dtype=np.float64)
    x, tx, t_ = _rfm(frequency, recency, T)
    alive = paretonbd_p_alive(params, x, tx, t_)
    lead = (r + x) * (beta + t_) / ((alpha + t_) * (s - 1))
    return np.asarray(
        alive * lead * (1 - ((beta + t_) / (beta + t_ + t)) ** (s - 1)), dtype=np.float64
    )


def paretonbd_dert(
    params: Sequence[float] | Array,
    rate: float,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
) -> Array:
    """Discounted expected residual transactions under Pareto/NBD, continuous discounting at
    ``rate`` per time unit (Fader, Hardie & Lee 2005, "RFM and CLV", eq. 2):

    ``DERT = P(alive) · (r + x) / (α + T) · (β + T)^s · δ^(s−1) · U(s, s; δ(β + T))``

    the expected transactions after T, each weighted by ``exp(−δ·τ)``, summed to infinity
    (U is Tricomi's confluent hypergeometric function). Multiplied by the expected margin per
    transaction it is the customer's residual lifetime value. For an annual rate ``d`` and
    weekly T, ``rate = ln(1 + d) / 52``.
    """
    r, alpha, s, beta = np.asarray(params, dtype=np.float64)
    if not rate > 0:
        raise ValidationError("clv.error.continuous_rate", rate=rate)
    x, tx, t_ = _rfm(frequency, recency, T)
    alive = paretonbd_p_alive(params, x, tx, t_)
    z = rate * (beta + t_)
    log_tail = s * np.log(beta + t_) + (s - 1) * np.log(rate) + np.log(special.hyperu(s, s, z))
    return np.asarray(alive * (r + x) / (alpha + t_) * np.exp(log_tail), dtype=np.float64)


# ============================================================================================
# Gamma-Gamma spend
# ============================================================================================


def _spend(frequency: ArrayLike, monetary_value: ArrayLike) -> tuple[Array, Array]:
    x = _arr(frequency, "frequency")
    m = _arr(monetary_value, "monetary_value")
    if x.shape != m.shape:
        raise ValidationError("clv.error.lengths")
    if np.any(x <= 0) or np.any(m <= 0):
        raise ValidationError("clv.error.spend")
    return x, m


def gammagamma_log_likelihood(
    params: Sequence[float] | Array, frequency: ArrayLike, monetary_value: ArrayLike
) -> Array:
    """Per-customer log density of the mean spend m given x transactions (Fader & Hardie 2013,
    eq. 4; customers with at least one repeat purchase)."""
    p, q, g = np.asarray(params, dtype=np.float64)
    x, m = _spend(frequency, monetary_value)
    px = p * x
    value = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(g)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(g + m * x)
    )
    return np.asarray(value, dtype=np.float64)


def fit_gammagamma(
    frequency: ArrayLike,
    monetary_value: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    start: Sequence[float] | None = None,
) -> ClvFit:
    """Gamma-Gamma spend model by maximum likelihood (analytic gradient). Only customers with
    at least one repeat purchase carry information; pass those (``frequency > 0``)."""
    x, m = _spend(frequency, monetary_value)
    w = _weights(weights, x.size)
    log_m, log_x = np.log(m), np.log(x)
    mx = m * x

    def value_and_grad(theta: Array) -> tuple[float, Array]:
        p, q, g = theta
        px = p * x
        log_gmx = np.log(g + mx)
        value = (
            special.gammaln(px + q)
            - special.gammaln(px)
            - special.gammaln(q)
            + q * math.log(g)
            + (px - 1) * log_m
            + px * log_x
            - (px + q) * log_gmx
        )
        dig = special.digamma(px + q)
        d_p = w @ (x * (dig - special.digamma(px) + log_m + log_x - log_gmx))
        d_q = w @ (dig - special.digamma(q) + math.log(g) - log_gmx)
        d_g = w @ (q / g - (px + q) / (g + mx))
        return float(w @ value), np.array([d_p, d_q, d_g], dtype=np.float64)

    return _maximise(
        "gammagamma",
        lambda theta: value_and_grad(theta)[0],
        start or (1.0, 1.0, 1.0),
        total_weight=float(w.sum()),
        n_rows=x.size,
        value_and_grad=value_and_grad,
    )


def gammagamma_expected_spend(
    params: Sequence[float] | Array, frequency: ArrayLike, monetary_value: ArrayLike
) -> Array:
    """E[M | x, m]: expected spend per transaction (Fader, Hardie & Lee 2005b, eq. 5): a
    weighted mean of the population mean p·γ/(q − 1) and the customer's own mean m. Customers
    with no repeat purchase (x = 0) get the population mean."""
    p, q, g = np.asarray(params, dtype=np.float64)
    x = _arr(frequency, "frequency")
    m = _arr(monetary_value, "monetary_value")
    m = np.where(x > 0, m, 0.0)
    value = (g + m * x) * p / (p * x + q - 1)
    return np.asarray(value, dtype=np.float64)


# ============================================================================================
# sBG (contractual, discrete)
# ============================================================================================


def _survivors(survivors: ArrayLike) -> Array:
    s = _arr(survivors, "survivors")
    if s.size < 2 or s[0] <= 0 or np.any(np.diff(s) > 0) or np.any(s < 0):
        raise ValidationError("clv.error.survivors")
    return s


def sbg_log_likelihood(params: Sequence[float] | Array, survivors: ArrayLike) -> float:
    """sBG log-likelihood of a cohort's survivor counts n_0, n_1, ..., n_k (Fader & Hardie
    2007, eq. B3): churners in each period t contribute ln P(T = t), the survivors after
    period k contribute ln S(k)."""
    alpha, beta = np.asarray(params, dtype=np.float64)
    s = _survivors(survivors)
    lost = -np.diff(s)
    t = np.arange(1, s.size)
    log_p = special.betaln(alpha + 1, beta + t - 1) - special.betaln(alpha, beta)
    log_s = special.betaln(alpha, beta + t[-1]) - special.betaln(alpha, beta)
    return float(lost @ log_p + s[-1] * log_s)


def fit_sbg(survivors: ArrayLike) -> ClvFit:
    """Shifted-beta-geometric retention model from one cohort's survivors per period
    (``survivors[0]`` is the cohort size)."""
    s = _survivors(survivors)

    def loglik(theta: Array) -> float:
        return sbg_log_likelihood(theta, s)

    return _maximise("sbg", loglik, (1.0, 1.0), total_weight=float(s[0]), n_rows=s.size)


@dataclass(frozen=True)
class SbgCohorts:
    """One sBG fit per cohort (or segment): ``fits`` by cohort, and ``table``: cohort | n_start
    | periods | sbg_alpha | sbg_alpha_se | sbg_beta | sbg_beta_se | log_likelihood | churn_1 (the expected
    churn in period 1, α/(α+β)) | retention_next (the expected retention rate in the period
    after the last observed one) | converged."""

    by: str
    fits: Mapping[str, ClvFit]
    table: pd.DataFrame
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"sbg_cohorts": self.table}

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": "sbg",
            "by": self.by,
            "cohorts": records(self.table),
            "fits": {name: fit.to_dict() for name, fit in self.fits.items()},
        }


def fit_sbg_by(
    data: pd.DataFrame, by: str, /, *, survivors: str = "survivors", period: str | None = "period"
) -> SbgCohorts:
    """Fit the sBG model to each cohort of a long table (one row per cohort and period, the
    customers still active at the start of each period in ``survivors``; rows ordered by
    ``period`` when that column exists, else as given). Cohorts are fitted apart, as Fader &
    Hardie (2007) fit their 'regular' and 'high end' customers."""
    for col in (by, survivors):
        if col not in data.columns:
            raise ValidationError(
                "clv.error.columns",
                model="sbg",
                missing=col,
                available=", ".join(map(str, data.columns)),
            )
    frame = data
    if period is not None and period in data.columns:
        frame = data.sort_values([by, period], kind="stable")
    fits: dict[str, ClvFit] = {}
    rows = []
    warnings: list[Message] = []
    for name, part in frame.groupby(by, sort=True):
        counts = part[survivors].to_numpy(dtype=np.float64)
        fit = fit_sbg(counts)
        key = str(name)
        fits[key] = fit
        warnings.extend(fit.warnings)
        alpha, beta = fit.params["alpha"], fit.params["beta"]
        k = counts.size - 1
        rows.append(
            {
                by: key,
                "n_start": float(counts[0]),
                "periods": k,
                "sbg_alpha": alpha,
                "sbg_alpha_se": fit.se.get("alpha", float("nan")),
                "sbg_beta": beta,
                "sbg_beta_se": fit.se.get("beta", float("nan")),
                "log_likelihood": fit.log_likelihood,
                "churn_1": alpha / (alpha + beta),
                "retention_next": float(sbg_retention((alpha, beta), [k + 1])[0]),
                "converged": fit.converged,
            }
        )
    return SbgCohorts(by=by, fits=fits, table=pd.DataFrame(rows), warnings=tuple(warnings))


def sbg_survival(params: Sequence[float] | Array, t: ArrayLike) -> Array:
    """S(t) = B(α, β + t) / B(α, β): share of the cohort still a customer after t periods."""
    alpha, beta = np.asarray(params, dtype=np.float64)
    tt = np.asarray(t, dtype=np.float64)
    value = np.exp(special.betaln(alpha, beta + tt) - special.betaln(alpha, beta))
    return np.atleast_1d(np.asarray(value, dtype=np.float64))


def sbg_retention(params: Sequence[float] | Array, t: ArrayLike) -> Array:
    """r_t = S(t) / S(t − 1) = (β + t − 1) / (α + β + t − 1) (Fader & Hardie 2007, eq. 8)."""
    alpha, beta = np.asarray(params, dtype=np.float64)
    tt = np.asarray(t, dtype=np.float64)
    return np.atleast_1d(np.asarray((beta + tt - 1) / (alpha + beta + tt - 1), dtype=np.float64))


def sbg_del(params: Sequence[float] | Array, discount_rate: float) -> float:
    """Discounted expected lifetime of a new customer, in periods paid (payment at the start
    of each period): DEL = 2F1(1, β; α + β; 1/(1 + d)) (Fader & Hardie 2010, eq. 3)."""
    alpha, beta = np.asarray(params, dtype=np.float64)
    return float(special.hyp2f1(1.0, beta, alpha + beta, 1.0 / (1.0 + discount_rate)))


def sbg_derl(params: Sequence[float] | Array, discount_rate: float, renewals: int) -> float:
    """Discounted expected residual lifetime of a customer who has made ``renewals`` (n − 1)
    contract renewals, evaluated just before the next one is due (Fader & Hardie 2010, eq. 6):
    DERL = B(α, β + n) / B(α, β + n − 1) · 2F1(1, β + n; α + β + n; 1/(1 + d))."""
    alpha, beta = np.asarray(params, dtype=np.float64)
    n = renewals + 1
    ratio = math.exp(special.betaln(alpha, beta + n) - special.betaln(alpha, beta + n - 1))
    return float(ratio * special.hyp2f1(1.0, beta + n, alpha + beta + n, 1 / (1 + discount_rate)))


# ============================================================================================
# BG/BB (discrete-time, non-contractual)
# ============================================================================================


def _bgbb_data(
    frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike
) -> tuple[Array, Array, Array]:
    x = _arr(frequency, "frequency")
    tx = _arr(recency, "recency")
    n = _arr(n_periods, "n_periods")
    if not (x.shape == tx.shape == n.shape):
        raise ValidationError("clv.error.lengths")
    bad = (x < 0) | (x > tx) | (tx > n) | (x != np.floor(x)) | (tx != np.floor(tx))
    bad |= (x > 0) & (tx == 0)
    if np.any(bad) or np.any(n != np.floor(n)) or np.any(n <= 0):
        raise ValidationError("clv.error.bgbb")
    return x, tx, n


def _bgbb_log_terms(params: Array, x: Array, tx: Array, n: Array) -> Array:
    """Per-row log-likelihood (Fader, Hardie & Shang 2010, eq. 5)."""
    alpha, beta, gamma, delta = params
    b_ab = special.betaln(alpha, beta)
    b_gd = special.betaln(gamma, delta)
    first = special.betaln(alpha + x, beta + n - x) - b_ab + special.betaln(gamma, delta + n) - b_gd
    terms = [first]
    n_extra = n - tx
    for i in range(int(n_extra.max()) if n_extra.size else 0):  # a loop over periods
        value = (
            special.betaln(alpha + x, beta + tx - x + i)
            - b_ab
            + special.betaln(gamma + 1, delta + tx + i)
            - b_gd
        )
        terms.append(np.where(i < n_extra, value, -np.inf))
    return np.asarray(special.logsumexp(np.vstack(terms), axis=0), dtype=np.float64)


def bgbb_log_likelihood(
    params: Sequence[float] | Array, frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike
) -> Array:
    """Per-row BG/BB log-likelihood of (x, t_x, n)."""
    x, tx, n = _bgbb_data(frequency, recency, n_periods)
    return _bgbb_log_terms(np.asarray(params, dtype=np.float64), x, tx, n)


def fit_bgbb(
    frequency: ArrayLike,
    recency: ArrayLike,
    n_periods: ArrayLike,
    *,
    weights: ArrayLike | None = None,
) -> ClvFit:
    """BG/BB by maximum likelihood; ``weights`` counts the customers sharing a pattern."""
    x, tx, n = _bgbb_data(frequency, recency, n_periods)
    w = _weights(weights, x.size)

    def loglik(theta: Array) -> float:
        return float(w @ _bgbb_log_terms(theta, x, tx, n))

    return _maximise(
        "bgbb", loglik, (1.0, 1.0, 1.0, 1.0), total_weight=float(w.sum()), n_rows=x.size
    )


def bgbb_p_alive(
    params: Sequence[float] | Array, frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike
) -> Array:
    """P(alive in period n + 1 | x, t_x, n) (Fader, Hardie & Shang 2010, eq. 11)."""
    p = np.asarray(params, dtype=np.float64)
    alpha, beta, gamma, delta = p
    x, tx, n = _bgbb_data(frequency, recency, n_periods)
    log_num = (
        special.betaln(alpha + x, beta + n - x)
        - special.betaln(alpha, beta)
        + special.betaln(gamma, delta + n + 1)
        - special.betaln(gamma, delta)
    )
    return np.asarray(np.exp(log_num - _bgbb_log_terms(p, x, tx, n)), dtype=np.float64)


def bgbb_conditional_expected(
    params: Sequence[float] | Array,
    periods: int,
    frequency: ArrayLike,
    recency: ArrayLike,
    n_periods: ArrayLike,
) -> Array:
    """Expected transactions in the next ``periods`` opportunities (n, n + n*] given
    (x, t_x, n) (Fader, Hardie & Shang 2010, eq. 13)."""
    p = np.asarray(params, dtype=np.float64)
    alpha, beta, gamma, delta = p
    x, tx, n = _bgbb_data(frequency, recency, n_periods)
    log_l = _bgbb_log_terms(p, x, tx, n)
    log_lead = special.betaln(alpha + x + 1, beta + n - x) - special.betaln(alpha, beta)
    const = (
        math.log(delta)
        - math.log(gamma - 1)
        + special.gammaln(gamma + delta)
        - special.gammaln(1 + delta)
        if gamma > 1
        else None
    )
    first = np.exp(special.gammaln(1 + delta + n) - special.gammaln(gamma + delta + n))
    second = np.exp(
        special.gammaln(1 + delta + n + periods) - special.gammaln(gamma + delta + n + periods)
    )
    if const is not None:
        value = np.exp(log_lead - log_l + const) * (first - second)
    else:  # gamma < 1: write δ/(γ−1)·(first − second) as a sum over the periods (same value)
        k = np.arange(periods)[:, None]
        surv = np.exp(
            special.betaln(gamma, delta + n[None, :] + k + 1) - special.betaln(gamma, delta)
        )
        value = np.exp(log_lead - log_l) * surv.sum(axis=0)
    return np.asarray(value, dtype=np.float64)


def bgbb_expected_in_first_periods(params: Sequence[float] | Array, n_periods: int) -> pd.DataFrame:
    """P(X(n) = x) for x = 0..n: the share of a new cohort making x transactions in the first
    n opportunities (Fader, Hardie & Shang 2010, eq. 8). Columns: frequency | probability."""
    alpha, beta, gamma, delta = np.asarray(params, dtype=np.float64)
    n = int(n_periods)
    rows = []
    for x in range(n + 1):
        value = math.comb(n, x) * math.exp(
            special.betaln(alpha + x, beta + n - x)
            - special.betaln(alpha, beta)
            + special.betaln(gamma, delta + n)
            - special.betaln(gamma, delta)
        )
        for i in range(x, n):
            value += math.comb(i, x) * math.exp(
                special.betaln(alpha + x, beta + i - x)
                - special.betaln(alpha, beta)
                + special.betaln(gamma + 1, delta + i)
                - special.betaln(gamma, delta)
            )
        rows.append({"frequency": x, "probability": value})
    return pd.DataFrame(rows)


# ============================================================================================
# Dispatch by model name (CLI, report)
# ============================================================================================


def fit_model(model: str, data: pd.DataFrame, /) -> ClvFit:
    """Fit ``model`` to a condensed frame: ``frequency, recency, T`` (bgnbd, paretonbd),
    ``frequency, monetary_value`` (gammagamma; rows with frequency 0 are left out),
    ``frequency, recency, n_periods`` (bgbb), ``survivors`` (sbg). An optional ``weights``
    column counts customers sharing a row."""
    if model not in MODELS:
        raise ValidationError("clv.error.model", model=model, choices=", ".join(MODELS))
    need = {
        "bgnbd": ["frequency", "recency", "T"],
        "paretonbd": ["frequency", "recency", "T"],
        "gammagamma": ["frequency", "monetary_value"],
        "bgbb": ["frequency", "recency", "n_periods"],
        "sbg": ["survivors"],
    }[model]
    missing = [c for c in need if c not in data.columns]
    if missing:
        raise ValidationError(
            "clv.error.columns",
            model=model,
            missing=", ".join(missing),
            available=", ".join(map(str, data.columns)),
        )
    weights = data["weights"].to_numpy(dtype=float) if "weights" in data.columns else None
    cols = [data[c].to_numpy(dtype=float) for c in need]
    if model == "bgnbd":
        return fit_bgnbd(*cols, weights=weights)
    if model == "paretonbd":
        return fit_paretonbd(*cols, weights=weights)
    if model == "bgbb":
        return fit_bgbb(*cols, weights=weights)
    if model == "sbg":
        return fit_sbg(cols[0])
    keep = cols[0] > 0
    if not keep.any():
        raise ValidationError("clv.error.no_repeat")
    return fit_gammagamma(
        cols[0][keep], cols[1][keep], weights=None if weights is None else weights[keep]
    )


# ============================================================================================
# Prediction and discounted CLV
# ============================================================================================


def _conditional(fit: ClvFit, t: float, x: Array, tx: Array, T: Array) -> Array:
    if fit.model == "bgnbd":
        return bgnbd_conditional_expected(fit.param_array(), t, x, tx, T)
    return paretonbd_conditional_expected(fit.param_array(), t, x, tx, T)


def customer_value(
    transactions: ClvFit,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    spend: ArrayLike,
    horizon: int = 12,
    period: float = 1.0,
    discount_rate: float = 0.01,
    margin: float = 1.0,
) -> Array:
    """Discounted CLV over ``horizon`` periods of length ``period`` (in the time unit of T):

    ``CLV = margin · spend · Σ_{k=1..horizon} (E[Y(k·period)] − E[Y((k−1)·period)]) / (1 + d)^k``

    with E[Y(t) | x, t_x, T] from the BG/NBD or Pareto/NBD fit and ``spend`` the expected
    spend per transaction (usually :func:`gammagamma_expected_spend`). This is the discrete
    discounting of Fader, Hardie & Lee (2005b, sec. 4) and of the lifetimes package
    (``customer_lifetime_value``): with weekly T, ``period=4.345`` and a monthly rate it
    values the next ``horizon`` months.
    """
    if transactions.model not in ("bgnbd", "paretonbd"):
        raise ValidationError("clv.error.value_model", model=transactions.model)
    if horizon < 1 or period <= 0 or discount_rate <= -1:
        raise ValidationError("clv.error.horizon")
    x, tx, t_ = _rfm(frequency, recency, T)
    money = _arr(spend, "spend")
    total = np.zeros_like(x)
    previous = np.zeros_like(x)
    for k in range(1, horizon + 1):  # a loop over periods
        current = _conditional(transactions, k * period, x, tx, t_)
        total += (current - previous) / (1 + discount_rate) ** k
        previous = current
    return np.asarray(margin * money * total, dtype=np.float64)


def predict(
    fit: ClvFit,
    data: pd.DataFrame,
    /,
    *,
    horizon: float = 1.0,
    spend_fit: ClvFit | None = None,
    clv_periods: int = 12,
    period: float = 1.0,
    discount_rate: float = 0.01,
    margin: float = 1.0,
    continuous_rate: float | None = None,
) -> pd.DataFrame:
    """Per-customer predictions, the input columns kept in front.

    - bgnbd / paretonbd (``frequency, recency, T``): ``p_alive``, ``expected_transactions``
      in (T, T + horizon]; with ``spend_fit`` (Gamma-Gamma) and ``monetary_value`` also
      ``expected_spend`` and ``clv`` (:func:`customer_value`). For paretonbd with
      ``continuous_rate`` also ``dert`` (:func:`paretonbd_dert`) and, with spend,
      ``clv_continuous`` = margin · expected spend · DERT (no horizon: the whole residual
      lifetime).
    - bgbb (``frequency, recency, n_periods``): ``p_alive`` (in the next period) and
      ``expected_transactions`` in the next ``horizon`` periods.
    - gammagamma (``frequency, monetary_value``): ``expected_spend``.
    - sbg (``period``, optional): ``survival``, ``retention`` and ``expected_survivors`` per
      period 1..horizon for a cohort of 1 (multiply by the cohort size).
    """
    p = fit.param_array()
    out = data.copy()
    if fit.model in ("bgnbd", "paretonbd"):
        x, tx, t_ = (data[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
        alive = bgnbd_p_alive if fit.model == "bgnbd" else paretonbd_p_alive
        out["p_alive"] = alive(p, x, tx, t_)
        out["expected_transactions"] = _conditional(fit, horizon, x, tx, t_)
        if continuous_rate is not None:
            if fit.model != "paretonbd":
                raise ValidationError("clv.error.continuous_model", model=fit.model)
            out["dert"] = paretonbd_dert(p, continuous_rate, x, tx, t_)
        if spend_fit is not None and "monetary_value" in data.columns:
            spend = gammagamma_expected_spend(
                spend_fit.param_array(), x, data["monetary_value"].to_numpy(dtype=float)
            )
            out["expected_spend"] = spend
            out["clv"] = customer_value(
                fit,
                x,
                tx,
                t_,
                spend=spend,
                horizon=clv_periods,
                period=period,
                discount_rate=discount_rate,
                margin=margin,
            )
            if continuous_rate is not None:
                out["clv_continuous"] = margin * spend * out["dert"].to_numpy()
        return out
    if fit.model == "bgbb":
        cols = [data[c].to_numpy(dtype=float) for c in ("frequency", "recency", "n_periods")]
        out["p_alive"] = bgbb_p_alive(p, *cols)
        out["expected_transactions"] = bgbb_conditional_expected(p, int(horizon), *cols)
        return out
    if fit.model == "gammagamma":
        out["expected_spend"] = gammagamma_expected_spend(
            p, data["frequency"].to_numpy(dtype=float), data["monetary_value"].to_numpy(float)
        )
        return out
    periods = np.arange(1, int(max(horizon, 1)) + 1, dtype=float)
    surv = sbg_survival(p, periods)
    return pd.DataFrame(
        {"period": periods.astype(int), "survival": surv, "retention": sbg_retention(p, periods)}
    )


# ============================================================================================
# Kaplan-Meier by segment
# ============================================================================================


@dataclass(frozen=True)
class KaplanMeierResult:
    """Kaplan-Meier curves, one per segment.

    ``survival``: segment | time | n_risk | n_events | n_censored | survival | se | ci_low |
    ci_high (Greenwood variance; log(−log) intervals, as R ``survival`` and lifelines).
    ``summary``: segment | n | n_events | median (NaN while S(t) stays above 0.5).
    """

    survival: pd.DataFrame
    summary: pd.DataFrame
    confidence: float
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"km_survival": self.survival, "km_summary": self.summary}

    def to_dict(self) -> dict[str, Any]:
        return {
            "confidence": self.confidence,
            "survival": records(self.survival),
            "summary": records(self.summary),
        }

    def at(self, time: float, segment: str = "all") -> float:
        """S(time) of ``segment`` (step function, right-continuous)."""
        part = self.survival[self.survival["segment"] == segment]
        before = part[part["time"] <= time]
        return 1.0 if before.empty else float(before["survival"].iloc[-1])


def _km_one(t: Array, d: Array, z: float) -> pd.DataFrame:
    times = np.unique(t)
    n_events = np.array([d[t == u].sum() for u in times]) if times.size < 64 else None
    if n_events is None:
        idx = np.searchsorted(times, t)
        n_events = np.bincount(idx, weights=d, minlength=times.size)
        n_total = np.bincount(idx, minlength=times.size).astype(float)
    else:
        n_total = np.array([(t == u).sum() for u in times], dtype=float)
    n_risk = n_total[::-1].cumsum()[::-1]
    factor = 1 - n_events / n_risk
    surv = np.cumprod(factor)
    with np.errstate(divide="ignore", invalid="ignore"):
        green = np.cumsum(n_events / (n_risk * (n_risk - n_events)))
        se = surv * np.sqrt(green)
        log_s = np.log(surv)
        theta = np.sqrt(green) / np.abs(log_s)
        low = surv ** np.exp(z * theta)
        high = surv ** np.exp(-z * theta)
    low = np.where(surv > 0, low, 0.0)
    high = np.where(surv > 0, high, 0.0)
    low = np.where(np.isfinite(low), low, np.where(surv >= 1, 1.0, np.nan))
    high = np.where(np.isfinite(high), high, np.where(surv >= 1, 1.0, np.nan))
    return pd.DataFrame(
        {
            "time": times,
            "n_risk": n_risk,
            "n_events": n_events,
            "n_censored": n_total - n_events,
            "survival": surv,
            "se": se,
            "ci_low": low,
            "ci_high": high,
        }
    )


def kaplan_meier(
    data: pd.DataFrame,
    /,
    *,
    duration: str,
    event: str,
    by: str | None = None,
    confidence: float = 0.95,
) -> KaplanMeierResult:
    """Kaplan-Meier survival of customers (time to leaving) overall or by segment.

    ``duration`` is the time observed, ``event`` 1 when the customer left at that time and 0
    when still a customer (censored).
    """
    for col in [duration, event, *([by] if by else [])]:
        if col not in data.columns:
            raise ValidationError(
                "clv.error.km_column", column=col, available=", ".join(map(str, data.columns))
            )
    t_all = pd.to_numeric(data[duration], errors="coerce").to_numpy(dtype=float)
    d_all = pd.to_numeric(data[event], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(t_all) & np.isfinite(d_all)
    if np.any(t_all[ok] < 0) or np.any(~np.isin(d_all[ok], (0.0, 1.0))):
        raise ValidationError("clv.error.km_values", duration=duration, event=event)
    warnings: list[Message] = []
    if not ok.all():
        warnings.append(Message("clv.warning.km_dropped", {"n": int((~ok).sum())}))
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    groups: list[tuple[str, NDArray[np.bool_]]] = [("all", ok)]
    if by is not None:
        seg = data[by].astype(str).to_numpy()
        groups += [(str(g), ok & (seg == g)) for g in sorted(pd.unique(seg[ok]))]
    curves, summary = [], []
    for name, mask in groups:
        if not mask.any():
            continue
        curve = _km_one(t_all[mask], d_all[mask], z)
        curve.insert(0, "segment", name)
        curves.append(curve)
        below = curve[curve["survival"] <= 0.5]
        summary.append(
            {
                "segment": name,
                "n": int(mask.sum()),
                "n_events": int(d_all[mask].sum()),
                "median": float(below["time"].iloc[0]) if not below.empty else float("nan"),
            }
        )
    return KaplanMeierResult(
        survival=pd.concat(curves, ignore_index=True),
        summary=pd.DataFrame(summary),
        confidence=confidence,
        warnings=tuple(warnings),
    )


# ============================================================================================
# The SPEC's formulas
# ============================================================================================


@dataclass(frozen=True)
class SimpleClv:
    """SPEC section 4: CLV = average transaction x transactions per year x years retained."""

    average_transaction: float
    transactions_per_year: float
    years_retained: float
    warnings: tuple[Message, ...] = ()

    @property
    def value(self) -> float:
        return self.average_transaction * self.transactions_per_year * self.years_retained

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"clv_simple": pd.DataFrame([self.to_dict()])}

    def to_dict(self) -> dict[str, Any]:
        return {
            "average_transaction": self.average_transaction,
            "transactions_per_year": self.transactions_per_year,
            "years_retained": self.years_retained,
            "clv": self.value,
        }


def simple_clv(
    *, average_transaction: float, transactions_per_year: float, years_retained: float
) -> SimpleClv:
    """The SPEC's customer lifetime value (客户终身价值) formula."""
    values = (average_transaction, transactions_per_year, years_retained)
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise ValidationError("clv.error.negative")
    return SimpleClv(
        float(average_transaction), float(transactions_per_year), float(years_retained)
    )


@dataclass(frozen=True)
class LostCustomerValue:
    """The "Mrs Smith" lost-customer reading (SPEC section 4), every number a parameter.

    One customer spending ``spend_per_period`` ``periods_per_year`` times a year for
    ``years`` leaves: her own value is lost. She tells ``told`` people, ``influenced_share``
    of them are influenced, each influenced person tells ``retell`` more (all influenced),
    and ``defect_share`` of all influenced people (both rounds) stop buying, each worth the
    same. ``total = (1 + defectors) x customer_value``.
    """

    spend_per_period: float
    periods_per_year: float
    years: float
    told: float
    influenced_share: float
    retell: float
    defect_share: float
    warnings: tuple[Message, ...] = ()

    @property
    def customer_value(self) -> float:
        return self.spend_per_period * self.periods_per_year * self.years

    @property
    def first_round(self) -> float:
        return self.told * self.influenced_share

    @property
    def second_round(self) -> float:
        return self.first_round * self.retell

    @property
    def influenced(self) -> float:
        return self.first_round + self.second_round

    @property
    def defectors(self) -> float:
        return self.influenced * self.defect_share

    @property
    def customers_lost(self) -> float:
        return 1 + self.defectors

    @property
    def total(self) -> float:
        return self.customers_lost * self.customer_value

    def breakdown(self) -> pd.DataFrame:
        """step | customers | value: the reading line by line."""
        v = self.customer_value
        rows = [
            ("lost.customer", 1.0, v),
            ("lost.first_round", self.first_round, float("nan")),
            ("lost.second_round", self.second_round, float("nan")),
            ("lost.influenced", self.influenced, float("nan")),
            ("lost.defectors", self.defectors, self.defectors * v),
            ("lost.total", self.customers_lost, self.total),
        ]
        return pd.DataFrame(rows, columns=["step", "customers", "value"])

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"lost_customer": self.breakdown()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": {
                "spend_per_period": self.spend_per_period,
                "periods_per_year": self.periods_per_year,
                "years": self.years,
                "told": self.told,
                "influenced_share": self.influenced_share,
                "retell": self.retell,
                "defect_share": self.defect_share,
            },
            "customer_value": self.customer_value,
            "first_round": self.first_round,
            "second_round": self.second_round,
            "influenced": self.influenced,
            "defectors": self.defectors,
            "customers_lost": self.customers_lost,
            "total": self.total,
            "breakdown": records(self.breakdown()),
        }


def lost_customer_value(
    *,
    spend_per_period: float = 50.0,
    periods_per_year: float = 52.0,
    years: float = 10.0,
    told: float = 10.0,
    influenced_share: float = 0.5,
    retell: float = 5.0,
    defect_share: float = 0.25,
) -> LostCustomerValue:
    """The value lost with one unhappy customer (SPEC section 4): $221,000 for N = 10,
    $416,000 for N = 20 with the material's numbers (the defaults)."""
    values = (spend_per_period, periods_per_year, years, told, influenced_share, retell)
    if any(not math.isfinite(v) or v < 0 for v in (*values, defect_share)):
        raise ValidationError("clv.error.negative")
    if influenced_share > 1 or defect_share > 1:
        raise ValidationError("clv.error.share")
    return LostCustomerValue(
        spend_per_period=float(spend_per_period),
        periods_per_year=float(periods_per_year),
        years=float(years),
        told=float(told),
        influenced_share=float(influenced_share),
        retell=float(retell),
        defect_share=float(defect_share),
    )


# ============================================================================================
# For the report: one call from a condensed summary to values per customer
# ============================================================================================


@dataclass(frozen=True)
class ValueResult:
    """BG/NBD (and Gamma-Gamma when spend is known) fitted to a customer summary, with the
    per-customer predictions and a one-row overview.

    ``customers``: the summary with p_alive, expected_transactions[, expected_spend, clv].
    ``overview``: n | n_repeat | mean_p_alive | expected_transactions | total_clv | mean_clv.
    """

    transactions: ClvFit
    spend: ClvFit | None
    customers: pd.DataFrame
    horizon: float
    warnings: tuple[Message, ...] = field(default=())

    @property
    def overview(self) -> pd.DataFrame:
        c = self.customers
        row: dict[str, Any] = {
            "n": len(c),
            "n_repeat": int((c["frequency"] > 0).sum()),
            "mean_p_alive": float(c["p_alive"].mean()),
            "expected_transactions": float(c["expected_transactions"].sum()),
        }
        if "clv" in c.columns:
            row["total_clv"] = float(c["clv"].sum())
            row["mean_clv"] = float(c["clv"].mean())
        return pd.DataFrame([row])

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {
            "clv_overview": self.overview,
            "clv_parameters": self.transactions.parameters_table(),
        }
        if self.spend is not None:
            out["clv_spend_parameters"] = self.spend.parameters_table()
        out["clv_customers"] = self.customers
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "horizon": self.horizon,
            "transactions": self.transactions.to_dict(),
            "spend": None if self.spend is None else self.spend.to_dict(),
            "overview": records(self.overview),
            "customers": records(self.customers),
        }


def value_customers(
    summary: pd.DataFrame,
    /,
    *,
    model: Literal["bgnbd", "paretonbd"] = "bgnbd",
    horizon: float = 52.0,
    clv_periods: int = 12,
    period: float = 4.345,
    discount_rate: float = 0.01,
    margin: float = 1.0,
) -> ValueResult:
    """Fit ``model`` (and Gamma-Gamma when ``monetary_value`` is present) to a condensed
    summary (:func:`allegiance.customers.summary.rfm_summary`) and value every customer.

    Defaults assume T in weeks: ``horizon`` 52 weeks of expected transactions, CLV over 12
    months of 4.345 weeks discounted at 1 % a month.
    """
    fit = fit_model(model, summary)
    warnings = list(fit.warnings)
    spend_fit = None
    if "monetary_value" in summary.columns and (summary["frequency"] > 0).sum() >= 10:
        spend_fit = fit_model("gammagamma", summary)
        warnings += list(spend_fit.warnings)
    customers = predict(
        fit,
        summary,
        horizon=horizon,
        spend_fit=spend_fit,
        clv_periods=clv_periods,
        period=period,
        discount_rate=discount_rate,
        margin=margin,
    )
    return ValueResult(fit, spend_fit, customers, horizon, tuple(warnings))
