"""Top-N baselines (plugin `topn`): ease, itemknn, userknn, slim, bpr, random.

The contract suite for each model, and known answers: EASE against a ten-line numpy EASE,
item-kNN against a direct computation and `implicit`'s similarity matrices, user-kNN against
a direct computation, SLIM against scikit-learn's ElasticNet on one column, one BPR step
against a hand computation, seeded bit-identical BPR, EASE's memory refusal.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from workbench_topn.bpr import BPR
from workbench_topn.ease import EASE, ease_weights, gram_matrix
from workbench_topn.knn import ItemKNNTopN, UserKNN
from workbench_topn.random_model import RandomRanking
from workbench_topn.slim import SLIM

from workbench.data import Interactions
from workbench.errors import DataError, ParamError
from workbench.testing import ModelContract, low_rank_ratings


def _no_seed(params: dict[str, Any]) -> dict[str, Any]:
    params.pop("seed", None)
    return params


class TestEASEContract(ModelContract):
    seeded = False

    def make_model(self, **params: Any) -> EASE:
        return EASE(reg=50.0, **_no_seed(params))


class TestEASEImplicitContract(TestEASEContract):
    def make_data(self) -> Interactions:
        return low_rank_ratings(kind="implicit")

    def make_model(self, **params: Any) -> EASE:
        return EASE(reg=50.0, binary=False, **_no_seed(params))


class TestItemKNNContract(ModelContract):
    seeded = False

    def make_model(self, **params: Any) -> ItemKNNTopN:
        return ItemKNNTopN(k=20, shrinkage=2.0, **_no_seed(params))


class TestItemKNNBM25Contract(TestItemKNNContract):
    def make_model(self, **params: Any) -> ItemKNNTopN:
        return ItemKNNTopN(k=20, similarity="bm25", **_no_seed(params))


class TestUserKNNContract(ModelContract):
    seeded = False

    def make_model(self, **params: Any) -> UserKNN:
        return UserKNN(k=15, similarity="tfidf", **_no_seed(params))


class TestSLIMContract(ModelContract):
    seeded = False

    def make_model(self, **params: Any) -> SLIM:
        return SLIM(l1=0.1, l2=1.0, **_no_seed(params))


class TestBPRContract(ModelContract):
    def make_model(self, **params: Any) -> BPR:
        params.setdefault("seed", 0)
        return BPR(n_factors=8, n_epochs=5, **params)


class TestRandomContract(ModelContract):
    learns = False

    def make_model(self, **params: Any) -> RandomRanking:
        return RandomRanking(**params)


# -- helpers -------------------------------------------------------------------------------------
def _binary(data: Interactions) -> np.ndarray:
    x = data.csr().toarray()
    return (x != 0).astype(np.float64)


def _ratings() -> Interactions:
    return low_rank_ratings(n_users=60, n_items=40, density=0.3, seed=3)


# -- EASE ----------------------------------------------------------------------------------------
def numpy_ease(x: np.ndarray, reg: float) -> np.ndarray:
    """Steck's ten lines of numpy."""
    g = x.T @ x
    g[np.diag_indices(g.shape[0])] += reg
    p = np.linalg.inv(g)
    b = p / (-np.diag(p))
    b[np.diag_indices(g.shape[0])] = 0.0
    return b


def test_ease_equals_the_numpy_reference_and_scores_history_times_b() -> None:
    data = _ratings()
    model = EASE(reg=7.5).fit(data)
    x = _binary(data)
    b = numpy_ease(x, 7.5)
    np.testing.assert_allclose(model.weights_, b, rtol=0, atol=1e-9)
    users = np.arange(data.n_users)
    items = np.arange(data.n_items)
    got = model.predict(np.repeat(users, data.n_items), np.tile(items, data.n_users))
    np.testing.assert_allclose(got.reshape(x.shape), x @ b, rtol=1e-5, atol=1e-5)
    # values as weights (binary=false): the same formula on the ratings
    weighted = EASE(reg=7.5, binary=False).fit(data)
    ratings = data.csr().toarray().astype(np.float64)
    np.testing.assert_allclose(weighted.weights_, numpy_ease(ratings, 7.5), atol=1e-9)


