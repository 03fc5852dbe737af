"""Every bijector and the composition: invertibility, log-determinants, and reverse-mode gradients.

The image bijectors (ConvAffineCoupling, ChannelActNorm, Conv1x1, Factor, the glow builder) take
part at the same small n as the others, as images of shape IMAGE_SHAPES[n] (n = 8 is a 2x2x2
image, which glow squeezes and factors over two levels); larger images are checked in
test_flows_image.py.

Finite differences: central quotients ``D(h) = (f(u + h) - f(u - h)) / 2h`` at ``h = 1e-4`` and
``h / 2``, combined by Richardson extrapolation ``R = (4 D(h/2) - D(h)) / 3`` (truncation error
O(h^4)). Rounding adds about ``3 eps |f| / h``, below 1e-9 here (``|f| < 100``). The comparison
allows ``1e-6 * max(1, derivative scale)`` (a margin of ~1000 over rounding) plus
``|D(h) - D(h/2)|``, the observed truncation error of the plain quotient, which bounds that of
``R``: some random draws are strongly curved (third derivatives ~1e7 through a sigmoid). A wrong
analytic term (missing factor, sign, transpose) differs from both quotients by O(1) and fails.
"""

import numpy as np
import pytest
from helpers import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st

from lininv.flows import (
    ActNorm,
    AffineCoupling,
    ChannelActNorm,
    Conv1x1,
    ConvAffineCoupling,
    Factor,
    Flow,
    Logit,
    LULinear,
    Permutation,
    glow,
    linear_flow,
    realnvp,
    trainable_linear_flow,
)

H = 1e-4
FD_RTOL = 1e-6  # see the module docstring
MAX_COORDINATES = 200  # parameter cotangents checked one by one up to this many parameters
DIRECTIONS = 12  # else along this many random directions


def derivative(f, h=H):
    """Richardson-extrapolated central difference of the scalar function f(t) at t = 0, and the
    observed truncation error of the plain quotient."""
    d1 = (f(h) - f(-h)) / (2 * h)
    d2 = (f(h / 2) - f(-h / 2)) / h
    return (4 * d2 - d1) / 3, abs(d2 - d1)


def assert_derivatives(analytic, fd, err):
    """analytic ~ fd within FD_RTOL * scale plus the observed truncation error (docstring)."""
    analytic, fd, err = map(np.asarray, (analytic, fd, err))
    scale = max([1.0, *np.abs(fd).ravel()])
    assert analytic.shape == fd.shape
    bad = np.abs(analytic - fd) > FD_RTOL * scale + err
    assert not np.any(bad), (analytic[bad], fd[bad], err[bad])


def randomize(flow, rng, scale=0.5):
    """Move every parameter away from its (often degenerate) starting value."""
    flow.set_params(flow.get_params() + scale * rng.standard_normal(flow.n_params))
    return flow


#: The image shape (H, W, C) of an n-vector for the image bijectors (C >= 2 for a coupling).
IMAGE_SHAPES = {
    2: (1, 1, 2),
    3: (1, 1, 3),
    4: (1, 2, 2),
    5: (1, 1, 5),
    6: (1, 3, 2),
    7: (1, 1, 7),
    8: (2, 2, 2),
}


