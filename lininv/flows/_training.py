r"""Maximum-likelihood training: Adam on minibatches or full-batch L-BFGS, with early stopping."""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, NoReturn

import numpy as np

from lininv._threads import single_blas_thread
from lininv._validation import (
    as_matrix,
    check_choice,
    check_int,
    check_real,
    check_rng,
    describe,
)
from lininv.datasets._digits import LEVELS
from lininv.datasets._digits import dequantize as _dequantize
from lininv.flows._flow import Flow

__all__ = ["TrainingHistory", "fit"]


@dataclass
class TrainingHistory:
    """What :func:`fit` did.

    Attributes
    ----------
    train_nll : list of float
        Per epoch (Adam: mean of the minibatch NLLs during the epoch; L-BFGS: the full-batch NLL
        after each iteration), nats per sample.
    val_nll : list of float
        Validation criterion after each epoch (empty without validation data): the mean NLL of the
        validation rows, without the ``val_trim`` fraction with the largest NLL.
    val_nll_untrimmed : list of float
        The plain mean validation NLL after each epoch.
    best_epoch : int
        Epoch (1-based) whose parameters the flow holds at the end; 0 if the starting parameters
        were best, and the last epoch without validation data.
    best_val_nll : float
        Validation criterion at ``best_epoch`` (NaN without validation data).
    epochs : int
        Epochs (L-BFGS: iterations) run.
    stopped_early : bool
        True if training stopped because the validation NLL had not improved for ``patience``
        epochs.
    seconds : float
        Wall-clock training time.
    samples_per_second : float
        Training samples processed per second by the optimisation steps (Adam), excluding
        validation.
    method : str
    seed_entropy : int or None
        Entropy of the SeedSequence that drove shuffling and noise, when it was derived from an
        int seed or None (``np.random.SeedSequence(seed_entropy)`` reproduces the run).
    message : str
        Why training stopped.
    """

    train_nll: list[float] = field(default_factory=list)
    val_nll: list[float] = field(default_factory=list)
    val_nll_untrimmed: list[float] = field(default_factory=list)
    best_epoch: int = 0
    best_val_nll: float = float("nan")
    epochs: int = 0
    stopped_early: bool = False
    seconds: float = 0.0
    samples_per_second: float = float("nan")
    method: str = "adam"
    seed_entropy: int | None = None
    message: str = ""


class _Adam:
    """Adam (Kingma & Ba 2015) with decoupled weight decay (Loshchilov & Hutter 2019), in place."""

    def __init__(self, size: int, lr: float, weight_decay: float, b1=0.9, b2=0.999, eps=1e-8):
        self.m = np.zeros(size)
        self.v = np.zeros(size)
        self.tmp = np.empty(size)
        self.lr, self.wd, self.b1, self.b2, self.eps = lr, weight_decay, b1, b2, eps
        self.t = 0

    def step(self, theta: np.ndarray, g: np.ndarray, lr: float) -> None:
        self.t += 1
        b1, b2, m, v, tmp = self.b1, self.b2, self.m, self.v, self.tmp
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - b2
        v += tmp
        c1 = 1.0 - b1**self.t
        c2 = 1.0 - b2**self.t
        np.sqrt(v, out=tmp)
        tmp *= 1.0 / math.sqrt(c2)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        if self.wd:
            theta *= 1.0 - lr * self.wd
        tmp *= lr / c1
        theta -= tmp


def _check_data(name: str, X: Any, n: int, deq: bool, levels: int = LEVELS) -> np.ndarray:
    X = as_matrix(name, X, shape=(None, n), shape_hint=f" to match the flow's n = {n}")
    if deq and (np.any(X != np.round(X)) or X.min() < 0 or X.max() > levels - 1):
        raise ValueError(
            f"{name} must hold integers 0..{levels - 1} when dequantize=True; got values in "
            f"[{X.min():g}, {X.max():g}]"
        )
    return X


def _progress_enabled(progress: Any) -> bool:
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be None or a bool; got {describe(progress)}")
    return bool(progress)