def test_gram_matrix_from_blocks_equals_the_full_product() -> None:
    x = sp.random(70, 33, density=0.2, random_state=4, format="csr")
    np.testing.assert_allclose(gram_matrix(x, block_cells=40), (x.T @ x).toarray(), atol=1e-12)
    g = (x.T @ x).toarray()
    np.testing.assert_allclose(ease_weights(g.copy(), 2.0), numpy_ease(x.toarray(), 2.0), atol=1e-9)


def test_ease_fold_in_is_the_history_times_b() -> None:
    data = _ratings()
    model = EASE(reg=5.0).fit(data.subset(data.user != 0))
    history = data.subset(data.user == 0)
    folded = model.fold_in(history)
    row = np.zeros(data.n_items)
    row[history.item] = 1.0
    expected = row @ numpy_ease(_binary(data.subset(data.user != 0)), 5.0)
    got = model.predict((folded, np.zeros(data.n_items, np.int64)), np.arange(data.n_items))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_ease_refuses_in_one_line_before_allocating(monkeypatch: pytest.MonkeyPatch) -> None:
    import workbench_topn.ease as ease_module

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("allocated the Gram matrix")

    monkeypatch.setattr(ease_module, "gram_matrix", never)
    data = _ratings()
    with pytest.raises(DataError) as err:
        EASE(max_memory_gib=1e-6).fit(data)
    message = str(err.value)
    assert "\n" not in message
    assert "40 items need a dense 40 x 40 matrix" in message and "max_memory_gib=1e-06" in message
    # the machine's memory is a bound too
    monkeypatch.setattr(ease_module, "physical_memory", lambda: 1000.0)
    with pytest.raises(DataError, match="over this machine's"):
        EASE().fit(data)


# -- item-kNN and user-kNN ----------------------------------------------------------------------
def _top_k_rows(sims: np.ndarray, k: int) -> np.ndarray:
    """Keep the k largest non-zero entries of each row (no ties in these tests)."""
    out = np.zeros_like(sims)
    for r, row in enumerate(sims):
        order = np.argsort(-row, kind="stable")
        keep = [c for c in order if row[c] != 0][:k]
        out[r, keep] = row[keep]
    return out


def test_itemknn_cosine_with_shrinkage_equals_a_direct_computation() -> None:
    data = _ratings()
    x = data.csr().toarray().astype(np.float64)  # ratings as weights: no ties
    dots = x.T @ x
    norms = np.sqrt(np.diag(dots))
    sims = dots / (np.outer(norms, norms) + 3.0)
    np.fill_diagonal(sims, 0.0)
    model = ItemKNNTopN(k=7, shrinkage=3.0, binary=False).fit(data)
    np.testing.assert_allclose(model.weights_.toarray(), _top_k_rows(sims, 7), atol=1e-12)
    assert np.diff(model.weights_.indptr).max() == 7
    got = model.predict(np.repeat(np.arange(5), data.n_items), np.tile(np.arange(40), 5))
    expected = x[:5] @ _top_k_rows(sims, 7)
    np.testing.assert_allclose(got.reshape(5, -1), expected, rtol=1e-5, atol=1e-4)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("similarity", ["cosine", "tfidf", "bm25"])
def test_itemknn_similarities_equal_implicits(similarity: str) -> None:
    nn = pytest.importorskip("implicit.nearest_neighbours")
    data = low_rank_ratings(kind="implicit", seed=2)
    counts = data.csr().astype(np.float64).tocsr()
    ref_class = {
        "cosine": nn.CosineRecommender,
        "tfidf": nn.TFIDFRecommender,
        "bm25": nn.BM25Recommender,
    }[similarity]
    ref = ref_class(K=data.n_items, num_threads=1)
    ref.fit(counts, show_progress=False)
    expected = ref.similarity.toarray()
    np.fill_diagonal(expected, 0.0)
    model = ItemKNNTopN(k=data.n_items, similarity=similarity, binary=False).fit(data)
    np.testing.assert_allclose(model.weights_.toarray(), expected, rtol=1e-9, atol=1e-9)
    # the kept neighbours are the k largest of each row, ties to the lower item
    k = 5
    small = ItemKNNTopN(k=k, similarity=similarity, binary=False).fit(data).weights_
    for i in range(data.n_items):
        row = expected[i]
        order = np.lexsort((np.arange(len(row)), -row))
        want = [c for c in order if row[c] != 0][:k]
        lo, hi = small.indptr[i], small.indptr[i + 1]
        assert small.indices[lo:hi].tolist() == want


