"""Seeds and named random streams: results depend on the seed alone.

Three rules, used by every stochastic computation in lininv:

* :func:`seed_from` turns any ``rng=`` argument into one integer that reproduces the run and is
  recorded with its results.
* :func:`stream` gives the generator of one sub-task from the run's seed and the sub-task's key,
  ``SeedSequence(seed, spawn_key=key)``. Keys are the sub-task's own coordinates (a named stream
  constant, an index), never its position in a loop, so a sub-task's numbers do not depend on
  which other sub-tasks run, in what order, on how many workers, or whether the run was resumed.
* :func:`param_seed` derives a seed from real-valued parameters (a spectrum, a noise level) in a
  way that does not depend on their last bits (:func:`parameter_key`), which can differ between
  machines for the same computation.
"""

from __future__ import annotations

import hashlib
import numbers
from typing import Any, cast

import numpy as np

from lininv._validation import check_rng

__all__ = ["seed_from", "stream", "param_seed", "parameter_key"]


def seed_from(rng: Any, name: str = "rng") -> int:
    """An int seed that reproduces a run, from anything :func:`check_rng` accepts.

    ``None`` draws fresh entropy; a non-negative int is used as is; a plain ``SeedSequence(int)``
    gives its entropy; any other ``SeedSequence`` or ``Generator`` gives 128 bits drawn from it.
    """
    if rng is None:
        return int(cast(int, np.random.SeedSequence().entropy))
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)):
        if int(rng) < 0:
            raise ValueError(f"{name} must be a non-negative int seed; got {int(rng)}")
        return int(rng)
    gen = check_rng(rng)
    if (
        isinstance(rng, np.random.SeedSequence)
        and isinstance(rng.entropy, numbers.Integral)
        and rng.spawn_key == ()
        and rng.pool_size == 4
    ):
        return int(rng.entropy)
    return int.from_bytes(gen.bytes(16), "little")


def stream(seed: int, *key: int) -> np.random.Generator:
    """The generator of one sub-task: ``default_rng(SeedSequence(seed, spawn_key=key))``.

    ``key`` is a tuple of non-negative ints: a named stream constant first (an ``IntEnum``
    member, so that code reads ``stream(seed, Stream.TEST_PICK)``), then indices.
    """
    return np.random.default_rng(
        np.random.SeedSequence(int(seed), spawn_key=tuple(int(k) for k in key))
    )


def parameter_key(values: Any) -> bytes:
    """Bytes that identify real parameters to single precision, the same on every machine.

    Each value ``v = f 2^e`` (:func:`numpy.frexp`, exact) is keyed by ``(rint(f 2^24), e)``: its
    24 leading bits, as a float32 would keep them, but with the full double exponent range.
    Every operation is exact, so the key does not depend on the CPU, the BLAS or the library
    versions. Values that differ only in their last bits, as the same spectrum computed with
    another CPU's vectorised ``pow`` does (numpy's AVX-512 and AVX2 kernels round differently),
    get the same key unless they straddle a 24-bit rounding boundary (probability about
    ``2^-28`` per value and last-bit difference). A value that rounds up to the next power of
    two gets that power's key (``0.5 (1 - 2^-53)`` and ``0.5`` are one key), and ``-0.0`` and
    ``0.0`` get the same key.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    mantissa, exponent = np.frexp(v)  # 0.5 <= |mantissa| < 1
    leading = np.rint(mantissa * 2.0**24).astype("<i8")  # 2^23 <= |leading| <= 2^24: exact
    carry = np.abs(leading) == 2**24  # rounded up to the next binade: the key of 2^e
    leading[carry] //= 2
    exponent = exponent + carry
    return leading.tobytes() + exponent.astype("<i4").tobytes()


def param_seed(namespace: str, seed: int, *values: Any) -> int:
    """A 64-bit seed hashed from a namespace, a run seed and parameters (not positions).

    Integers and strings enter exactly; real numbers and arrays through :func:`parameter_key`,
    so parameters equal up to their last bits give the same seed on every machine.
    """
    h = hashlib.sha256()
    h.update(f"{namespace}|{int(seed)}|".encode())
    for v in values:
        if isinstance(v, str):
            h.update(f"s{len(v)}:{v}|".encode())
        elif isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)):
            h.update(f"i{int(v)}|".encode())
        else:
            h.update(b"r" + parameter_key(v) + b"|")
    return int.from_bytes(h.digest()[:8], "little")
