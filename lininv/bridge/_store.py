"""Progress of long runs: one JSON file per finished cell, written atomically, so a rerun resumes."""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any

import numpy as np

from lininv._io import atomic_write

__all__ = ["CellStore", "seed_entropy", "cell_rng", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Numpy arrays and scalars to lists and Python scalars, recursively; non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


class CellStore:
    """A folder of finished cells for one set of parameters.

    Parameters
    ----------
    folder : path-like
        Where the cells live. Created if missing.
    params : dict
        JSON-serialisable parameters of the run. They are written to ``params.json``; opening a
        folder that holds cells of *other* parameters raises ``ValueError`` instead of mixing them.

    Examples
    --------
    >>> import tempfile
    >>> from lininv.bridge._store import CellStore
    >>> with tempfile.TemporaryDirectory() as d:
    ...     store = CellStore(d, {"seed": 0})
    ...     store.put("m=8", {"error": 1.5})
    ...     CellStore(d, {"seed": 0}).get("m=8")
    {'error': 1.5}
    """

    def __init__(self, folder: Any, params: dict[str, Any]) -> None:
        self.folder = os.fspath(folder)
        self.params = to_jsonable(params)
        text = json.dumps(self.params, sort_keys=True)
        self.fingerprint = hashlib.sha256(text.encode()).hexdigest()[:16]
        os.makedirs(self.folder, exist_ok=True)
        path = os.path.join(self.folder, "params.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                old = json.load(fh)
            if json.dumps(old, sort_keys=True) != text:
                raise ValueError(
                    f"the folder {self.folder!r} holds cells of a run with other parameters; "
                    "use another output folder or delete it to start afresh "
                    f"(stored {old}, requested {self.params})"
                )
        else:
            atomic_write(path, json.dumps(self.params, indent=1, sort_keys=True))

    def _path(self, key: str) -> str:
        safe = re.sub(r"[^A-Za-z0-9_.=+-]", "_", key)
        return os.path.join(self.folder, f"cell-{safe}.json")

    def get(self, key: str) -> Any:
        """The stored value of a finished cell, or None."""
        path = self._path(key)
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)

    def put(self, key: str, value: Any) -> None:
        """Store a finished cell (atomic write)."""
        atomic_write(self._path(key), json.dumps(to_jsonable(value)))

    def keys(self) -> list[str]:
        """Keys of the finished cells (as file-name-safe strings)."""
        return sorted(
            f[len("cell-") : -len(".json")]
            for f in os.listdir(self.folder)
            if f.startswith("cell-") and f.endswith(".json")
        )


def seed_entropy(rng: Any) -> int:
    """An integer seed from ``rng``: the int itself, or one draw from a Generator / SeedSequence."""
    from lininv._validation import check_rng

    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return int(rng)
    return int(check_rng(rng).integers(0, 2**63 - 1))


def cell_rng(entropy: int, *key: int) -> np.random.Generator:
    """The generator of one cell: ``SeedSequence(entropy, spawn_key=key)``.

    Each cell's randomness depends only on the run's seed and the cell's own key, so results do
    not depend on which other cells are run, in what order, or whether the run was resumed.
    """
    return np.random.default_rng(
        np.random.SeedSequence(entropy, spawn_key=tuple(int(k) for k in key))
    )
