"""The PyTorch peer of lininv's 28x28 Glow: the same flow, trained the same way, and their speeds.

Run from the repository root (torch is a benchmark-only dependency: ``pip install lininv[bench]``)::

    python benchmarks/flow28_torch.py check        # the peer computes lininv's log-density
    python benchmarks/flow28_torch.py train        # train the peer with the shipped recipe
    python benchmarks/flow28.py                    # training samples/s, ours vs the peer

The peer is written the way a PyTorch user would write Glow: NCHW tensors, ``F.conv2d`` for the
3x3 and 1x1 convolutions, channel splits by slicing, squeezes by ``reshape``/``permute``,
autograd for the gradients, ``torch.optim.AdamW`` and ``clip_grad_norm_``. It is built from a
lininv flow of :func:`lininv.flows.glow` and copies its parameters, so the two start from the
same point (including the data-dependent ActNorm initialisation), and ``check`` verifies that
the two log-densities agree to rounding before anything is compared.

``train`` runs the recipe of ``lininv/data/mnist28_flow.npz`` (:func:`lininv.flows.mnist28_recipe`)
on the peer with the data stream of :func:`lininv.flows.fit`: the same numpy generator, seeded
alike, draws the dequantisation noise and the minibatch order, so ours and the peer see the same
minibatches in the same order; they differ only in rounding (and in how rounding changes the
optimisation path). It prints train / validation / test bits/dim, computed by lininv from the
peer's parameters copied back, beside the shipped flow's.

``benchmarks/flow28.py`` compares the two's training throughput.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lininv import datasets, flows, provenance
from lininv.flows import (
    ActNorm,
    ChannelActNorm,
    Conv1x1,
    ConvAffineCoupling,
    Factor,
    Logit,
    Permutation,
)

DTYPE = torch.float64


def _plain(value):
    """JSON for numpy scalars and arrays (their Python equivalents)."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def _t(a) -> torch.Tensor:
    return torch.tensor(np.array(a), dtype=DTYPE)


class TLogit(nn.Module):
    def __init__(self, b: Logit):
        super().__init__()
        self.alpha = b.alpha

    def inverse(self, x):  # x: (k, C, H, W) or any shape
        a = self.alpha
        q = a + (1.0 - 2.0 * a) * x
        lq, l1q = torch.log(q), torch.log1p(-q)
        ld = x[0].numel() * math.log1p(-2.0 * a) - (lq + l1q).flatten(1).sum(1)
        return lq - l1q, ld


