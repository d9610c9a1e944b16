"""The v2 model contract: user state, fold-in solvers against independent references, the
ranking hook, cold start as data, ranking models without rating metrics, not-forkable models,
parameter attributes, update_users, and the small models of docs/plugins.md and docs/api.md
passing the contract suite."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import nnls

import workbench as wb
from workbench.errors import ParamError
from workbench.evaluation import evaluate
from workbench.experiments.resolve import resolve_metrics
from workbench.factor.fold_in import confidence_fold_in, nonnegative_fold_in, ridge_fold_in
from workbench.model import ColdStart, Model
from workbench.protocol import EvaluationProtocol
from workbench.splits import Split
from workbench.testing import ModelContract, holdout, low_rank_ratings
from workbench.user_state import UserState

ROOT = Path(__file__).resolve().parents[1]


# -- UserState -----------------------------------------------------------------------------------
def test_user_state_knows_its_rows_without_arrays():
    state = UserState.of(n_rows=4)
    assert len(state) == 4 and list(state) == []
    assert len(state.take(slice(1, 3))) == 2 and len(state.take([0, 0, 3])) == 3


def test_user_state_checks_rows_and_keeps_shared_values():
    shared = sp.identity(3, format="csr")
    state = UserState({"row": np.arange(3)}, 3, shared={"history": shared})
    part = state.take([2])
    assert part["history"] is shared and part["row"].tolist() == [2]
    with pytest.raises(ValueError, match="2 rows, expected 3"):
        UserState({"x": np.zeros(2)}, 3)
    assert len(UserState.coerce({"x": np.zeros(5)})) == 5
    both = UserState.concat([UserState.of(x=np.zeros(2)), UserState.of(x=np.ones(3))])
    assert len(both) == 5 and both["x"].tolist() == [0, 0, 1, 1, 1]


# -- parameters ----------------------------------------------------------------------------------
def test_setting_a_parameter_attribute_updates_the_parameter():
    model = wb.make_model("sgd")
    model.n_factors = 5
    assert model.get_params()["n_factors"] == 5 and model.params.n_factors == 5
    with pytest.raises(ParamError, match="n_factors"):
        model.n_factors = 0
    assert model.get_params()["n_factors"] == 5
    model.fitted_thing_ = 1  # learned attributes are ordinary attributes
    assert model.fitted_thing_ == 1


# -- fold-in solvers against independent references ------------------------------------------
def _history(seed: int = 0, n_users: int = 6, n_items: int = 15) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_users, n_items)) < 0.4) * rng.integers(1, 6, (n_users, n_items))
    dense[-1] = 0  # a user without interactions
    dense[0, :] = 0
    dense[0, 3] = 4  # a user with one interaction: regularisation keeps it solvable
    return sp.csr_matrix(dense.astype(np.float32))


def test_ridge_fold_in_is_the_least_squares_solution():
    hist = _history()
    rng = np.random.default_rng(1)
    q = rng.normal(size=(hist.shape[1], 3)).astype(np.float32)
    bi = rng.normal(size=hist.shape[1]).astype(np.float32)
    factors, bias = ridge_fold_in(hist, q, reg=0.3, global_mean=3.0, item_bias=bi)
    for u in range(hist.shape[0] - 1):
        row = hist[u]
        x = np.hstack([q[row.indices], np.ones((row.nnz, 1))])
        lam = np.sqrt(0.3 * row.nnz)
        a = np.vstack([x, lam * np.eye(4)])  # ridge as an augmented least-squares problem
        b = np.concatenate([row.data - 3.0 - bi[row.indices], np.zeros(4)])
        ref = np.linalg.lstsq(a, b, rcond=None)[0]
        np.testing.assert_allclose(np.append(factors[u], bias[u]), ref, rtol=1e-4, atol=1e-5)
    assert not factors[-1].any() and bias[-1] == 0


@pytest.mark.parametrize("kind", ["linear", "log"])
def test_confidence_fold_in_solves_the_dense_weighted_problem(kind):
    hist = _history(2)
    y = np.random.default_rng(3).normal(size=(hist.shape[1], 4))
    x = confidence_fold_in(hist, y, reg=0.1, alpha=2.0, kind=kind, eps=1.0)
    dense = hist.toarray().astype(np.float64)
    for u in range(hist.shape[0]):
        r = dense[u]
        c = 1 + 2.0 * (r if kind == "linear" else np.log1p(r))  # every item, zeros included
        p = (r > 0).astype(float)
        a = (y.T * c) @ y + 0.1 * np.eye(4)
        np.testing.assert_allclose(x[u], np.linalg.solve(a, (y.T * c) @ p), rtol=1e-4, atol=1e-6)


def test_nonnegative_fold_in_matches_nnls():
    hist = _history(4)
    h = np.abs(np.random.default_rng(5).normal(size=(3, hist.shape[1])))
    w = nonnegative_fold_in(hist, h, n_iter=5000, tol=1e-12)
    assert (w >= 0).all() and not w[-1].any()
    for u in range(hist.shape[0] - 1):
        ref, _ = nnls(h.T, hist[u].toarray().ravel())
        got = np.linalg.norm(hist[u].toarray().ravel() - w[u] @ h)
        best = np.linalg.norm(hist[u].toarray().ravel() - ref @ h)
        assert got <= best * (1 + 1e-3) + 1e-6


# -- the ranking hook, cold start as data, ranking models ------------------------------------
class CountingRanker(wb.RatingFactorModel):
    """A factor model whose ranking hook counts its calls (ranking by other means)."""

    name = "counting-ranker"
    calls = 0

    def _fit(self, train, *, callback, validation):
        rng = np.random.default_rng(0)
        self.global_mean_ = float(train.value.mean())
        self.user_bias_ = np.zeros(train.n_users, np.float32)
        self.item_bias_ = rng.normal(size=train.n_items).astype(np.float32)
        self.user_factors_ = rng.normal(size=(train.n_users, 3)).astype(np.float32)
        self.item_factors_ = rng.normal(size=(train.n_items, 3)).astype(np.float32)

    def _rank(self, state, seen, candidates, k, order):
        type(self).calls += 1
        return super()._rank(state, seen, candidates, k, order)


class Scores(CountingRanker):
    name = "scores-only"
    predicts = "scores"


def _split() -> Split:
    train, test = holdout(low_rank_ratings(), seed=2)
    return Split(train=train, test=test)


def test_evaluation_ranks_through_the_models_hook_and_reports_its_cold_start():
    split = _split()
    model = CountingRanker().fit(split.train)
    metrics = resolve_metrics(["rmse", "ndcg@10", "coverage@10"], split.train)
    CountingRanker.calls = 0
    result = evaluate(model, split, metrics, EvaluationProtocol())
    assert CountingRanker.calls > 0
    assert result.diagnostics["cold_fallback"] == model.cold_start.describe()
    assert "mu + b_i" in result.diagnostics["cold_fallback"]
    # AUC needs every score: the scored path, same lists
    with_auc = evaluate(model, split, [*metrics, *resolve_metrics(["auc"], split.train)])
    assert with_auc.scores["ndcg@10"] == pytest.approx(result.scores["ndcg@10"], abs=1e-12)


def test_a_ranking_model_gets_no_rating_metrics():
    split = _split()
    model = Scores().fit(split.train)
    result = evaluate(model, split, resolve_metrics(["rmse", "ndcg@10"], split.train))
    assert np.isnan(result.scores["rmse"]) and np.isfinite(result.scores["ndcg@10"])
    assert "ranking scores" in result.diagnostics["rating_metrics"]


def test_undeclared_cold_start_is_reported_as_such():
    class Bare(Model):
        name = "bare"

    assert Bare.describe_cold_start() == "not declared by model 'bare'"
    assert ColdStart("a", "b").describe() == "cold user: a; cold item: b"


# -- models that must not be forked ------------------------------------------------------------
PIDS_FILE = "WORKBENCH_TEST_PIDS"


class MainOnly(CountingRanker):
    """Records the process it is trained in."""

    name = "main-only"
    fork_safe = False

    def _fit(self, train, *, callback, validation):
        with open(os.environ[PIDS_FILE], "a") as fh:
            fh.write(f"{os.getpid()}\n")
        super()._fit(train, callback=callback, validation=validation)


def test_models_that_cannot_fork_run_in_the_main_process(tmp_path, monkeypatch):
    monkeypatch.setenv(PIDS_FILE, str(tmp_path / "pids"))
    data = low_rank_ratings()
    with pytest.warns(UserWarning, match="main-only: cannot run in a worker process; 3 task"):
        results = wb.compare(
            data, "kfold n_folds=3", ["biases", ("main-only", MainOnly())], ["rmse"], jobs=2
        )
    pids = {int(line) for line in (tmp_path / "pids").read_text().split()}
    assert pids == {os.getpid()}
    assert set(results.models) == {"biases", "main-only"}


# -- small models from the docs pass the contract suite --------------------------------------
def _python_blocks(path: Path, after: str) -> str:
    """The python code blocks of ``path`` in the section whose heading contains ``after``."""
    text = path.read_text()
    start = text.index(after)
    section = text[start : text.find("\n## ", start + 1)]
    return "\n".join(re.findall(r"```python\n(.*?)```", section, re.S))


def _classes(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "docs_models", "wb": wb}
    exec(compile(source, "docs", "exec"), namespace)  # noqa: S102 - our own docs
    return namespace


PLUGINS_MD = ROOT / "docs" / "plugins.md"
RATING = _classes(_python_blocks(PLUGINS_MD, "A rating model in 25 lines"))
FACTOR = _classes(_python_blocks(PLUGINS_MD, "A factor model in 40 lines"))
api_source = _python_blocks(ROOT / "docs" / "api.md", "Your own model")
ITEM_MEAN = _classes(api_source[api_source.index("import numpy") : api_source.index("mine =")])


def test_the_docs_models_are_as_short_as_their_headings_say():
    for block, limit in (("A rating model in 25 lines", 25), ("A factor model in 40 lines", 40)):
        code = _python_blocks(PLUGINS_MD, block)
        body = code[code.index("class ") :]
        lines = [ln for ln in body.splitlines() if ln.strip()]
        assert len(lines) <= limit, f"{block}: {len(lines)} lines"


class TestDocsRatingModel(ModelContract):
    seeded = False

    def make_model(self, **params: Any) -> Model:
        return RATING["UserItemMean"]()


class TestDocsFactorModel(ModelContract):
    def make_model(self, **params: Any) -> Model:
        return FACTOR["TruncatedSVD"](**params)


class TestDocsApiItemMean(ModelContract):
    seeded = False
    learns = False  # item means alone are not expected to beat the global mean here

    def make_model(self, **params: Any) -> Model:
        return ITEM_MEAN["ItemMean"]()
