"""The composite bijector, the Flow built on it, the realnvp builder's names and the FlowPrior protocol.

A nested chain ``Compose([Compose([a, b]), Compose([c, d])])`` performs the same layer operations
in the same order as the flat ``Compose([a, b, c, d])``: signals, latents, input cotangents and
parameter gradients agree bit for bit; only the log-determinants are summed in another grouping,
``(l_a + l_b) + (l_c + l_d)`` against ``((l_a + l_b) + l_c) + l_d``, so they agree to rounding.
"""

import copy
import pickle
import warnings

import numpy as np
import pytest
from helpers import assert_close
from test_flows_bijectors import assert_derivatives, derivative

import lininv.flows as flows
from lininv.flows import (
    ActNorm,
    AffineCoupling,
    Bijector,
    Compose,
    Flow,
    FlowPrior,
    Logit,
    LULinear,
    Permutation,
    check_flow_prior,
    linear_flow,
    load,
    realnvp,
)

N = 4
#: Nested and flat log-dets differ by the grouping of seven additions of terms below ~30 in size
#: (clamp 3 per coordinate, the Logit's terms): ~7 * 30 * eps = 5e-14 at most; 1e-12 leaves room.
LD_ATOL = 1e-12


def layers(rng, logit=False):
    out = [
        AffineCoupling(N, 5, rng=rng),
        LULinear(N),
        Permutation.random(N, rng=rng),
        ActNorm(N),
        AffineCoupling(N, 5, flip=True, activation="tanh", rng=rng),
        ActNorm(N),
    ]
    return out + [Logit(N, 0.05)] if logit else out


def flat_and_nested(seed=0, logit=False):
    """The same random layers as a flat chain and as a chain of chains (one a chain of a chain)."""
    rng = np.random.default_rng(seed)
    ls = layers(rng, logit)
    flat = Compose(ls)
    flat.set_params(flat.get_params() + 0.3 * rng.standard_normal(flat.n_params))
    ls = flat.bijectors
    nested = Compose([Compose([ls[0], Compose(ls[1:3])]), Compose(ls[3:])])
    return flat, nested


def inside(chain, k, rng):
    lo, hi = chain.support
    if np.isfinite(lo):
        return lo + (hi - lo) * rng.uniform(0.1, 0.9, size=(k, N))
    return rng.standard_normal((k, N))


# -- a composite is a bijector -----------------------------------------------------------------------


def test_compose_is_a_bijector_with_one_flat_parameter_vector():
    flat, nested = flat_and_nested()
    assert isinstance(nested, Bijector) and isinstance(nested.bijectors[0], Compose)
    assert nested.n == N and nested.n_params == flat.n_params
    assert sum(b.n_params for b in flat.bijectors) == flat.n_params
    # parameters are laid out layer by layer, depth first: the nested vector is the flat one
    # bitwise: copies of the same parameter values
    assert np.array_equal(nested.get_params(), flat.get_params())
    inner_layer = nested.bijectors[0].bijectors[1].bijectors[0]  # the LULinear, two levels down
    for p in inner_layer.params.values():
        assert np.shares_memory(p, nested.params["theta"])
    assert np.shares_memory(nested.bijectors[1].params["theta"], nested.params["theta"])
    theta = np.random.default_rng(1).standard_normal(nested.n_params)
    nested.set_params(theta)
    # bitwise: a view into the vector just set
    assert np.array_equal(inner_layer.params["lower"], theta[flat.bijectors[0].n_params :][:6])
    assert "Compose(n=4" in repr(nested) and "2 Compose" in repr(nested)


