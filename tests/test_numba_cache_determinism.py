"""Seeded models give bit-identical predictions whether numba compiled their kernels in this
process (a cold cache) or loaded them from the on-disk cache (a warm one).

Each numba model family is fitted twice in a subprocess with the same fresh
``NUMBA_CACHE_DIR``: the first run compiles everything and writes the cache, the second
loads it. A kernel compiled with fast-math flags under ``parallel=True`` failed this (explicit
ALS, about 1e-9 RMSE; issue 22): numba runs the ``prange`` body compiled on its own in the
compiling process, but caches the copy optimised again inside the calling function.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

#: One fit + predict per spec; small data and few epochs, every solver path of a family.
FAMILIES = {
    "als": [
        "als n_iterations=3",
        "als n_iterations=3 solver=cholesky",
        "als n_iterations=3 method=vb",
        "als n_iterations=3 method=vb vb_user_covariance=diagonal",
        "ials n_iterations=3",
        "ials n_iterations=3 solver=cholesky",
        "ials n_iterations=3 reg_exponent=0",
        "ials n_iterations=3 reg_exponent=0 n_factors=16",  # fast-math CG differed here
        "ials n_iterations=3 n_factors=37",
    ],
    "sgd": [
        "sgd n_epochs=3",
        "svdpp n_epochs=3",
        "timesvdpp n_epochs=3",
        "kernel-mf n_epochs=3 kernel=rbf",
        "kernel-mf n_epochs=3 kernel=sigmoid",
    ],
    "baselines": [
        "biases", "biases method=sgd n_epochs=3", "knnbaseline", "knnbaseline user_based=true",
        "slope-one",
    ],
    "nmf": ["nmf max_iter=20", "nmf-observed n_epochs=3", "nmf-observed n_epochs=3 solver=mu"],
    "example": ["item-knn"],
}

#: The child: fits every spec of a family, prints a digest of its predictions and lists.
CHILD = r"""
import hashlib, json, sys
import numpy as np
from workbench import api

explicit = api.load_dataset("synthetic n_users=120 n_items=90 n_interactions=2500 seed=5")
implicit = api.load_dataset(
    "synthetic n_users=120 n_items=90 n_interactions=2500 seed=5 kind=implicit"
)
out = {}
for spec in json.loads(sys.argv[1]):
    name, *pairs = spec.split()
    params = dict(p.split("=", 1) for p in pairs)
    model = api.make_model(name, **params)
    data = explicit if "explicit" in model.feedback else implicit
    model.fit(data)
    users = np.repeat(np.arange(data.n_users), data.n_items).astype(np.int64)
    items = np.tile(np.arange(data.n_items), data.n_users).astype(np.int64)
    digest = hashlib.sha256()
    digest.update(np.asarray(model.predict(users, items), dtype=np.float64).tobytes())
    ranked_items, scores = model.recommend(np.arange(data.n_users), 10)
    digest.update(np.asarray(ranked_items, dtype=np.int64).tobytes())
    digest.update(np.asarray(scores, dtype=np.float64).tobytes())
    out[spec] = digest.hexdigest()
print(json.dumps(out))
"""


def _run(specs: list[str], cache_dir: Path) -> dict[str, str]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(specs)],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_cold_and_warm_numba_cache_give_identical_predictions(family: str, tmp_path: Path):
    cache = tmp_path / "numba-cache"
    cold = _run(FAMILIES[family], cache)
    assert any(cache.rglob("*.nbi")), "the cold run wrote no numba cache"
    warm = _run(FAMILIES[family], cache)
    assert warm == cold
