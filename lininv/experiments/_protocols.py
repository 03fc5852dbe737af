r"""The two protocols every experiment runs under: ``lininv`` (converged, tuned, MSE) and ``paper``.

The paper's numbers come from its authors' code (GlowIP), whose conventions differ from this
library's in ways that change results: noisy measurements, a fixed Lasso weight, a fixed
optimiser budget, PSNR. Rather than pick one, each experiment runs under both, and its result
records which (:attr:`lininv.experiments.ExperimentResult.protocol`).

``lininv``
    Noiseless compressed sensing (or the noise stated by the experiment); the flow solved to
    convergence (``recover(solver="lbfgs+gauss-newton")``: 200 L-BFGS-B iterations, then
    Gauss-Newton with the exact Jacobian until no gradient component exceeds 1e-6); every
    baseline's weight chosen per ``m`` on held-out training images; the generator (CSGM) with 3
    restarts from :math:`N(0, I)` and its latent weight chosen on held-out images; mean squared
    error :math:`\|\hat x - x_0\|^2`.
``paper``
    GlowIP's settings as its run scripts give them: compressed-sensing noise of norm about 0.1,
    :math:`\eta \sim N(0, (0.1^2/m) I_m)` ("random_bora"); the flow by L-BFGS from ``z = 0``
    with ``gamma = 0`` and a fixed budget (30 calls of ``torch.optim.LBFGS.step`` with its
    default 20 iterations each: 600 iterations for compressed sensing, 20 steps = 400 for
    denoising; here scipy's L-BFGS-B, with a line search where GlowIP takes fixed steps of
    ``lr = 0.1``, in float64 where GlowIP computes in float32); Lasso with the fixed weight
    ``lambda = 0.01`` at every ``m`` (GlowIP's ``||A Psi c - y||^2 + 0.01 ||c||_1``, by sklearn
    on rescaled data); the generator (GlowIP's DCGAN: ``gamma = 0``, one start
    :math:`N(0, 0.1^2 I)`, 20 L-BFGS steps = 400 iterations); the rank-k generator (not in the
    paper) with its ridge weight chosen as under ``lininv`` (without it, its least-squares fit
    interpolates and blows up at ``m = k``); PSNR, :math:`10 \log_{10}(1 / \text{MSE per pixel})` of the reconstruction clipped to
    [0, 1], averaged over images (GlowIP averages skimage's per-image ``compare_psnr``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from lininv._validation import check_choice
from lininv.bridge._baselines import DEFAULT_LASSO_LAMBDAS, DEFAULT_RANK_K_GAMMAS

__all__ = ["Protocol", "PROTOCOLS", "protocol", "stem"]


@dataclass(frozen=True)
class Protocol:
    """The settings a protocol fixes (see the module docstring).

    Attributes
    ----------
    name : str
        ``"lininv"`` or ``"paper"``.
    solver : str
        The flow's solver (:func:`lininv.bridge.recover`).
    max_iter : int
        L-BFGS-B iterations: the warm start of ``"lbfgs+gauss-newton"``, the budget of ``"lbfgs"``.
    denoising_max_iter : int
        The same for denoising.
    cs_noise : float
        Compressed-sensing noise: standard deviation ``cs_noise / sqrt(m)`` per measurement.
    lasso_lambdas, rank_k_gammas, gan_gammas : tuple of float
        Candidate weights, chosen on held-out images (one candidate: fixed).
    gan_restarts, gan_solver, gan_init_scale, gan_max_iter
        The generator's CSGM settings (:func:`lininv.generators.csgm`).
    metric : str
        The headline metric: ``"mse"`` or ``"psnr"``.
    """

    name: str
    solver: str
    max_iter: int
    denoising_max_iter: int
    cs_noise: float
    lasso_lambdas: tuple[float, ...]
    rank_k_gammas: tuple[float, ...]
    gan_gammas: tuple[float, ...]
    gan_restarts: int
    gan_solver: str
    gan_init_scale: float
    gan_max_iter: int
    metric: str

    def params(self) -> dict[str, Any]:
        """The settings as JSON-ready parameters."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def compare_settings(self) -> dict[str, Any]:
        """Keywords of :func:`lininv.bridge._compare.comparison_settings` for this protocol."""
        return {
            "solver": self.solver,
            "max_iter": self.max_iter,
            "noise_std": self.cs_noise,
            "noise_scale": "per-sqrt-m",
            "lasso_lambdas": self.lasso_lambdas,
            "rank_k_gammas": self.rank_k_gammas,
            "gan_gammas": self.gan_gammas,
            "gan_restarts": self.gan_restarts,
            "gan_solver": self.gan_solver,
            "gan_init_scale": self.gan_init_scale,
            "gan_max_iter": self.gan_max_iter,
        }


#: The protocols by name.
PROTOCOLS = {
    "lininv": Protocol(
        name="lininv",
        solver="lbfgs+gauss-newton",
        max_iter=200,
        denoising_max_iter=200,
        cs_noise=0.0,
        lasso_lambdas=DEFAULT_LASSO_LAMBDAS,
        rank_k_gammas=DEFAULT_RANK_K_GAMMAS,
        gan_gammas=(0.0, 0.01, 0.1),
        gan_restarts=3,
        gan_solver="auto",
        gan_init_scale=1.0,
        gan_max_iter=1000,
        metric="mse",
    ),
    "paper": Protocol(
        name="paper",
        solver="lbfgs",
        max_iter=600,
        denoising_max_iter=400,
        cs_noise=0.1,
        lasso_lambdas=(0.01,),
        rank_k_gammas=DEFAULT_RANK_K_GAMMAS,
        gan_gammas=(0.0,),
        gan_restarts=1,
        gan_solver="lbfgs",
        gan_init_scale=0.1,
        gan_max_iter=400,
        metric="psnr",
    ),
}


def protocol(name: Any) -> Protocol:
    """The protocol called ``name`` (``"lininv"`` or ``"paper"``)."""
    return PROTOCOLS[check_choice("protocol", name, tuple(PROTOCOLS))]


def stem(name: str, protocol_name: str) -> str:
    """The file stem of experiment ``name`` under a protocol: ``NAME`` or ``NAME.paper``."""
    return name if protocol_name == "lininv" else f"{name}.{protocol_name}"