def make(kind, n, rng, hidden=4, activation="elu"):
    """A single-bijector flow of the given kind, with random parameters."""
    shape = IMAGE_SHAPES.get(n)
    if kind == "conv_coupling":
        layers = [
            ConvAffineCoupling(
                shape, hidden, flip=bool(rng.integers(2)), activation=activation, clamp=2.0, rng=rng
            )
        ]
    elif kind == "channel_actnorm":
        layers = [ChannelActNorm(shape)]
    elif kind == "conv1x1":
        layers = [Conv1x1.random_rotation(shape, rng=rng)]
    elif kind == "factor":
        m = max(1, n // 2)
        inner = [AffineCoupling(m, hidden, rng=rng), ActNorm(m)] if m >= 2 else [ActNorm(1)]
        layers = [Factor(inner, n)]
    elif kind in ("glow", "glow_logit"):
        levels = 2 if n == 8 else 1  # 2x2x2: squeeze to 1x1x8, split to 1x1x4
        flow = glow(
            shape,
            levels=levels,
            steps=2,
            hidden=2,
            activation=activation,
            clamp=2.0,
            logit=0.05 if kind == "glow_logit" else None,
            rng=rng,
        )
        return randomize(flow, rng, 0.3)
    elif kind == "coupling":
        layers = [
            AffineCoupling(
                n, hidden, flip=bool(rng.integers(2)), activation=activation, clamp=2.0, rng=rng
            )
        ]
    elif kind == "lu":
        layers = [LULinear(n)]
    elif kind == "actnorm":
        layers = [ActNorm(n)]
    elif kind == "permutation":
        layers = [Permutation.random(n, rng=rng)]
    elif kind == "logit":
        layers = [Logit(n, alpha=0.05)]
    elif kind == "realnvp":
        return randomize(realnvp(n, 2, hidden, activation=activation, rng=rng), rng, 0.3)
    elif kind == "realnvp_logit":
        return randomize(
            realnvp(n, 2, hidden, activation=activation, logit=0.05, rng=rng), rng, 0.3
        )
    else:
        raise AssertionError(kind)
    return randomize(Flow(layers), rng)


KINDS = [
    "coupling",
    "lu",
    "actnorm",
    "permutation",
    "logit",
    "realnvp",
    "realnvp_logit",
    "conv_coupling",
    "channel_actnorm",
    "conv1x1",
    "factor",
    "glow",
    "glow_logit",
]


def signal_points(flow, k, rng):
    """Points inside the flow's support (a Logit layer restricts it to a box)."""
    lo, hi = flow.support
    if np.isfinite(lo):
        return lo + (hi - lo) * rng.uniform(0.1, 0.9, size=(k, flow.n))
    return rng.standard_normal((k, flow.n))


def latent_points(flow, k, rng):
    """Standard normal points, or for a Logit flow the latents of points inside its box (random
    latents would often saturate the sigmoid, where the Jacobian is numerically singular)."""
    if np.isfinite(flow.support[0]):
        return flow.inverse(signal_points(flow, k, rng))[0]
    return rng.standard_normal((k, flow.n))


def fd_jacobian(fun, u):
    """Finite-difference Jacobian of fun: R^n -> R^n at u (n,), and its error estimate."""
    n = u.size
    J, err = np.empty((n, n)), np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = 1.0
        d1 = (fun(u + H * e) - fun(u - H * e)) / (2 * H)
        d2 = (fun(u + H / 2 * e) - fun(u - H / 2 * e)) / H
        J[:, j], err[:, j] = (4 * d2 - d1) / 3, np.abs(d2 - d1)
    return J, err


shapes = st.tuples(st.integers(2, 8), st.integers(1, 5), st.integers(0, 2**32 - 1))


# -- invertibility and log-determinants ------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=25)
@given(shape=shapes)
def test_inverse_of_forward_is_identity_and_logdets_cancel(kind, shape):
    n, k, seed = shape
    rng = np.random.default_rng(seed)
    flow = make(kind, n, rng)
    z = rng.standard_normal((k, n))
    x, ld_f = flow.forward(z)
    # A Logit's sigmoid rounds to the edge of the box when its input exceeds ~36 (1 - sigma < eps):
    # such images are not invertible in float64 and are left out (they are exactly the rows whose
    # ||J^{-1}|| is astronomically large).
    inside = ~flow.transform._outside(x)
    z, x, ld_f, k = z[inside], x[inside], ld_f[inside], int(inside.sum())
    z_back, ld_i = flow.inverse(x)
    # 1e-10: a handful of layers with scales within e^{+-3}, each rounding at 1e-16 relative.
    # Rounding of x (~eps) comes back multiplied by ||J^{-1}||: a saturated Logit makes that large,
    # so the allowance grows with it (100 eps per unit of ||J^{-1}||_2, several roundings).
    for j in range(k):
        inv_norm = 1.0 / np.linalg.svd(flow.jacobian(z[j]), compute_uv=False)[-1]
        tol = 1e-10 + 100 * np.finfo(float).eps * inv_norm
        assert_close(z_back[j], z[j], rtol=0, atol=tol)
        assert_close(ld_i[j], -ld_f[j], rtol=0, atol=tol * n)
    # and from the signal side
    x0 = signal_points(flow, k, rng)
    z0, ld0 = flow.inverse(x0)
    x_back, ld1 = flow.forward(z0)
    assert_close(x_back, x0, rtol=0, atol=1e-10)
    assert_close(ld1, -ld0, rtol=0, atol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=15)
@given(shape=shapes)
def test_logabsdet_is_slogdet_of_the_jacobian(kind, shape):
    n, _, seed = shape
    rng = np.random.default_rng(seed)
    flow = make(kind, n, rng)
    z = latent_points(flow, 1, rng)[0]
    _, ld = flow.forward(z)
    J = flow.jacobian(z)
    J_fd, J_err = fd_jacobian(lambda u: flow.forward(u)[0], z)
    # the exact Jacobian (pullback of the identity) agrees with finite differences ...
    assert_derivatives(J, J_fd, J_err)
    sign, logdet = np.linalg.slogdet(J_fd)
    assert sign != 0
    # ... and both have the flow's log-determinant; |d log det| <= ||J^-1||_2 ||dJ||_F
    dJ = np.linalg.norm(FD_RTOL * max(1.0, np.abs(J).max()) + J_err)
    assert abs(logdet - ld) <= 2 * dJ / np.linalg.svd(J, compute_uv=False)[-1]
    assert abs(np.linalg.slogdet(J)[1] - ld) <= 1e-9 * max(1.0, abs(ld))  # exact: rounding only


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=15)
@given(shape=shapes)
def test_inverse_logabsdet_is_slogdet_of_the_inverse_jacobian(kind, shape):
    n, _, seed = shape
    rng = np.random.default_rng(seed)
    flow = make(kind, n, rng)
    x = signal_points(flow, 1, rng)[0]
    _, ld = flow.inverse(x)
    J_fd, J_err = fd_jacobian(lambda u: flow.inverse(u)[0], x)
    logdet = np.linalg.slogdet(J_fd)[1]
    dJ = np.linalg.norm(FD_RTOL * max(1.0, np.abs(J_fd).max()) + J_err)
    assert abs(logdet - ld) <= 2 * dJ / np.linalg.svd(J_fd, compute_uv=False)[-1]