def squeeze(x):
    """(k, C, H, W) -> (k, 4C, H/2, W/2), channel (2a + b) C + c <- pixel (2y + a, 2x + b)."""
    k, C, H, W = x.shape
    x = x.reshape(k, C, H // 2, 2, W // 2, 2).permute(0, 3, 5, 1, 2, 4)
    return x.reshape(k, 4 * C, H // 2, W // 2)


class TActNorm(nn.Module):
    def __init__(self, b: ChannelActNorm):
        super().__init__()
        self.log_scale = nn.Parameter(_t(b.params["log_scale"]))
        self.bias = nn.Parameter(_t(b.params["bias"]))

    def inverse(self, x):
        z = (x - self.bias[:, None, None]) * torch.exp(-self.log_scale)[:, None, None]
        return z, -(x.shape[2] * x.shape[3]) * self.log_scale.sum().expand(x.shape[0])


class TPixelActNorm(nn.Module):
    """:class:`lininv.flows.ActNorm` on an image: a scale and a bias per pixel and channel."""

    def __init__(self, b: ActNorm):
        super().__init__()
        self.log_scale = nn.Parameter(_t(b.params["log_scale"]))  # flat, channel-last
        self.bias = nn.Parameter(_t(b.params["bias"]))

    def inverse(self, x):
        k, C, H, W = x.shape
        a = self.log_scale.view(H, W, C).permute(2, 0, 1)
        z = (x - self.bias.view(H, W, C).permute(2, 0, 1)) * torch.exp(-a)
        return z, -self.log_scale.sum().expand(k)


class TConv1x1(nn.Module):
    def __init__(self, b: Conv1x1):
        super().__init__()
        L, U = b.factors()
        self.L, self.U = nn.Parameter(_t(L)), nn.Parameter(_t(U))  # strict triangles used
        self.log_diag = nn.Parameter(_t(b.params["log_diag"]))
        self.register_buffer("sign", _t(b.sign))
        self.register_buffer("perm", torch.tensor(b.perm))
        self.register_buffer("eye", torch.eye(b.shape[2], dtype=DTYPE))

    def inverse(self, x):
        L = torch.tril(self.L, -1) + self.eye
        U = torch.triu(self.U, 1) + torch.diag(self.sign * torch.exp(self.log_diag))
        Linv = torch.linalg.solve_triangular(L, self.eye, upper=False, unitriangular=True)
        A = torch.linalg.solve_triangular(U, Linv, upper=True)[:, self.perm]  # W^-1
        z = F.conv2d(x, A[:, :, None, None])
        return z, -(x.shape[2] * x.shape[3]) * self.log_diag.sum().expand(x.shape[0])


class TCoupling(nn.Module):
    def __init__(self, b: ConvAffineCoupling):
        super().__init__()
        p, h, ct, cc = b.params, b.hidden, b._ct, b._cc
        self.trans, self.cond, self.ct, self.c = b._trans, b._cond, ct, b.clamp
        self.w1 = nn.Parameter(_t(p["W1"].reshape(3, 3, cc, h).transpose(3, 2, 0, 1)))
        self.b1 = nn.Parameter(_t(p["b1"]))
        self.w2 = nn.Parameter(_t(p["W2"].T[:, :, None, None]))
        self.b2 = nn.Parameter(_t(p["b2"]))
        self.w3 = nn.Parameter(_t(p["W3"].reshape(h, 3, 3, 2 * ct).transpose(3, 0, 1, 2)))
        self.b3 = nn.Parameter(_t(p["b3"]))
        self.act = {"relu": F.relu, "tanh": torch.tanh, "elu": F.elu}[b.activation]

    def inverse(self, x):
        cond = x[:, self.cond]
        h = self.act(F.conv2d(cond, self.w1, self.b1, padding=1))
        h = self.act(F.conv2d(h, self.w2, self.b2))
        o = F.conv2d(h, self.w3, self.b3, padding=1)
        s = self.c * torch.tanh(o[:, : self.ct] / self.c)
        z1 = (x[:, self.trans] - o[:, self.ct :]) * torch.exp(-s)
        parts = (cond, z1) if self.trans.start > 0 else (z1, cond)
        return torch.cat(parts, dim=1), -s.flatten(1).sum(1)

    def to_numpy(self) -> dict[str, np.ndarray]:
        h = self.w1.shape[0]
        d = {k: v.detach().numpy() for k, v in self.named_parameters()}
        return {
            "W1": d["w1"].transpose(2, 3, 1, 0).reshape(-1, h),
            "b1": d["b1"],
            "W2": d["w2"][:, :, 0, 0].T,
            "b2": d["b2"],
            "W3": d["w3"].transpose(1, 2, 3, 0).reshape(h, -1),
            "b3": d["b3"],
        }


class TLevel(nn.Module):
    """One level of the Glow (its steps, signal to latent) and the levels after it."""

    def __init__(self, layers_latent_to_signal, squeeze_first: bool):
        super().__init__()
        self.squeeze_first = squeeze_first
        steps, self.next, self.keep, self.squeeze_next = [], None, 0, False
        for b in reversed(layers_latent_to_signal):  # signal-to-latent order
            if isinstance(b, ChannelActNorm):
                steps.append(TActNorm(b))
            elif isinstance(b, ActNorm):
                steps.append(TPixelActNorm(b))
            elif isinstance(b, Conv1x1):
                steps.append(TConv1x1(b))
            elif isinstance(b, ConvAffineCoupling):
                steps.append(TCoupling(b))
                shape = b.shape
            elif isinstance(b, Permutation):  # the split: keep C // 2 channels, squeezed or not
                self.keep = shape[2] // 2
            elif isinstance(b, Factor):
                first = next(c for c in reversed(b.inner.bijectors) if hasattr(c, "shape"))
                self.squeeze_next = first.shape[:2] != shape[:2]
                self.next = TLevel(b.inner.bijectors, False)
            else:
                raise TypeError(f"no peer for {type(b).__name__}")
        self.steps = nn.ModuleList(steps)

    def inverse(self, x):
        """Latent parts (flattened) and the log-determinant."""
        ld = torch.zeros(x.shape[0], dtype=x.dtype)
        for m in self.steps:
            x, l_ = m.inverse(x)
            ld = ld + l_
        if self.next is None:
            return [x.flatten(1)], ld
        kept, out = x[:, : self.keep], x[:, self.keep :]
        parts, l_ = self.next.inverse(squeeze(kept) if self.squeeze_next else kept)
        return [out.flatten(1), *parts], ld + l_


class TGlow(nn.Module):
    """The peer of a :func:`lininv.flows.glow` flow (parameters copied from it)."""

    def __init__(self, flow: flows.Flow, image_shape=(28, 28, 1)):
        super().__init__()
        layers = list(flow.bijectors)
        self.logit = TLogit(layers.pop()) if isinstance(layers[-1], Logit) else None
        self.squeeze_first = isinstance(layers[-1], Permutation)
        if self.squeeze_first:
            layers.pop()
        self.levels = TLevel(layers, False)
        self.H, self.W, self.C = image_shape
        self.n = flow.n

    def log_prob(self, x):
        """x: (k, n) rows as lininv takes them (channel-last flat images)."""
        x = x.reshape(-1, self.H, self.W, self.C).permute(0, 3, 1, 2)
        ld = torch.zeros(x.shape[0], dtype=x.dtype)
        if self.logit is not None:
            x, ld = self.logit.inverse(x)
        if self.squeeze_first:
            x = squeeze(x)
        parts, l_ = self.levels.inverse(x)
        sq = sum((p * p).sum(1) for p in parts)
        return -0.5 * sq - 0.5 * self.n * math.log(2 * math.pi) + ld + l_

    def copy_to(self, flow: flows.Flow) -> None:
        """Write the peer's parameters into the lininv flow of the same architecture."""

        def walk(level: TLevel, layers):
            mods = iter(level.steps)
            for b in reversed(layers):
                if isinstance(b, Factor):
                    walk(level.next, b.inner.bijectors)
                elif isinstance(b, Permutation):
                    continue
                else:
                    m = next(mods)
                    if isinstance(b, (ChannelActNorm, ActNorm)):
                        b.params["log_scale"][:] = m.log_scale.detach().numpy()
                        b.params["bias"][:] = m.bias.detach().numpy()
                    elif isinstance(b, Conv1x1):
                        L, U = m.L.detach().numpy(), m.U.detach().numpy()
                        b.params["lower"][:] = L[b._il]
                        b.params["upper"][:] = U[b._iu]
                        b.params["log_diag"][:] = m.log_diag.detach().numpy()
                    else:
                        for k, v in m.to_numpy().items():
                            b.params[k][:] = v

        layers = list(flow.bijectors)
        layers = [b for b in layers if not isinstance(b, Logit)]
        if self.squeeze_first:
            layers.pop()
        walk(self.levels, layers)


# -- the recipe's data stream and training loop ----------------------------------------------------


def peer_train(model: TGlow, X, X_val, recipe: dict, *, log=print, on_epoch=None) -> dict:
    """:func:`lininv.flows.fit`'s Adam loop, in torch, on the same data stream (module docstring).

    ``on_epoch(epoch, history, samples_per_second)`` is called after each epoch's validation.
    """
    from lininv.flows._training import _criterion  # white-box: fit()'s early-stopping criterion

    t = recipe["training"]
    levels = recipe["data"]["levels"]
    gen = np.random.default_rng(t["seed"])
    V = datasets.dequantize(X_val, levels=levels, rng=gen)
    datasets.dequantize(X, levels=levels, rng=gen)  # fit's fixed draw (ActNorm init), unused here
    opt = torch.optim.AdamW(
        model.parameters(), lr=t["lr"], weight_decay=t["weight_decay"], betas=(0.9, 0.999), eps=1e-8
    )
    Vt = torch.tensor(V, dtype=DTYPE)

    def val_nll():
        with torch.no_grad():
            nll = -torch.cat([model.log_prob(Vt[i : i + 500]) for i in range(0, len(Vt), 500)])
        return _criterion(nll.numpy(), t["val_trim"])

    best, best_state, since, best_epoch = val_nll(), None, 0, 0
    N, bs = X.shape[0], t["batch_size"]
    step_time, hist = 0.0, []
    for epoch in range(1, t["epochs"] + 1):
        data = torch.tensor(datasets.dequantize(X, levels=levels, rng=gen), dtype=DTYPE)
        order = gen.permutation(N)
        ts = time.perf_counter()
        total = 0.0
        for b in range(N // bs):
            batch = data[order[b * bs : (b + 1) * bs]]
            opt.zero_grad()
            loss = -model.log_prob(batch).mean()
            loss.backward()
            if t["max_grad_norm"] is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), t["max_grad_norm"])
            opt.step()
            total += loss.item()
        step_time += time.perf_counter() - ts
        v = val_nll()
        hist.append((total / (N // bs), v))
        log(f"epoch {epoch}: train {total / (N // bs):.2f} val {v:.2f} nats")
        if on_epoch is not None:
            on_epoch(epoch, hist, epoch * (N // bs) * bs / step_time)
        if v < best:
            best, since, best_epoch = v, 0, epoch
            best_state = {k: x.clone() for k, x in model.state_dict().items()}
        else:
            since += 1
            if t["patience"] is not None and since >= t["patience"]:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    return {
        "epochs_run": epoch,
        "best_epoch": best_epoch,
        "samples_per_second": epoch * (N // bs) * bs / step_time,
        "history": hist,
    }


# -- commands --------------------------------------------------------------------------------------


def _shipped_recipe(args) -> dict:
    over = {"training": {"epochs": args.epochs}} if getattr(args, "epochs", None) else {}
    return flows.mnist28_recipe(**over) if over else flows.mnist28_recipe()


def recipe_split(recipe: dict):
    """The recipe's split of the 28x28 digits (:func:`lininv.datasets.split_mnist28`)."""
    d = recipe["data"]
    return datasets.split_mnist28(
        val_per_class=d["val_per_class"], test_per_class=d["test_per_class"], rng=d["split_seed"]
    )


def recipe_flow(recipe: dict) -> flows.Flow:
    """The recipe's untrained flow (:func:`lininv.flows.glow`)."""
    a = dict(recipe["architecture"])
    assert a.pop("builder") == "glow"
    seed = a.pop("seed")
    return flows.glow(**{**a, "shape": tuple(a["shape"])}, rng=seed)


def _started_flow(recipe: dict, split) -> flows.Flow:
    """The recipe's flow after fit's data-dependent initialisation (ActNorms set from data)."""
    flow = recipe_flow(recipe)
    d = recipe["data"]
    gen = np.random.default_rng(recipe["training"]["seed"])
    datasets.dequantize(split.X_val, levels=d["levels"], rng=gen)  # fit's draws, in fit's order
    X_fixed = datasets.dequantize(split.X_train, levels=d["levels"], rng=gen)
    flow.initialize(X_fixed)
    return flow


def _command() -> str:
    return shlex.join(["python", "benchmarks/flow28_torch.py", *sys.argv[1:]])


def cmd_check(args) -> None:
    recipe = _shipped_recipe(args)
    split = flows.pretrained_flow("mnist28").split if args.shipped else None
    if split is None:
        split = recipe_split(recipe)
    flow = flows.pretrained_flow("mnist28").flow if args.shipped else _started_flow(recipe, split)
    rng = np.random.default_rng(0)
    if not args.shipped:  # move away from the start, where every coupling is the identity
        flow.set_params(flow.get_params() + 1e-3 * rng.standard_normal(flow.n_params))
    U = datasets.dequantize(split.X_test[:100], levels=256, rng=1)
    model = TGlow(flow)
    with torch.no_grad():
        lp_t = model.log_prob(torch.tensor(U)).numpy()
    lp_n = flow.log_prob(U)
    nll, g_n = flow.nll_and_grad(U)
    model.zero_grad()
    (-model.log_prob(torch.tensor(U)).mean()).backward()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.grad)
    back = flow.copy()
    model.copy_to(back)
    g_t = back.get_params()
    rel_lp = np.max(np.abs(lp_t - lp_n)) / np.max(np.abs(lp_n))
    rel_g = np.max(np.abs(g_t - g_n)) / np.max(np.abs(g_n))
    print(
        f"log_prob: max |torch - lininv| / max |log_prob| = {rel_lp:.1e}; gradient of the mean "
        f"NLL: max |torch - lininv| / max |gradient| = {rel_g:.1e} ({flow.n_params} parameters)"
    )
    # both far below what one step of float64 rounding per layer allows (~1e-13 here)
    assert rel_lp < 1e-9 and rel_g < 1e-9, "the peer does not compute lininv's flow"


def cmd_train(args) -> None:
    from lininv.flows import evaluate_bits_per_dim

    recipe = _shipped_recipe(args)
    torch.set_num_threads(args.threads) if args.threads else None
    split = recipe_split(recipe)
    flow = _started_flow(recipe, split)
    model = TGlow(flow)
    n, levels = split.X_train.shape[1], recipe["data"]["levels"]
    record = {
        "what": "the PyTorch peer of lininv/data/mnist28_flow.npz trained with its recipe",
        "recipe": recipe,
        "torch_threads": torch.get_num_threads(),
        "dtype": str(DTYPE),
        "provenance": provenance(seed=recipe["training"]["seed"], command=_command()),
    }

    def on_epoch(epoch, hist, rate):  # the curve so far, so that a cut-off run leaves its data
        record["epochs_done"] = epoch
        record["train_bits_per_dim"] = [datasets.bits_per_dim(h[0], n, levels=levels) for h in hist]
        record["val_bits_per_dim"] = [datasets.bits_per_dim(h[1], n, levels=levels) for h in hist]
        record["samples_per_second"] = rate
        if args.results:
            Path(args.results).write_text(json.dumps(record, indent=1, default=_plain) + "\n")

    t0 = time.perf_counter()
    summary = peer_train(model, split.X_train, split.X_val, recipe, on_epoch=on_epoch)
    seconds = time.perf_counter() - t0
    model.copy_to(flow)
    ours = evaluate_bits_per_dim(flow, split, recipe)
    record.update(
        epochs_run=summary["epochs_run"],
        best_epoch=summary["best_epoch"],
        seconds=seconds,
        bits_per_dim=ours,
        finished=True,
    )
    if args.results:
        Path(args.results).write_text(json.dumps(record, indent=1, default=_plain) + "\n")
    print(
        f"peer ({torch.get_num_threads()} threads): {summary['epochs_run']} epochs in "
        f"{seconds:.0f} s ({summary['samples_per_second']:.0f} samples/s), best epoch "
        f"{summary['best_epoch']}"
    )
    print(
        "peer bits/dim: "
        + ", ".join(f"{k} {v:.4f}" for k, v in ours.items())
        + " (lininv's evaluation of the peer's parameters)"
    )
    try:
        shipped = flows.pretrained_flow("mnist28").flow.metadata["results"]
        print(
            "shipped lininv flow: "
            + ", ".join(f"{k} {shipped[f'{k}_bits_per_dim']:.4f}" for k in ("train", "val", "test"))
            + "; linear Gaussian: "
            + ", ".join(
                f"{k} {shipped[f'linear_gaussian_{k}_bits_per_dim']:.4f}"
                for k in ("train", "val", "test")
            )
        )
    except (FileNotFoundError, KeyError):
        pass
    if args.output:
        flow.metadata["peer"] = {"summary": summary, "bits_per_dim": ours, "seconds": seconds}
        flow.save(args.output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="the peer computes lininv's log-density and gradient")
    p.add_argument("--shipped", action="store_true", help="check the shipped flow's parameters")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("train", help="train the peer with the shipped recipe")
    p.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--output", default=None, help="save the peer's parameters as a lininv flow")
    p.add_argument("--results", default=None, help="JSON of the run (curve, bits/dim, provenance)")
    p.set_defaults(func=cmd_train)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
