"""The ranking pass of the evaluation and its vectorised building blocks.

`evaluate_ranking` ranks the test users in blocks through the model's ranking hook
(``model.rank_blocks``; ``model.iter_score_blocks`` when a metric needs every score or
negatives are sampled), takes each block's top-K lists once (K = the largest k asked for),
ties in the protocol's item order, and hands every ranking metric a
`RankingBatch` of the users with relevant items; list metrics get all the lists at the end.
`Relevance` holds the evaluated users' relevant test items as CSR-like arrays (rows in the
order of the users, items sorted within a row, a grade per item); hits of a block of top-K
lists are found with one `np.searchsorted` over ``row * n_items + item`` keys. Never a dense
users x items matrix beyond one block of users.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from workbench.errors import DataError
from workbench.metric import ListContext, ListMetric, RankingBatch, RankingMetric
from workbench.model import BLOCK_CELLS, FoldedUsers, Model, top_k
from workbench.relevance import Relevance

if TYPE_CHECKING:
    from workbench.protocol import EvaluationProtocol
    from workbench.splits import Split


def subset_batch(batch: RankingBatch, rows: np.ndarray) -> RankingBatch:
    """The rows ``rows`` (indices or bool mask) of a batch."""
    return RankingBatch(
        items=batch.items[rows],
        hits=batch.hits[rows],
        grades=batch.grades[rows],
        ideal=batch.ideal[rows],
        n_relevant=batch.n_relevant[rows],
        n_candidates=batch.n_candidates[rows],
        scores=None if batch.scores is None else batch.scores[rows],
        relevant=None if batch.relevant is None else batch.relevant[rows],
    )


def auc_rows(scores: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Per-row ROC AUC of relevant vs other candidate items (ties count 1/2).

    Candidates are the finite entries of each row of ``scores``; a row with no relevant or
    no non-relevant candidate gets NaN. Matches `sklearn.metrics.roc_auc_score` per row.
    """
    n = scores.shape[0]
    out = np.full(n, np.nan)
    ordered = np.sort(scores, axis=1)  # -inf (non-candidates) first
    finite_from = np.isneginf(scores).sum(axis=1)
    n_cand = scores.shape[1] - finite_from
    for r in range(n):
        lo, hi = relevant.indptr[r], relevant.indptr[r + 1]
        rel_scores = scores[r, relevant.indices[lo:hi]]
        rel_scores = rel_scores[np.isfinite(rel_scores)]
        n_pos = len(rel_scores)
        n_neg = n_cand[r] - n_pos
        if n_pos == 0 or n_neg <= 0:
            continue
        row = ordered[r]
        less = np.searchsorted(row, rel_scores, side="left") - finite_from[r]
        equal = np.searchsorted(row, rel_scores, side="right") - finite_from[r] - less
        u_stat = float(less.sum() + 0.5 * equal.sum()) - n_pos * n_pos / 2.0
        out[r] = u_stat / (n_pos * n_neg)
    return out


class ModelTimer:
    """The seconds spent inside the model's own calls (prediction, ranking, fold-in), added
    up over an evaluation, so that ``predict_seconds`` excludes the metrics' time."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started

    def blocks(self, gen: Iterator[Any]) -> Iterator[Any]:
        while True:
            started = time.perf_counter()
            item = next(gen, None)
            self.seconds += time.perf_counter() - started
            if item is None:
                return
            yield item


def sample_negatives(
    scores: np.ndarray, relevant: np.ndarray, n: int, rng: np.random.Generator
) -> None:
    """Keep relevant items plus ``n`` random non-relevant candidates per row (in place)."""
    keys = rng.random(scores.shape)
    keys[~np.isfinite(scores) | relevant] = np.inf
    keep = relevant.copy()
    if n < scores.shape[1]:
        pick = np.argpartition(keys, n - 1, axis=1)[:, :n]
        ok = np.isfinite(np.take_along_axis(keys, pick, axis=1))
        rows = np.broadcast_to(np.arange(scores.shape[0])[:, None], pick.shape)
        keep[rows[ok], pick[ok]] = True
    else:
        keep |= np.isfinite(keys)
    scores[~keep] = -np.inf


def tie_order(n_items: int, seed: int) -> np.ndarray:
    """The order in which tied scores are ranked: a permutation of the items fixed by the
    protocol's seed (the same for every model, user and fold of a run)."""
    return np.random.default_rng([int(seed), 0x7135]).permutation(n_items)