# -- reverse-mode products against finite differences ------------------------------------------------


def _vjp(flow, direction, u, gout, gld):
    """Analytic cotangents of f = sum(gout * out) + gld . logdet w.r.t. input and parameters."""
    T = flow.transform
    if direction == "forward":
        _, _, cache = T._forward(u, True)
        g_in = T._forward_vjp(cache, gout, gld, T._grads)
    else:
        _, _, cache = T._inverse(u, True)
        g_in = T._inverse_vjp(cache, gout, gld, T._grads)
    return g_in, T._grads["theta"].copy()


def _scalar(flow, direction, u, gout, gld):
    T = flow.transform
    out, ld, _ = (T._forward if direction == "forward" else T._inverse)(u, False)
    return float(np.sum(gout * out) + np.sum(gld * ld))


@pytest.mark.parametrize("direction", ["forward", "inverse"])
@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=6)
@given(shape=shapes)
def test_vjps_match_finite_differences(kind, direction, shape):
    n, k, seed = shape
    rng = np.random.default_rng(seed)
    flow = make(kind, n, rng)
    u = latent_points(flow, k, rng) if direction == "forward" else signal_points(flow, k, rng)
    gout, gld = rng.standard_normal((k, n)), rng.standard_normal(k)
    g_in, g_theta = _vjp(flow, direction, u, gout, gld)

    def f_in(t, idx):
        e = np.zeros_like(u)
        e[idx] = t
        return _scalar(flow, direction, u + e, gout, gld)

    fd_in, err_in = np.empty_like(u), np.empty_like(u)
    for idx in np.ndindex(*u.shape):
        fd_in[idx], err_in[idx] = derivative(lambda t, idx=idx: f_in(t, idx))
    assert_derivatives(g_in, fd_in, err_in)

    theta = flow.get_params()
    # Each parameter in turn; beyond MAX_COORDINATES parameters (the glow kinds), along random
    # directions d instead: a wrong cotangent component c_i changes g . d by c_i d_i, which is
    # O(1) with probability 1, so DIRECTIONS directions miss it with probability 0.
    if theta.size <= MAX_COORDINATES:
        directions = np.eye(theta.size)
    else:
        directions = rng.standard_normal((DIRECTIONS, theta.size))

    def f_theta(t, d):
        flow.set_params(theta + t * d)
        return _scalar(flow, direction, u, gout, gld)

    fd_theta, err_theta = np.empty(len(directions)), np.empty(len(directions))
    for i, d in enumerate(directions):
        fd_theta[i], err_theta[i] = derivative(lambda t, d=d: f_theta(t, d))
    flow.set_params(theta)
    assert_derivatives(directions @ g_theta, fd_theta, err_theta)


