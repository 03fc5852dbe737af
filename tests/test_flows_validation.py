"""Bad calls to the public flows API: one table, each with the message it must give."""

import numpy as np
import pytest

from lininv import LinearInvertiblePrior
from lininv.datasets import bits_per_dim, dequantize
from lininv.flows import (
    ActNorm,
    AffineCoupling,
    Flow,
    Logit,
    LULinear,
    Permutation,
    fit,
    linear_flow,
    load,
    realnvp,
    trainable_linear_flow,
)

FLOW = realnvp(4, 1, 4, rng=0)
LOGIT_FLOW = realnvp(4, 1, 4, logit=0.05, rng=0)
X_INT = np.arange(40).reshape(10, 4) % 17
_, PULLBACK = FLOW.forward_and_pullback(np.zeros((2, 4)))
_, PULLBACK_1 = FLOW.forward_and_pullback(np.zeros(4))


BAD_CALLS = [
    # builders
    (lambda: realnvp(1), ValueError, r"n must be an integer in \[2, inf\]; got 1"),
    (lambda: realnvp(64.0), TypeError, r"n must be an integer; got 64.0"),
    (lambda: realnvp(4, n_layers=0), ValueError, r"n_layers must be an integer in \[1, inf\]"),
    (lambda: realnvp(4, hidden=0), ValueError, r"hidden must be an integer in \[1, inf\]"),
    (lambda: realnvp(4, activation="sigmoid"), ValueError, r"activation must be one of 'relu'"),
    (lambda: realnvp(4, mixing="shuffle"), ValueError, r"mixing must be one of 'permutation'"),
    (lambda: realnvp(4, clamp=0.0), ValueError, r"clamp must be > 0"),
    (lambda: realnvp(4, logit=0.0), ValueError, r"logit must be > 0"),
    (lambda: realnvp(4, rng="seed"), TypeError, r"rng must be None, an int seed"),
    (lambda: linear_flow(np.ones((2, 2))), ValueError, r"G must be invertible"),
    (lambda: linear_flow(np.ones((2, 3))), ValueError, r"G must be a square matrix"),
    (lambda: linear_flow(np.eye(2), mean=[1.0]), ValueError, r"mean must have shape \(2,\)"),
    (
        lambda: linear_flow(LinearInvertiblePrior(np.eye(2)), mean=[0.0, 0.0]),
        ValueError,
        r"mean must be None when G is a LinearInvertiblePrior",
    ),
    (lambda: linear_flow(np.array([[1.0, np.nan], [0.0, 1.0]])), ValueError, r"G must be finite"),
    (lambda: trainable_linear_flow(0), ValueError, r"n must be an integer in \[1, inf\]"),
    # bijectors
    (lambda: AffineCoupling(1), ValueError, r"n must be an integer in \[2, inf\]"),
    (lambda: AffineCoupling(4, flip="yes"), TypeError, r"flip must be a bool"),
    (lambda: Permutation([0, 0, 1]), ValueError, r"perm must be a permutation of 0..2"),
    (lambda: Permutation([0.0, 1.0]), TypeError, r"perm must be a non-empty 1-D integer array"),
    (
        lambda: LULinear.from_factors(2 * np.eye(2), np.eye(2)),
        ValueError,
        r"L must be unit lower triangular",
    ),
    (
        lambda: LULinear.from_factors(np.eye(2), np.array([[1.0, 0.0], [1.0, 1.0]])),
        ValueError,
        r"U must be upper triangular",
    ),
    (
        lambda: LULinear.from_factors(np.eye(2), np.diag([1.0, 0.0])),
        ValueError,
        r"U must have a non-zero diagonal",
    ),
    (
        lambda: LULinear.from_factors(np.eye(2), np.eye(3)),
        ValueError,
        r"U must have shape \(2, 2\) to match L",
    ),
    (lambda: ActNorm(2).initialize(np.ones((1, 2))), ValueError, r"at least 2 rows"),
    (lambda: Logit(2, alpha=0.5), ValueError, r"alpha must be < 0.5"),
    (lambda: Logit(2, alpha=-0.1), ValueError, r"alpha must be > 0"),
    (lambda: ActNorm(3).forward(np.zeros(2)), ValueError, r"z must have shape \(3,\) or \(k, 3\)"),
    # composition
    (lambda: Flow([]), ValueError, r"bijectors must contain at least one bijector"),
    (lambda: Flow(ActNorm(2)), TypeError, r"bijectors must be a sequence of bijectors"),
    (lambda: Flow([ActNorm(2), ActNorm(3)]), ValueError, r"bijectors\[1\] has n = 3"),
    (lambda: Flow([ActNorm(2), "layer"]), TypeError, r"bijectors\[1\] must be a lininv.flows"),
    (lambda: Flow([ActNorm(2)], metadata=5), TypeError, r"metadata must be a dict or None"),
    (lambda: Flow([Logit(2), ActNorm(2)]), ValueError, r"Logit layer must be the last"),
    (
        lambda: FLOW.forward(np.zeros(3)),
        ValueError,
        r"z must have shape \(4,\) or \(k, 4\) to match the flow's n = 4; got \(3,\)",
    ),
    (lambda: FLOW.forward("z"), TypeError, r"z must be a real numeric array"),
    (lambda: FLOW.inverse(np.full((2, 4), np.nan)), ValueError, r"x must be finite"),
    (lambda: FLOW.log_prob(np.zeros((2, 2, 4))), ValueError, r"x must have shape \(4,\) or"),
    (
        lambda: LOGIT_FLOW.inverse(np.full(4, 2.0)),
        ValueError,
        r"x must lie inside the flow's support",
    ),
    (
        lambda: LOGIT_FLOW.nll_and_grad(np.full((2, 4), -1.0)),
        ValueError,
        r"X must lie inside the flow's support",
    ),
    (
        lambda: FLOW.nll_and_grad(np.zeros(4)),
        ValueError,
        r"X must be a 2-D array of shape \(\?, 4\)",
    ),
    (lambda: FLOW.set_params(np.zeros(3)), ValueError, r"theta must have shape \(\d+,\) or"),
    (lambda: FLOW.set_params(np.zeros((1, FLOW.n_params))), ValueError, r"theta must have shape"),
    (lambda: FLOW.sample(-1), ValueError, r"size must be an integer in \[0, inf\]"),
    (lambda: FLOW.sample(2.5), TypeError, r"size must be an integer"),
    (lambda: FLOW.jacobian(np.zeros(5)), ValueError, r"z must have shape \(4,\) or \(k, 4\)"),
    (lambda: PULLBACK(np.zeros((3, 4))), ValueError, r"v must have the shape of x, \(2, 4\)"),
    (lambda: PULLBACK_1(np.zeros((1, 4))), ValueError, r"v must have the shape of x, \(4,\)"),
    (lambda: FLOW.initialize(np.zeros((1, 4))), ValueError, r"X must have at least 2 rows"),
    # training
    (lambda: fit("flow", X_INT), TypeError, r"flow must be a lininv.flows.Flow"),
    (lambda: fit(FLOW, np.zeros((10, 3))), ValueError, r"X must have shape \(\?, 4\) to match"),
    (
        lambda: fit(FLOW, X_INT + 0.5, dequantize=True),
        ValueError,
        r"X must hold integers 0..16 when dequantize=True",
    ),
    (lambda: fit(FLOW, X_INT, dequantize="yes"), TypeError, r"dequantize must be a bool"),
    (lambda: fit(FLOW, X_INT, method="sgd"), ValueError, r"method must be one of 'adam', 'lbfgs'"),
    (lambda: fit(FLOW, X_INT, epochs=0), ValueError, r"epochs must be an integer in \[1, inf\]"),
    (
        lambda: fit(FLOW, X_INT, batch_size=64),
        ValueError,
        r"batch_size must be at most the number of training rows 9; got 64",
    ),
    (lambda: fit(FLOW, X_INT, lr=0.0), ValueError, r"lr must be > 0"),
    (
        lambda: fit(FLOW, X_INT, patience=0),
        ValueError,
        r"patience must be an integer in \[1, inf\]",
    ),
    (lambda: fit(FLOW, X_INT, val_fraction=0.95), ValueError, r"val_fraction must be <= 0.9"),
    (lambda: fit(FLOW, X_INT, val_trim=0.6), ValueError, r"val_trim must be <= 0.5"),
    (lambda: fit(FLOW, X_INT[:2], val_fraction=0.1), ValueError, r"leaves no validation"),
    (lambda: fit(FLOW, X_INT, progress="yes"), TypeError, r"progress must be None or a bool"),
    (lambda: fit(FLOW, X_INT, max_grad_norm=0.0), ValueError, r"max_grad_norm must be > 0"),
    (lambda: fit(FLOW, X_INT, weight_decay=-1.0), ValueError, r"weight_decay must be >= 0"),
    (lambda: fit(FLOW, X_INT, checkpoint=3), TypeError, r"checkpoint must be None, a str"),
    (
        lambda: fit(FLOW, X_INT, checkpoint="/no/such/dir/f.npz"),
        ValueError,
        r"checkpoint folder does not exist",
    ),
    (
        lambda: fit(LOGIT_FLOW, X_INT, batch_size=4),
        ValueError,
        r"X must lie inside the flow's support",
    ),
    # data and persistence
    (lambda: dequantize(np.array([[0.5]])), ValueError, r"X must hold integers in 0..16"),
    (lambda: dequantize(X_INT, levels=1), ValueError, r"levels must be an integer in \[2, inf\]"),
    (lambda: bits_per_dim(1.0, n=0), ValueError, r"n must be an integer in \[1, inf\]"),
    (lambda: load(3), TypeError, r"path must be a str or os.PathLike; got 3"),
    (lambda: FLOW.save(None), TypeError, r"path must be a str or os.PathLike; got None"),
]


@pytest.mark.parametrize("call, exc, match", BAD_CALLS)
def test_bad_calls_raise_clear_errors(call, exc, match):
    before = FLOW.get_params()
    with pytest.raises(exc, match=match):
        call()
    # bitwise: a copy; bad input fails before any work
    assert np.array_equal(FLOW.get_params(), before)
