"""Image bijectors and the glow builder on images larger than the shared tests' (n <= 8).

Finite differences and their tolerance as in test_flows_bijectors.py (its module docstring).
"""

import copy
import pickle

import numpy as np
import pytest
from helpers import assert_close
from test_flows_bijectors import assert_derivatives, fd_jacobian, randomize

from lininv import LinearInvertiblePrior
from lininv.flows import (
    ActNorm,
    ChannelActNorm,
    Conv1x1,
    ConvAffineCoupling,
    Factor,
    Flow,
    Logit,
    glow,
    glow_shapes,
    linear_gaussian,
    load,
)
from lininv.flows._conv import OFFSETS, _taps_sum, _taps_sum_adjoint, col2im3, im2col3
from lininv.flows._image import split_index, squeeze_index

# -- convolutions as products ----------------------------------------------------------------------


def naive_conv3(a, w):
    """3x3 cross-correlation with zero padding by loops: a (k, H, W, Ci), w (3, 3, Ci, Co)."""
    k, H, W, _ = a.shape
    out = np.zeros((k, H, W, w.shape[3]))
    for y in range(H):
        for x in range(W):
            for di in range(3):
                for dj in range(3):
                    yy, xx = y + di - 1, x + dj - 1
                    if 0 <= yy < H and 0 <= xx < W:
                        out[:, y, x, :] += a[:, yy, xx, :] @ w[di, dj]
    return out


def test_im2col_and_taps_sum_are_3x3_convolutions_and_their_adjoints():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 4, 5, 3))
    w = rng.standard_normal((3, 3, 3, 2))
    want = naive_conv3(a, w)
    # input side: gather the neighbourhoods, then one product
    got = im2col3(a).reshape(2, 4, 5, 27) @ w.reshape(27, 2)
    assert_close(got, want)
    # output side: every tap's product at every pixel, then the shifted sum
    Y = np.einsum("khwc,jco->khwjo", a, w.reshape(9, 3, 2))
    assert_close(_taps_sum(Y), want)
    # adjoints: <A u, v> = <u, A^T v>, exact up to rounding of the sums (~1e-15 relative)
    g = rng.standard_normal((2, 4, 5, 9, 3))
    assert_close(np.sum(im2col3(a) * g), np.sum(a * col2im3(g)))
    h = rng.standard_normal((2, 4, 5, 2))
    assert_close(np.sum(_taps_sum(Y) * h), np.sum(Y * _taps_sum_adjoint(h)))
    assert OFFSETS[0] == (0, 0) and OFFSETS[4] == (1, 1)


def test_coupling_conditioner_is_the_documented_network():
    rng = np.random.default_rng(1)
    layer = ConvAffineCoupling((4, 5, 3), hidden=6, flip=True, rng=rng)  # transforms channel 2
    f = randomize(Flow([layer]), rng, 0.5)
    b = f.bijectors[0]
    p = b.params
    z = rng.standard_normal((2, 60))
    img = z.reshape(2, 4, 5, 3)
    cond = img[..., :2]
    relu = lambda v: np.maximum(v, 0.0)  # noqa: E731
    h1 = relu(naive_conv3(cond, p["W1"].reshape(3, 3, 2, 6)) + p["b1"])
    h2 = relu(h1 @ p["W2"] + p["b2"])
    o = naive_conv3(h2, p["W3"].reshape(6, 3, 3, 2).transpose(1, 2, 0, 3)) + p["b3"]
    s = 3.0 * np.tanh(o[..., :1] / 3.0)
    x_want = img.copy()
    x_want[..., 2:] = img[..., 2:] * np.exp(s) + o[..., 1:]
    x, ld = f.forward(z)
    assert_close(x, x_want.reshape(2, 60))
    assert_close(ld, s.reshape(2, -1).sum(axis=1))


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: Flow([ConvAffineCoupling((3, 4, 3), 5, activation="elu", rng=rng)]),
        lambda rng: Flow([ConvAffineCoupling((3, 4, 4), 5, flip=True, activation="tanh", rng=rng)]),
        lambda rng: Flow([Conv1x1.random_rotation((3, 2, 4), rng=rng), ChannelActNorm((3, 2, 4))]),
        lambda rng: glow((4, 4, 1), levels=2, steps=2, hidden=3, activation="elu", rng=rng),
        lambda rng: glow((4, 4, 2), levels=2, steps=1, hidden=3, logit=0.05, rng=rng),
    ],
    ids=["coupling", "coupling-flip", "conv1x1-actnorm", "glow", "glow-logit"],
)
def test_jacobian_log_det_and_inverse_on_images(make):
    rng = np.random.default_rng(2)
    flow = randomize(make(rng), rng, 0.2)
    n = flow.n
    if np.isfinite(flow.support[0]):
        z = flow.inverse(rng.uniform(0.1, 0.9, size=(3, n)))[0]
    else:
        z = rng.standard_normal((3, n))
    x, ld = flow.forward(z)
    J = flow.jacobian(z[0])
    J_fd, err = fd_jacobian(lambda u: flow.forward(u)[0], z[0])
    assert_derivatives(J, J_fd, err)
    # log-det of the exact Jacobian: rounding only (an n x n LU of a well-conditioned matrix)
    assert abs(np.linalg.slogdet(J)[1] - ld[0]) <= 1e-9 * max(1.0, abs(ld[0]))
    zb, ldi = flow.inverse(x)
    # ~30 layers with scales within e^{+-2}: 1e-9 leaves orders of magnitude over the rounding
    assert_close(zb, z, rtol=0, atol=1e-9)
    assert_close(ldi, -ld, rtol=0, atol=1e-9 * n)