@pytest.mark.parametrize("activation", ["relu", "tanh", "elu"])
def test_every_activation_differentiates(activation):
    # Fixed seeds (not hypothesis): a ReLU kink within h of a pre-activation would spoil the
    # difference quotient; these seeds are checked to be clear of that, whatever the activation.
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        flow = make("realnvp", 5, rng, hidden=6, activation=activation)
        X = rng.standard_normal((4, 5))
        nll, g = flow.nll_and_grad(X)
        theta = flow.get_params()
        u = rng.standard_normal(theta.size)  # a random direction: one difference checks all

        def f(t, flow=flow, theta=theta, u=u, X=X):
            flow.set_params(theta + t * u)
            return flow.nll_and_grad(X)[0]

        fd, err = derivative(f)
        flow.set_params(theta)
        assert_derivatives(g @ u, fd, err)


@settings(max_examples=6)
@given(shape=shapes, logit=st.booleans())
def test_nll_and_grad_matches_finite_differences(shape, logit):
    n, k, seed = shape
    rng = np.random.default_rng(seed)
    flow = make("realnvp_logit" if logit else "realnvp", n, rng)
    X = signal_points(flow, k, rng)
    nll, g = flow.nll_and_grad(X)
    assert_close(nll, -np.mean(flow.log_prob(X)))
    theta = flow.get_params()

    def f(t, i):
        e = np.zeros_like(theta)
        e[i] = t
        flow.set_params(theta + e)
        return flow.nll_and_grad(X)[0]

    fd, err = np.empty_like(theta), np.empty_like(theta)
    for i in range(theta.size):
        fd[i], err[i] = derivative(lambda t, i=i: f(t, i))
    flow.set_params(theta)
    assert_derivatives(g, fd, err)


@settings(max_examples=15)
@given(shape=shapes, logit=st.booleans())
def test_pullback_matches_finite_differences(shape, logit):
    n, k, seed = shape
    rng = np.random.default_rng(seed)
    flow = make("realnvp_logit" if logit else "realnvp", n, rng)
    z, v = latent_points(flow, k, rng), rng.standard_normal((k, n))
    x, pullback = flow.forward_and_pullback(z)
    assert_close(x, flow.forward(z)[0])
    g = pullback(v)
    fd, err = np.empty_like(z), np.empty_like(z)
    for j in range(n):
        e = np.zeros(n)
        e[j] = 1.0
        # row by row: each row of the batch is an independent point
        fd[:, j], err[:, j] = derivative(
            lambda t, e=e: np.sum(v * flow.forward(z + t * e)[0], axis=1)
        )
    assert_derivatives(g, fd, err)
    # the pullback is reusable and linear in v
    assert_close(pullback(2 * v), 2 * g)
    # and row j of the batch is v_j^T J(z_j)
    assert_close(g[0], v[0] @ flow.jacobian(z[0]), rtol=1e-10)