def test_userknn_equals_a_direct_computation() -> None:
    data = _ratings()
    x = data.csr().toarray().astype(np.float64)
    dots = x @ x.T
    norms = np.sqrt(np.diag(dots))
    sims = dots / (np.outer(norms, norms) + 1.5)
    np.fill_diagonal(sims, 0.0)
    expected = _top_k_rows(sims, 6) @ x
    model = UserKNN(k=6, shrinkage=1.5, binary=False).fit(data)
    users = np.arange(8)
    got = model.predict(np.repeat(users, data.n_items), np.tile(np.arange(data.n_items), 8))
    np.testing.assert_allclose(got.reshape(8, -1), expected[:8], rtol=1e-5, atol=1e-4)
    # a folded-in copy of user 0 is scored like user 0 would be without itself in the pool
    folded = model.fold_in(data.subset(data.user == 0))
    row = x[0] @ x.T / (norms[0] * norms + 1.5)
    row[0] = 0.0  # the pool holds user 0 itself: its twin is its best neighbour
    twin = _top_k_rows((x[0] @ x.T / (norms[0] * norms + 1.5))[None, :], 6) @ x
    got = model.predict((folded, np.zeros(data.n_items, np.int64)), np.arange(data.n_items))
    np.testing.assert_allclose(got, twin[0], rtol=1e-5, atol=1e-4)


def test_knn_bad_settings_are_one_line_errors() -> None:
    data = _ratings()
    with pytest.raises(ParamError, match="shrinkage"):
        ItemKNNTopN(similarity="bm25", shrinkage=1.0).fit(data)
    with pytest.raises(ParamError):
        UserKNN(k=0)
    signed = Interactions.from_arrays([1, 2, 2], [1, 1, 2], [-1.0, 2.0, 3.0], rating_scale=(-5, 5))
    with pytest.raises(DataError, match="binary=false needs values >= 0"):
        ItemKNNTopN(binary=False).fit(signed)
    ItemKNNTopN().fit(signed)  # binarised: the sign does not matter


# -- SLIM ------------------------------------------------------------------------------------
def test_slim_column_equals_sklearns_elasticnet() -> None:
    from sklearn.linear_model import ElasticNet

    data = _ratings()
    l1, l2 = 0.5, 4.0
    model = SLIM(l1=l1, l2=l2, k=data.n_items, tol=1e-10, max_iter=10_000).fit(data)
    x = _binary(data)
    n = x.shape[0]
    for j in (0, 17):
        others = x.copy()
        others[:, j] = 0.0
        ref = ElasticNet(
            alpha=(l1 + l2) / n,
            l1_ratio=l1 / (l1 + l2),
            positive=True,
            fit_intercept=False,
            tol=1e-10,
            max_iter=10_000,
        ).fit(others, x[:, j])
        np.testing.assert_allclose(model.weights_[:, j].toarray().ravel(), ref.coef_, atol=1e-7)
        # the objective SLIM states: 1/2 |x_j - X w|^2 + l1 |w|_1 + l2/2 |w|^2 at its minimum
    assert (model.weights_.data > 0).all() and model.weights_.diagonal().max() == 0


def test_slim_keeps_k_weights_and_is_the_same_with_threads() -> None:
    data = _ratings()
    one = SLIM(l1=0.05, l2=1.0, k=3).fit(data)
    assert np.diff(one.weights_.tocsc().indptr).max() <= 3
    two = SLIM(l1=0.05, l2=1.0, k=3, n_jobs=2).fit(data)
    assert (one.weights_ != two.weights_).nnz == 0
    with pytest.raises(ParamError, match="l1 \\+ l2"):
        SLIM(l1=0.0, l2=0.0).fit(data)


