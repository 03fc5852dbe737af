r"""Inpainting at n = 784: a centred 12x12 hole in 28x28 digits; flow, Lasso, linear Gaussian.

The observed pixels are all but a centred ``hole x hole`` square
(:func:`lininv.experiments.centre_mask`; 640 of 784 for the default hole of side 12, a hole the
size of a stroke's bend, semantic rather than a few missing pixels), so :math:`A` is a row
subset of the identity, :math:`y = A x` (noiseless by default, or plus :math:`N(0, \sigma^2 I)`).
The pretrained Glow (:func:`lininv.flows.pretrained_flow`) solves :math:`\min_z \|A G(z) - y\|^2 +
\gamma \|z\|^2` from :math:`z = 0` by L-BFGS-B (:func:`lininv.bridge.recover`) at the
:math:`\gamma` of a short grid that does best on validation images, and at :math:`\gamma = 0`.
Beside it: the best linear Gaussian's posterior mean (:func:`lininv.map_estimate`; noiseless,
the conditional mean :func:`lininv.mle`) with its exact expected error for this mask
(:func:`lininv.conditional_error`), and Lasso in the 2-D DCT basis by FISTA
(``lininv.bridge._lasso_fista``), its weight a fraction of :math:`\lambda_{\max}` chosen on the
validation images. Errors are measured on the whole image and on the hole alone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import linalg

from lininv._errors import conditional_error
from lininv._estimators import map_estimate
from lininv._measurements import mask_measurements
from lininv._parallel import check_executor
from lininv._progress import Progress, check_progress, progress_sink
from lininv._provenance import provenance
from lininv._table import Table
from lininv._threads import single_blas_thread
from lininv._validation import check_int, check_real
from lininv.bridge._compare_cell import gan_cell, psnr_floored, squared_errors
from lininv.bridge._lasso_fista import DEFAULT_GAP_TOL, check_fractions, lasso_dct_fista
from lininv.bridge._recovery import recover_batch
from lininv.experiments._cells import ci_fields, open_cells, require_keys, run_cells, stream
from lininv.experiments._data import centre_mask
from lininv.experiments._data28 import N28, SHAPE28, Stream28, data28, generator28
from lininv.experiments._protocols import PROTOCOLS
from lininv.experiments._registry import register
from lininv.experiments._result import ExperimentResult

__all__ = ["inpainting_28", "GAMMAS", "LASSO_FRACTIONS", "hole_prediction"]

#: The flow's latent weights tried on the validation images (gamma = 0 is always reported too).
GAMMAS = (0.0, 1e-3, 1e-2)

#: Lasso weights tried on validation images, as fractions of lambda_max (a warm-started path).
LASSO_FRACTIONS = (0.3, 0.1, 0.03, 0.01, 0.003, 0.001)

#: How many test images the figure shows.
N_EXAMPLES = 6

NAME = "inpainting-28"

CELL = require_keys("errors")


def hole_prediction(prior: Any, mask: np.ndarray, noise_std: float) -> float:
    r"""The linear Gaussian's expected squared error of its posterior mean on the hole alone.

    .. math:: \operatorname{tr}\big(\Sigma_{hh} - \Sigma_{ho}(\Sigma_{oo} + \sigma^2 I)^{-1}
              \Sigma_{oh}\big),

    the trace of the posterior covariance over the unobserved pixels ``h`` given the observed
    ones ``o`` (``mask``). Noiseless it equals :func:`lininv.conditional_error` of the mask (the
    observed pixels are then known exactly).

    Parameters
    ----------
    prior : LinearInvertiblePrior
        Covariance :math:`\Sigma` (``prior.covariance``).
    mask : ndarray of bool, shape (n,)
        True where a pixel is observed.
    noise_std : float
        :math:`\sigma \ge 0`.

    Returns
    -------
    float
    """
    S = prior.covariance
    o, h = np.flatnonzero(mask), np.flatnonzero(~mask)
    S_oo = S[np.ix_(o, o)] + noise_std**2 * np.eye(o.size)
    S_oh = S[np.ix_(o, h)]
    K = linalg.cho_solve(linalg.cho_factor(S_oo, lower=True), S_oh)  # factor once and solve
    return float(np.trace(S[np.ix_(h, h)]) - np.einsum("oh,oh->", S_oh, K))


def _measure(
    X: np.ndarray, mask: np.ndarray, noise_std: float, gen: np.random.Generator
) -> np.ndarray:
    """The observed pixels of each image, plus ``noise_std`` white noise."""
    Y = X[:, mask]
    return Y + noise_std * gen.standard_normal(Y.shape) if noise_std > 0.0 else Y.copy()


def _summary(X_hat: np.ndarray, X: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    """Per-image errors on the whole image and on the hole, PSNRs, the first few images."""
    return {
        "errors": squared_errors(X_hat, X),
        "hole_errors": squared_errors(X_hat[:, ~mask], X[:, ~mask]),
        "psnr": psnr_floored(X_hat, X),
        "examples": X_hat[:N_EXAMPLES],
    }


def _cell(
    kind: str,
    gamma: Any,
    d: Any,
    generator: Any,
    A: np.ndarray,
    mask: np.ndarray,
    X: np.ndarray,
    Y: np.ndarray,
    V: np.ndarray,
    Yv: np.ndarray,
    s: dict[str, Any],
) -> dict[str, Any]:
    """One cell: the flow at ``gamma`` on the validation (``"validation"``) or test (``"flow"``)
    images, or the linear Gaussian, Lasso (its weight chosen on the validation images) or the
    generator (CSGM, its weight chosen likewise) on the test images."""
    if kind in ("validation", "flow"):
        X_, Y_ = (V, Yv) if kind == "validation" else (X, Y)
        res = recover_batch(
            d.flow, A, Y_, gamma, init="zeros", max_iter=s["max_iter"], solver="lbfgs"
        )
        return {
            **_summary(res.x, X_, mask),
            "converged": res.success,
            "iterations": res.iterations,
            "grad_norm": res.grad_norm,
        }
    if kind == "gauss":
        return _summary(map_estimate(d.prior, A, Y, s["noise_std"]), X, mask)
    if kind == "lasso":
        fr = np.asarray(s["lasso_fractions"])
        k, kv = X.shape[0], V.shape[0]
        path = lasso_dct_fista(
            np.broadcast_to(A, (kv, *A.shape)), Yv, fr, shape=SHAPE28, max_iter=s["lasso_max_iter"]
        )
        val = [float(np.mean(squared_errors(r.x, V))) for r in path]
        best = int(np.argmin(val))
        res = lasso_dct_fista(
            np.broadcast_to(A, (k, *A.shape)),
            Y,
            fr[: best + 1],
            shape=SHAPE28,
            max_iter=s["lasso_max_iter"],
        )[-1]
        return {
            **_summary(res.x, X, mask),
            "converged": res.converged,
            "gap": res.gap,
            "fraction": float(fr[best]),
            "validation_errors": val,
        }
    Av = np.broadcast_to(A, (V.shape[0], *A.shape))  # gan_cell slices the held-out batch
    X_hat, info = gan_cell(generator, A, Y, Av, Yv, V, A.shape[0], s["seed"], PROTOCOLS["lininv"])
    return {**_summary(X_hat, X, mask), "converged": info["converged"], "gamma": info["gamma"]}


@register(
    NAME,
    order=7.2,
    dataset="mnist28",
    summary="n = 784: a centred 12x12 hole; flow vs Lasso vs the linear Gaussian, hole error",
    small={"n_test": 2, "n_val": 2, "max_iter": 10, "lasso_max_iter": 200},
)
@single_blas_thread
def inpainting_28(
    flow: Any = None,
    data: Any = None,
    *,
    generator: Any = None,
    hole: int = 12,
    n_test: int = 20,
    n_val: int = 8,
    noise_std: float = 0.0,
    gammas: Sequence[float] = GAMMAS,
    max_iter: int = 1000,
    lasso_fractions: Sequence[float] = LASSO_FRACTIONS,
    lasso_max_iter: int = 5000,
    seed: int = 0,
    output: Any = None,
    progress: Progress = False,
    command: str | None = None,
    executor: Any = None,
) -> ExperimentResult:
    r"""Inpainting a centred ``hole x hole`` square of 28x28 digits: flow, Lasso, linear Gaussian.

    Parameters
    ----------
    flow : lininv.flows.FlowPrior, optional
        A flow on 28x28 images. Default: ``lininv.flows.pretrained_flow("mnist28")``.
    data : lininv.datasets.Mnist28Split, optional
        Integer images (dequantised here). Default: the pretrained flow's split.
    generator : lininv.generators.Generator, optional
        The GAN-style baseline (CSGM on the observed pixels, 3 restarts, its latent weight chosen
        on the validation digits). Default: ``lininv.generators.pretrained(32, dataset="mnist28")``.
    hole : int, default=12
        Side of the unobserved centred square, ``1 <= hole <= 27``.
    n_test : int, default=20
        Test images (a seeded subset), at least 2.
    n_val : int, default=8
        Validation images for the flow's ``gamma``, Lasso's and the generator's weights.
    noise_std : float, default=0.0
        Noise on the observed pixels (:attr:`Stream28.INPAINTING_NOISE`).
    gammas : sequence of float, default=(0.0, 1e-3, 1e-2)
        Distinct latent weights :math:`\gamma \ge 0` tried on the validation images.
    max_iter : int, default=1000
        The flow's L-BFGS-B iteration limit (gradient tolerance ``1e-9``); a solve stopped by
        it counts as not converged.
    lasso_fractions : sequence of float, default=(0.3, 0.1, 0.03, 0.01, 0.003, 0.001)
        Decreasing Lasso weights as fractions of :math:`\lambda_{\max}`.
    lasso_max_iter : int, default=5000
        FISTA iterations per weight (convergence: relative duality gap ``<= 1e-6``).
    seed : int, default=0
    output : path-like, optional
        Folder for resumable progress (``output/.cells/inpainting-28.json``).
    progress : bool or callable, default=False
        One event per finished cell.
    command : str, optional
        The command line recorded in the provenance.
    executor : None, int, Executor, distributed.Client or str, optional
        Where the cells (validation and test solves per ``gamma``, each baseline) run:
        in-process by default; an int is that many worker processes; a Dask client or scheduler
        address runs them on the cluster. The numbers do not depend on it.

    Returns
    -------
    ExperimentResult
        One row per method (``method``: the flow at each ``gamma`` of ``gammas`` and at
        ``gamma = 0``, the one chosen on the validation images marked ``(validated)``; the best
        linear Gaussian; Lasso): its weight (``weight``: ``gamma`` or Lasso's fraction of
        :math:`\lambda_{\max}`), the mean squared error on the whole image (``mean``, ``lo``,
        ``hi``: 95% Student-t interval) and on the hole (``hole_mean``, ``hole_lo``,
        ``hole_hi``), the mean PSNR (dB, peak 1) and its paired difference from Lasso's over the
        same images (``psnr_minus_lasso_mean``/``_lo``/``_hi``), the convergence fraction, the
        flows' median final gradient norm (``grad_median``) and mean error on the validation
        images (``validation_mean``) and, for the linear Gaussian, the linear theory's expected
        errors (``predicted``: :func:`lininv.conditional_error`; ``hole_predicted``:
        :func:`hole_prediction`). ``data`` holds the validation errors behind each choice;
        ``figure_data["images"]`` the first test images (truth, observed, each method's
        reconstruction) with ``figure_data["labels"]``.
    """
    t0 = time.perf_counter()
    seed = check_int("seed", seed, low=0)
    hole = check_int("hole", hole, low=1, high=27)
    n_test = check_int("n_test", n_test, low=2)
    n_val = check_int("n_val", n_val, low=1)
    noise_std = check_real("noise_std", noise_std, low=0.0)
    max_iter = check_int("max_iter", max_iter, low=1)
    lasso_max_iter = check_int("lasso_max_iter", lasso_max_iter, low=1)
    progress = check_progress(progress)
    executor = check_executor(executor)
    gams = [check_real("gammas", g, low=0.0) for g in gammas]
    if not gams or len(set(gams)) != len(gams):
        raise ValueError(f"gammas must be distinct and at least one; got {list(gammas)}")
    fr = check_fractions(lasso_fractions)
    d = data28(flow, data, n_test, n_val, seed)
    generator = generator28(generator)
    X, V = d.X_test, d.X_val
    mask = centre_mask(SHAPE28, hole)
    A = mask_measurements(mask, N28)
    Y = _measure(X, mask, noise_std, stream(seed, Stream28.INPAINTING_NOISE))
    Yv = _measure(V, mask, noise_std, stream(seed, Stream28.VAL_INPAINTING_NOISE))
    settings = {
        "hole": hole,
        "m": int(mask.sum()),
        "n": N28,
        "n_test": int(X.shape[0]),
        "n_val": int(V.shape[0]),
        "noise_std": noise_std,
        "gammas": gams,
        "max_iter": max_iter,
        "solver": "lbfgs",
        "init": "zeros",
        "lasso_fractions": fr,
        "lasso_max_iter": lasso_max_iter,
        "lasso_gap_tol": DEFAULT_GAP_TOL,
        "gan": {
            "k": int(generator.k),
            "gammas": list(PROTOCOLS["lininv"].gan_gammas),
            "restarts": PROTOCOLS["lininv"].gan_restarts,
        },
        "seed": seed,
    }

    prov = provenance(seed=seed, command=command)
    clock: list[float] = []
    tested = gams if 0.0 in gams else [0.0, *gams]  # gamma = 0 is always reported
    common = (d, generator, A, mask, X, Y, V, Yv, settings)
    jobs: dict[str, tuple[Any, ...]] = {}
    for g in gams:
        jobs[f"validation gamma={g!r}"] = ("validation", g, *common)
    for g in tested:
        jobs[f"flow gamma={g!r}"] = ("flow", g, *common)
    for kind in ("gauss", "lasso", "gan"):
        jobs[kind] = (kind, None, *common)
    labels = {"gauss": "linear Gaussian", "lasso": "Lasso (DCT)", "gan": "VAE decoder (CSGM)"}
    done: dict[str, dict[str, Any]] = {}
    with (
        open_cells(output, NAME, settings, provenance=prov, validate=CELL) as store,
        progress_sink(progress, NAME, len(jobs), "cell") as sink,
    ):

        def finish(key: str, c: dict[str, Any]) -> None:
            done[key] = c
            clock.append(float(c.get("_seconds") or 0.0))
            kind, g = jobs[key][:2]
            label = labels.get(kind) or f"{kind}, gamma = {g:g}"
            sink.update(label=label, info=f"{np.mean(c['errors']):.4g}")

        run_cells(store, jobs, _cell, executor, finish)
    val_err = [float(np.mean(done[f"validation gamma={g!r}"]["errors"])) for g in gams]
    chosen = gams[int(np.argmin(val_err))]
    flows = {g: done[f"flow gamma={g!r}"] for g in tested}
    gauss, lasso, gan = done["gauss"], done["lasso"], done["gan"]
    validation = dict(zip(gams, val_err, strict=True))
    methods: list[tuple[str, Any, dict[str, Any]]] = [
        (f"flow, gamma = {g:g}" + (" (validated)" if g == chosen else ""), g, flows[g])
        for g in tested
    ]
    methods += [
        ("best linear Gaussian (posterior mean)", None, gauss),
        ("Lasso, 2-D DCT", lasso["fraction"], lasso),
        (f"VAE decoder, k = {generator.k} (CSGM)", gan["gamma"], gan),
    ]
    lasso_psnr = np.asarray(lasso["psnr"], dtype=float)
    rows = []
    for label, weight, c in methods:
        row: dict[str, Any] = {"method": label, "weight": weight}
        row.update(ci_fields("", c["errors"]))
        row.update(ci_fields("hole_", c["hole_errors"]))
        row["psnr"] = float(np.mean(c["psnr"]))
        if c is lasso:
            row.update(psnr_minus_lasso_mean=None, psnr_minus_lasso_lo=None)
            row["psnr_minus_lasso_hi"] = None
        else:
            row.update(
                ci_fields("psnr_minus_lasso_", np.asarray(c["psnr"], dtype=float) - lasso_psnr)
            )
        row["converged"] = float(np.mean(c["converged"])) if "converged" in c else None
        grad = c.get("grad_norm")
        row["grad_median"] = None if grad is None else float(np.median(grad))
        if c is gauss:
            row["predicted"] = float(conditional_error(d.prior, A, noise_std))
            row["hole_predicted"] = hole_prediction(d.prior, mask, noise_std)
        else:
            row["predicted"] = row["hole_predicted"] = None
        row["validation_mean"] = validation.get(weight) if label.startswith("flow") else None
        row["n_signals"] = int(X.shape[0])
        rows.append(row)
    table = Table(
        list(rows[0]),
        rows,
        title=f"Inpainting a centred {hole}x{hole} hole in 28x28 digits: ||x_hat - x||^2",
        meta=prov,
    )
    shown = X[:N_EXAMPLES]
    images = [shown, np.where(mask, shown, np.nan)]
    shown_flows = [chosen] if chosen == 0.0 else [chosen, 0.0]
    images += [np.asarray(flows[g]["examples"], dtype=float) for g in shown_flows]
    images += [np.asarray(c["examples"], dtype=float) for c in (gauss, lasso, gan)]
    labels = ["truth", "observed", *(f"flow, gamma={g:g}" for g in shown_flows)]
    labels += ["Gaussian", "Lasso", "VAE decoder"]
    return ExperimentResult(
        NAME,
        table,
        settings,
        {
            "gamma": chosen,
            "validation_errors": {repr(g): e for g, e in validation.items()},
            "lasso_fraction": lasso["fraction"],
            "lasso_validation_errors": lasso["validation_errors"],
        },
        # for display only: 3 decimals are below the 1/256 grey levels (and keep the JSON small)
        {"images": np.round(np.stack(images), 3), "labels": labels, "hole": hole},
        seconds=time.perf_counter() - t0,
        compute_seconds=float(sum(clock)),
    )