def _nlls(flow: Flow, X: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Per-row negative log-likelihoods."""
    with np.errstate(all="ignore"):  # a diverged flow gives NaN here, reported by the caller
        return -np.concatenate(
            [flow._log_prob(X[i : i + chunk]) for i in range(0, X.shape[0], chunk)]
        )


def _criterion(nll: np.ndarray, trim: float) -> float:
    """Mean NLL after leaving out the ``floor(trim * len)`` largest values."""
    drop = int(math.floor(trim * nll.size))
    if drop == 0:
        return float(np.mean(nll))
    return float(np.mean(np.partition(nll, nll.size - drop - 1)[: nll.size - drop]))


@single_blas_thread
def fit(
    flow: Flow,
    X: Any,
    *,
    X_val: Any = None,
    val_fraction: float = 0.1,
    val_trim: float = 0.0,
    dequantize: bool = False,
    levels: int = LEVELS,
    method: str = "adam",
    epochs: int = 100,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    max_grad_norm: float | None = 100.0,
    patience: int | None = 10,
    gtol: float = 1e-9,
    progress: bool | None = None,
    checkpoint: Any = None,
    callback: Any = None,
    rng: Any = None,
) -> TrainingHistory:
    r"""Fit a flow by maximum likelihood, keeping the parameters best on validation data.

    Parameters
    ----------
    flow : Flow
        Trained in place; uninitialised :class:`ActNorm` layers are first set from the training data
        (:meth:`Flow.initialize`).
    X : array_like of shape (N, n)
        Training data (real-valued, or integer digits with ``dequantize=True``).
    X_val : array_like of shape (N_val, n), optional
        Validation data. If omitted, a random ``val_fraction`` of ``X`` is held out.
    val_fraction : float, default=0.1
        Used when ``X_val`` is None; 0 disables validation (and early stopping).
    val_trim : float, default=0.0
        Fraction of validation rows with the largest NLL left out of the early-stopping criterion
        (rounded down). A flow trained on few images can give a handful of held-out images a
        density many orders of magnitude too small (e.g. a pixel value seen two or three times
        in training), and their NLL then dominates the mean and stops training at once; trimming
        them keeps the criterion about typical images. ``lininv train-flow`` uses 0.02.
    dequantize : bool, default=False
        Treat ``X`` (and ``X_val``) as integers ``0 .. levels - 1`` and train on
        :func:`lininv.datasets.dequantize` of them: fresh uniform noise every epoch for Adam, one
        fixed draw for L-BFGS and for validation.
    levels : int, default=17
        Grey levels of integer data: 17 for the 8x8 digits, 256 for the 28x28 digits.
    method : {"adam", "lbfgs"}, default="adam"
        Minibatch Adam, or full-batch L-BFGS-B from :func:`scipy.optimize.minimize`.
    epochs : int, default=100
        Maximum number of epochs (L-BFGS: iterations).
    batch_size : int, default=64
        Adam minibatch size (the last, smaller batch of an epoch is dropped).
    lr : float, default=1e-3
        Adam step size.
    weight_decay : float, default=0.0
        Decoupled weight decay (AdamW) per unit step size.
    max_grad_norm : float or None, default=100.0
        Adam gradients with a larger Euclidean norm are rescaled to it (a guard against rare
        spikes; None disables).
    patience : int or None, default=10
        Stop after this many epochs without a validation improvement (None: never).
    gtol : float, default=1e-9
        L-BFGS stops when the largest gradient component falls below this.
    progress : bool or None, default=None
        Show a tqdm progress bar; None shows it only when stderr is a terminal.
    checkpoint : path-like, optional
        Save the best flow there (atomically, :meth:`Flow.save`) whenever validation improves, so an
        interrupted run loses nothing; ``flow.metadata["checkpoint"]`` records the epoch and its
        validation NLL.
    callback : callable, optional
        ``callback(epoch, flow)`` after each epoch's validation (it must not change the flow).
    rng : None, int, SeedSequence or Generator, default=None
        Drives the validation split, shuffling and dequantisation noise.

    Returns
    -------
    TrainingHistory

    Raises
    ------
    FloatingPointError
        If the loss or gradient becomes non-finite (the flow is restored to its best parameters
        first).

    Notes
    -----
    The objective is the mean negative log-likelihood
    :math:`-\frac1N \sum_j \log p_\theta(x_j)` in nats (see :class:`Flow`), differentiated by
    :meth:`Flow.nll_and_grad`.

    References
    ----------
    .. [1] D. P. Kingma, J. Ba, "Adam: a method for stochastic optimization", ICLR 2015.
    .. [2] I. Loshchilov, F. Hutter, "Decoupled weight decay regularization", ICLR 2019.
    """
    if not isinstance(flow, Flow):
        raise TypeError(f"flow must be a lininv.flows.Flow; got {describe(flow)}")
    n = flow.n
    if not isinstance(dequantize, (bool, np.bool_)):
        raise TypeError(f"dequantize must be a bool; got {describe(dequantize)}")
    levels = check_int("levels", levels, low=2)
    X = _check_data("X", X, n, bool(dequantize), levels)
    if X_val is not None:
        X_val = _check_data("X_val", X_val, n, bool(dequantize), levels)
    val_fraction = check_real("val_fraction", val_fraction, low=0.0, high=0.9)
    val_trim = check_real("val_trim", val_trim, low=0.0, high=0.5)
    method = check_choice("method", method, ("adam", "lbfgs"))
    epochs = check_int("epochs", epochs, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    weight_decay = check_real("weight_decay", weight_decay, low=0.0)
    if max_grad_norm is not None:
        max_grad_norm = check_real("max_grad_norm", max_grad_norm, low=0.0, low_open=True)
    if patience is not None:
        patience = check_int("patience", patience, low=1)
    gtol = check_real("gtol", gtol, low=0.0, low_open=True)
    show = _progress_enabled(progress)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be None or callable; got {describe(callback)}")
    if checkpoint is not None:
        if not isinstance(checkpoint, (str, os.PathLike)):
            raise TypeError(
                f"checkpoint must be None, a str or os.PathLike; got {describe(checkpoint)}"
            )
        folder = os.path.dirname(os.path.abspath(os.fspath(checkpoint)))
        if not os.path.isdir(folder):
            raise ValueError(f"checkpoint folder does not exist: {folder}")
    seed_entropy = None
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        seed_entropy = int(rng)
    gen = check_rng(rng)

    if X_val is None and val_fraction > 0.0:
        perm = gen.permutation(X.shape[0])
        n_val = int(round(val_fraction * X.shape[0]))
        if n_val < 1 or n_val >= X.shape[0]:
            raise ValueError(
                f"val_fraction = {val_fraction:g} of {X.shape[0]} rows leaves no validation or no "
                "training data; pass X_val or change val_fraction"
            )
        X, X_val = X[np.sort(perm[n_val:])], X[np.sort(perm[:n_val])]
    if method == "adam" and X.shape[0] < batch_size:
        raise ValueError(
            f"batch_size must be at most the number of training rows {X.shape[0]}; got {batch_size}"
        )
    if dequantize:
        V = _dequantize(X_val, levels=levels, rng=gen) if X_val is not None else None
        X_fixed = _dequantize(X, levels=levels, rng=gen)
    else:
        V = X_val
        X_fixed = np.ascontiguousarray(X)
    flow.transform._check_support("X", X_fixed)
    if V is not None:
        flow.transform._check_support("X_val", V)
    # validation ends here: the rest works on valid data with the flow's private methods
    flow.transform._initialize_from(X_fixed)

    run = _Run(
        flow=flow,
        X=X,
        X_fixed=X_fixed,
        levels=levels if dequantize else None,
        V=V,
        val_trim=val_trim,
        checkpoint=checkpoint,
        callback=callback,
        gen=gen,
        hist=TrainingHistory(method=method, seed_entropy=seed_entropy),
        best=flow.get_params(),
    )
    if V is not None:
        run.best_val = run.hist.best_val_nll = _criterion(_nlls(flow, V), val_trim)
    t0 = time.perf_counter()
    if show:
        from tqdm.auto import tqdm

        run.bar = tqdm(total=epochs, desc=f"fit ({method})", unit="epoch", file=sys.stderr)
    try:
        if method == "adam":
            _run_adam(
                run, _AdamSettings(epochs, batch_size, lr, weight_decay, max_grad_norm, patience)
            )
        else:
            _run_lbfgs(run, _LbfgsSettings(epochs, gtol, patience))
    finally:
        if run.bar is not None:
            run.bar.close()
    if V is not None:
        flow._set_params(run.best)
    run.hist.seconds = time.perf_counter() - t0
    return run.hist


# -- one training run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _AdamSettings:
    """The Adam options of :func:`fit` (validated)."""

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    max_grad_norm: float | None
    patience: int | None


@dataclass(frozen=True)
class _LbfgsSettings:
    """The L-BFGS options of :func:`fit` (validated)."""

    epochs: int
    gtol: float
    patience: int | None


@dataclass
class _Run:
    """The state of one :func:`fit`: the flow, its data, the best parameters so far, the record.

    The optimisers read the flow's parameters with :meth:`Flow.get_params` and change them only
    through :meth:`Flow._set_params`; the flow's gradient comes from :meth:`Flow._nll_and_grad`.
    """

    flow: Flow
    X: np.ndarray  # training rows as given (integers when dequantising)
    X_fixed: np.ndarray  # training rows as the flow sees them (one dequantisation draw)
    levels: int | None  # grey levels when dequantising (fresh noise every Adam epoch), else None
    V: np.ndarray | None  # validation rows as the flow sees them
    val_trim: float
    checkpoint: Any
    callback: Any  # callback(epoch, flow) or None
    gen: np.random.Generator
    hist: TrainingHistory
    best: np.ndarray  # parameters with the best validation criterion so far
    best_val: float = float("inf")
    bar: Any = None  # tqdm progress bar or None
    since_best: int = 0  # epochs since the last improvement

    def end_epoch(self, epoch: int) -> None:
        """Record validation after ``epoch``, keep the parameters if best, update the bar."""
        self.since_best = 0 if self._improved(epoch) else self.since_best + 1
        if self.callback is not None:
            self.callback(epoch, self.flow)
        if self.bar is not None:
            post = {"train": f"{self.hist.train_nll[-1]:.2f}"}
            if self.hist.val_nll:
                post["val"] = f"{self.hist.val_nll[-1]:.2f}"
            self.bar.set_postfix(post)
            self.bar.update(1)

    def patience_exhausted(self, patience: int | None) -> bool:
        return patience is not None and bool(self.hist.val_nll) and self.since_best >= patience

    def _improved(self, epoch: int) -> bool:
        hist, flow = self.hist, self.flow
        if self.V is None:  # without validation, the latest finite parameters are the best known
            self.best[:] = flow.get_params()
            hist.best_epoch = epoch
            return True
        nlls = _nlls(flow, self.V)
        val = _criterion(nlls, self.val_trim)
        hist.val_nll.append(val)
        hist.val_nll_untrimmed.append(float(np.mean(nlls)))
        if val < self.best_val:
            self.best_val = val
            self.best[:] = flow.get_params()
            hist.best_epoch, hist.best_val_nll = epoch, val
            if self.checkpoint is not None:
                flow.metadata["checkpoint"] = {"epoch": epoch, "val_nll": val}
                flow.save(self.checkpoint)
            return True
        return False

    def fail(self, what: str) -> NoReturn:
        """Restore the best parameters and raise: a non-finite ``what`` in the coming epoch."""
        self.flow._set_params(self.best)
        raise FloatingPointError(
            f"training diverged: non-finite {what} at epoch {self.hist.epochs + 1}; the flow holds "
            "its best parameters so far (lower lr or max_grad_norm)"
        )


def _run_adam(run: _Run, s: _AdamSettings) -> None:
    flow, hist, gen = run.flow, run.hist, run.gen
    opt = _Adam(flow.n_params, s.lr, s.weight_decay)
    theta = flow.get_params()  # Adam's iterate, handed to the flow after each step
    N = run.X.shape[0]
    n_batches = N // s.batch_size
    step_time = 0.0
    for epoch in range(1, s.epochs + 1):
        data = _dequantize(run.X, levels=run.levels, rng=gen) if run.levels else run.X_fixed
        order = gen.permutation(N)
        total = 0.0
        ts = time.perf_counter()
        for b in range(n_batches):
            batch = data[order[b * s.batch_size : (b + 1) * s.batch_size]]
            with np.errstate(all="ignore"):  # a non-finite step is detected just below
                nll, grad = flow._nll_and_grad(batch)
                gnorm = math.sqrt(float(grad @ grad))
            if not (math.isfinite(nll) and math.isfinite(gnorm)):
                run.fail("loss" if not math.isfinite(nll) else "gradient")
            if s.max_grad_norm is not None and gnorm > s.max_grad_norm:
                grad *= s.max_grad_norm / gnorm
            opt.step(theta, grad, s.lr)
            flow._set_params(theta)
            total += nll
        step_time += time.perf_counter() - ts
        hist.epochs = epoch
        hist.train_nll.append(total / n_batches)
        hist.samples_per_second = epoch * n_batches * s.batch_size / step_time
        run.end_epoch(epoch)
        if run.patience_exhausted(s.patience):
            hist.stopped_early = True
            hist.message = f"no validation improvement for {s.patience} epochs"
            return
    hist.message = f"reached epochs = {s.epochs}"


def _run_lbfgs(run: _Run, s: _LbfgsSettings) -> None:
    from scipy.optimize import minimize

    flow, hist, X = run.flow, run.hist, run.X_fixed

    def fun(th):
        flow._set_params(th)
        with np.errstate(all="ignore"):  # a non-finite value is detected just below
            nll, grad = flow._nll_and_grad(X)
        if not (math.isfinite(nll) and np.all(np.isfinite(grad))):
            run.fail("loss or gradient")
        return nll, grad.copy()

    def callback(intermediate_result):
        flow._set_params(intermediate_result.x)
        hist.epochs += 1
        hist.train_nll.append(float(intermediate_result.fun))
        run.end_epoch(hist.epochs)
        if run.patience_exhausted(s.patience):
            hist.stopped_early = True
            raise StopIteration

    res = minimize(
        fun,
        flow.get_params(),
        jac=True,
        method="L-BFGS-B",
        callback=callback,
        options={"maxiter": s.epochs, "gtol": s.gtol, "ftol": 0.0, "maxcor": 20},
    )
    flow._set_params(res.x)
    hist.message = "no validation improvement" if hist.stopped_early else str(res.message)
