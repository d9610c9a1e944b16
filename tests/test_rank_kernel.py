"""The compiled top-k of the default ranking (`workbench.topk.kernel`) against a plain numpy
reference (the default `_rank` before the kernel): the same items, scores, candidate counts
and tie order, for ties, NaN/inf scores, seen items, restricted candidates, float64 scores,
any chunking and thread count; and `rank_blocks` of a fitted model independent of the block
size."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from workbench.model import exclude_seen_scores, top_k
from workbench.topk import kernel as _rank_kernels
from workbench.topk.kernel import rank_rows


def reference(scores, seen, candidates, n_items, k, order):
    """The default `_rank` of the workbench up to this kernel (numpy argpartition/lexsort)."""
    scores = np.array(scores, dtype=np.float32, copy=True)
    if seen is not None:
        exclude_seen_scores(scores, seen, candidates, n_items)
    scores[~np.isfinite(scores)] = -np.inf
    n_cand = np.isfinite(scores).sum(axis=1)
    if order is None:
        items, best = top_k(scores, candidates, k)
    else:
        cols, best = top_k(scores[:, order], np.arange(len(order)), k)
        items = np.where(cols >= 0, candidates[order][np.maximum(cols, 0)], -1)
    return items, best, n_cand


def case(seed, n=37, n_items=300, levels=5, dtype=np.float32, subset=False):
    rng = np.random.default_rng(seed)
    cand = np.arange(n_items)
    if subset:
        cand = np.sort(rng.choice(n_items, n_items // 2, replace=False))
    scores = rng.integers(0, levels, (n, len(cand))).astype(dtype) / 4  # many ties
    bad = rng.random(scores.shape)
    scores[bad < 0.03] = np.nan
    scores[(bad >= 0.03) & (bad < 0.05)] = np.inf
    scores[(bad >= 0.05) & (bad < 0.07)] = -np.inf
    scores[0] = np.nan  # a row with no candidate at all
    seen = sp.random(n, n_items, density=0.2, format="csr", random_state=seed, dtype=np.float64)
    seen.data[:] = 1
    return scores, seen.astype(bool), cand


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 3, 10, 149, 300])
def test_same_top_k_as_the_numpy_reference(seed, k, monkeypatch):
    subset = seed % 2 == 1
    scores, seen, cand = case(seed, dtype=np.float64 if seed % 3 == 2 else np.float32,
                              levels=3 if seed < 3 else 1000, subset=subset)  # fmt: skip
    k = min(k, len(cand))
    orders = [None, np.random.default_rng(seed + 9).permutation(len(cand))]
    for order in orders:
        for use_seen in (seen, None):
            want = reference(scores, use_seen, cand, 300, k, order)
            for cells, threads in ((1 << 19, 1), (300, 1), (1000, 2)):
                monkeypatch.setattr(_rank_kernels, "CHUNK_CELLS", cells)
                got = rank_rows(lambda rows: scores[rows], len(scores), cand, 300, use_seen, k,
                                order, threads)  # fmt: skip
                np.testing.assert_array_equal(got[0], want[0])
                np.testing.assert_array_equal(got[1], want[1])  # NaN padding equal too
                np.testing.assert_array_equal(got[2], want[2])
    assert (got[0][0] == -1).all() and got[2][0] == 0


def test_negative_zero_and_extremes_tie_like_the_reference():
    scores = np.array([[0.0, -0.0, 1e38, -1e38, 0.0, 3e-45]], dtype=np.float32)
    cand = np.arange(6)
    for order in (None, np.array([5, 4, 3, 2, 1, 0])):
        want = reference(scores, None, cand, 6, 6, order)
        got = rank_rows(lambda rows: scores[rows], 1, cand, 6, None, 6, order)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_rank_blocks_of_a_model_do_not_depend_on_the_block_size():
    from workbench.data import Interactions
    from workbench.experiments.resolve import resolve_models

    rng = np.random.default_rng(0)
    key = np.unique(rng.integers(0, 60 * 90, 1500))
    data = Interactions.from_arrays(key // 90, key % 90, rng.integers(1, 6, len(key)),
                                    rating_scale=(1, 5), name="tiny")  # fmt: skip
    model = resolve_models(["sgd n_epochs=2 n_factors=8"])[0].model.fit(data)
    users = np.arange(model.n_users_)
    order = np.random.default_rng(3).permutation(model.n_items_)
    runs = []
    for bs in (1, 2, 7, None):
        blocks = list(model.rank_blocks(users, 5, order=order, batch_size=bs))
        runs.append(np.concatenate([b.items for b in blocks]))
    for other in runs[1:]:
        np.testing.assert_array_equal(other, runs[0])
    # and the same as scoring everything with numpy and the reference top-k
    state = model._known_state(users)
    want = reference(model._score(state, np.arange(model.n_items_)), model.seen_,
                     np.arange(model.n_items_), model.n_items_, 5, order)  # fmt: skip
    np.testing.assert_array_equal(runs[0], want[0])


@pytest.mark.parametrize("seed", range(4))
def test_shared_pairs_count_like_a_sorted_search(seed):
    from workbench.topk.pairs import count_shared_pairs

    rng = np.random.default_rng(seed)
    n_users, n_items = 50, 40
    a_user, a_item = rng.integers(0, n_users, 800), rng.integers(0, n_items, 800)
    b_user, b_item = rng.integers(0, n_users + 5, 300), rng.integers(0, n_items, 300)
    if seed == 3:  # duplicates on both sides, users of b absent from a and the other way
        b_user = np.concatenate([b_user, b_user[:50]])
        b_item = np.concatenate([b_item, b_item[:50]])
        a_user = a_user % 20
    keys = np.sort(a_user.astype(np.int64) * n_items + a_item)
    query = b_user.astype(np.int64) * n_items + b_item
    want = int(np.isin(query, keys).sum())
    assert 0 < want < len(query)
    assert count_shared_pairs(a_user, a_item, b_user, b_item) == want
    assert count_shared_pairs(a_user[:0], a_item[:0], b_user, b_item) == 0


def test_a_forked_process_ranks_on_threads_of_its_own():
    """A pool made before a fork has no threads in the child: ranking there must not wait."""
    import multiprocessing

    scores, seen, cand = case(0)
    want = rank_rows(lambda rows: scores[rows], len(scores), cand, 300, seen, 5, None, 2)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        got = pool.apply_async(_rank_in_child, (scores, seen, cand)).get(timeout=60)
    np.testing.assert_array_equal(got, want[0])


def _rank_in_child(scores, seen, cand):
    return rank_rows(lambda rows: scores[rows], len(scores), cand, 300, seen, 5, None, 2)[0]
