"""Maximum-likelihood training: the linear case in closed form, digits, robustness, bookkeeping."""

import numpy as np
import pytest
from helpers import assert_close

from lininv import LinearInvertiblePrior
from lininv._threads import one_blas_thread
from lininv.datasets import bits_per_dim, dequantize, reference_split
from lininv.flows import fit, load, realnvp, trainable_linear_flow


def test_linear_flow_fitted_to_gaussian_data_recovers_the_covariance():
    rng = np.random.default_rng(0)
    n, N = 5, 3000
    A = rng.standard_normal((n, n)) * np.logspace(0, -1.5, n)  # covariance condition ~1e3
    X = rng.standard_normal((N, n)) @ A.T + rng.standard_normal(n)
    flow = trainable_linear_flow(n, rng=1)
    hist = fit(flow, X, method="lbfgs", val_fraction=0.0, epochs=5000, gtol=1e-11, progress=False)
    with one_blas_thread():
        mle = LinearInvertiblePrior.fit(X)
    # For Gaussians the mean NLL depends on the data only through its mean and covariance, so
    # the flow's excess NLL over the MLE is exactly KL(N(xbar, S) || N(mu, Sigma)) >= 0: the
    # optimisation tolerance, measured.
    kl = -flow.log_prob(X).mean() + mle.log_prob(X).mean()
    assert -1e-12 <= kl <= 1e-9, (kl, hist.message)
    # To first order, with Sigma = S^1/2 (I + E) S^1/2, mu = xbar + S^1/2 d and w the whitened x,
    # log p_flow(x) - log p_mle(x) = w'Ew/2 + w'd - tr(E)/2, while KL = ||E||_F^2/4 + ||d||^2/2;
    # so the pointwise gap is at most sqrt(KL) (||w||^2 + sqrt(2) ||w|| + sqrt(n)) (x2 for the
    # second-order terms), plus rounding of log-densities of size ~10.
    x = X[:200]
    w = mle.to_latent(x)
    r = np.linalg.norm(w, axis=1)
    bound = 2 * np.sqrt(max(kl, 0.0)) * (r**2 + np.sqrt(2) * r + np.sqrt(n)) + 1e-11
    assert np.all(np.abs(flow.log_prob(x) - mle.log_prob(x)) <= bound)
    # the same statement about the fitted covariance itself, from the flow's exact Jacobian
    J = flow.jacobian(np.zeros(n))
    C = mle.factor  # S = C C^T
    E = np.linalg.solve(C, np.linalg.solve(C, J @ J.T).T) - np.eye(n)
    assert np.linalg.norm(E) <= 2 * 2 * np.sqrt(max(kl, 1e-30)) + 1e-10
    assert_close(flow.forward(np.zeros(n))[0], mle.mean, rtol=0, atol=1e-6 * np.abs(mle.mean).max())


def _paired_bits(flow_lp, lin_lp):
    """Mean bits/dim difference linear - flow and its standard error (paired over images)."""
    d = (flow_lp - lin_lp) / (64 * np.log(2))
    return d.mean(), d.std(ddof=1) / np.sqrt(d.size)


def test_training_on_digits_beats_the_best_linear_gaussian():
    # reduced size for the default run: 2 steps of width 32, 15 epochs (~1 s)
    split = reference_split()
    X_test = dequantize(split.X_test, rng=12345)
    flow = realnvp(64, 2, 32, rng=0)
    hist = fit(
        flow,
        split.X_train,
        dequantize=True,
        epochs=15,
        lr=1e-3,
        patience=None,
        progress=False,
        rng=0,
    )
    with one_blas_thread():  # a multi-threaded BLAS is ~20x slower on this small SVD (see _threads)
        linear = LinearInvertiblePrior.fit(dequantize(split.X_train, rng=0))
    lp_flow, lp_lin = flow.log_prob(X_test), linear.log_prob(X_test)
    gain, se = _paired_bits(lp_flow, lp_lin)
    assert gain > 5 * se  # better on held-out images, by more than 5 standard errors
    assert bits_per_dim(-lp_flow.mean()) < bits_per_dim(-lp_lin.mean())
    assert hist.train_nll[-1] < hist.train_nll[0]
    assert np.all(np.isfinite(hist.val_nll)) and len(hist.val_nll) == hist.epochs == 15


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_full_size_training_stays_finite(seed):
    # the default architecture at a deliberately aggressive step size, a few epochs per seed
    split = reference_split()
    flow = realnvp(64, 8, 128, rng=seed)
    hist = fit(
        flow,
        split.X_train[:640],
        dequantize=True,
        epochs=2,
        lr=3e-3,
        patience=None,
        progress=False,
        rng=seed,
    )
    assert np.all(np.isfinite(hist.train_nll)) and np.all(np.isfinite(hist.val_nll))
    assert np.all(np.isfinite(flow.get_params()))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(20))