@pytest.mark.parametrize("logit", [False, True])
def test_nested_chain_computes_what_the_flat_chain_computes(logit):
    flat, nested = flat_and_nested(logit=logit)
    rng = np.random.default_rng(2)
    z, x = rng.standard_normal((5, N)), inside(flat, 5, rng)
    for name, arg in (("forward", z), ("inverse", x)):
        (a, la), (b, lb) = getattr(flat, name)(arg), getattr(nested, name)(arg)
        # bitwise: the same layers apply the same operations in the same order on the same batch;
        # nesting only regroups the log-det sums (hence the tolerance on la, lb)
        assert np.array_equal(a, b)
        assert_close(lb, la, rtol=0, atol=LD_ATOL)
    # bitwise: the same layer-by-layer pullbacks of the same identity batch
    assert np.array_equal(nested.jacobian(z[:2]), flat.jacobian(z[:2]))
    xf, pf = flat.forward_and_pullback(z)
    xn, pn = nested.forward_and_pullback(z)
    v = rng.standard_normal(xf.shape)
    # bitwise: the same layer-by-layer operations in the same order
    assert np.array_equal(xn, xf) and np.array_equal(pn(v), pf(v))
    assert nested.support == flat.support


@pytest.mark.parametrize("direction", ["forward", "inverse"])
def test_nested_vjps_match_finite_differences(direction):
    _, chain = flat_and_nested(seed=3, logit=True)
    rng = np.random.default_rng(4)
    u = chain.inverse(inside(chain, 3, rng))[0] if direction == "forward" else inside(chain, 3, rng)
    gout, gld = rng.standard_normal(u.shape), rng.standard_normal(3)
    run = chain._forward if direction == "forward" else chain._inverse
    vjp = chain._forward_vjp if direction == "forward" else chain._inverse_vjp

    def scalar(v):
        out, ld, _ = run(v, False)
        return float(np.sum(gout * out) + np.sum(gld * ld))

    _, _, cache = run(u, True)
    g_in = vjp(cache, gout, gld, chain._grads)
    g_theta = chain._grads["theta"].copy()
    # into caller-provided arrays too (not the chain's own gradient buffer)
    other = {"theta": np.full(chain.n_params, np.nan)}
    # bitwise: the same VJP from the same cache, written into another buffer
    assert np.array_equal(vjp(cache, gout, gld, other), g_in)
    # bitwise: the same VJP from the same cache, written into another buffer
    assert np.array_equal(other["theta"], g_theta)

    fd, err = np.empty_like(u), np.empty_like(u)
    for idx in np.ndindex(*u.shape):

        def f(t, idx=idx):
            e = np.zeros_like(u)
            e[idx] = t
            return scalar(u + e)

        fd[idx], err[idx] = derivative(f)
    assert_derivatives(g_in, fd, err)
    theta = chain.get_params()
    fd_t, err_t = np.empty_like(theta), np.empty_like(theta)
    for i in range(theta.size):

        def f_theta(t, i=i):
            e = np.zeros_like(theta)
            e[i] = t
            chain.set_params(theta + e)
            return scalar(u)

        fd_t[i], err_t[i] = derivative(f_theta)
    chain.set_params(theta)
    assert_derivatives(g_theta, fd_t, err_t)


def test_initialize_sets_nested_actnorms_as_the_flat_chain_does():
    rng = np.random.default_rng(5)
    ls = layers(rng)
    X = rng.standard_normal((50, N)) * [1.0, 2.0, 3.0, 4.0] + 1.0
    flat, nested = Compose(ls), Compose([Compose(ls[:3]), Compose([Compose(ls[3:5]), ls[5]])])
    flat.initialize(X)
    nested.initialize(X)
    # bitwise: the same data-dependent initialisation, layer by layer, in the same order
    assert np.array_equal(nested.get_params(), flat.get_params())
    assert all(b.initialized for b in flat.bijectors if isinstance(b, ActNorm))


def test_copies_pickles_and_flows_are_independent_with_live_views():
    _, chain = flat_and_nested(logit=True)
    theta = chain.get_params()
    for other in (copy.deepcopy(chain), pickle.loads(pickle.dumps(chain))):
        # bitwise: copies of the same parameter values
        assert np.array_equal(other.get_params(), theta)
        deep = other.bijectors[0].bijectors[1].bijectors[0].params["lower"]
        assert np.shares_memory(deep, other.params["theta"])
        other.set_params(np.zeros(other.n_params))
        # bitwise: the original's parameters are untouched copies
        assert np.all(deep == 0) and np.array_equal(chain.get_params(), theta)
    flow = Flow(chain)
    # bitwise: the flow holds a copy of the same parameter values
    assert flow.transform is not chain and np.array_equal(flow.get_params(), theta)
    flow.set_params(np.zeros(flow.n_params))
    # bitwise: the chain's own parameters are untouched
    assert np.array_equal(chain.get_params(), theta)


