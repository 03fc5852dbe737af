"""A small normalizing flow in numpy: RealNVP affine couplings, trained by maximum likelihood.

The nonlinear side of the bridge (THEORY.md section 8): a flow small enough to train on a CPU in
a minute, fully inspectable, with exact log-densities, exact Jacobians and reverse-mode gradients.

Convention: ``G`` maps latent to signal. ``forward(z) -> (x, logabsdet)`` with
``logabsdet = log|det dx/dz|``; ``inverse(x) -> (z, logabsdet)`` with ``logabsdet = log|det dz/dx|``;
both on batches ``(k, n)`` returning ``(k, n)`` and ``(k,)`` (a single point ``(n,)`` returns
``(n,)`` and a float).

API index
---------
Flows
    Flow                    composition of bijectors: forward, inverse, log_prob, sample, jacobian,
                            forward_and_pullback, log_prob_and_grad, nll_and_grad,
                            get_params / set_params, save, copy
    RealNVP                 builder: actnorm, permutation + LU linear, affine coupling, x n_layers
    linear_flow             the exact linear flow x = mean + G z (from a matrix or a prior)
    trainable_linear_flow   a linear flow with trainable parameters (LU linear + actnorm)
Bijectors (each with forward / inverse and its own local backward)
    Bijector                base class
    AffineCoupling          RealNVP coupling with MLP conditioner and tanh-bounded log-scale
    LULinear                invertible linear layer x = L U z (Glow's 1x1 convolution)
    ActNorm                 x = exp(a) z + b with data-dependent initialisation
    Permutation             fixed permutation of coordinates
    Logit                   logit preprocessing for data in [0, 1] (optional, signal side)
Training
    fit                     maximum likelihood: Adam (minibatch) or L-BFGS, early stopping
    TrainingHistory         what fit did (per-epoch NLLs, best epoch, timing)
Data: scikit-learn's bundled 8x8 digits (n = 64, no download)
    load_digits             all 1797 images (integers 0..16) and labels
    split_digits            random train/test split, optionally without some classes in training
    reference_split         the reference 1400/397 split (seed 0)
    split_by_class          separate the rows of some classes
    DigitsSplit             a split (images, labels, indices, seed, excluded classes)
    dequantize              (X + U[0, 1)) / 17
    bits_per_dim            (NLL + 64 ln 17) / (64 ln 2)
Persistence and the pretrained default
    load                    read a flow saved by Flow.save (versioned .npz)
    FlowFileError           unreadable, damaged or other-version flow file
    FORMAT_VERSION          the flow file format version this lininv writes and reads
    default_flow            the pretrained digits flow and its split (DefaultFlow)
    DefaultFlow             (flow, split)

Examples
--------
>>> import numpy as np
>>> from lininv import flows
>>> flow = flows.RealNVP(4, n_layers=2, hidden=8, rng=0)
>>> z = np.random.default_rng(0).standard_normal((3, 4))
>>> x, logdet = flow.forward(z)
>>> bool(np.allclose(flow.inverse(x)[0], z))
True
"""

from lininv.flows._base import Bijector
from lininv.flows._coupling import AffineCoupling
from lininv.flows._digits import (
    DigitsSplit,
    bits_per_dim,
    dequantize,
    load_digits,
    reference_split,
    split_by_class,
    split_digits,
)
from lininv.flows._flow import Flow
from lininv.flows._linear import ActNorm, LULinear, Permutation
from lininv.flows._logit import Logit
from lininv.flows._pretrained import DefaultFlow, default_flow
from lininv.flows._realnvp import RealNVP, linear_flow, trainable_linear_flow
from lininv.flows._serialization import FORMAT_VERSION, FlowFileError, load
from lininv.flows._training import TrainingHistory, fit

__all__ = [
    "Flow",
    "RealNVP",
    "linear_flow",
    "trainable_linear_flow",
    "Bijector",
    "AffineCoupling",
    "LULinear",
    "ActNorm",
    "Permutation",
    "Logit",
    "fit",
    "TrainingHistory",
    "load_digits",
    "split_digits",
    "reference_split",
    "split_by_class",
    "DigitsSplit",
    "dequantize",
    "bits_per_dim",
    "load",
    "FlowFileError",
    "FORMAT_VERSION",
    "default_flow",
    "DefaultFlow",
]
