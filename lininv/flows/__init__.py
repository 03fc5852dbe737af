"""A small normalizing flow in numpy: RealNVP affine couplings, trained by maximum likelihood.

The nonlinear side of the bridge (``docs/theory.md``, section 8): a flow small enough to train on
a CPU in a minute, fully inspectable, with exact log-densities, exact Jacobians and reverse-mode
gradients.

Convention: ``G`` maps latent to signal. ``forward(z) -> (x, logabsdet)`` with
``logabsdet = log|det dx/dz|``; ``inverse(x) -> (z, logabsdet)`` with ``logabsdet = log|det dz/dx|``;
both on batches ``(k, n)`` returning ``(k, n)`` and ``(k,)`` (a single point ``(n,)`` returns
``(n,)`` and a float).

API index
---------
Flows::

    Flow                    transform + standard normal base: log_prob, sample, nll_and_grad,
                            log_prob_and_grad; the transform's forward, inverse, jacobian,
                            forward_and_pullback, initialize, get_params / set_params; save, copy
    realnvp                 builder: actnorm, permutation + LU linear, affine coupling, x n_layers
    glow                    multi-scale image builder: squeeze, actnorm + 1x1 conv + conv coupling
                            steps, split (Factor), per level; for 28x28 digits and other images
    glow_shapes             the image shape of each level of glow
    linear_gaussian         the maximum-likelihood Gaussian as a flow (optionally behind a Logit)
    linear_flow             the exact linear flow x = mean + G z (from a matrix or a prior)
    trainable_linear_flow   a linear flow with trainable parameters (LU linear + actnorm)
    FlowPrior               typing Protocol: what the bridge needs of a flow prior
    check_flow_prior        validate an argument against FlowPrior (at a public entry point)

Bijectors (each with forward / inverse, jacobian, forward_and_pullback and a local backward)::

    Bijector                base class
    Compose                 a chain of bijectors, itself a bijector (one flat parameter vector)
    AffineCoupling          RealNVP coupling with MLP conditioner and tanh-bounded log-scale
    LULinear                invertible linear layer x = L U z (Glow's 1x1 convolution)
    ActNorm                 x = exp(a) z + b with data-dependent initialisation
    Permutation             fixed permutation of coordinates
    Logit                   logit preprocessing for data in [0, 1] (optional, signal side)

Image bijectors (flat rows of (H, W, C) images in channel-last order)::

    ConvAffineCoupling      affine coupling of channels, conditioner conv3x3-conv1x1-conv3x3
    ChannelActNorm          per-channel actnorm shared by all pixels
    Conv1x1                 invertible 1x1 convolution W = P L U (Glow)
    Factor                  multi-scale factoring: an inner bijector on the leading coordinates

Training::

    fit                     maximum likelihood: Adam (minibatch) or L-BFGS, early stopping
    TrainingHistory         what fit did (per-epoch NLLs, best epoch, timing)

Persistence and the pretrained flows::

    load                    read a flow saved by Flow.save (versioned .npz)
    FlowFileError           unreadable, damaged or other-version flow file
    FORMAT_VERSION          the flow file format version this lininv writes and reads
    default_flow            the pretrained 8x8 digits flow and its split (DefaultFlow)
    DefaultFlow             (flow, split)
    pretrained_flow         the pretrained 28x28 digits flow ("mnist28") and its split
    PretrainedFlow          (flow, split)
    train_pretrained        retrain a pretrained flow from its recipe (bit-for-bit on one stack)
    mnist28_recipe          the recipe of the 28x28 flow (a copy, optionally with overrides)
    MNIST28_RECIPE          the recipe itself: architecture, data, training
    PRETRAINED              pretrained flow names and their package data files
    evaluate_bits_per_dim   train / validation / test bits/dim of a flow on a 28x28 split
    TrainingRecipe          how a digits flow is built and trained (lininv train-flow's settings)
    DEFAULT_RECIPE          the recipe of the default flow

Deprecated (warn on access; removed in the next release)::

    RealNVP                 the builder's old name: use realnvp
    load_digits, split_digits, reference_split, split_by_class, DigitsSplit, dequantize,
    bits_per_dim            the digits helpers moved to :mod:`lininv.datasets`

Examples
--------
>>> import numpy as np
>>> from lininv import flows
>>> flow = flows.realnvp(4, n_layers=2, hidden=8, rng=0)
>>> z = np.random.default_rng(0).standard_normal((3, 4))
>>> x, logdet = flow.forward(z)
>>> bool(np.allclose(flow.inverse(x)[0], z))
True
"""

import warnings
from typing import Any

from lininv.flows._base import Bijector
from lininv.flows._compose import Compose
from lininv.flows._conv import ConvAffineCoupling
from lininv.flows._coupling import AffineCoupling
from lininv.flows._flow import Flow
from lininv.flows._glow import glow, glow_shapes
from lininv.flows._image import ChannelActNorm, Conv1x1, Factor
from lininv.flows._linear import ActNorm, LULinear, Permutation
from lininv.flows._logit import Logit
from lininv.flows._pretrained import DEFAULT_RECIPE, DefaultFlow, TrainingRecipe, default_flow
from lininv.flows._pretrained28 import (
    MNIST28_RECIPE,
    PRETRAINED,
    PretrainedFlow,
    evaluate_bits_per_dim,
    mnist28_recipe,
    pretrained_flow,
    train_pretrained,
)
from lininv.flows._protocol import FlowPrior, check_flow_prior
from lininv.flows._realnvp import linear_flow, linear_gaussian, realnvp, trainable_linear_flow
from lininv.flows._serialization import FORMAT_VERSION, FlowFileError, load
from lininv.flows._training import TrainingHistory, fit

__all__ = [
    "Flow",
    "realnvp",
    "glow",
    "glow_shapes",
    "linear_flow",
    "trainable_linear_flow",
    "linear_gaussian",
    "FlowPrior",
    "check_flow_prior",
    "Bijector",
    "Compose",
    "AffineCoupling",
    "LULinear",
    "ActNorm",
    "Permutation",
    "Logit",
    "ConvAffineCoupling",
    "ChannelActNorm",
    "Conv1x1",
    "Factor",
    "fit",
    "TrainingHistory",
    "load",
    "FlowFileError",
    "FORMAT_VERSION",
    "default_flow",
    "DefaultFlow",
    "pretrained_flow",
    "PretrainedFlow",
    "train_pretrained",
    "mnist28_recipe",
    "MNIST28_RECIPE",
    "PRETRAINED",
    "evaluate_bits_per_dim",
    "TrainingRecipe",
    "DEFAULT_RECIPE",
]

#: Old public names, still importable for one release: name -> (new home, new name).
_DEPRECATED = {
    "RealNVP": ("lininv.flows", "realnvp"),
    **{
        name: ("lininv.datasets", name)
        for name in (
            "load_digits",
            "split_digits",
            "reference_split",
            "split_by_class",
            "DigitsSplit",
            "dequantize",
            "bits_per_dim",
        )
    },
}


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        from importlib import import_module

        module, new = _DEPRECATED[name]
        warnings.warn(
            f"lininv.flows.{name} is deprecated and will be removed in the next release; "
            f"use {module}.{new}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(import_module(module), new)
    raise AttributeError(f"module 'lininv.flows' has no attribute {name!r}")