# -- the flow is the transform plus a standard normal ------------------------------------------------


def test_flow_delegates_the_maps_to_its_transform():
    flat, nested = flat_and_nested(logit=True)
    flow = Flow(flat)
    rng = np.random.default_rng(6)
    z, x = rng.standard_normal((3, N)), inside(flat, 3, rng)
    assert isinstance(flow.transform, Compose) and flow.bijectors == flow.transform.bijectors
    for name, arg in (("forward", z), ("inverse", x)):
        (a, la), (b, lb) = getattr(flow, name)(arg), getattr(flat, name)(arg)
        # bitwise: the flow delegates to (a copy of) the same chain: the same computation
        assert np.array_equal(a, b) and np.array_equal(la, lb)
    # bitwise: delegated, the same computation
    assert np.array_equal(flow.jacobian(z), flat.jacobian(z))
    assert flow.support == flat.support
    with pytest.raises(ValueError, match="x must lie inside the flow's support"):
        flat.inverse(np.full(N, 2.0))


def test_flow_of_a_nested_chain_has_the_flat_flows_density_and_gradients():
    flat, nested = flat_and_nested(logit=True)
    f_flat, f_nested = Flow(flat), Flow(nested)
    rng = np.random.default_rng(7)
    X = inside(flat, 6, rng)
    assert_close(f_nested.log_prob(X), f_flat.log_prob(X), rtol=0, atol=LD_ATOL)
    nll_f, g_f = f_flat.nll_and_grad(X)
    nll_n, g_n = f_nested.nll_and_grad(X)
    assert_close(nll_n, nll_f, rtol=0, atol=LD_ATOL)
    # bitwise: the same VJPs in the same order, see the module docstring
    assert np.array_equal(g_n, g_f)
    lp_f, gx_f = f_flat.log_prob_and_grad(X)
    lp_n, gx_n = f_nested.log_prob_and_grad(X)
    # bitwise: the same VJPs in the same order
    assert np.array_equal(gx_n, gx_f)


def test_a_flow_with_nested_chains_is_saved_and_loaded(tmp_path):
    _, chain = flat_and_nested(logit=True)
    chain.bijectors[1].bijectors[0].initialized = True  # a buffer two levels down
    flow = Flow(chain, metadata={"note": "nested"})
    flow.save(tmp_path / "nested.npz")
    back = load(tmp_path / "nested.npz")
    assert [type(b).__name__ for b in back.bijectors] == ["Compose", "Compose"]
    assert back.bijectors[0].bijectors[1]._config() == chain.bijectors[0].bijectors[1]._config()
    assert back.bijectors[1].bijectors[0].initialized
    # bitwise: a save/load round trip of the same values
    assert np.array_equal(back.get_params(), flow.get_params())
    X = inside(chain, 4, np.random.default_rng(8))
    # bitwise: the same parameters and layers, the same computation
    assert np.array_equal(back.log_prob(X), flow.log_prob(X))
    with np.load(tmp_path / "nested.npz") as data:
        assert "buffer/0/1/1/perm" in data.files  # the Permutation in Compose 0, Compose 1


