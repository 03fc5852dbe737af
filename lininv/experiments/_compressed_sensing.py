r"""Experiment 1: compressed sensing, error against ``m`` (``docs/theory.md``, section 9)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from lininv._progress import Progress, check_progress
from lininv._provenance import provenance
from lininv._threads import single_blas_thread
from lininv._validation import check_int
from lininv.bridge._compare import COMPARE_NEEDS, compare_validated, comparison_settings
from lininv.bridge._predictions import check_ms
from lininv.experiments._cells import Stream, open_cells, require_keys, stream
from lininv.experiments._data import DigitsData, flow_and_data, subset
from lininv.experiments._protocols import protocol as get_protocol
from lininv.experiments._protocols import stem
from lininv.experiments._registry import register
from lininv.experiments._result import ExperimentResult
from lininv.flows._protocol import FlowPrior

__all__ = ["compressed_sensing", "COMPARE_CELL"]

_CELL = require_keys("m", "errors", "converged", "lasso_lambda", "rank_k_gamma", "local")
_FLOOR = require_keys("errors", "converged")


def COMPARE_CELL(key: str, value: Any) -> None:
    """Check a stored cell of :func:`lininv.bridge.compare` when a store is reopened."""
    (_FLOOR if key == "gan-floor" else _CELL)(key, value)


def comparison_data(comp: Any, protocol_name: str) -> dict[str, Any]:
    """The per-signal numbers of a comparison, for the claims (:mod:`lininv.experiments._claims`)."""
    return {
        "protocol": protocol_name,
        "ms": [int(m) for m in comp.ms],
        "errors": comp.errors,
        "psnr": comp.extra.get("psnr", {}),
        "flow_unconverged": comp.extra.get("flow_unconverged", []),
        "rank_k_floor": comp.extra.get("rank_k_floor"),
        "gan_floor": comp.extra.get("gan_floor"),
        "gan_floor_converged": comp.extra.get("gan_floor_converged"),
        "compare_params": comp.params,
    }


@register(
    "compressed-sensing",
    order=1,
    summary="error vs m: flow vs Lasso vs rank-k vs generator (CSGM) vs the linear theory",
    small={"ms": (8, 32, 64), "n_test": 8, "max_iter": 100, "gan_k": None},
    protocols=("lininv", "paper"),
)
@single_blas_thread
def compressed_sensing(
    flow: FlowPrior | None = None,
    data: DigitsData | None = None,
    *,
    ms: Sequence[int] = (4, 8, 16, 24, 32, 40, 48, 56, 64),
    n_test: int | None = 100,
    draws: int = 1,
    noise_std: float | None = None,
    k: int = 16,
    gan_k: int | None = 16,
    max_iter: int | None = None,
    protocol: str = "lininv",
    seed: int = 0,
    output: Any = None,
    progress: Progress = False,
    command: str | None = None,
) -> ExperimentResult:
    r"""Experiment 1: recovery error vs ``m`` for the flow, the baselines and the linear theory.

    Gaussian :math:`A` (:math:`A_{ij} \sim N(0, 1/m)`, one per test image and draw), ``gamma =
    0``, the flow started from ``z = 0`` as in the paper's main runs, under a protocol
    (:mod:`lininv.experiments._protocols`): ``"lininv"`` noiseless, the flow solved to
    convergence, baselines tuned on held-out images, MSE; ``"paper"`` noise of norm ~0.1, 600
    L-BFGS iterations, Lasso with ``lambda = 0.01``, PSNR. Beside the flow: Lasso in the DCT
    basis, the rank-k linear generator, the best linear Gaussian and the nonlinear generator
    (:func:`lininv.generators.pretrained`, CSGM with restarts); see :func:`lininv.bridge.compare`
    for the columns (``gan_*``: the generator; ``*_psnr``: mean per-image PSNR).

    Parameters
    ----------
    flow : lininv.flows.FlowPrior, optional
        Default: ``lininv.flows.default_flow()``.
    data : DigitsData, optional
        Default: :func:`digits_data` of the default flow's split.
    ms : sequence of int, default=(4, 8, ..., 64)
        Numbers of measurements, ``2 <= m <= n``.
    n_test : int or None, default=100
        Test images used (a seeded random subset, :attr:`Stream.TEST_PICK`; None for all).
    draws : int, default=1
        Draws of ``A`` per test image.
    noise_std : float, optional
        Noise level: the standard deviation per measurement is ``noise_std / sqrt(m)``
        (:math:`E\|\eta\|^2 = \text{noise\_std}^2`). Default: the protocol's (0 or 0.1).
    k : int, default=16
        Rank of the linear generator (see :func:`lininv.bridge.compare`).
    gan_k : int or None, default=16
        Latent dimension of the pretrained nonlinear generator (8, 16 or 32); None leaves it out.
    max_iter : int, optional
        L-BFGS-B iterations (default: the protocol's, 200 before Gauss-Newton or 600).
    protocol : {"lininv", "paper"}, default="lininv"
    seed : int, default=0
        Seed of every random stream.
    output : path-like, optional
        Folder for resumable progress (``output/.cells/compressed-sensing.json``).
    progress : bool or callable, default=False
        A bar (``True``) or a callback per finished ``m`` (:mod:`lininv._progress`).
    command : str, optional
        The command line recorded in the provenance (default: this process's).

    Returns
    -------
    ExperimentResult
        The :func:`lininv.bridge.compare` table; ``data`` the per-signal errors and PSNRs per
        method and ``m`` (``data["errors"][method][i]`` for ``ms[i]``), the floors per signal, the
        unconverged flow solves per ``m`` and ``data["compare_params"]``.
    """
    t0 = time.perf_counter()
    flow, data = flow_and_data(flow, data, COMPARE_NEEDS)
    seed = check_int("seed", seed, low=0)
    progress = check_progress(progress)
    n = int(flow.n)
    m_values = check_ms(ms, n)
    proto = get_protocol(protocol)
    options = proto.compare_settings()
    if noise_std is not None:
        options["noise_std"] = noise_std
    if max_iter is not None:
        options["max_iter"] = max_iter
    settings = comparison_settings(n, draws=draws, k=k, **options)
    generator = _generator(gan_k)
    X_test = subset(data.X_test, n_test, stream(seed, Stream.TEST_PICK))
    params = {
        "ms": [int(m) for m in m_values],
        "n_test": int(X_test.shape[0]),
        "draws": settings.draws,
        "noise_std": settings.noise_std,
        "noise_scale": settings.noise_scale,
        "k": settings.k,
        "gan_k": gan_k,
        "max_iter": settings.max_iter,
        "protocol": proto.params(),
        "seed": seed,
        "init": "zeros",
        "gamma": 0.0,
    }
    prov = provenance(seed=seed, command=command)
    with open_cells(
        output,
        stem("compressed-sensing", proto.name),
        params,
        provenance=prov,
        validate=COMPARE_CELL,
    ) as store:
        comp = compare_validated(
            flow,
            X_test,
            m_values,
            data.X_train,
            data.X_val,
            settings,
            seed,
            store=store,
            progress=progress,
            task=stem("compressed-sensing", proto.name),
            generator=generator,
        )
    table = comp.table
    table.meta.update(prov)
    return ExperimentResult(
        "compressed-sensing",
        table,
        params,
        comparison_data(comp, proto.name),
        seconds=time.perf_counter() - t0,
        compute_seconds=comp.compute_seconds,
        protocol=proto.name,
    )


def _generator(gan_k: Any) -> Any:
    """The pretrained generator of latent dimension ``gan_k`` (None: none)."""
    if gan_k is None:
        return None
    from lininv import generators

    return generators.pretrained(check_int("gan_k", gan_k, low=1))
