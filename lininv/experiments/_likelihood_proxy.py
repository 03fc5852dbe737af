r"""Is the latent likelihood a proxy for the signal likelihood? A rank correlation."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from lininv._prior import LinearInvertiblePrior
from lininv._progress import Progress, check_progress, progress_sink
from lininv._provenance import provenance
from lininv._table import Table
from lininv._threads import single_blas_thread
from lininv._validation import check_int
from lininv.experiments._cells import Stream, stream
from lininv.experiments._data import DigitsData, flow_and_data
from lininv.experiments._registry import register
from lininv.experiments._result import ExperimentResult
from lininv.flows._protocol import FlowPrior

__all__ = ["likelihood_proxy", "PROXY_NEEDS"]

#: The members of :class:`lininv.flows.FlowPrior` the experiment uses.
PROXY_NEEDS = ("n", "inverse", "log_prob", "sample")


@register(
    "likelihood-proxy",
    order=6,
    summary="rank correlation of ||z||^2 and -log p_G(x)",
    small={"n_samples": 300},
)
@single_blas_thread
def likelihood_proxy(
    flow: FlowPrior | None = None,
    data: DigitsData | None = None,
    *,
    n_samples: int = 2000,
    seed: int = 0,
    output: Any = None,
    progress: Progress = False,
    command: str | None = None,
) -> ExperimentResult:
    r"""Is :math:`\|z\|^2` a proxy for :math:`-\log p_G(x)`? Spearman rank correlation.

    For the flow: over samples :math:`x = G(z)`, :math:`z \sim N(0, I)`
    (:attr:`Stream.PROXY_SAMPLES`), and over the test images (:math:`z = G^{-1}(x)`). For the best
    linear Gaussian as a flow (control), :math:`-\log p_G(x) = \|z\|^2/2 + \text{const}`, an exact
    monotone transform: the rank correlation is exactly 1.

    Parameters
    ----------
    flow : lininv.flows.FlowPrior, optional
        Default: ``lininv.flows.default_flow()``.
    data : DigitsData, optional
        Default: :func:`digits_data` of the default flow's split.
    n_samples : int, default=2000
        Samples drawn from each flow, ``>= 3``.
    seed : int, default=0
    output : path-like, optional
        Accepted for a uniform interface; the experiment has no cells to resume (seconds).
    progress : bool or callable, default=False
    command : str, optional
        The command line recorded in the provenance (default: this process's).

    Returns
    -------
    ExperimentResult
        Rows ``flow, signals, n, spearman_rho, p_value``; ``figure_data["scatter"]`` the
        ``||z||^2`` and ``-log p_G(x)`` of every row's signals.
    """
    from scipy import stats

    from lininv import flows

    t0 = time.perf_counter()
    flow, data = flow_and_data(flow, data, PROXY_NEEDS)
    seed = check_int("seed", seed, low=0)
    progress = check_progress(progress)
    n_samples = check_int("n_samples", n_samples, low=3)
    params = {"n_samples": n_samples, "seed": seed}
    linear = flows.linear_flow(LinearInvertiblePrior.fit(data.X_train))
    table = Table(
        ["flow", "signals", "n", "spearman_rho", "p_value"],
        title="Rank correlation of ||z||^2 and -log p_G(x)",
        meta=provenance(seed=seed, command=command),
    )
    scatter: dict[str, dict[str, np.ndarray]] = {}
    with progress_sink(progress, "likelihood-proxy", 4, "cell") as sink:
        for name, f in (("trained flow", flow), ("best linear Gaussian", linear)):
            for source in ("samples", "test images"):
                if source == "samples":
                    x = f.sample(n_samples, rng=stream(seed, Stream.PROXY_SAMPLES))
                else:
                    x = data.X_test
                z = np.asarray(f.inverse(x)[0])
                z_sq = np.einsum("kn,kn->k", z, z)
                nll = -np.asarray(f.log_prob(x))
                rho, p = stats.spearmanr(z_sq, nll)
                table.append(
                    {
                        "flow": name,
                        "signals": source,
                        "n": int(x.shape[0]),
                        "spearman_rho": float(rho),
                        "p_value": float(p),
                    }
                )
                scatter[f"{name}, {source}"] = {"z_sq": z_sq, "nll": nll}
                sink.update(label=f"{name}, {source}", info=f"rho = {rho:.4f}")
    elapsed = time.perf_counter() - t0
    return ExperimentResult(
        "likelihood-proxy",
        table,
        params,
        {},
        {"scatter": scatter},
        seconds=elapsed,
        compute_seconds=elapsed,
    )