# -- the layers ------------------------------------------------------------------------------------


def test_squeeze_and_split_indices():
    H, W, C = 4, 6, 2
    img = np.arange(H * W * C).reshape(H, W, C)
    sq = img.reshape(-1)[squeeze_index((H, W, C))].reshape(H // 2, W // 2, 4 * C)
    for y in range(H // 2):
        for x in range(W // 2):
            for a in range(2):
                for b in range(2):
                    # bitwise: integer data (counts, indices or pixel levels)
                    assert np.array_equal(
                        sq[y, x, (2 * a + b) * C : (2 * a + b + 1) * C], img[2 * y + a, 2 * x + b]
                    )
    idx = split_index((H, W, 4), 1)
    img4 = np.arange(H * W * 4).reshape(H, W, 4)
    # bitwise: integer data (counts, indices or pixel levels)
    assert np.array_equal(img4.reshape(-1)[idx[: H * W]], img4[..., 0].reshape(-1))
    # bitwise: integer data (counts, indices or pixel levels)
    assert np.array_equal(np.sort(idx), np.arange(H * W * 4))
    with pytest.raises(ValueError, match="even"):
        squeeze_index((3, 4, 1))
    with pytest.raises(ValueError, match="keep"):
        split_index((2, 2, 2), 2)


def test_conv1x1_mixes_the_channels_of_every_pixel_by_one_matrix():
    rng = np.random.default_rng(3)
    layer = Conv1x1.random_rotation((2, 3, 4), rng=rng)
    Wm = layer.matrix()
    assert_close(Wm @ Wm.T, np.eye(4), atol=1e-14)  # a rotation at the start
    flow = randomize(Flow([layer]), rng, 0.3)
    Wm = flow.bijectors[0].matrix()
    J = flow.jacobian(np.zeros(24))
    assert_close(J, np.kron(np.eye(6), Wm), atol=1e-14)
    assert_close(flow.forward(np.zeros(24))[1], 6 * np.linalg.slogdet(Wm)[1])


def test_channel_actnorm_initialisation_whitens_each_channel():
    rng = np.random.default_rng(4)
    X = 2.0 + rng.standard_normal((300, 5, 5, 3)) * np.array([0.1, 1.0, 7.0])
    flow = Flow([ChannelActNorm((5, 5, 3))])
    flow.initialize(X.reshape(300, -1))
    z = flow.inverse(X.reshape(300, -1))[0].reshape(-1, 3)
    assert_close(z.mean(axis=0), np.zeros(3), atol=1e-12)
    assert_close(z.std(axis=0), np.ones(3))
    assert flow.bijectors[0].initialized


def test_factor_acts_on_the_leading_coordinates_only():
    rng = np.random.default_rng(5)
    inner = ActNorm(3)
    inner.params["log_scale"][:] = [0.5, -0.2, 0.1]
    flow = Flow([Factor(inner, 5)])
    z = rng.standard_normal((2, 5))
    x, ld = flow.forward(z)
    assert_close(x[:, 3:], z[:, 3:], rtol=0)  # bitwise: copied
    assert_close(x[:, :3], z[:, :3] * np.exp([0.5, -0.2, 0.1]))
    assert_close(ld, np.full(2, 0.4))
    with pytest.raises(ValueError, match="more than inner"):
        Factor(ActNorm(3), 3)
    with pytest.raises(ValueError, match="Logit"):
        Factor([ActNorm(3), Logit(3)], 5)


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"shape": (4, 4, 1)}, "channels"),
        ({"shape": (4, 4)}, "shape"),
        ({"shape": (4, 0, 2)}, "width"),
        ({"hidden": 0}, "hidden"),
        ({"flip": 1}, "flip"),
        ({"activation": "gelu"}, "activation"),
        ({"clamp": 0.0}, "clamp"),
    ],
)
def test_conv_coupling_validates_its_arguments(bad, match):
    kwargs = {"shape": (4, 4, 2), **bad}
    with pytest.raises((TypeError, ValueError), match=match):
        ConvAffineCoupling(**kwargs)


