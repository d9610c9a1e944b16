"""Model files saved before the model tier moved to declared scorers and session/device
providers (tests/fixtures/data/models, made by its make_models.py with main at 18fca28)
load without Spark or a GPU and give the predictions and top-3 they gave when saved."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from workbench.storage import load_model

HERE = Path(__file__).parent / "fixtures" / "data" / "models"
EXPECTED = json.loads((HERE / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_file_saved_before_loads_and_scores_the_same(name):
    if name.startswith("torch"):
        pytest.importorskip("torch")
    model = load_model(HERE / f"{name}.npz")
    u, i = (a.ravel() for a in np.meshgrid(np.arange(5), np.arange(5)))
    want = np.asarray(EXPECTED[name]["predict"])
    got = model.predict(u, i).astype(float)
    if name.startswith("torch"):  # the network's float32 sums, on whatever BLAS is here
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    else:
        np.testing.assert_array_equal(got, want)
    top3 = model.recommend(np.arange(5), 3)[0]
    np.testing.assert_array_equal(top3, np.asarray(EXPECTED[name]["top3"]))


#: Non-negative fold-ins now solve exactly (one solver, `nonnegative_solve`); before, NMF
#: stopped scikit-learn's coordinate descent at its tolerance and the others solved exactly.
NONNEGATIVE = ["nmf", "nmf-observed", "spark-als-nonnegative", "spark-als-implicit-nonnegative"]


@pytest.mark.parametrize("name", NONNEGATIVE)
def test_the_nonnegative_fold_in_gives_what_it_gave_before(name):
    from workbench.testing import low_rank_ratings

    model = load_model(HERE / f"{name}.npz")
    data = low_rank_ratings(n_users=20, n_items=15, seed=1)
    got = model.fold_in(data.subset(data.user < 8)).state["factors"]
    want = np.asarray(EXPECTED[name]["fold_in"])
    assert (got >= 0).all()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