def top_k_in_tie_order(
    scores: np.ndarray, cand: np.ndarray, k: int, order: np.ndarray
) -> np.ndarray:
    """Top-k items of each row, ties broken by ``order`` instead of by item index, so that a
    model with many equal scores (a constant, a popularity count) ranks its ties like a random
    list rather than favouring low item ids. ``cand`` must be all items (``arange``)."""
    cols, _ = top_k(scores[:, order], np.arange(scores.shape[1]), k)
    return np.where(cols >= 0, cand[order][np.maximum(cols, 0)], -1)


@dataclass
class GroupRanking:
    """What one scoring pass over a group of users gives: each ranking metric's value per
    user, their number of relevant and candidate items, and their top-K lists."""

    values: dict[str, np.ndarray]
    n_relevant: np.ndarray
    n_candidates: np.ndarray
    top: np.ndarray


def rank_user_group(
    model: Model,
    target: Any,
    rel: Relevance,
    ranking: list[RankingMetric],
    depth: int,
    protocol: EvaluationProtocol,
    group: int,
    clock: ModelTimer,
) -> GroupRanking:
    """One scoring pass over the users of ``target`` (indices or `FoldedUsers`)."""
    n = rel.n_rows
    values = {m.label: np.full(n, np.nan) for m in ranking}
    top_all = np.full((n, depth), -1, dtype=np.int64)
    cand_all = np.zeros(n, dtype=np.int64)
    needs_scores = any(m.needs_scores for m in ranking)
    order = tie_order(model.n_items_, protocol.seed)
    if needs_scores or protocol.negatives is not None:
        bs = max(1, BLOCK_CELLS // max(model.n_items_, 1))
        blocks = _scored_blocks(model, target, rel, depth, protocol, group, order, bs, clock)
    else:  # the model's own ranking hook (a GPU, an index or a cluster may rank for it)
        gen = model.rank_blocks(target, depth, exclude_seen=protocol.exclude_seen, order=order)
        blocks = ((b.rows, b.items, b.n_candidates, None) for b in clock.blocks(gen))
    for sl, top, n_cand, scores in blocks:
        top_all[sl, : top.shape[1]] = top  # rank_blocks caps k at the catalogue
        top = top_all[sl]
        cand_all[sl] = n_cand
        if not ranking:
            continue
        batch = rel.batch(
            sl.start, sl.stop, top, n_cand, scores=scores if needs_scores else None
        )
        has_rel = batch.n_relevant > 0
        if not has_rel.any():
            continue
        sub = subset_batch(batch, has_rel)
        idx = np.flatnonzero(has_rel) + sl.start
        for m in ranking:
            part = sub.head(m.depth) if m.depth else sub
            values[m.label][idx] = np.asarray(m.compute(part), dtype=np.float64)
    return GroupRanking(values, rel.counts(), cand_all, top_all)


def _scored_blocks(
    model: Model,
    target: Any,
    rel: Relevance,
    depth: int,
    protocol: EvaluationProtocol,
    group: int,
    order: np.ndarray,
    bs: int,
    clock: ModelTimer,
) -> Iterator[tuple[slice, np.ndarray, np.ndarray, np.ndarray]]:
    """Blocks with every score kept (AUC-like metrics, sampled negatives)."""
    gen = model.iter_score_blocks(target, exclude_seen=protocol.exclude_seen, batch_size=bs)
    for sl, cand, scores in clock.blocks(gen):
        bad = ~np.isfinite(scores)
        if bad.any():
            scores[bad] = -np.inf  # NaN/inf scores are never recommended
        if protocol.negatives is not None:
            rng = np.random.default_rng([protocol.seed, group, sl.start])
            sample_negatives(scores, rel.dense_mask(sl.start, sl.stop), protocol.negatives, rng)
        n_cand = np.isfinite(scores).sum(axis=1)
        yield sl, top_k_in_tie_order(scores, cand, depth, order), n_cand, scores


def evaluate_ranking(
    model: Model,
    split: Split,
    *,
    ranking: list[RankingMetric],
    lists: list[ListMetric],
    protocol: EvaluationProtocol,
    test_users: np.ndarray,
    folded: FoldedUsers | None,
    folded_row: np.ndarray,
) -> tuple[dict[str, float], dict[str, Any], dict[str, Any]]:
    """The ranking and list metrics of ``split`` from one scoring pass over its test users
    (``folded``: the new users' folded-in state, ``folded_row[user]`` its row or -1);
    returns (mean scores, diagnostics, per-user values)."""
    train, test = split.train, split.test
    clock = ModelTimer()
    threshold = protocol.threshold_for(train)
    scale = train.rating_scale
    if threshold is not None and scale is not None and threshold > scale[1]:
        raise DataError(
            f"relevance threshold {threshold:g} is above the rating scale "
            f"{scale[0]:g}..{scale[1]:g}: no test item could be relevant"
        )
    relevant = test.value >= threshold if threshold is not None else np.ones(len(test), bool)
    grades = test.value.astype(np.float64) if test.kind == "explicit" else np.ones(len(test))
    depth = max([m.depth for m in (*ranking, *lists)] + [1])
    # known (and cold) users are scored by index, folded users through their folded state;
    # the folded rows follow the order of the test users, like the index group
    groups = [(test_users[folded_row[test_users] < 0], None)]
    if folded is not None:
        groups.append((test_users[folded_row[test_users] >= 0], folded))
    outputs: list[tuple[np.ndarray, GroupRanking]] = []
    for gid, (users, fold) in enumerate(groups):
        if len(users) == 0:
            continue
        pos = np.full(train.n_users, -1, dtype=np.int64)
        pos[users] = np.arange(len(users))
        sel = relevant & (pos[test.user] >= 0)
        rel = Relevance.build(
            pos[test.user[sel]], test.item[sel], grades[sel], len(users), train.n_items
        )
        target = users if fold is None else fold
        outputs.append(
            (users, rank_user_group(model, target, rel, ranking, depth, protocol, gid, clock))
        )
    ranked_users = np.concatenate([users for users, _ in outputs])
    n_relevant = np.concatenate([out.n_relevant for _, out in outputs])
    values = {m.label: np.concatenate([out.values[m.label] for _, out in outputs]) for m in ranking}
    top_lists = np.concatenate([out.top for _, out in outputs])
    has_rel = n_relevant > 0
    scores: dict[str, float] = {}
    for m in ranking:
        defined = values[m.label][has_rel & ~np.isnan(values[m.label])]
        scores[m.label] = float(defined.mean()) if len(defined) else float("nan")
    if lists:
        train_counts = train.user_counts()
        context = ListContext(
            n_items=train.n_items,
            item_counts=train.item_counts(),
            n_train_users=int((train_counts > 0).sum()),
            train=train,
            model=model,
        )
        for m in lists:
            scores[m.label] = float(m.compute(top_lists, context))
    diagnostics = {
        "relevance_threshold": threshold,
        "n_ranked_users": int(has_rel.sum()),
        "users_without_relevant": int((~has_rel).sum()),
        "list_length": depth,
        "rank_seconds": clock.seconds,
    }
    at = pd.Series(np.arange(len(ranked_users)), index=ranked_users)[test_users].to_numpy()
    frame: dict[str, Any] = {
        "n_relevant": n_relevant[at],
        "n_candidates": np.concatenate([out.n_candidates for _, out in outputs])[at],
    }
    for m in ranking:
        frame[m.label] = values[m.label][at]
    frame["top"] = list(top_lists[at])
    return scores, diagnostics, frame
