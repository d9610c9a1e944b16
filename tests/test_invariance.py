"""Invariance of every built-in model's scores (the registry's list, tiny data, few epochs):

- the ranking block size (``rank_blocks``/``iter_score_blocks`` batch sizes, and the
  evaluation's block of users) does not change any top-k list or score;
- the order the users are asked in does not change any user's list or prediction;
- ``--jobs 1`` and ``--jobs 2`` give the same per-user results;
- the same table read from CSV or from Parquet gives the same scores;
- relabelled ids: ids renamed without changing their sort order (ints to zero-padded
  strings, a shift) give bit-identical scores for every model; a relabelling that shuffles
  the items' order gives the same scores (to 1e-9) for every model without a ``seed``
  (a seeded model draws its initial factors in index order, so its fit legitimately changes).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.plugins import get_registry

N_USERS, N_ITEMS, N_RATINGS = 40, 30, 600
K = 5
F32 = 1e-6  # relative to the largest score: a few float32 ulps
#: training-length parameters shortened for the test (the rest stay at their defaults)
SHORT = {
    "n_epochs": 3, "n_iterations": 3, "max_iter": 20, "bias_iterations": 3,
    "n_factors": 4, "n_components": 4, "hidden": [8],
}  # fmt: skip


def _model_names(*, spark: bool = True) -> list[str]:
    """The registry's models; spark-als (a JVM session: minutes on a loaded machine) only
    where ``spark`` (the block-size and user-order test) and Java is present."""
    names = get_registry().names("model")
    return [n for n in names if n != "spark-als" or (spark and shutil.which("java"))]


def _spec(name: str) -> dict[str, Any]:
    cls = get_registry().entry("model", name).obj
    fields = cls.Params.model_fields
    return {k: v for k, v in SHORT.items() if k in fields}


def _seeded(name: str) -> bool:
    return "seed" in get_registry().entry("model", name).obj.Params.model_fields


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(24)
    pairs = rng.choice(N_USERS * N_ITEMS, N_RATINGS, replace=False)
    users, items = pairs // N_ITEMS, pairs % N_ITEMS
    users[:N_USERS], items[:N_ITEMS] = np.arange(N_USERS), np.arange(N_ITEMS)  # all present
    return pd.DataFrame(
        {
            "user": 3 * users + 11,
            "item": 7 * items + 5,
            "rating": rng.integers(1, 6, N_RATINGS).astype(float),
            "timestamp": 1_000_000 + rng.permutation(N_RATINGS) * 3600,
        }
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("invariance")
    table = _table()
    out = {"csv": root / "ratings.csv", "parquet": root / "ratings.parquet"}
    table.to_csv(out["csv"], index=False)
    table.to_parquet(out["parquet"], index=False)
    users = pd.DataFrame({"user": table.user.unique()})
    users["group"] = np.where(users.user % 2 == 0, "even", "odd")
    out["users"] = root / "users.csv"
    users.to_csv(out["users"], index=False)
    padded = table.assign(
        user=[f"u{x:05d}" for x in table.user], item=[f"i{x:05d}" for x in table.item]
    )
    out["padded"] = root / "padded.csv"
    padded.to_csv(out["padded"], index=False)
    padded_users = users.assign(user=[f"u{x:05d}" for x in users.user])
    out["padded_users"] = root / "padded_users.csv"
    padded_users.to_csv(out["padded_users"], index=False)
    perm = np.random.default_rng(5).permutation(N_ITEMS)  # item id 7i+5 becomes 7 perm[i]+5
    out["shuffled"] = root / "shuffled.csv"
    table.assign(item=7 * perm[(table.item - 5) // 7] + 5).to_csv(out["shuffled"], index=False)
    out["perm"] = root / "perm.npy"
    np.save(out["perm"], perm)
    return out


def _load(path: Path, users: Path, **extra: Any):
    return wb.load_dataset(
        "tabular", path=str(path), user_attributes=str(users), rating_scale="1-5", **extra
    )


@pytest.fixture(scope="module")
def data(files):
    return _load(files["csv"], files["users"])


def _fit(name: str, data) -> Any:
    return wb.make_model(name, **_spec(name)).fit(data)


_FITTED: dict[str, Any] = {}


def _fitted(name: str, data) -> Any:
    if name not in _FITTED:
        _FITTED[name] = _fit(name, data)
    return _FITTED[name]


def _lists(model, users: np.ndarray, batch_size: int | None) -> tuple[np.ndarray, np.ndarray]:
    items, scores = [], []
    for block in model.rank_blocks(users, K, batch_size=batch_size):
        items.append(block.items)
        scores.append(block.scores)
    return np.concatenate(items), np.concatenate(scores)


def _all_scores(model, users: np.ndarray, batch_size: int | None) -> np.ndarray:
    return np.concatenate([s for _, _, s in model.iter_score_blocks(users, batch_size=batch_size)])


def _close(got: np.ndarray, want: np.ndarray, what: str) -> None:
    """Equal up to a few float32 ulps of the largest score (-inf where the other has -inf)."""
    finite = np.isfinite(want)
    np.testing.assert_array_equal(np.isfinite(got), finite, err_msg=what)
    scale = float(np.abs(want[finite]).max()) if finite.any() else 1.0
    np.testing.assert_allclose(got[finite], want[finite], rtol=0, atol=F32 * scale, err_msg=what)


def _pairs(data) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return data.user.astype(np.int64), data.item.astype(np.int64), data.timestamp


@pytest.mark.parametrize("name", _model_names())
def test_block_size_and_user_order(name, data):
    model = _fitted(name, data)
    users = np.arange(data.n_users)
    items, scores = _lists(model, users, None)
    assert items.shape == (data.n_users, K) and (items >= 0).all()
    full = _all_scores(model, users, None)
    for bs in (17,) if name == "spark-als" else (1, 3, 17):  # Spark: one job per block
        got_items, got_scores = _lists(model, users, bs)
        np.testing.assert_array_equal(got_items, items, err_msg=f"{name} batch_size={bs}")
        # float32 scores: a BLAS product of one row may round differently from a block's
        # (1 ulp); the lists above must not change
        _close(got_scores, scores, f"{name} batch_size={bs}")
        _close(_all_scores(model, users, bs), full, f"{name} batch_size={bs}")
    order = np.random.default_rng(1).permutation(data.n_users)
    got_items, got_scores = _lists(model, order, 7)
    np.testing.assert_array_equal(got_items, items[order], err_msg=f"{name} user order")
    _close(got_scores, scores[order], f"{name} user order")
    u, i, ts = _pairs(data)
    pred = model.predict(u, i, timestamps=ts)
    rows = np.random.default_rng(2).permutation(len(u))
    np.testing.assert_array_equal(
        model.predict(u[rows], i[rows], timestamps=ts[rows]), pred[rows], err_msg=name
    )


def test_evaluation_block_of_users_does_not_change_the_metrics(data, monkeypatch):
    import workbench.ranking as ranking

    if not hasattr(ranking, "BLOCK_CELLS"):
        pytest.skip("the ranking pass no longer sizes its blocks by BLOCK_CELLS")
    train, test = data.subset(data.timestamp < np.quantile(data.timestamp, 0.8)), None
    test = data.subset(data.timestamp >= np.quantile(data.timestamp, 0.8))
    metrics = ["ndcg@5", "map@5", "recall@5", "auc", "rmse"]
    for name in ("sgd", "item-knn", "popularity"):
        model = _fit(name, train)
        base = wb.evaluate_model(model, test, metrics, per_user=True)
        for cells in (1, 3 * data.n_items, 7 * data.n_items):
            monkeypatch.setattr(ranking, "BLOCK_CELLS", cells)
            pd.testing.assert_frame_equal(
                wb.evaluate_model(model, test, metrics, per_user=True), base, obj=name
            )
        monkeypatch.undo()


def test_csv_and_parquet_give_the_same_scores(files, data):
    parquet = _load(files["parquet"], files["users"])
    for attr in ("user", "item", "value", "timestamp"):
        a, b = getattr(data, attr), getattr(parquet, attr)
        assert a.dtype == b.dtype, attr
        np.testing.assert_array_equal(a, b, err_msg=attr)
    u, i, ts = _pairs(data)
    users = np.arange(data.n_users)
    for name in _model_names(spark=False):  # the data are identical (above) for Spark too
        a, b = _fitted(name, data), _fit(name, parquet)
        np.testing.assert_array_equal(
            a.predict(u, i, timestamps=ts), b.predict(u, i, timestamps=ts), err_msg=name
        )
        np.testing.assert_array_equal(_lists(a, users, None)[0], _lists(b, users, None)[0])


def _by_label(model, data, users_ids, items_ids, ts) -> np.ndarray:
    u = data.users.index_of(users_ids)
    i = data.items.index_of(items_ids)
    return model.predict(u, i, timestamps=ts)


def test_relabelled_ids(files, data):
    table = _table()
    padded = _load(files["padded"], files["padded_users"])
    shuffled = _load(files["shuffled"], files["users"])
    perm = np.load(files["perm"])
    ts = table.timestamp.to_numpy()
    users = np.arange(data.n_users)
    for name in _model_names(spark=False):
        a = _fitted(name, data)
        want = _by_label(a, data, table.user.to_numpy(), table.item.to_numpy(), ts)
        b = _fit(name, padded)
        got = _by_label(
            b, padded, np.array([f"u{x:05d}" for x in table.user]),
            np.array([f"i{x:05d}" for x in table.item]), ts,
        )  # fmt: skip
        np.testing.assert_array_equal(got, want, err_msg=f"{name}: zero-padded string ids")
        np.testing.assert_array_equal(_lists(a, users, None)[0], _lists(b, users, None)[0])
        if _seeded(name):
            continue
        atol = 1e-9
        if "tol" in get_registry().entry("model", name).obj.Params.model_fields:
            # a solver that sweeps the items in id order and stops at a tolerance (slim's
            # coordinate descent) is order-free only at its optimum: fit both to convergence
            converged = {**_spec(name), "max_iter": 10_000, "tol": 1e-12}
            a = wb.make_model(name, **converged).fit(data)
            want = _by_label(a, data, table.user.to_numpy(), table.item.to_numpy(), ts)
            c = wb.make_model(name, **converged).fit(shuffled)
            atol = F32 * float(np.max(np.abs(want)))
        else:
            c = _fit(name, shuffled)
        new_items = 7 * perm[(table.item.to_numpy() - 5) // 7] + 5
        got = _by_label(c, shuffled, table.user.to_numpy(), new_items, ts)
        np.testing.assert_allclose(got, want, rtol=0, atol=atol, err_msg=f"{name}: shuffled ids")


@pytest.mark.filterwarnings("ignore::workbench.analysis.protocol_notes.TimeSplitWarning")
def test_jobs_one_and_two_give_the_same_per_user_results(files, tmp_path):
    spec = f"tabular path={files['csv']} user_attributes={files['users']} rating_scale=1-5"
    # spark-als trains in its own JVM whatever --jobs says (and costs a session per worker)
    models = [wb.make_model(n, **_spec(n)) for n in _model_names(spark=False)]
    metrics = ["rmse", "ndcg@5", "auc"]
    runs = {}
    for jobs in (1, 2):
        runs[jobs] = wb.compare(
            spec, "holdout", models, metrics, jobs=jobs, run_dir=tmp_path / f"j{jobs}",
            seed=3,
        )  # fmt: skip
    one, two = runs[1], runs[2]
    cols = ["model", "fold", "metric", "value"]
    pd.testing.assert_frame_equal(
        one.scores[cols].sort_values(cols[:3]).reset_index(drop=True),
        two.scores[cols].sort_values(cols[:3]).reset_index(drop=True),
    )
    for folder in ("j1", "j2"):
        assert len(list((tmp_path / folder / "per_user").glob("*.parquet"))) == len(models)
    a = sorted((tmp_path / "j1" / "per_user").glob("*.parquet"))
    b = sorted((tmp_path / "j2" / "per_user").glob("*.parquet"))
    assert [p.name for p in a] == [p.name for p in b]
    for pa, pb in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(pd.read_parquet(pa), pd.read_parquet(pb), obj=pa.name)
