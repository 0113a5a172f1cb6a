"""PLS path modelling: model specification, estimation, evaluation.

- :mod:`allegiance.pls.spec`: the model as a value (:class:`PathModel`,
  :class:`Construct`, :class:`StructuralPath`), YAML/JSON.
- :mod:`allegiance.pls.syntax`: lavaan-like text (``Image =~ IMAG1 + IMAG2``,
  ``Value <~ PERV1 + PERV2``, ``Satisfaction ~ Image + Value``).
- :mod:`allegiance.pls.estimate`: the Wold/Lohmöller algorithm.
  :func:`estimate` (raw data), :func:`estimate_from_cov` (a covariance or
  correlation matrix, or :class:`ItemMoments` reduced chunk by chunk with
  :func:`moments_from_chunks`), the estimator :class:`PLSPM`, the result
  :class:`PLSResult` and the 0-100 index per segment :func:`acsi_index`.
- :mod:`allegiance.pls.evaluate`: reliability and validity of a fitted model.

For the bootstrap (and anything that refits many times) the core is exposed:

``layout = compile_model(model)`` once, then
``estimate_core(R, layout, scheme=, tol=, max_iter=) -> CoreFit`` for one
item correlation matrix ``R`` (p x p, rows/columns in ``model.items`` order), or
``estimate_core_batch(Rs, layout, ...) -> BatchFit`` for a stack ``Rs`` (B x p x p)
iterated all at once. ``BatchFit`` arrays: ``weights`` (B, p, K) standardised
outer weights (zero outside the blocks), ``cross_loadings`` (B, p, K) item-LV
correlations, ``loadings`` (B, p, K, zero outside the blocks), ``lv_corr``
(B, K, K), ``paths`` (B, K, K) with ``paths[b, i, j]`` the coefficient i -> j,
``r2`` (B, K, NaN for exogenous), ``iterations`` and ``converged`` (B,). Signs
are already oriented (each construct's loadings sum to a positive number), so
resamples are comparable with the full-sample fit. ``layout.block[i]`` is the
construct of item i; ``layout.path_mask[i, j]`` marks path i -> j. Total
effects of a path matrix ``B``: ``inv(I - B) - I``.

>>> model = PathModel.from_syntax('''
...     Image =~ IMAG1 + IMAG2 + IMAG3
...     Loyalty =~ CUSL1 + CUSL2 + CUSL3
...     Loyalty ~ Image
... ''')
>>> model.construct_names
('Image', 'Loyalty')
"""

from __future__ import annotations

from allegiance.pls.estimate import (
    MISSING,
    PLSPM,
    SCHEMES,
    BatchFit,
    CoreFit,
    IndexResult,
    ItemMoments,
    Layout,
    PLSResult,
    acsi_index,
    compile_model,
    estimate,
    estimate_core,
    estimate_core_batch,
    estimate_from_cov,
    item_moments,
    moments_from_chunks,
)
from allegiance.pls.evaluate import Evaluation, evaluate
from allegiance.pls.spec import MODES, Construct, ModelError, PathModel, StructuralPath
from allegiance.pls.syntax import ModelSyntaxError, format_model, parse_model

__all__ = [
    "MISSING",
    "MODES",
    "PLSPM",
    "SCHEMES",
    "BatchFit",
    "Construct",
    "CoreFit",
    "Evaluation",
    "IndexResult",
    "ItemMoments",
    "Layout",
    "ModelError",
    "ModelSyntaxError",
    "PLSResult",
    "PathModel",
    "StructuralPath",
    "acsi_index",
    "compile_model",
    "estimate",
    "estimate_core",
    "estimate_core_batch",
    "estimate_from_cov",
    "evaluate",
    "format_model",
    "item_moments",
    "moments_from_chunks",
    "parse_model",
]
