"""Per-user statistics (workbench.analysis.pairwise) against independent references:
adjusted p-values against statsmodels' multipletests, the per-user tests against scipy.stats
(and the fold-blocked t-test against statsmodels' OLS with a fixed effect per fold)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench.analysis import pairwise as pw
from workbench.errors import ParamError

multitest = pytest.importorskip("statsmodels.stats.multitest")


@pytest.mark.parametrize("method", ["holm", "fdr_bh"])
def test_adjust_matches_statsmodels(method):
    rng = np.random.default_rng(3)
    for size in (1, 2, 7, 40):
        p = rng.uniform(0, 0.2, size) ** 2
        p[rng.integers(0, size)] = p.min()  # a tie
        expected = multitest.multipletests(p, method=method)[1]
        np.testing.assert_allclose(pw.adjust(p, method), expected, rtol=0, atol=1e-12)


def test_adjust_leaves_nan_out():
    p = np.array([0.01, np.nan, 0.04, 0.03])
    got = pw.adjust(p, "holm")
    assert math.isnan(got[1])
    ref = multitest.multipletests(p[[0, 2, 3]], method="holm")[1]
    np.testing.assert_allclose(got[[0, 2, 3]], ref, atol=1e-12)
    with pytest.raises(ParamError, match="adjustment 'bonf'"):
        pw.adjust(p, "bonf")


def test_one_fold_t_is_scipy_ttest_rel():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.3, 0.1, 200), rng.normal(0.28, 0.1, 200)
    t, p, dz = pw.blocked_t(a - b, np.zeros(200))
    ref = stats.ttest_rel(a, b)
    assert t == pytest.approx(ref.statistic, abs=1e-9)
    assert p == pytest.approx(ref.pvalue, abs=1e-12)
    d = a - b
    assert dz == pytest.approx(d.mean() / d.std(ddof=1), abs=1e-12)


def test_blocked_t_is_ols_with_fold_effects():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(1)
    sizes = [50, 80, 65]
    block = np.repeat(np.arange(3), sizes)
    diff = rng.normal(0.02, 0.1, len(block)) + np.array([0.0, 0.05, -0.03])[block]
    t, p, _ = pw.blocked_t(diff, block)
    dummies = np.eye(3)[block]
    fit = sm.OLS(diff, dummies).fit()
    ref = fit.t_test(np.array(sizes, dtype=float) / len(block))
    assert t == pytest.approx(float(ref.tvalue.item()), abs=1e-9)
    assert p == pytest.approx(float(ref.pvalue), abs=1e-12)


def test_one_fold_wilcoxon_is_scipy():
    rng = np.random.default_rng(2)
    d = np.round(rng.normal(0.01, 0.1, 300), 2)  # ties and zeros, as metric values have
    z, p = pw.blocked_wilcoxon(d, np.zeros(len(d)))
    ref = stats.wilcoxon(d, method="approx", correction=False, zero_method="wilcox")
    assert p == pytest.approx(ref.pvalue, abs=1e-12)
    assert abs(z) == pytest.approx(abs(stats.norm.isf(ref.pvalue / 2)), abs=1e-6)


def test_stratified_wilcoxon_sums_the_folds():
    """Two folds: z = (S_1 + S_2) / sqrt(V_1 + V_2), each fold's S and V from scipy's z."""
    rng = np.random.default_rng(4)
    d1, d2 = np.round(rng.normal(0.02, 0.1, 120), 2), np.round(rng.normal(-0.01, 0.1, 90), 2)
    parts = []
    for d in (d1, d2):
        nz = d[d != 0]
        n = len(nz)
        ranks = stats.rankdata(np.abs(nz))
        _, ties = np.unique(ranks, return_counts=True)
        var = n * (n + 1) * (2 * n + 1) / 24 - (ties**3 - ties).sum() / 48  # of the sum R+
        ref = stats.wilcoxon(d, method="approx", correction=False, zero_method="wilcox")
        z_f = math.copysign(stats.norm.isf(ref.pvalue / 2), ranks[nz > 0].sum() - n * (n + 1) / 4)
        parts.append((2 * z_f * math.sqrt(var), 4 * var))  # S = 2 (R+ - E), Var(S) = 4 Var(R+)
    z, p = pw.blocked_wilcoxon(np.concatenate([d1, d2]), np.repeat([0, 1], [120, 90]))
    expected = sum(s for s, _ in parts) / math.sqrt(sum(v for _, v in parts))
    assert z == pytest.approx(expected, abs=1e-6)
    assert p == pytest.approx(2 * stats.norm.sf(abs(expected)), abs=1e-6)


def _frames(rng, shift, folds=3, users=60):
    """Per-user frames of one model; the test data (relevant counts) is the same for all."""
    truth = np.random.default_rng(99)
    out = []
    for f in range(folds):
        n_rel = truth.integers(0, 4, users)
        values = np.clip(rng.normal(0.3 + shift, 0.2, users), 0, 1)
        out.append(
            pd.DataFrame(
                {
                    "user": np.arange(users),
                    "n_relevant": n_rel,
                    "ndcg@10": values,
                    "n_rated": n_rel + 1,
                    "sq_error": rng.uniform(0, 3, users) * (n_rel + 1),
                    "fold": f,
                }
            )  # fmt: skip
        )
    return out


def test_pairwise_every_pair_and_holm_over_pairs():
    rng = np.random.default_rng(5)
    per_user = {"a": _frames(rng, 0.05), "b": _frames(rng, 0.0), "c": _frames(rng, 0.0)}
    frame = pw.pairwise(per_user, ["ndcg@10", "rmse"], higher_is_better={"rmse": False})
    assert len(frame) == 6  # 3 pairs x 2 metrics
    for _metric, group in frame.groupby("metric"):
        ref = multitest.multipletests(group["t_pvalue"], method="holm")[1]
        np.testing.assert_allclose(group["t_pvalue_adjusted"], ref, atol=1e-12)
    ab = frame[(frame.metric == "ndcg@10") & (frame.model_a == "a") & (frame.model_b == "b")]
    row = ab.iloc[0]
    table = pw.paired_frame(per_user, "ndcg@10", ["a", "b"]).dropna()
    assert row.n_users == len(table) == sum(int((f["n_relevant"] > 0).sum()) for f in per_user["a"])
    assert row.mean_a == pytest.approx(table["a"].mean())
    assert row.better == "a"
    # rmse per user: sqrt(sq_error / n_rated)
    f0 = per_user["a"][0]
    got = pw.user_values(f0, "rmse")
    np.testing.assert_allclose(got.to_numpy(), np.sqrt(f0.sq_error / f0.n_rated))


def test_bootstrap_interval_is_seeded_and_around_the_figure():
    rng = np.random.default_rng(6)
    frames = _frames(rng, 0.0)
    mean, low, high, n = pw.bootstrap_interval(frames, "ndcg@10", n_boot=500, seed=1)
    folds = [f.loc[f.n_relevant > 0, "ndcg@10"].mean() for f in frames]
    assert mean == pytest.approx(np.mean(folds))
    assert low < mean < high
    assert (low, high) == pw.bootstrap_interval(frames, "ndcg@10", n_boot=500, seed=1)[1:3]
    assert (low, high) != pw.bootstrap_interval(frames, "ndcg@10", n_boot=500, seed=2)[1:3]
    rmse = pw.bootstrap_interval(frames, "rmse", n_boot=200, seed=1)
    pooled = [math.sqrt(f.sq_error.sum() / f.n_rated.sum()) for f in frames]
    assert rmse[0] == pytest.approx(np.mean(pooled))
    with pytest.raises(ParamError, match="n_boot=0"):
        pw.bootstrap_interval(frames, "ndcg@10", n_boot=0)


def test_compare_keeps_per_user_statistics(tmp_path):
    import workbench as wb

    data = wb.load_dataset("synthetic n_users=60 n_items=40 n_interactions=1200 seed=1")
    results = wb.compare(
        data, "kfold n_folds=3", ["global-mean", "biases", "popularity"], ["rmse", "ndcg@5"],
        run_dir=tmp_path / "run",
    )  # fmt: skip
    assert list((tmp_path / "run" / "per_user").glob("*.parquet"))
    pairs = wb.pairwise_tests(results)
    assert set(pairs.metric) == {"rmse", "ndcg@5"}
    assert len(pairs[pairs.metric == "ndcg@5"]) == 3  # every pair of 3 models
    ci = wb.intervals(tmp_path / "run")  # read back from the run folder
    means = results.summary()
    assert len(ci) == 6 and (ci.ci_low <= ci["mean"]).all() and (ci["mean"] <= ci.ci_high).all()
    got = ci.set_index(["metric", "model"])["mean"]
    for model in results.models:
        assert got[("ndcg@5", model)] == pytest.approx(
            results.scores.query("model == @model and metric == 'ndcg@5'")["value"].mean()
        )
    assert means is not None
    bh = wb.pairwise_tests(results, adjust_method="fdr_bh")
    for _, group in bh.groupby("metric"):
        ref = multitest.multipletests(group["wilcoxon_pvalue"], method="fdr_bh")[1]
        np.testing.assert_allclose(group["wilcoxon_pvalue_adjusted"], ref, atol=1e-12)
    exported = results.export("json", path=tmp_path / "r.json")
    doc = json.loads(exported.read_text())
    assert "pairwise" in json.dumps(doc) and "intervals" in json.dumps(doc)


def test_seeds_keep_seed_variance_apart_from_fold_variance(tmp_path):
    import workbench as wb
    from workbench.errors import ParamError as PE

    data = wb.load_dataset("synthetic n_users=60 n_items=40 n_interactions=1200 seed=1")
    results = wb.compare(
        data, "kfold n_folds=3", ["sgd n_factors=4 n_epochs=3", "global-mean"], ["rmse"],
        seeds=2, run_dir=tmp_path / "run", seed=5,
    )  # fmt: skip
    assert set(results.models) == {"sgd seed=5", "sgd seed=6", "global-mean"}
    table = wb.seed_variance(tmp_path / "run")
    row = table.set_index("model").loc["sgd"]
    x = results.per_fold("rmse")[["sgd seed=5", "sgd seed=6"]].to_numpy()
    assert row.n_seeds == 2 and row.n_folds == 3
    assert row.fold_std == pytest.approx(np.std(x.mean(axis=1), ddof=1))
    assert row.seed_std == pytest.approx(np.sqrt(np.mean(np.var(x, axis=1, ddof=1))))
    assert row.seed_std > 0  # the seeds train differently on the same split
    with pytest.raises(PE, match="seeds"):
        wb.compare(data, "kfold n_folds=3", ["biases"], ["rmse"], seeds="1,x")


def test_resumed_run_keeps_per_user_files_consistent(tmp_path):
    """A task whose record was lost (crash after its per-user file, before its line) reruns
    on resume: every record names a per-user file holding that task's values."""
    import workbench as wb

    data = wb.load_dataset("synthetic n_users=60 n_items=40 n_interactions=1200 seed=1")
    args = (data, "kfold n_folds=3", ["biases", "popularity"], ["ndcg@5"])
    full = wb.compare(*args, run_dir=tmp_path / "a")
    run = tmp_path / "b"
    wb.compare(*args, run_dir=run)
    lines = (run / "results.jsonl").read_text().splitlines(keepends=True)
    (run / "results.jsonl").write_text("".join(lines[:-2]) + lines[-2][:10])  # cut mid-line
    resumed = wb.resume_run(run)
    for rec in (json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()):
        frame = pd.read_parquet(run / rec["per_user_file"])
        assert frame["ndcg@5"][frame.n_relevant > 0].mean() == pytest.approx(
            rec["scores"]["ndcg@5"], abs=1e-12
        )
    pd.testing.assert_frame_equal(wb.pairwise_tests(resumed), wb.pairwise_tests(full))
    pd.testing.assert_frame_equal(wb.intervals(resumed), wb.intervals(full))


def test_report_readjusts_with_benjamini_hochberg(tmp_path, capsys):
    import workbench as wb
    from tests.cli_helpers import cli

    data = wb.load_dataset("synthetic n_users=60 n_items=40 n_interactions=1200 seed=1")
    run = tmp_path / "run"
    wb.compare(data, "kfold n_folds=2", ["global-mean", "biases", "popularity"], ["rmse"],
               run_dir=run)  # fmt: skip
    out = tmp_path / "bh.json"
    code, _, err = cli(capsys, "report", run, "--adjust", "fdr_bh", "--export", f"json path={out}")
    assert code == 0, err
    meta = json.loads(out.read_text())["metadata"]
    assert meta["statistics"]["adjust"] == "fdr_bh"
    raw = [r["t_pvalue"] for r in meta["pairwise"]]
    ref = multitest.multipletests(raw, method="fdr_bh")[1]
    np.testing.assert_allclose([r["t_pvalue_adjusted"] for r in meta["pairwise"]], ref, atol=1e-12)
    code, _, err = cli(capsys, "report", run, "--adjust", "bonf")
    assert code != 0 and err.strip() == "error: adjust 'bonf': expected one of holm, fdr_bh"
