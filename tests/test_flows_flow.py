"""The composition: densities against independent references, sampling, parameters."""

import numpy as np
import pytest
from helpers import assert_close, flow_rounding_bound, nudge
from scipy import stats

from lininv import LinearInvertiblePrior
from lininv.flows import (
    ActNorm,
    AffineCoupling,
    Flow,
    Logit,
    LULinear,
    Permutation,
    linear_flow,
    realnvp,
)


def randomize(flow, rng, scale=0.5):
    flow.set_params(flow.get_params() + scale * rng.standard_normal(flow.n_params))
    return flow


def test_linear_flow_is_the_linear_invertible_prior():
    rng = np.random.default_rng(0)
    prior = LinearInvertiblePrior.from_singular_values(
        np.logspace(0, -3, 6), rng=1, mean=rng.random(6)
    )
    flow = linear_flow(prior)
    z = rng.standard_normal((5, 6))
    assert_close(flow.forward(z)[0], prior.to_signal(z), rtol=1e-12, atol=1e-15)
    x = prior.sample(5, rng=2)
    # the prior whitens through its SVD, the flow through triangular solves: both backward
    # stable, so they agree to ~cond(G) eps = 1e3 * 2e-16 relative
    assert_close(flow.inverse(x)[0], prior.to_latent(x), rtol=1e-11, atol=1e-12)
    assert_close(flow.log_prob(x), prior.log_prob(x), rtol=1e-11)
    assert_close(flow.jacobian(z[0]), prior.G, rtol=1e-12, atol=1e-15)
    assert_close(flow.forward(z[0])[1], prior.log_abs_det, rtol=1e-12)
    # score of a Gaussian: -Sigma^{-1} (x - mu), from a dense solve
    _, score = flow.log_prob_and_grad(x)
    expected = -np.linalg.solve(prior.covariance, (x - prior.mean).T).T
    assert_close(score, expected, rtol=1e-8, atol=1e-8 * np.abs(expected).max())  # cond(Sigma)=1e6


def test_linear_flow_takes_a_matrix_and_mean():
    G = np.array([[1.0, 2.0], [3.0, 4.0]])  # needs a row exchange: pivoting is exercised
    flow = linear_flow(G, mean=[1.0, -1.0])
    assert_close(flow.forward(np.array([1.0, 1.0]))[0], np.array([4.0, 6.0]))
    assert_close(flow.jacobian(np.zeros(2)), G)


def gauss_legendre_2d(flow, lo, hi, m):
    """Tensor-product Gauss-Legendre rule with m nodes per axis of exp(log_prob) on a box."""
    t, w = np.polynomial.legendre.leggauss(m)
    a = 0.5 * (hi[0] - lo[0]) * t + 0.5 * (hi[0] + lo[0])
    b = 0.5 * (hi[1] - lo[1]) * t + 0.5 * (hi[1] + lo[1])
    A, B = np.meshgrid(a, b, indexing="ij")
    dens = np.exp(flow.log_prob(np.column_stack([A.ravel(), B.ravel()]))).reshape(m, m)
    return float(w @ dens @ w) * 0.25 * (hi[0] - lo[0]) * (hi[1] - lo[1])


def test_density_integrates_to_one_in_two_dimensions():
    # change of variables checked by quadrature, independently of any log-det formula
    rng = np.random.default_rng(6)
    flow = randomize(
        Flow(
            [
                ActNorm(2),
                AffineCoupling(2, 6, rng=rng),
                LULinear(2),
                AffineCoupling(2, 6, flip=True, rng=rng),
                ActNorm(2),
            ]
        ),
        rng,
        0.2,
    )
    xs = flow.sample(4000, rng=0)
    lo, hi = xs.min(axis=0) - 6 * xs.std(axis=0), xs.max(axis=0) + 6 * xs.std(axis=0)
    val = gauss_legendre_2d(flow, lo, hi, 800)
    err = abs(val - gauss_legendre_2d(flow, lo, hi, 400))  # quadrature error estimate
    # plus the tail mass beyond 6 sample s.d. (negligible: Gaussian latent, Lipschitz maps)
    assert abs(val - 1.0) <= 1e-5 + err


