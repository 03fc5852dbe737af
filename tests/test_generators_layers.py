"""The generators' MLP and training loss: reverse and forward mode against finite differences."""

import numpy as np
import pytest
from helpers import assert_close

from lininv.generators import Generator
from lininv.generators._mlp import MLP
from lininv.generators._training import _loss_and_grad

# Central differences with h = 1e-6 err by h^2 |f'''| / 6 ~ 1e-12 (truncation) plus eps |f| / h
# ~ 1e-10 (rounding) for values and derivatives of order 1-100 here; a tolerance of 1e-6 times
# the largest derivative leaves four orders of magnitude, while a wrong derivative is off by O(1).
H = 1e-6
FD_RTOL = 1e-6


def _fd(fun, x):
    """Central-difference derivative of fun (array -> array) at x: shape fun(x).shape + x.shape."""
    x = np.asarray(x, dtype=float)
    cols = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = H
        e = e.reshape(x.shape)
        cols.append((np.asarray(fun(x + e)) - np.asarray(fun(x - e))) / (2 * H))
    return np.stack(cols, axis=-1).reshape(np.shape(fun(x)) + x.shape)


def _close_to_fd(exact, fd):
    scale = np.max(np.abs(fd))
    assert scale > 0  # a derivative that is identically zero would test nothing
    assert_close(exact, fd, rtol=0, atol=FD_RTOL * scale)


@pytest.mark.parametrize("activation", ["elu", "tanh", "relu"])
@pytest.mark.parametrize("output", ["linear", "sigmoid"])
def test_mlp_vjp_and_jacobian_match_finite_differences(activation, output):
    net = MLP((3, 7, 5, 4), activation=activation, output=output, rng=1)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((5, 3))
    # relu: a pre-activation within H of its kink has probability ~1e-6 here; the seed avoids it
    J = net.jacobian(X)
    Jfd = np.stack([_fd(lambda x: net.forward(x[None], keep=False)[0][0], x) for x in X])
    _close_to_fd(J, Jfd)
    G = rng.standard_normal((5, 4))
    _, cache = net.forward(X)
    grads = np.zeros(net.n_params)
    gX = net.vjp(cache, G.copy(), grads)
    _close_to_fd(gX, np.einsum("bo,boi->bi", G, J))
    theta = net.params.copy()

    def loss(t):
        net.set_params(t)
        return np.sum(G * net.forward(X, keep=False)[0])

    gfd = _fd(loss, theta)
    net.set_params(theta)
    _close_to_fd(grads, gfd)


@pytest.mark.parametrize("kind", ["vae", "ae"])
@pytest.mark.parametrize("activation", ["elu", "tanh"])
def test_training_loss_gradient_matches_finite_differences(kind, activation):
    gen = Generator(3, n=10, hidden=(7, 5), kind=kind, activation=activation, rng=1)
    rng = np.random.default_rng(2)
    theta = gen.get_params() + 0.1 * rng.standard_normal(gen.n_params)  # non-zero logvar block
    gen.set_params(theta)
    X = rng.random((6, 10))
    eps = rng.standard_normal((6, 3))
    grads = np.zeros(gen.n_params)
    _loss_and_grad(gen, X, eps, grads)

    def loss(t):
        gen.set_params(t)
        return _loss_and_grad(gen, X, eps, None)

    _close_to_fd(grads, _fd(loss, theta))


def test_generator_jacobian_and_pullback_match_finite_differences():
    gen = Generator(4, n=12, hidden=(9, 8), rng=3)
    z = np.random.default_rng(4).standard_normal((3, 4))
    J = gen.jacobian(z)
    assert J.shape == (3, 12, 4)
    _close_to_fd(J, np.stack([_fd(gen.forward, zi) for zi in z]))
    x, pullback = gen.forward_and_pullback(z)
    v = np.random.default_rng(5).standard_normal(x.shape)
    # the pullback is v^T J: the same products as the Jacobian's, summed in another order
    assert_close(pullback(v), np.einsum("bn,bnk->bk", v, J), rtol=1e-12, atol=1e-14)
    x1, pb1 = gen.forward_and_pullback(z[0])
    assert x1.shape == (12,) and pb1(v[0]).shape == (4,)
    assert_close(gen.jacobian(z[0]), J[0], rtol=1e-12)
