r"""Training a generator as the decoder of a VAE (default) or of an autoencoder, in numpy."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

from lininv._progress import check_progress, progress_sink
from lininv._random import stream
from lininv._threads import single_blas_thread
from lininv._validation import describe
from lininv.datasets._digits import LEVELS
from lininv.datasets._digits import dequantize as _dequantize
from lininv.flows._training import _Adam
from lininv.generators._generator import LOGVAR_CLAMP, Generator
from lininv.generators._recipe import Recipe, dataset_info

__all__ = ["TrainingHistory", "train", "MIN_SIGMA2"]

#: Floor of the VAE's calibrated decoder variance on the 8x8 digits: the variance
#: 1/(12 * 17^2) of the dequantisation noise, which no decoder of the integer images can explain
#: (1/(12 * 256^2) on the 28x28 digits, :func:`dataset_info`).
MIN_SIGMA2 = 1.0 / (12.0 * LEVELS**2)


class _Stream(IntEnum):
    """Named random streams of a training run (:func:`lininv._random.stream` keys)."""

    WEIGHTS = 0
    VALIDATION_SPLIT = 1
    VALIDATION_NOISE = 2
    EPOCH = 3  # then the epoch number: shuffling, dequantisation noise, VAE draws


@dataclass
class TrainingHistory:
    """What :func:`train` did.

    Attributes
    ----------
    train_loss, val_loss : list of float
        Per epoch: the mean minibatch loss during the epoch, and the loss of the validation rows
        (with fixed dequantisation and VAE draws) after it. VAE: negative ELBO in nats per image
        (calibrated Gaussian decoder); AE: squared reconstruction error per image.
    best_epoch : int
        Epoch whose parameters the generator holds (0: the initial ones).
    best_val_loss : float
    epochs : int
        Epochs run.
    stopped_early : bool
    seconds : float
    message : str
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = float("inf")
    epochs: int = 0
    stopped_early: bool = False
    seconds: float = 0.0
    message: str = ""

    def summary(self) -> dict[str, Any]:
        """The scalars, JSON-ready (the per-epoch lists left out)."""
        return {
            "epochs_run": self.epochs,
            "best_epoch": self.best_epoch,
            "best_val_loss": self.best_val_loss,
            "stopped": self.message,
            "seconds": round(self.seconds, 2),
        }


# -- the objectives ---------------------------------------------------------------------------------


def _loss_and_grad(
    gen: Generator,
    X: np.ndarray,
    eps: np.ndarray | None,
    grads: np.ndarray | None,
    min_sigma2: float = MIN_SIGMA2,
) -> float:
    r"""Mean loss per image of rows ``X``; adds its gradient into ``grads`` (decoder, encoder).

    VAE (``eps`` the standard normal draws of the reparameterisation, (B, k)):

    .. math:: L = \tfrac n2 \log(2\pi \hat\sigma^2) + \frac{\sum_b \|x_b - D(z_b)\|^2}{2B\hat\sigma^2}
              + \frac1B \sum_b \mathrm{KL}(N(\mu_b, \mathrm{diag}\, s_b^2) \,\|\, N(0, I)),

    :math:`z_b = \mu_b + s_b \odot \epsilon_b`, with the decoder variance
    :math:`\hat\sigma^2 = \max(\text{mean squared error per pixel}, \text{min\_sigma2})`, its
    maximum-likelihood value (a calibrated decoder): at the optimum the derivative in
    :math:`\sigma^2` vanishes, so the gradient is that with :math:`\sigma^2` held fixed.
    AE: :math:`L = \frac1B \sum_b \|x_b - D(E(x_b))\|^2`.
    """
    B, k, n = X.shape[0], gen.k, gen.n
    nd = gen.decoder.n_params
    gdec = None if grads is None else grads[:nd]
    genc = None if grads is None else grads[nd:]
    out, ecache = gen.encoder.forward(X, keep=grads is not None)
    if gen.kind == "ae":
        Z = out
    else:
        assert eps is not None
        mu = out[:, :k]
        th = np.tanh(out[:, k:] * (1.0 / LOGVAR_CLAMP))
        logvar = th * LOGVAR_CLAMP
        std = np.exp(0.5 * logvar)
        Z = mu + std * eps
    Xh, dcache = gen.decoder.forward(Z, keep=grads is not None)
    R = Xh - X
    sq = float(np.einsum("ij,ij->", R, R))
    if gen.kind == "ae":
        loss = sq / B
        if grads is None:
            return loss
        gX = R * (2.0 / B)
    else:
        s2 = max(sq / (B * n), min_sigma2)
        var = std * std
        kl = 0.5 * float(np.sum(mu * mu + var - 1.0 - logvar)) / B
        loss = 0.5 * n * math.log(2.0 * math.pi * s2) + sq / (2.0 * B * s2) + kl
        if grads is None:
            return loss
        gX = R * (1.0 / (B * s2))
    assert dcache is not None and ecache is not None
    gZ = gen.decoder.vjp(dcache, gX, gdec)
    if gen.kind == "ae":
        gout = gZ
    else:
        gout = np.empty((B, 2 * k))
        gout[:, :k] = gZ + mu * (1.0 / B)
        # d z / d logvar = eps * std / 2; d KL / d logvar = (var - 1) / (2B); then the clamp
        glv = gZ * eps * std * 0.5 + (var - 1.0) * (0.5 / B)
        np.multiply(glv, 1.0 - th * th, out=gout[:, k:])
    gen.encoder.vjp(ecache, gout, genc)
    return loss