# -- BPR ---------------------------------------------------------------------------------------
def test_bpr_step_equals_a_hand_computation() -> None:
    from workbench_topn._kernels import bpr_step, softplus_neg

    rng = np.random.default_rng(0)
    f = 21  # one block of 16 lanes and a tail
    P = rng.normal(0, 0.3, (2, f)).astype(np.float32)
    Q = rng.normal(0, 0.3, (3, f)).astype(np.float32)
    p64, qi64, qj64 = P[1].astype(np.float64), Q[0].astype(np.float64), Q[2].astype(np.float64)
    bias = np.array([0.2, -0.1, 0.05], dtype=np.float32)
    lr, reg, reg_bias = 0.05, 0.01, 0.002
    x = 0.2 - 0.05 + p64 @ (qi64 - qj64)
    z = 1.0 / (1.0 + np.exp(x))
    want_p = p64 + lr * (z * (qi64 - qj64) - reg * p64)
    want_qi = qi64 + lr * (z * p64 - reg * qi64)
    want_qj = qj64 + lr * (-z * p64 - reg * qj64)
    want_bi = 0.2 + lr * (z - reg_bias * 0.2)
    want_bj = 0.05 + lr * (-z - reg_bias * 0.05)
    before = P.copy(), Q.copy()
    acc = np.zeros(16, dtype=np.float32)
    args = (np.float32(lr), np.float32(reg), np.float32(reg_bias))
    got_x = bpr_step(P, 1, Q, 0, 2, bias, *args, True, acc)
    assert got_x == pytest.approx(x, rel=1e-5)
    assert softplus_neg(got_x) == pytest.approx(np.log1p(np.exp(-x)), rel=1e-5)
    assert softplus_neg(-100.0) == pytest.approx(100.0)  # no overflow
    np.testing.assert_allclose(P[1], want_p, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(Q[0], want_qi, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(Q[2], want_qj, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bias, [want_bi, -0.1, want_bj], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(P[0], before[0][0])  # other rows untouched
    np.testing.assert_array_equal(Q[1], before[1][1])
    # fold-in: the user row moves, items and biases stay
    P2, Q2, b2 = before[0].copy(), before[1].copy(), np.array([0.2, -0.1, 0.05], np.float32)
    bpr_step(P2, 1, Q2, 0, 2, b2, *args, False, acc)
    np.testing.assert_allclose(P2[1], want_p, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(Q2, before[1])
    np.testing.assert_array_equal(b2, np.array([0.2, -0.1, 0.05], np.float32))


def _clustered(seed: int = 0) -> Interactions:
    """Four groups of users, each liking half of its group's items, plus 3% noise."""
    rng = np.random.default_rng(seed)
    n_users, n_items, groups = 120, 60, 4
    g_u, g_i = np.arange(n_users) % groups, np.arange(n_items) % groups
    like = (g_u[:, None] == g_i[None, :]) & (rng.random((n_users, n_items)) < 0.5)
    u, i = np.nonzero(like | (rng.random((n_users, n_items)) < 0.03))
    return Interactions.from_arrays(u, i, np.ones(len(u)), kind="implicit")


def test_bpr_learns_to_rank_held_out_items() -> None:
    data = _clustered()
    test = np.random.default_rng(1).random(len(data)) < 0.2
    train, held = data.subset(~test), data.subset(test)
    truth = sp.csr_matrix(
        (np.ones(len(held)), (held.user, held.item)), shape=(data.n_users, data.n_items)
    )
    hits = {}
    for name, model in (
        ("bpr", BPR(n_factors=8, n_epochs=20, lr=0.05, reg=0.005, seed=1)),
        ("ease", EASE(reg=10.0)),
        ("random", RandomRanking(seed=1)),
    ):
        items, _ = model.fit(train).recommend(np.arange(data.n_users), k=5)
        hits[name] = sum(truth[u, items[u][items[u] >= 0]].sum() for u in range(data.n_users))
    assert hits["bpr"] > 3 * hits["random"] and hits["bpr"] > 0.6 * hits["ease"], hits


def test_bpr_is_bit_identical_with_a_fresh_numba_cache(tmp_path: Any) -> None:
    """A seeded fit gives the same bytes compiled from scratch and from the warm cache."""
    import subprocess
    import sys

    script = (
        "import hashlib, numpy as np\n"
        "from workbench.testing import low_rank_ratings\n"
        "from workbench_topn.bpr import BPR\n"
        "m = BPR(n_factors=20, n_epochs=3, seed=5).fit(low_rank_ratings(kind='implicit'))\n"
        "print(hashlib.sha256(m.item_factors_.tobytes() + m.item_bias_.tobytes()"
        " + m.user_factors_.tobytes()).hexdigest())\n"
    )
    import hashlib
    import os

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    fresh = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    model = BPR(n_factors=20, n_epochs=3, seed=5).fit(low_rank_ratings(kind="implicit"))
    here = hashlib.sha256(
        model.item_factors_.tobytes() + model.item_bias_.tobytes() + model.user_factors_.tobytes()
    ).hexdigest()
    assert fresh == here


def test_bpr_fold_in_is_seeded_and_ranks_the_users_taste() -> None:
    data = low_rank_ratings(n_users=120, n_items=80, density=0.3, kind="implicit", seed=4)
    model = BPR(n_factors=16, n_epochs=30, seed=2).fit(data.subset(data.user != 0))
    history = data.subset(data.user == 0)
    a = model.fold_in(history)
    b = model.fold_in(history)
    np.testing.assert_array_equal(a.state["factors"], b.state["factors"])
    assert np.abs(a.state["factors"]).sum() > 0
    more = model.fold_in(history, n_epochs=40)
    assert not np.array_equal(more.state["factors"], a.state["factors"])
    with pytest.raises(ParamError):
        model.fold_in(history, n_epochs=0)


# -- random --------------------------------------------------------------------------------------
def test_random_is_seeded_and_independent_of_blocks() -> None:
    data = _ratings()
    a = RandomRanking(seed=4).fit(data)
    users = np.arange(data.n_users)
    items, scores = a.recommend(users, k=10)
    blocks = np.vstack([blk.items for blk in a.rank_blocks(users, 10, batch_size=7)])
    np.testing.assert_array_equal(items, blocks)
    again, _ = RandomRanking(seed=4).fit(data).recommend(users, k=10)
    np.testing.assert_array_equal(items, again)
    other, _ = RandomRanking(seed=5).fit(data).recommend(users, k=10)
    assert (other != items).mean() > 0.5
    assert (scores >= 0).all() and (scores < 1).all()
    # roughly uniform: every item is recommended to someone
    everything, _ = a.recommend(users, k=data.n_items, exclude_seen=False)
    first = np.bincount(everything[:, 0], minlength=data.n_items)
    assert (first > 0).sum() > data.n_items // 2


# -- registration ------------------------------------------------------------------------------
def test_registered_names_do_not_clash_with_the_example_item_knn() -> None:
    from workbench_topn import register_models

    from workbench.api.catalogue import registry as get_registry
    from workbench.errors import PluginError
    from workbench.registry import Registry

    reg = get_registry()
    assert reg.get("model", "itemknn") is ItemKNNTopN
    assert reg.get("model", "item-knn").__module__.startswith("workbench_example")
    for name, cls in (
        ("ease", EASE),
        ("userknn", UserKNN),
        ("slim", SLIM),
        ("bpr", BPR),
        ("random", RandomRanking),
    ):
        assert reg.get("model", name) is cls
    assert reg.entry("model", "ease").plugin == "topn"
    # registering an existing name is refused by the registry
    fresh = Registry()
    names: list[str] = []

    def register(obj: Any, aliases: Any = ()) -> None:
        name, alias_list = fresh.validate("model", obj, aliases)
        from workbench.registry import Entry

        fresh.add(Entry("model", name, obj, "topn", aliases=alias_list))
        names.append(name)

    register_models(register)
    assert names == ["ease", "itemknn", "userknn", "slim", "bpr", "random"]
    with pytest.raises(PluginError, match="already registered"):
        fresh.validate("model", ItemKNNTopN, ["ease-r"])
