r"""Compiled (numba) kernels of the Monte-Carlo engine; imported lazily by :mod:`lininv._montecarlo`.

Two kinds of kernel live here.

* :func:`fill_normals` draws standard normals from a SFC64 stream with numpy's ziggurat. It is a
  re-implementation of ``numpy.random.Generator(SFC64(seed_seq)).standard_normal`` that produces
  the *same bits* (a test compares them), about three times faster because the generator state
  stays in registers instead of behind numpy's per-number function pointer.
* :func:`fast_errors` is the per-draw error kernel for small problems, where per-call overhead of
  BLAS/LAPACK would dominate; :func:`finish_draw` and :func:`second_stage` are the reductions
  of the BLAS kernel for larger ones, :func:`bound` the accuracy certificate of both. Reductions
  run in a fixed sequential order (no ``fastmath``), so a draw's value never depends on how
  draws are batched.

All functions assume valid input: validation happens at the public edge.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.np.random._constants import (  # numpy's ziggurat tables, as shipped by numba
    fi_double,
    ki_double,
    wi_double,
    ziggurat_nor_inv_r,
    ziggurat_nor_r,
)

__all__ = [
    "fill_normals",
    "fast_errors",
    "finish_draw",
    "bound",
    "first_order",
    "second_stage",
    "FIRST_ORDER_LIMIT",
]

_KI = np.ascontiguousarray(ki_double, dtype=np.uint64)
_WI = np.ascontiguousarray(wi_double, dtype=np.float64)
_FI = np.ascontiguousarray(fi_double, dtype=np.float64)
_R = float(ziggurat_nor_r)
_INV_R = float(ziggurat_nor_inv_r)

_U = float(np.finfo(np.float64).eps) / 2.0  # unit roundoff
#: Largest admissible relative perturbation (n + m + 1) u psi of the Gram matrix by rounding:
#: beyond it first-order analysis is not trusted and the draw goes to the stable kernel.
FIRST_ORDER_LIMIT = 1e-2


@njit(cache=True)
def _normals(state, out, ki, wi, fi, r_tail, inv_r):  # pragma: no cover - compiled
    # SFC64 (Chris Doty-Humphrey), exactly as numpy/random/src/sfc64/sfc64.h; state = (a, b, c, w).
    a = state[0]
    b = state[1]
    c = state[2]
    w = state[3]
    one = np.uint64(1)
    s3 = np.uint64(3)
    s8 = np.uint64(8)
    s11 = np.uint64(11)
    s24 = np.uint64(24)
    s40 = np.uint64(40)
    low8 = np.uint64(0xFF)
    mant = np.uint64(0x000FFFFFFFFFFFFF)
    inv53 = 1.0 / 9007199254740992.0
    size = out.size
    i = 0
    while i < size:
        tmp = a + b + w
        w += one
        a = b ^ (b >> s11)
        b = c + (c << s3)
        c = ((c << s24) | (c >> s40)) + tmp
        # numpy's random_standard_normal (ziggurat, 256 layers)
        idx = tmp & low8
        r = tmp >> s8
        rabs = (r >> one) & mant
        x = float(np.int64(rabs)) * wi[idx]
        if r & one:
            x = -x
        if rabs < ki[idx]:
            out[i] = x
            i += 1
            continue
        while True:  # the rare slow path, consuming further numbers of the same stream
            if idx == 0:
                while True:
                    tmp = a + b + w
                    w += one
                    a = b ^ (b >> s11)
                    b = c + (c << s3)
                    c = ((c << s24) | (c >> s40)) + tmp
                    u1 = float(np.int64(tmp >> s11)) * inv53
                    tmp = a + b + w
                    w += one
                    a = b ^ (b >> s11)
                    b = c + (c << s3)
                    c = ((c << s24) | (c >> s40)) + tmp
                    u2 = float(np.int64(tmp >> s11)) * inv53
                    xx = -inv_r * np.log1p(-u1)
                    yy = -np.log1p(-u2)
                    if yy + yy > xx * xx:
                        if (rabs >> s8) & one:
                            x = -(r_tail + xx)
                        else:
                            x = r_tail + xx
                        break
                break
            tmp = a + b + w
            w += one
            a = b ^ (b >> s11)
            b = c + (c << s3)
            c = ((c << s24) | (c >> s40)) + tmp
            u1 = float(np.int64(tmp >> s11)) * inv53
            if (fi[idx - 1] - fi[idx]) * u1 + fi[idx] < np.exp(-0.5 * x * x):
                break
            tmp = a + b + w  # rejected: start over with a fresh number
            w += one
            a = b ^ (b >> s11)
            b = c + (c << s3)
            c = ((c << s24) | (c >> s40)) + tmp
            idx = tmp & low8
            r = tmp >> s8
            rabs = (r >> one) & mant
            x = float(np.int64(rabs)) * wi[idx]
            if r & one:
                x = -x
            if rabs < ki[idx]:
                break
        out[i] = x
        i += 1
    state[0] = a
    state[1] = b
    state[2] = c
    state[3] = w


def fill_normals(state: np.ndarray, out: np.ndarray) -> None:
    """Fill the contiguous float64 array ``out`` with standard normals, advancing ``state``.

    ``state`` is the ``uint64`` array ``SFC64(seq).state["state"]["state"]`` (modified in place);
    successive calls continue one stream, so splitting a request never changes the numbers.
    """
    _normals(state, out.reshape(-1), _KI, _WI, _FI, _R, _INV_R)


@njit(cache=True)
def bound(n, m, tr_m, t_g, sqrt_psi, sdh, tr_d):  # pragma: no cover - compiled
    """Worst-case first-order error bound of the fast kernel (module ``lininv._montecarlo``).

    ``t_g`` bounds ``tr(M^{-1} W M^{-1})`` and ``sqrt_psi`` bounds ``||L||_F ||L^{-1}||_F``.
    """
    return _U * (2.0 * (n + m + 1) * tr_m * t_g + 4.0 * (m + 1) * sqrt_psi * sdh + (n + 1) * tr_d)


@njit(cache=True)
def first_order(n, m, psi):  # pragma: no cover - compiled
    """Whether the rounding perturbation of the Gram matrix is small enough for first order."""
    return (n + m + 1) * _U * psi <= FIRST_ORDER_LIMIT


@njit(cache=True)
def fast_errors(s, Y, sigma2m, tau, out, ok):  # pragma: no cover - compiled
    """Fast kernel for small ``(n, m)``: Gram, Cholesky, ``L^{-1}`` by rows, leverages.

    ``Y`` has shape (k, n, m) and holds ``s[:, None] * omega`` per draw. Writes the error of draw
    ``j`` to ``out[j]`` and whether its error bound certifies ``tau`` to ``ok[j]``.
    """
    k, n, m = Y.shape
    h = min(m, n)
    d = s * s
    tr_d = 0.0
    for i in range(n - 1, -1, -1):
        tr_d += d[i]
    M = np.empty((m, m))
    LiT = np.empty((m, m))  # LiT[b, a] = (L^{-1})[a, b]
    z = np.empty(m)
    Zh = np.empty((h, m))  # L^{-1} y_i of the first h rows, for the second-stage bound
    for j in range(k):
        M[:, :] = 0.0
        for i in range(n):
            for a in range(m):
                ya = Y[j, i, a]
                for b in range(m):
                    M[a, b] += ya * Y[j, i, b]
        tr_m = 0.0
        for a in range(m):
            M[a, a] += sigma2m
            tr_m += M[a, a]
        good = True
        for a in range(m):  # Cholesky, lower triangle of M overwritten by L
            for b in range(a):
                t = M[a, b]
                for c in range(b):
                    t -= M[a, c] * M[b, c]
                M[a, b] = t / M[b, b]
            t = M[a, a]
            for c in range(a):
                t -= M[a, c] * M[a, c]
            if not t > 0.0:
                good = False
                break
            M[a, a] = np.sqrt(t)
        if not good:
            out[j] = np.nan
            ok[j] = False
            continue
        # Rows of L^{-1} by substitution, x_a^T L = e_a^T: each row has a small componentwise
        # backward error, whence the left-residual bound |X L - I| <= gamma_m |X| |L|.
        fro = 0.0
        fro_l = 0.0
        for a in range(m):
            for b in range(a + 1, m):
                LiT[b, a] = 0.0
            LiT[a, a] = 1.0 / M[a, a]
            for b in range(a - 1, -1, -1):
                t = 0.0
                for c in range(b + 1, a + 1):
                    t += LiT[c, a] * M[c, b]
                LiT[b, a] = -t / M[b, b]
            for b in range(a + 1):
                fro += LiT[b, a] * LiT[b, a]
                fro_l += M[a, b] * M[a, b]
        err = 0.0
        sdh = 0.0
        for i in range(n - 1, -1, -1):  # smallest terms first
            for a in range(m):
                z[a] = 0.0
            for b in range(m):
                yb = Y[j, i, b]
                for a in range(m):
                    z[a] += LiT[b, a] * yb
            hi = 0.0
            for a in range(m):
                hi += z[a] * z[a]
            if i < h:
                for a in range(m):
                    Zh[i, a] = z[a]
            err += d[i] * (1.0 - hi)
            sdh += d[i] * hi
        out[j] = err
        if not first_order(n, m, tr_m * fro):
            ok[j] = False
            continue
        sqrt_psi = np.sqrt(fro_l * fro)
        beta = bound(n, m, tr_m, fro * sdh, sqrt_psi, sdh, tr_d)
        if beta <= tau * (err - beta):
            ok[j] = True
            continue
        # Second stage: tr(M^{-1} W M^{-1}) <= ||L^{-T} L^{-1} Y_h^T S_h||_F^2 + d_h tr(M^{-1}),
        # the head rows exactly, the tail through W_tail <= d_h M.
        t_head = 0.0
        for i in range(h):
            for b in range(m):
                t = 0.0
                for a in range(b, m):
                    t += LiT[b, a] * Zh[i, a]
                t_head += d[i] * t * t
        t_g = t_head + (d[h] * fro if h < n else 0.0)
        beta = bound(n, m, tr_m, t_g, sqrt_psi, sdh, tr_d)
        ok[j] = beta <= tau * (err - beta)


@njit(cache=True)
def finish_draw(Zt, Li, diag_m, d, tr_d, tau):  # pragma: no cover - compiled
    """Error of one draw of the BLAS kernel and its first-stage acceptance.

    ``Zt`` has shape (n, m), row ``i`` = ``L^{-1} y_i``; ``Li`` is ``L^{-1}`` (lower triangle
    read); ``diag_m`` the diagonal of the (regularised) Gram matrix. Each ``h_i`` is summed with
    eight interleaved accumulators combined in a fixed order: vectorisable, and the same on every
    call. Returns ``(err, sdh, tr_m, fro, status)``: status 1 accepted, 0 try the second stage,
    -1 outside first-order analysis (use the stable kernel).
    """
    n, m = Zt.shape
    m8 = m - m % 8
    acc = np.empty(8)
    err = 0.0
    sdh = 0.0
    for i in range(n - 1, -1, -1):
        for q in range(8):
            acc[q] = 0.0
        for a in range(0, m8, 8):
            for q in range(8):
                acc[q] += Zt[i, a + q] * Zt[i, a + q]
        hi = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
        for a in range(m8, m):
            hi += Zt[i, a] * Zt[i, a]
        err += d[i] * (1.0 - hi)
        sdh += d[i] * hi
    tr_m = 0.0
    for a in range(m):
        tr_m += diag_m[a]
    fro = 0.0
    for a in range(m):
        for b in range(a + 1):
            fro += Li[a, b] * Li[a, b]
    if not first_order(n, m, tr_m * fro):
        return err, sdh, tr_m, fro, -1
    # ||L||_F^2 = tr(M) up to rounding; a factor 2 covers it.
    beta = bound(n, m, tr_m, fro * sdh, np.sqrt(2.0 * tr_m * fro), sdh, tr_d)
    return err, sdh, tr_m, fro, 1 if beta <= tau * (err - beta) else 0


@njit(cache=True)
def second_stage(n, T, d, tr_m, fro, sdh, tr_d, err, tau):  # pragma: no cover - compiled
    """Second-stage acceptance of the BLAS kernel; ``T = L^{-T} L^{-1} Y_h^T S_h``, shape (m, h)."""
    m, h = T.shape
    t_head = 0.0
    for i in range(h):
        for a in range(m):
            t_head += T[a, i] * T[a, i]
    t_g = t_head + (d[h] * fro if h < n else 0.0)
    beta = bound(n, m, tr_m, t_g, np.sqrt(2.0 * tr_m * fro), sdh, tr_d)
    return beta <= tau * (err - beta)