@settings(max_examples=10)
@given(shape=shapes, logit=st.booleans())
def test_log_prob_gradient_matches_finite_differences(shape, logit):
    n, k, seed = shape
    rng = np.random.default_rng(seed)
    flow = make("realnvp_logit" if logit else "realnvp", n, rng)
    x = signal_points(flow, k, rng)
    lp, g = flow.log_prob_and_grad(x)
    assert_close(lp, flow.log_prob(x), rtol=1e-13)
    fd, err = np.empty_like(x), np.empty_like(x)
    for j in range(n):
        e = np.zeros(n)
        e[j] = 1.0
        fd[:, j], err[:, j] = derivative(lambda t, e=e: flow.log_prob(x + t * e))
    assert_derivatives(g, fd, err)


def test_single_point_shapes():
    rng = np.random.default_rng(0)
    flow = make("realnvp", 4, rng)
    z = rng.standard_normal(4)
    x, ld = flow.forward(z)
    assert x.shape == (4,) and isinstance(ld, float)
    x2, pullback = flow.forward_and_pullback(z)
    assert_close(x2, x)
    assert pullback(np.ones(4)).shape == (4,)
    assert isinstance(flow.log_prob(x), float)
    lp, g = flow.log_prob_and_grad(x)
    assert isinstance(lp, float) and g.shape == (4,)
    Jb = flow.jacobian(np.stack([z, 2 * z]))
    assert Jb.shape == (2, 4, 4)
    assert_close(Jb[0], flow.jacobian(z))


def test_bijector_public_methods_match_the_flow():
    rng = np.random.default_rng(3)
    for kind in ("coupling", "lu", "actnorm", "permutation", "logit"):
        flow = make(kind, 6, rng)
        b = flow.bijectors[0]
        z = rng.standard_normal((3, 6))
        # bitwise: a one-layer Flow runs the same b._forward on the same array; its log-det is 0 + l
        # exactly
        assert_close(b.forward(z)[0], flow.forward(z)[0], rtol=0)
        x = signal_points(flow, 3, rng)
        # bitwise: a one-layer Flow runs the same b._inverse on the same array; its log-det is 0 + l
        # exactly
        assert_close(b.inverse(x)[1], flow.inverse(x)[1], rtol=0)


# -- specific layers ----------------------------------------------------------------------------------


def test_lu_layer_log_det_is_the_factor_diagonal_for_an_ill_conditioned_matrix():
    rng = np.random.default_rng(5)
    n = 8
    # W = Q1 diag(s) Q2 with condition number 1e12
    Q1, _ = np.linalg.qr(rng.standard_normal((n, n)))
    Q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = np.logspace(0, -12, n)
    W = (Q1 * s) @ Q2
    flow = linear_flow(W)
    assert_close(flow.jacobian(np.zeros(n)), W, rtol=0, atol=1e-14)  # rounding of P L U
    # log|det W| of the stored (rounded) W, from mpmath at 50 digits: the pivoted LU is backward
    # stable, LU = W + dW with |dW| ~ n eps |W|, so its log-det is within ~ n eps cond(W)
    import mpmath

    with mpmath.workdps(50):
        exact = float(mpmath.log(abs(mpmath.det(mpmath.matrix(W.tolist())))))
    assert abs(flow.forward(np.zeros(n))[1] - exact) <= n * np.finfo(float).eps * 1e12
    # forward(inverse(x)) == x: backward-stable triangular solves, error ~ eps * ||W|| ||z||
    x = rng.standard_normal((4, n))
    z, _ = flow.inverse(x)
    resid = np.abs(flow.forward(z)[0] - x).max()
    assert resid <= 100 * n * np.finfo(float).eps * np.abs(z).max()