# -- training ---------------------------------------------------------------------------------------


def _initial_output_bias(gen: Generator, X: np.ndarray) -> None:
    """Set the decoder's output bias so that ``D`` starts near the mean image."""
    mean = X.mean(axis=0)
    if gen.output == "sigmoid":
        p = np.clip(mean, 1e-3, 1.0 - 1e-3)
        gen.decoder.b[-1][...] = np.log(p) - np.log1p(-p)
    else:
        gen.decoder.b[-1][...] = mean


@single_blas_thread
def train(recipe: Any, *, progress: Any = False) -> tuple[Generator, TrainingHistory]:
    r"""Train a generator on dequantised digits by Adam with early stopping, following ``recipe``.

    Parameters
    ----------
    recipe : Recipe or dict
        What to train (a dict as :meth:`Recipe.to_dict` writes it).
    progress : bool or callable, default=False
        ``True``: a progress bar; a callable receives a :class:`lininv._progress.ProgressEvent`
        per epoch.

    Returns
    -------
    generator : Generator
        Holding the parameters with the best validation loss, and ``metadata`` with
        ``"recipe"``, ``"data"`` (the split's indices and dequantisation) and ``"training"``
        (:meth:`TrainingHistory.summary`).
    history : TrainingHistory

    Notes
    -----
    The training images are ``split.X_train`` of :meth:`Recipe.split` (the reference split of the
    default flow, or of the pretrained 28x28 flow for ``dataset="mnist28"``, unless the recipe
    says otherwise), dequantised as the flow's training does: :math:`(X + U)/L` with fresh noise
    :math:`U \sim U[0,1)^n` every epoch (:func:`lininv.datasets.dequantize`; ``L = 17``,
    ``n = 64`` for the digits, ``L = 256``, ``n = 784`` for ``"mnist28"``). A random ``val_fraction`` of them, dequantised once, is
    held out for early stopping. Each epoch's shuffling, noise and VAE draws come from its own
    stream ``(seed, EPOCH, epoch)``, so the run depends on the seed alone, and BLAS runs on one
    thread: the same machine and library stack give the same parameters to the last bit.

    References
    ----------
    .. [1] D. P. Kingma, M. Welling, "Auto-encoding variational Bayes", ICLR 2014.
    .. [2] O. Rybkin, K. Daniilidis, S. Levine, "Simple and effective VAE training with
       calibrated decoders", ICML 2021.

    Examples
    --------
    >>> from lininv.generators import Recipe, train
    >>> gen, hist = train(Recipe(k=4, hidden=(16,), epochs=2, n_train=200))
    >>> gen.k, hist.epochs
    (4, 2)
    """
    if isinstance(recipe, dict):
        recipe = Recipe.from_dict(recipe)
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe or a dict; got {describe(recipe)}")
    progress = check_progress(progress)
    r = recipe
    info = dataset_info(r.dataset)
    levels, min_s2 = info["levels"], info["min_sigma2"]
    split = r.split()
    X_int = split.X_train
    N = X_int.shape[0]
    n_val = int(round(r.val_fraction * N))
    if n_val < 2 or N - n_val < r.batch_size:
        raise ValueError(
            f"recipe leaves {n_val} validation and {N - n_val} training images: need at least 2 "
            f"and batch_size = {r.batch_size}"
        )
    perm = stream(r.seed, _Stream.VALIDATION_SPLIT).permutation(N)
    X_tr, X_va = X_int[np.sort(perm[n_val:])], X_int[np.sort(perm[:n_val])]
    vgen = stream(r.seed, _Stream.VALIDATION_NOISE)
    V = _dequantize(X_va, levels=levels, rng=vgen)
    V_eps = vgen.standard_normal((n_val, r.k)) if r.kind == "vae" else None

    gen = Generator(
        r.k,
        info["n"],
        hidden=r.hidden,
        activation=r.activation,
        output=r.output,
        kind=r.kind,
        rng=stream(r.seed, _Stream.WEIGHTS),
    )
    _initial_output_bias(gen, (X_tr + 0.5) / levels)
    hist = TrainingHistory()
    theta = gen.get_params()
    best = theta.copy()
    hist.best_val_loss = _loss_and_grad(gen, V, V_eps, None, min_s2)
    opt = _Adam(gen.n_params, r.lr, r.weight_decay)
    grads = np.empty(gen.n_params)
    n_batches = (N - n_val) // r.batch_size
    since = 0
    t0 = time.perf_counter()
    with progress_sink(progress, f"train generator k={r.k}", r.epochs, "epoch") as sink:
        for epoch in range(1, r.epochs + 1):
            egen = stream(r.seed, _Stream.EPOCH, epoch)
            data = _dequantize(X_tr, levels=levels, rng=egen)
            order = egen.permutation(data.shape[0])
            eps_all = egen.standard_normal((n_batches * r.batch_size, r.k))
            total = 0.0
            for b in range(n_batches):
                rows = slice(b * r.batch_size, (b + 1) * r.batch_size)
                grads[:] = 0.0
                eps = eps_all[rows] if r.kind == "vae" else None
                with np.errstate(all="ignore"):  # a non-finite step is detected just below
                    loss = _loss_and_grad(gen, data[order[rows]], eps, grads, min_s2)
                if not (math.isfinite(loss) and np.all(np.isfinite(grads))):
                    gen._set_params(best)
                    raise FloatingPointError(
                        f"training diverged: non-finite loss or gradient at epoch {epoch}; "
                        "lower recipe.lr"
                    )
                opt.step(theta, grads, r.lr)
                gen._set_params(theta)
                total += loss
            val = _loss_and_grad(gen, V, V_eps, None, min_s2)
            hist.epochs = epoch
            hist.train_loss.append(total / n_batches)
            hist.val_loss.append(val)
            if val < hist.best_val_loss:
                hist.best_val_loss, hist.best_epoch, since = val, epoch, 0
                best[:] = theta
            else:
                since += 1
            sink.update(label=f"epoch {epoch}", info=f"train {total / n_batches:.4g} val {val:.4g}")
            if since >= r.patience:
                hist.stopped_early = True
                hist.message = f"no validation improvement for {r.patience} epochs"
                break
        else:
            hist.message = f"reached epochs = {r.epochs}"
    gen._set_params(best)
    hist.seconds = time.perf_counter() - t0
    data: dict[str, Any] = {
        "dataset": info["source"],
        "n_train": r.n_train,
        "split_seed": r.split_seed,
        "exclude": list(r.exclude),
        "n_train_rows": int(N - n_val),
        "n_validation_rows": int(n_val),
        "test_index": split.test_index.tolist(),
        "dequantization": f"(X + U[0,1)) / {levels}, fresh U every epoch",
    }
    if r.dataset == "mnist28":
        data["split"] = "the pretrained 28x28 flow's (lininv.flows.pretrained_flow('mnist28'))"
        data["train_index"] = split.train_index.tolist()
    gen.metadata.update({"recipe": r.to_dict(), "data": data, "training": hist.summary()})
    return gen, hist