def test_default_training_has_no_nan_over_20_seeds(seed):
    split = reference_split()
    X_test = dequantize(split.X_test, rng=12345)
    flow = realnvp(64, 8, 128, rng=seed)
    hist = fit(
        flow,
        split.X_train,
        dequantize=True,
        epochs=200,
        lr=3e-4,
        weight_decay=1.0,
        patience=20,
        val_trim=0.02,
        progress=False,
        rng=seed,
    )
    assert np.all(np.isfinite(hist.train_nll)) and np.all(np.isfinite(hist.val_nll))
    lp = flow.log_prob(X_test)
    assert np.all(np.isfinite(lp))
    bpd = bits_per_dim(-lp.mean())
    print(
        f"seed {seed}: held-out {bpd:.4f} bits/dim, best epoch {hist.best_epoch}, "
        f"{hist.epochs} epochs, {hist.seconds:.1f} s"
    )
    assert bpd <= 2.65  # the target, on every seed


def test_training_is_reproducible_from_the_seed():
    split = reference_split()
    thetas = []
    for _ in range(2):
        flow = realnvp(64, 1, 16, rng=3)
        fit(flow, split.X_train[:300], dequantize=True, epochs=2, progress=False, rng=7)
        thetas.append(flow.get_params())
    # bitwise: the same seed and data: the same computation twice in this process
    assert_close(thetas[0], thetas[1], rtol=0)


def test_early_stopping_keeps_the_best_parameters_and_checkpoints_them(tmp_path):
    split = reference_split()
    X, V = split.X_train[:256], split.X_train[256:356]  # tiny training set: overfits quickly
    flow = realnvp(64, 2, 64, rng=0)
    ck = tmp_path / "best.npz"
    hist = fit(
        flow,
        X,
        X_val=V,
        dequantize=True,
        epochs=60,
        lr=3e-3,
        patience=3,
        checkpoint=ck,
        progress=False,
        rng=0,
    )
    assert hist.stopped_early and hist.epochs == hist.best_epoch + 3
    assert hist.best_val_nll == min(hist.val_nll)  # bitwise: min returns one of the recorded values
    # the flow holds the best epoch's parameters: its validation NLL is the best one recorded
    saved = load(ck)
    # bitwise: the checkpoint file holds the best epoch's parameters, which the flow holds too (.npz
    # round trip)
    assert_close(saved.get_params(), flow.get_params(), rtol=0)
    assert saved.metadata["checkpoint"] == {"epoch": hist.best_epoch, "val_nll": hist.best_val_nll}


def test_lbfgs_with_validation_and_a_progress_bar(capsys):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((400, 3)) @ np.array([[1, 0, 0], [0.5, 1, 0], [0, 0.3, 2.0]])
    flow = trainable_linear_flow(3, rng=0)
    hist = fit(flow, X, method="lbfgs", epochs=50, val_fraction=0.25, progress=True, rng=0)
    assert hist.method == "lbfgs" and 1 <= hist.epochs <= 50
    assert len(hist.val_nll) == hist.epochs and hist.best_val_nll == min(hist.val_nll)
    assert "fit (lbfgs)" in capsys.readouterr().err


def test_divergence_raises_and_restores_the_best_parameters():
    split = reference_split()
    flow = realnvp(64, 1, 16, rng=0)
    with pytest.raises(FloatingPointError, match="training diverged"):
        fit(
            flow,
            split.X_train[:256],
            dequantize=True,
            epochs=5,
            lr=1e12,
            max_grad_norm=None,
            progress=False,
            rng=0,
        )
    assert np.all(np.isfinite(flow.get_params()))


def test_trimmed_validation_ignores_a_few_catastrophic_rows():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 3))
    V = rng.standard_normal((50, 3))
    V[0] = 1e3  # one absurd validation row
    flow = trainable_linear_flow(3, rng=0)
    hist = fit(
        flow,
        X,
        X_val=V,
        epochs=3,
        batch_size=32,
        val_trim=0.04,
        patience=None,
        progress=False,
        rng=0,
    )
    nll = -flow.log_prob(V)  # the flow holds the best epoch's parameters
    assert len(hist.val_nll) == len(hist.val_nll_untrimmed) == 3
    for trimmed, full in zip(hist.val_nll, hist.val_nll_untrimmed, strict=True):
        assert trimmed < full
    # floor(0.04 * 50) = 2 rows left out: the criterion is the mean of the 48 smallest NLLs
    best = hist.best_epoch - 1
    assert best >= 0
    assert_close(hist.val_nll[best], np.sort(nll)[:48].mean(), rtol=1e-12)
    assert_close(hist.val_nll_untrimmed[best], nll.mean(), rtol=1e-12)