# -- the builder ------------------------------------------------------------------------------------


def test_glow_shapes_and_structure():
    assert glow_shapes((28, 28, 1), 3) == [(14, 14, 4), (7, 7, 8), (7, 7, 4)]
    assert glow_shapes((7, 7, 2), 1) == [(7, 7, 2)]
    with pytest.raises(ValueError, match="channel"):
        glow_shapes((7, 7, 1), 1)
    with pytest.raises(ValueError, match="channel"):
        glow_shapes((28, 28, 1), 5)  # 7x7x4 -> 7x7x2 -> 7x7x1
    flow = glow((8, 8, 1), levels=2, steps=(2, 3), hidden=(4, 6), rng=0)
    kinds = [type(b).__name__ for b in flow.bijectors]
    assert kinds[0] == "Factor" and kinds[-2:] == ["Permutation", "Logit"]
    inner = flow.bijectors[0].inner
    assert sum(isinstance(b, ConvAffineCoupling) for b in inner.bijectors) == 3
    assert {b.hidden for b in inner.bijectors if isinstance(b, ConvAffineCoupling)} == {6}
    assert flow.bijectors[0].m == 32
    with pytest.raises(ValueError, match="steps"):
        glow((8, 8, 1), levels=2, steps=(1, 2, 3))


def test_glow_default_size():
    flow = glow(rng=0)
    assert flow.n == 784 and flow.n_params == 106560
    assert flow.support == Logit(1, 0.01).support


def test_glow_round_trips_through_a_file_pickle_and_deepcopy(tmp_path):
    rng = np.random.default_rng(6)
    flow = glow((4, 4, 2), levels=2, steps=2, hidden=3, rng=0)
    flow.initialize(rng.uniform(0.05, 0.95, size=(40, 32)))
    randomize(flow, rng, 0.1)
    flow.save(tmp_path / "g.npz")
    x = rng.uniform(0.1, 0.9, size=(3, 32))
    for other in (load(tmp_path / "g.npz"), pickle.loads(pickle.dumps(flow)), copy.deepcopy(flow)):
        assert_close(other.get_params(), flow.get_params(), rtol=0)  # bitwise: a copy
        assert_close(other.log_prob(x), flow.log_prob(x), rtol=0)  # bitwise: same computation
        # parameters stay bound to the copy's flat vector
        other.set_params(np.zeros(other.n_params))
        assert np.all(other.bijectors[0].inner.get_params() == 0)
    assert np.any(flow.get_params() != 0)


def test_linear_gaussian_with_a_logit_is_the_gaussian_of_the_logits():
    rng = np.random.default_rng(7)
    X = rng.uniform(0.0, 1.0, size=(300, 4)) ** 2
    flow = linear_gaussian(X, logit=0.05)
    logit = Logit(4, 0.05)
    Y, ld = logit.inverse(X)
    prior = LinearInvertiblePrior.fit(Y)
    # change of variables: p(x) = p_Y(logit(x)) |dy/dx|
    assert_close(flow.log_prob(X), prior.log_prob(Y) + ld, rtol=1e-10)
    plain = linear_gaussian(X)
    assert_close(plain.log_prob(X), LinearInvertiblePrior.fit(X).log_prob(X), rtol=1e-10)
    with pytest.raises(ValueError, match="box"):
        linear_gaussian(X + 1.0, logit=0.05)