def test_density_integrates_to_one_on_the_logit_box():
    rng = np.random.default_rng(5)
    flow = randomize(
        Flow([AffineCoupling(2, 6, rng=rng), LULinear(2), ActNorm(2), Logit(2, 0.1)]), rng, 0.3
    )
    lo, hi = flow.support
    box = (np.array([lo, lo]), np.array([hi, hi]))
    val = gauss_legendre_2d(flow, *box, 400)
    err = abs(val - gauss_legendre_2d(flow, *box, 200))  # quadrature error estimate
    assert abs(val - 1.0) <= 1e-5 + err  # all the mass is inside the box


@pytest.mark.parametrize("k", [1, 5, 64])
def test_sample_is_the_pushforward_of_a_standard_normal(k):
    rng = np.random.default_rng(6)
    flow = randomize(realnvp(3, 2, 8, rng=0), rng, 0.3)
    flow.set_params(nudge(flow.get_params()))
    x = flow.sample(4000, rng=1)
    z, _ = flow.inverse(x)
    # the latents of the samples are N(0, I): Kolmogorov-Smirnov per coordinate at level 1e-4
    for j in range(3):
        assert stats.kstest(z[:, j], "norm").pvalue > 1e-4
    # sample(k) is forward() of the seed's first k normals: the same call on the same array
    z_k = np.random.default_rng(1).standard_normal((k, 3))
    assert_close(flow.sample(k, rng=1), flow.forward(z_k)[0], rtol=0)  # bitwise: same computation
    # ... and the first k rows of a larger sample up to rounding: the same draws, but another
    # batch shape takes other BLAS and SIMD paths (1 ulp apart on some CPUs). ops = 8 (hidden)
    # + 3 (inputs) rounded terms per product plus ~10 elementwise operations per layer.
    gap = np.linalg.norm(flow.sample(k, rng=1) - x[:k], axis=1)
    assert np.all(gap <= flow_rounding_bound(flow, z_k, ops=21))
    assert flow.sample(0, rng=1).shape == (0, 3)


def test_log_prob_is_the_change_of_variables_formula():
    rng = np.random.default_rng(7)
    flow = randomize(realnvp(4, 3, 8, rng=0), rng, 0.3)
    x = rng.standard_normal((6, 4))
    z, ld = flow.inverse(x)
    expected = stats.multivariate_normal(np.zeros(4), np.eye(4)).logpdf(z) + ld
    assert_close(flow.log_prob(x), expected)
    # and the inverse log-det equals minus the forward one at z (sum over layers)
    assert_close(ld, -flow.forward(z)[1], rtol=1e-10)


def test_parameters_are_a_flat_vector_shared_with_the_layers():
    flow = realnvp(4, 2, 8, rng=0)
    theta = flow.get_params()
    assert theta.shape == (flow.n_params,) and flow.n_params == sum(
        b.n_params for b in flow.bijectors
    )
    theta[:] = 0.0  # a copy: the flow is unchanged
    assert np.any(flow.get_params() != 0)
    new = np.random.default_rng(0).standard_normal(flow.n_params)
    flow.set_params(new)
    # bitwise: set_params copies the vector in, get_params copies it out
    assert_close(flow.get_params(), new, rtol=0)
    coupling = next(b for b in flow.bijectors if isinstance(b, AffineCoupling))
    assert np.shares_memory(coupling.params["W1"], flow.transform.params["theta"])


def test_flow_copies_its_bijectors():
    layer = ActNorm(3)
    flow = Flow([layer])
    flow.set_params(np.ones(6))
    assert np.all(layer.params["bias"] == 0)  # the original is untouched
    two = Flow([*flow.bijectors, Permutation.reverse(3)])
    two.set_params(np.zeros(6))
    assert np.all(flow.get_params() == 1)


def test_realnvp_structure_and_reproducibility():
    flow = realnvp(64, rng=0)
    kinds = [type(b).__name__ for b in flow.bijectors]
    assert kinds.count("AffineCoupling") == 8 and kinds.count("ActNorm") == 8
    assert kinds[-1] == "ActNorm" and kinds[0] == "AffineCoupling"
    # bitwise: same seed, identical draws; the initialisation is the same computation in this
    # process
    assert_close(realnvp(64, rng=0).get_params(), flow.get_params(), rtol=0)
    assert "n_params" in repr(flow)
    with_logit = realnvp(8, 2, 4, logit=0.05, rng=0)
    assert isinstance(with_logit.bijectors[-1], Logit)
    assert with_logit.support[0] < 0 < 1 < with_logit.support[1]


def test_logit_layer_must_be_last():
    with pytest.raises(ValueError, match="last"):
        Flow([Logit(2), ActNorm(2)])
