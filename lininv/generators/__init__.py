r"""A nonlinear low-dimensional generator D: R^k -> R^n (the paper's GAN), trained in numpy.

Asim et al. [1]_ set their invertible prior against a DCGAN, a generator whose range is a
``k``-dimensional manifold, ``k < n``: a signal off that manifold carries a *representation
error* that no number of measurements removes. :class:`lininv.LowRankPrior` is its linear
analogue (a ``k``-dimensional affine subspace); this package gives the nonlinear one for the 8x8
digits and for the 28x28 MNIST digits (``Recipe(dataset="mnist28")``, n = 784), ``x = D(z)``, an
MLP decoder, with the exact Jacobian and vector-Jacobian products that recovery needs, CSGM
recovery (Bora et al. 2017 [2]_) and the representation error.

Why a VAE decoder (and not an autoencoder's)
    Both are trained here (``Recipe(kind="vae" | "ae")``). A VAE decoder comes with a latent
    prior :math:`z \sim N(0, I_k)`: its samples ``D(z)`` are what a GAN's sampling distribution
    is, CSGM's penalty :math:`\gamma\|z\|^2` is its negative log-prior, and random restarts drawn
    from :math:`N(0, I)` start where the decoder was trained. An autoencoder's decoder has no
    latent distribution: its codes of the training digits spread anisotropically (at k = 16
    their covariance eigenvalues span 0.21 to 3.9, against 0.46 to 1.96 for the VAE's [3]_ posterior
    means) and neither the penalty nor random starts match them. Measured at k = 16 (reference
    split, the same recipe otherwise): the AE decoder fits held-out digits slightly better
    (representation error 0.170 [0.149, 0.191] against 0.181 [0.159, 0.204], 100 test digits,
    95% CI), but recovers them worse from few measurements, where the prior matters (CSGM
    error from m = 8 Gaussian measurements, 60 digits: 2.40 [1.99, 2.80] against
    3.58 [3.15, 4.01] with gamma = 0.01; 4.34 against 5.98 with gamma = 0). The shipped
    generators are VAE decoders, with a calibrated Gaussian decoder (Rybkin et al. 2021 [4]_) so
    that no likelihood scale needs tuning.

Which solver
    CSGM and the representation error are small non-linear least-squares problems (``k`` <= 32
    unknowns, ``m + k`` residuals) with an exact Jacobian. :func:`csgm` offers scipy's
    Levenberg-Marquardt (``"lm"``) and trust-region reflective (``"trf"``) on the residual and
    L-BFGS-B (``"lbfgs"``, as :func:`lininv.bridge.recover` uses for flows) on the objective.
    ``benchmarks/generator_solvers.py`` runs the three from the same starts (100 held-out
    digits, 3 restarts; the representation error, and CSGM from m = 16 and 32 Gaussian
    measurements with gamma = 0.01) on the shipped generators. At k = 8 and 16 all converge in
    100% of solves; their mean objectives agree to 2-3 digits and none finds lower minima
    consistently (k = 16, m = 16: 0.17402 trf, 0.17376 lm, 0.17484 lbfgs; k = 8, m = 32:
    0.4968, 0.4989, 0.4806). ``lm`` takes 25-40% less CPU time than ``trf`` (k = 16, 300
    solves: 3.2 s against 4.3 s for the representation error, 3.1 s against 5.2 s for CSGM at
    m = 16) and 0-25% less than L-BFGS-B; on a zero-residual problem (noiseless, ``m >= k``)
    the Gauss-Newton solvers reach rounding level where L-BFGS-B stops at an objective of
    ~``tol``. At k = 32 the difference is decisive for the representation error (1000
    evaluations or iterations per solve): ``lm`` converges in 100% of solves, has the lowest
    objective on 88% of digits (mean 0.02492) and takes 10.9 s of CPU, against 97.3%, 55%,
    0.02712 and 28.0 s for ``trf`` and 18%, 5%, 0.02824 and 138 s for L-BFGS-B, which mostly
    stops at its iteration cap. The default ``"auto"`` is therefore ``"lm"`` where it
    applies (at least ``k`` residuals: ``m >= k`` or ``gamma > 0``) and ``"trf"`` otherwise.

API index
---------
The generator::

    Generator               D(z) = decoder(z) and its encoder: forward, forward_and_pullback,
                            jacobian, sample, encode, reconstruct, get_params / set_params, save
    load                    read a generator saved by Generator.save (versioned .npz)
    GeneratorFileError      unreadable, damaged or other-version generator file
    FORMAT_VERSION          the generator file format version this lininv writes and reads

Training::

    Recipe                  architecture, data (dataset and split), optimiser and seed of a run
    train                   train a VAE (or AE) decoder by Adam with early stopping
    TrainingHistory         what train did (per-epoch losses, best epoch, timing)
    DATASETS                ("digits", "mnist28"): 8x8 digits (n = 64), 28x28 digits (n = 784)

Pretrained generators (8x8 digits: k = 8, 16, 32; 28x28 digits: k = 32)::

    pretrained              pretrained(k) (lininv/data/generator_k{k}.npz), pretrained(32,
                            dataset="mnist28") (lininv/data/generator28_k32.npz)
    pretrained_recipe       its recorded recipe (train(pretrained_recipe(k)) retrains it)
    default_recipe          the shipped recipe of a dataset for any k
    build_pretrained        train and evaluate as the shipped ones were; save
    pretrained_command      the command that wrote a shipped file
    PRETRAINED_KS           (8, 16, 32), the 8x8 digits' k
    PRETRAINED              {"digits": (8, 16, 32), "mnist28": (32,)}

Recovery and representation error::

    csgm                    min_z ||A D(z) - y||^2 + gamma ||z||^2 with restarts (CSGMResult)
    representation_error    min_z ||D(z) - x0||^2 per signal, with restarts
    CSGMResult              selected solve per problem, and every restart's report

Evaluation (held-out digits, beside the linear rank-k generator)::

    held_out_results        representation / reconstruction error on the test digits
    dataset_bias            the same for a generator trained without one digit class
    digits_arrays           a split (8x8 or 28x28) dequantised as lininv.bridge.digits_data does

Command line: ``lininv generators train --k K [--dataset mnist28] --output FILE`` and
``lininv generators report`` (:mod:`lininv.cli.generators`; ``python -m lininv.generators`` is
the same).

References
----------
.. [1] M. Asim, M. Daniels, O. Leong, A. Ahmed, P. Hand, "Invertible generative models for inverse
   problems: mitigating representation error and dataset bias", ICML 2020.
.. [2] A. Bora, A. Jalal, E. Price, A. G. Dimakis, "Compressed sensing using generative models",
   ICML 2017.
.. [3] D. P. Kingma, M. Welling, "Auto-encoding variational Bayes", ICLR 2014.
.. [4] O. Rybkin, K. Daniilidis, S. Levine, "Simple and effective VAE training with calibrated
   decoders", ICML 2021.

Examples
--------
>>> import numpy as np
>>> from lininv import generators
>>> gen = generators.pretrained(8)
>>> x0 = gen.sample(1, rng=0)[0]
>>> A = np.random.default_rng(1).standard_normal((16, 64)) / 4.0
>>> res = generators.csgm(gen, A, A @ x0, restarts=3, rng=0)
>>> bool(res.converged), bool(np.sum((res.x - x0) ** 2) < 1e-12)
(True, True)
"""

from lininv.generators._evaluation import dataset_bias, digits_arrays, held_out_results
from lininv.generators._generator import Generator
from lininv.generators._pretrained import (
    PRETRAINED,
    PRETRAINED_KS,
    build_pretrained,
    default_recipe,
    pretrained,
    pretrained_command,
    pretrained_recipe,
)
from lininv.generators._recipe import DATASETS, Recipe
from lininv.generators._recovery import CSGMResult, csgm, representation_error
from lininv.generators._serialization import FORMAT_VERSION, GeneratorFileError, load
from lininv.generators._training import TrainingHistory, train

__all__ = [
    "Generator",
    "load",
    "GeneratorFileError",
    "FORMAT_VERSION",
    "Recipe",
    "train",
    "TrainingHistory",
    "DATASETS",
    "pretrained",
    "pretrained_recipe",
    "default_recipe",
    "build_pretrained",
    "pretrained_command",
    "PRETRAINED_KS",
    "PRETRAINED",
    "csgm",
    "representation_error",
    "CSGMResult",
    "held_out_results",
    "dataset_bias",
    "digits_arrays",
]