def test_compose_validation():
    with pytest.raises(TypeError, match="bijectors must be a sequence of bijectors"):
        Compose(ActNorm(2))
    with pytest.raises(ValueError, match="at least one bijector"):
        Compose([])
    with pytest.raises(ValueError, match=r"bijectors\[1\] has n = 3"):
        Compose([ActNorm(2), Compose([ActNorm(3)])])
    with pytest.raises(TypeError, match=r"bijectors\[0\] must be a lininv.flows bijector"):
        Compose([np.eye(2)])
    with pytest.raises(ValueError, match="Logit layer must be the last.*nested Compose"):
        Compose([Compose([ActNorm(2), Logit(2)]), ActNorm(2)])
    with pytest.raises(ValueError, match=r"theta must have shape \(4,\)"):
        Compose([ActNorm(2)]).set_params(np.zeros(3))
    with pytest.raises(ValueError, match="X must have at least 2 rows"):
        Compose([ActNorm(2)]).initialize(np.zeros((1, 2)))
    assert (
        Compose([ActNorm(2), Compose([ActNorm(2), Logit(2, 0.1)])]).support == Logit(2, 0.1).support
    )


# -- the builder's names ------------------------------------------------------------------------------


def test_realnvp_and_its_deprecated_alias_build_the_same_flow():
    flow = realnvp(6, 2, 5, rng=0)
    with pytest.warns(DeprecationWarning, match=r"lininv.flows.RealNVP is deprecated.*realnvp"):
        old = flows.RealNVP
    assert old is realnvp
    # bitwise: the same function with the same seed
    assert np.array_equal(old(6, 2, 5, rng=0).get_params(), flow.get_params())
    assert "RealNVP" not in flows.__all__ and "realnvp" in flows.__all__


def test_flows_api_index_documents_every_public_name():
    for name in flows.__all__:
        assert getattr(flows, name).__doc__, name
        assert name in flows.__doc__, f"{name} missing from the API index of lininv/flows"
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        flows.nothing  # noqa: B018


# -- the protocol the bridge relies on ----------------------------------------------------------------


class _RecoveryOnly:
    """What latent-space recovery alone needs (the bridge's test doubles look like this)."""

    n = 3

    def forward_and_pullback(self, z):
        return z, lambda v: v

    def inverse(self, x):
        return x, 0.0


def test_flows_satisfy_the_flow_prior_protocol():
    for flow in (realnvp(4, 1, 3, rng=0), linear_flow(np.eye(2)), Flow(flat_and_nested()[1])):
        assert isinstance(flow, FlowPrior)
        assert check_flow_prior(flow) is flow
    assert not isinstance(_RecoveryOnly(), FlowPrior)
    double = _RecoveryOnly()
    assert check_flow_prior(double, needs=("n", "inverse", "forward_and_pullback")) is double


@pytest.mark.parametrize(
    ("flow", "kwargs", "error", "match"),
    [
        (
            _RecoveryOnly(),
            {},
            TypeError,
            r"flow must be a flow prior \(lininv.flows.FlowPrior\) with n, support, .*; got "
            r".*, which lacks support, forward, log_prob, sample, jacobian$",
        ),
        (
            "G",
            {"name": "prior", "needs": ("n",)},
            TypeError,
            r"prior must be a flow prior .* lacks n",
        ),
        (
            type("Bad", (_RecoveryOnly,), {"inverse": 3})(),
            {"needs": ("inverse",)},
            TypeError,
            r"whose inverse cannot be called",
        ),
        (
            type("Bad", (_RecoveryOnly,), {"n": 0})(),
            {"needs": ("n",)},
            ValueError,
            r"flow.n must be",
        ),
        (type("Bad", (_RecoveryOnly,), {"n": 2.0})(), {"needs": ("n",)}, TypeError, r"flow.n must"),
        (
            type("Bad", (_RecoveryOnly,), {"support": (1.0, 0.0)})(),
            {"needs": ("support",)},
            ValueError,
            r"flow.support must be an interval with lo < hi",
        ),
        (
            type("Bad", (_RecoveryOnly,), {"support": "R"})(),
            {"needs": ("support",)},
            TypeError,
            r"flow.support must be a pair of numbers",
        ),
        (_RecoveryOnly(), {"needs": ("n", "grad")}, ValueError, r"needs must name members of"),
        (_RecoveryOnly(), {"needs": "n"}, TypeError, r"needs must be a sequence of member names"),
    ],
)
def test_check_flow_prior_names_what_is_wrong(flow, kwargs, error, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(error, match=match):
            check_flow_prior(flow, **kwargs)