def test_coupling_scale_is_bounded_so_extreme_inputs_stay_finite():
    rng = np.random.default_rng(0)
    layer = AffineCoupling(4, 8, clamp=3.0, rng=rng)
    flow = randomize(Flow([layer]), rng, scale=50.0)  # a wildly trained conditioner
    z = 1e3 * rng.standard_normal((5, 4))
    x, ld = flow.forward(z)
    zb, ldi = flow.inverse(x)
    assert np.all(np.isfinite(x)) and np.all(np.abs(ld) <= 3.0 * 2 + 1e-12)  # |s_i| < clamp
    assert_close(ldi, -ld)


def test_actnorm_initialisation_whitens_each_coordinate():
    rng = np.random.default_rng(1)
    X = 3.0 + rng.standard_normal((500, 3)) * np.array([0.1, 1.0, 5.0])
    flow = Flow([ActNorm(3)])
    flow.initialize(X)
    z, _ = flow.inverse(X)
    assert_close(z.mean(axis=0), np.zeros(3), atol=1e-12)
    assert_close(z.std(axis=0), np.ones(3))
    assert flow.bijectors[0].initialized
    before = flow.get_params()
    flow.initialize(X[:10])  # initialised layers are left alone
    # bitwise: initialize leaves initialised layers alone: the same parameters
    assert_close(flow.get_params(), before, rtol=0)


def test_initialize_sets_each_actnorm_from_the_activations_reaching_it():
    rng = np.random.default_rng(2)
    flow = realnvp(4, 2, 8, rng=0)
    X = rng.standard_normal((300, 4)) @ rng.standard_normal((4, 4)) + 2.0
    flow.initialize(X)
    h = X
    for b in reversed(flow.bijectors):
        if isinstance(b, ActNorm):
            out = (h - b.params["bias"]) * np.exp(-b.params["log_scale"])
            assert_close(out.mean(axis=0), np.zeros(4), atol=1e-12)
            assert_close(out.std(axis=0), np.ones(4), rtol=1e-10)
        h = b.inverse(h)[0]


def test_permutation_constructors():
    p = Permutation.reverse(4)
    assert p.perm.tolist() == [3, 2, 1, 0]
    q = Permutation.random(6, rng=3)
    assert sorted(q.perm.tolist()) == list(range(6))
    assert Permutation.random(6, rng=3).perm.tolist() == q.perm.tolist()


def test_logit_support_and_density_outside():
    flow = Flow([Logit(2, alpha=0.1)])
    lo, hi = flow.support
    assert_close(np.array([lo, hi]), np.array([-0.125, 1.125]))
    lp = flow.log_prob(np.array([[0.5, 0.5], [1.2, 0.5], [0.5, -0.2]]))
    assert np.isfinite(lp[0]) and np.all(lp[1:] == -np.inf)
    with pytest.raises(ValueError, match="support"):
        flow.inverse(np.array([1.2, 0.5]))
    # density of a uniform-ish transform: at x = 0.5, y = 0, dy/dx = (1 - 2a) / (1/4)
    assert_close(lp[0], 2 * (-0.5 * np.log(2 * np.pi) + np.log(0.8 / 0.25)))


def test_trainable_linear_flow_is_linear_with_the_expected_parameter_count():
    flow = trainable_linear_flow(5, rng=0)
    assert flow.n_params == 5 * 4 + 5 + 2 * 5  # strict triangles, log-diagonal, scale, bias
    rng = np.random.default_rng(0)
    randomize(flow, rng)
    J = flow.jacobian(rng.standard_normal(5))
    assert_close(flow.jacobian(rng.standard_normal(5)), J, rtol=1e-13)
    z = rng.standard_normal((3, 5))
    assert_close(flow.forward(z)[0], flow.forward(np.zeros(5))[0] + z @ J.T, rtol=1e-12, atol=1e-14)
