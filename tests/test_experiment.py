"""The experiment runner: labels, seeds, run folders, resume, parallel runs, hooks, tuning,
significance tests, search spaces and TOML experiment files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from pydantic import Field
from scipy import stats

from workbench import hookimpl
from workbench.api import resume_run
from workbench.data import Interactions
from workbench.errors import DataError, ParamError, UnknownNameError, WorkbenchError
from workbench.experiments.compare import compare, derive_seed, load_run, request_of
from workbench.experiments.resolve import resolve_models
from workbench.experiments.runfolder import RunFolder
from workbench.factor.embedding import FactorModel
from workbench.model import EpochInfo
from workbench.params import Params
from workbench.plugins import load_plugins, set_loaded
from workbench.search.tuning import load_tune, tune
from workbench.testing import low_rank_ratings


class ToyParams(Params):
    n_factors: int = Field(2, ge=1, description="factors")
    n_epochs: int = Field(3, ge=1, description="epochs")
    shrink: float = Field(5.0, ge=0, description="bias shrinkage")
    seed: int = Field(0, ge=0, description="seed")
    interrupt_at: int | None = Field(None, description="raise KeyboardInterrupt at this fit")
    diverge: bool = Field(False, description="report a NaN loss")


class Toy(FactorModel):
    """Shrunken biases plus small seeded random factors (a test fixture)."""

    name = "toy-test"
    Params = ToyParams
    fits: ClassVar[list[dict[str, Any]]] = []
    #: interrupt_at fires once per test (the fixture re-arms it), so a resume cannot re-fire.
    armed: ClassVar[bool] = True

    def _fit(self, train: Interactions, *, callback: Any, validation: Any) -> None:
        p = self.params
        Toy.fits.append({"seed": p.seed, "n_train": len(train)})
        if p.interrupt_at is not None and len(Toy.fits) >= p.interrupt_at and Toy.armed:
            Toy.armed = False
            raise KeyboardInterrupt
        rng = np.random.default_rng(p.seed)
        mu = float(train.value.mean())
        res = train.value - mu
        ib = np.bincount(train.item, res, train.n_items) / (train.item_counts() + p.shrink)
        res = res - ib[train.item]
        ub = np.bincount(train.user, res, train.n_users) / (train.user_counts() + p.shrink)
        self.global_mean_ = mu
        self.item_bias_, self.user_bias_ = ib.astype(np.float32), ub.astype(np.float32)
        self.user_factors_ = rng.normal(0, 0.05, (train.n_users, p.n_factors)).astype(np.float32)
        self.item_factors_ = rng.normal(0, 0.05, (train.n_items, p.n_factors)).astype(np.float32)
        for epoch in range(1, p.n_epochs + 1):
            loss = float("nan") if p.diverge else 1.0 / epoch
            callback(EpochInfo(epoch, p.n_epochs, loss))
            self.check_loss(loss, epoch)


class _Plugin:
    @hookimpl
    def register_models(register):
        register(Toy)


class _Listener:
    calls: ClassVar[list[dict[str, Any]]] = []

    @hookimpl
    def on_run_finished(run):
        lines = 0
        if run["run_dir"]:
            lines = len(Path(run["run_dir"], "results.jsonl").read_text().splitlines())
        _Listener.calls.append({"model": run["model"], "fold": run["fold"], "lines": lines})


@pytest.fixture(autouse=True)
def plugins():
    """The built-in plugins plus the toy model and a run listener."""
    set_loaded(load_plugins(extra=[("toy", _Plugin), ("listener", _Listener)]))
    Toy.fits.clear()
    Toy.armed = True
    _Listener.calls.clear()
    yield
    set_loaded(None)


@pytest.fixture(scope="module")
def data() -> Interactions:
    return low_rank_ratings(n_users=60, n_items=40, density=0.3)


def _scores(results) -> pd.DataFrame:
    return results.scores.sort_values(["model", "fold", "metric"]).reset_index(drop=True)


# -- labels and models ------------------------------------------------------------------------
def test_labels_repeat_explicit_and_instances():
    entries = resolve_models(
        [
            "toy-test",
            "toy-test n_factors=3",
            {"name": "toy-test", "label": "big", "n_factors": 8},
            ("mine", Toy(n_factors=4)),
            Toy(),
        ]
    )
    assert [e.label for e in entries] == ["toy-test", "toy-test[2]", "big", "mine", "toy-test[3]"]
    assert entries[2].model.n_factors == 8
    assert entries[1].model.get_params()["n_factors"] == 3


def test_duplicate_label_and_unknown_model():
    with pytest.raises(ParamError, match="label 'x' is used twice"):
        resolve_models(["toy-test label=x", "toy-test label=x"])
    with pytest.raises(UnknownNameError, match="did you mean 'toy-test'"):
        resolve_models(["toy-tset"])
    with pytest.raises(ParamError, match="unknown parameter 'n_factor'"):
        resolve_models(["toy-test n_factor=3"])


# -- seeds --------------------------------------------------------------------------------------
def test_seed_flows_to_models_per_fold_unless_fixed(data):
    compare(data, "kfold n_folds=3", ["toy-test", "toy-test seed=7"], ["rmse"], seed=5)
    seeds = [f["seed"] for f in Toy.fits]
    derived = [derive_seed(5, fold) for fold in range(3)]
    assert seeds == [derived[0], 7, derived[1], 7, derived[2], 7]
    assert len(set(derived)) == 3 and derive_seed(5, 0) == derive_seed(5, 0)


def test_same_seed_same_scores_other_seed_other_split(data):
    a = compare(data, "kfold n_folds=3", ["toy-test"], ["rmse", "ndcg@5"], seed=1)
    b = compare(data, "kfold n_folds=3", ["toy-test"], ["rmse", "ndcg@5"], seed=1)
    c = compare(data, "kfold n_folds=3", ["toy-test"], ["rmse", "ndcg@5"], seed=2)
    pd.testing.assert_frame_equal(_scores(a), _scores(b))
    assert not _scores(a)["value"].equals(_scores(c)["value"])
    assert a.metadata["splitter"]["params"]["seed"] == 1


# -- results ----------------------------------------------------------------------------------
def test_results_tables_curves_timings_and_metadata(data):
    res = compare(data, "kfold n_folds=2", ["toy-test", "biases"], ["rmse", "ndcg@5"], seed=0)
    wide = res.to_pandas()
    assert list(wide["model"]) == ["toy-test", "toy-test", "biases", "biases"]
    assert {"rmse", "ndcg@5", "fit_seconds", "predict_seconds"} <= set(wide.columns)
    runs = res.runs.set_index(["model", "fold"])
    assert (runs["n_train"] + runs["n_test"] == len(data)).all()
    assert {"cold_users", "cold_items", "cold_pairs"} <= set(res.runs.columns)
    curve = res.curves[res.curves["model"] == "toy-test"]
    assert len(curve) == 2 * 3 and curve["loss"].iloc[0] == 1.0
    meta = res.metadata
    assert meta["dataset"]["fingerprint"] == data.fingerprint()
    assert meta["higher_is_better"] == {"rmse": False, "ndcg@5": True}
    assert {"workbench", "python", "numpy", "plugins"} <= set(meta["versions"])
    assert meta["protocol"]["exclude_seen"] is True
    assert res.summary().loc["toy-test", ("rmse", "mean")] == pytest.approx(
        wide[wide["model"] == "toy-test"]["rmse"].mean()
    )


def test_unfit_metric_and_model_refused_before_training():
    implicit = low_rank_ratings(kind="implicit")
    with pytest.raises(DataError, match="metric 'rmse' needs explicit feedback"):
        compare(implicit, "kfold n_folds=2", ["toy-test"], ["rmse", "ndcg@5"])
    assert Toy.fits == []

    class ExplicitOnly(Toy):
        feedback = frozenset({"explicit"})

    with pytest.raises(DataError, match="needs explicit feedback"):
        compare(implicit, "kfold n_folds=2", [ExplicitOnly()], ["ndcg@5"])
    assert Toy.fits == []


def test_a_failing_task_is_recorded_and_the_rest_run(data, tmp_path):
    res = compare(
        data,
        "kfold n_folds=2",
        ["toy-test", "toy-test diverge=true"],
        ["rmse"],
        run_dir=tmp_path / "run",
    )
    assert res.models == ["toy-test", "toy-test[2]"]
    assert len(res.metadata["errors"]) == 2
    assert "diverged" in res.metadata["errors"][0]["error"]
    assert set(res.scores["model"]) == {"toy-test"}


def test_third_party_instance_not_registered(data):
    class Unregistered(Toy):
        name = "not-registered"

    res = compare(data, "holdout", [Unregistered(), "toy-test"], ["rmse"])
    assert res.models == ["not-registered", "toy-test"]


# -- run folders ------------------------------------------------------------------------------
def test_run_folder_holds_every_result_and_hook_sees_it_on_disk(data, tmp_path):
    run = tmp_path / "run"
    res = compare(data, "kfold n_folds=3", ["toy-test", "biases"], ["rmse"], run_dir=run)
    lines = (run / "results.jsonl").read_text().splitlines()
    assert len(lines) == 6 and all(json.loads(line)["scores"] for line in lines)
    meta = json.loads((run / "metadata.json").read_text())
    assert meta["seed"] == 0 and meta["models"][1]["name"] == "biases"
    assert [c["lines"] for c in _Listener.calls] == [1, 2, 3, 4, 5, 6]
    pd.testing.assert_frame_equal(_scores(load_run(run)), _scores(res))
    with pytest.raises(WorkbenchError, match="already holds a run: use --resume"):
        compare(data, "kfold n_folds=3", ["toy-test", "biases"], ["rmse"], run_dir=run)


def test_interrupted_run_keeps_results_and_resume_finishes_the_rest(data, tmp_path):
    run = tmp_path / "run"
    models = ["toy-test interrupt_at=5", "toy-test seed=4"]
    with pytest.raises(KeyboardInterrupt):  # at the 5th fit: fold 3 of the first model
        compare(data, "kfold n_folds=3", models, ["rmse"], run_dir=run, seed=3)
    kept = RunFolder(run).records()
    assert [(r["model"], r["fold"]) for r in kept] == [
        ("toy-test", 0),
        ("toy-test[2]", 0),
        ("toy-test", 1),
        ("toy-test[2]", 1),
    ]
    assert len(load_run(run).runs) == 4
    Toy.fits.clear()
    done = compare(data, "kfold n_folds=3", models, ["rmse"], run_dir=run, seed=3, resume=True)
    assert len(Toy.fits) == 2 and len(done.runs) == 6
    assert RunFolder(run).records()[:4] == kept  # finished lines are never rewritten
    full = compare(data, "kfold n_folds=3", models, ["rmse"], seed=3)
    pd.testing.assert_frame_equal(_scores(done), _scores(full))


def test_resume_refuses_another_request_and_repairs_a_cut_line(data, tmp_path):
    run = tmp_path / "run"
    compare(data, "kfold n_folds=2", ["toy-test"], ["rmse"], run_dir=run, seed=1)
    with pytest.raises(WorkbenchError, match="different seed"):
        compare(data, "kfold n_folds=2", ["toy-test"], ["rmse"], run_dir=run, seed=2, resume=True)
    with pytest.raises(WorkbenchError, match=r"different models\[toy-test\]\.params\.n_factors"):
        compare(
            data,
            "kfold n_folds=2",
            ["toy-test n_factors=3"],
            ["rmse"],
            run_dir=run,
            seed=1,
            resume=True,
        )
    with pytest.raises(WorkbenchError, match="not a run folder"):
        compare(data, "holdout", ["toy-test"], ["rmse"], run_dir=tmp_path / "x", resume=True)
    path = run / "results.jsonl"
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])  # a crash mid-line
    assert len(RunFolder(run).records()) == 1
    Toy.fits.clear()
    res = compare(data, "kfold n_folds=2", ["toy-test"], ["rmse"], run_dir=run, seed=1, resume=True)
    assert len(Toy.fits) == 1 and len(res.runs) == 2
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_a_run_folder_has_one_writer_at_a_time(data, tmp_path):
    run = tmp_path / "run"
    compare(data, "holdout", ["toy-test"], ["rmse"], run_dir=run)
    holder = RunFolder(run)
    holder.lock()  # another process resuming this folder right now
    try:
        with pytest.raises(WorkbenchError, match="in use by another running comparison"):
            compare(data, "holdout", ["toy-test"], ["rmse"], run_dir=run, resume=True)
    finally:
        holder.unlock()
    assert len(compare(data, "holdout", ["toy-test"], ["rmse"], run_dir=run, resume=True).runs)


def test_resume_run_from_metadata_alone(data, tmp_path):
    run = tmp_path / "run"
    spec = "synthetic n_users=80 n_items=50 n_interactions=1500"
    with pytest.raises(KeyboardInterrupt):
        compare(
            spec,
            "kfold n_folds=2",
            ["toy-test interrupt_at=2", "toy-test seed=4"],
            ["rmse"],
            run_dir=run,
        )
    request = request_of(run)
    assert request["data"] == spec and request["models"][1].seed_fixed
    Toy.fits.clear()
    res = resume_run(run)
    assert len(Toy.fits) == 2 and len(res.runs) == 4


def test_parallel_jobs_give_the_same_scores_as_serial(tmp_path):
    spec = "synthetic n_users=150 n_items=100 n_interactions=3000"
    models = ["sgd n_epochs=5 n_factors=4", "biases", "toy-test"]
    serial = compare(spec, "kfold n_folds=2", models, ["rmse", "ndcg@5"], seed=9)
    parallel = compare(
        spec,
        "kfold n_folds=2",
        models,
        ["rmse", "ndcg@5"],
        seed=9,
        jobs=2,
        run_dir=tmp_path / "par",
    )
    pd.testing.assert_frame_equal(_scores(serial), _scores(parallel))
    assert parallel.models == serial.models
    assert len(load_run(tmp_path / "par").runs) == 6


def test_per_user_results_give_the_activity_table(data, tmp_path):
    run = tmp_path / "run"
    res = compare(
        data, "kfold n_folds=2", ["toy-test"], ["rmse", "ndcg@5"], run_dir=run, per_user=True
    )
    table = pd.DataFrame(res.metadata["activity"])
    assert {"bucket", "users", "ndcg@5", "rmse"} <= set(table.columns)
    assert len(list((run / "per_user").glob("*.parquet"))) == 2
    again = pd.DataFrame(load_run(run).metadata["activity"])
    pd.testing.assert_frame_equal(table, again)


# -- significance ----------------------------------------------------------------------------
def test_paired_tests_match_scipy():
    from workbench.analysis.stats import paired_test

    a = np.array([0.91, 0.93, 0.90, 0.92, 0.95])
    b = np.array([0.95, 0.94, 0.96, 0.93, 0.97])
    out = paired_test(a, b, test_train_ratio=0.25)
    ref = stats.ttest_rel(a, b)
    assert out["t_statistic"] == pytest.approx(ref.statistic)
    assert out["t_pvalue"] == pytest.approx(ref.pvalue)
    assert out["wilcoxon_pvalue"] == pytest.approx(stats.wilcoxon(a - b).pvalue)
    assert out["corrected_pvalue"] > out["t_pvalue"]
    same = paired_test(a, a)
    assert same["t_pvalue"] == 1.0 and same["wilcoxon_pvalue"] == 1.0
    assert np.isnan(paired_test(a[:1], b[:1])["t_pvalue"])


def test_significance_rows_best_vs_each_other(data):
    res = compare(
        data, "kfold n_folds=3", ["biases", "toy-test shrink=0", "global-mean"], ["rmse", "ndcg@5"]
    )
    sig = pd.DataFrame(res.metadata["significance"])
    rmse = sig[sig["metric"] == "rmse"]
    best = res.best("rmse")
    assert set(rmse["best"]) == {best} and len(rmse) == 2 and best not in set(rmse["other"])
    assert (rmse["n_folds"] == 3).all() and rmse["t_pvalue"].between(0, 1).all()
    assert (rmse["mean_diff"] <= 0).all()  # lower RMSE is better


# -- tuning -----------------------------------------------------------------------------------
def test_grid_search_ranks_and_saves_best(data, tmp_path):
    run = tmp_path / "tune"
    out = tune(
        data,
        "kfold n_folds=2",
        "toy-test n_epochs=1",
        ["shrink=0,5,50", "n_factors=1,2"],
        "rmse",
        run_dir=run,
    )
    assert len(out.ranking) == 6 and list(out.ranking["rank"]) == list(range(1, 7))
    means = out.ranking["mean"].to_numpy()
    assert np.all(np.diff(means) >= 0)  # rmse: lower first
    assert out.best_params["n_epochs"] == 1 and out.best_params["shrink"] in (0, 5, 50)
    saved = json.loads((run / "best.json").read_text())
    assert saved["params"] == out.best_params and saved["metric"] == "rmse"
    again = load_tune(run)
    pd.testing.assert_frame_equal(again.ranking, out.ranking)


def test_random_search_reproducible_and_resumable(tmp_path):
    data = "synthetic n_users=80 n_items=50 n_interactions=1500"
    space = {"shrink": "0.1:100:log", "n_factors": [1, 2, 3]}
    a = tune(data, "holdout", "toy-test", space, "ndcg@5", search="random", n_iter=4, seed=3)
    b = tune(data, "holdout", "toy-test", space, "ndcg@5", search="random", n_iter=4, seed=3)
    cols = ["label", "shrink", "n_factors", "mean", "std"]
    pd.testing.assert_frame_equal(a.ranking[cols], b.ranking[cols])
    assert np.all(np.diff(a.ranking["mean"].to_numpy()) <= 0)  # ndcg: higher first
    run = tmp_path / "t"
    Toy.fits.clear()
    with pytest.raises(KeyboardInterrupt):
        tune(
            data,
            "holdout",
            "toy-test interrupt_at=3",
            space,
            "ndcg@5",
            search="random",
            n_iter=4,
            seed=3,
            run_dir=run,
        )
    from workbench.search.tuning import resume_tune

    Toy.fits.clear()
    resumed = resume_tune(run)
    assert len(Toy.fits) == 2 and len(resumed.ranking) == 4
    pd.testing.assert_frame_equal(resumed.ranking[["label", "mean"]], a.ranking[["label", "mean"]])


def test_tune_rejects_bad_candidates_before_training(data):
    with pytest.raises(ParamError, match="unknown parameter 'n_factor'"):
        tune(data, "holdout", "toy-test", ["n_factor=1,2"], "rmse")
    with pytest.raises(ParamError, match="both fixed and searched"):
        tune(data, "holdout", "toy-test n_factors=2", ["n_factors=1,2"], "rmse")
    assert Toy.fits == []


def test_float_parameter_with_integer_bounds_is_searched_as_floats(data):
    # shrink is declared a float: 0:50 is a float range for it; n_factors (an int) stays int
    out = tune(data, "holdout", "toy-test", ["shrink=0:50", "n_factors=1:3"], "rmse",
               search="random", n_iter=6, seed=2)  # fmt: skip
    shrinks = out.ranking["shrink"].to_numpy(dtype=float)
    assert np.any(shrinks != np.round(shrinks)) and np.all((shrinks >= 0) & (shrinks <= 50))
    assert set(out.ranking["n_factors"]) <= {1, 2, 3}
    forced = tune(data, "holdout", "toy-test", ["shrink=0:50:int"], "rmse", search="random",
                  n_iter=4, seed=2)  # fmt: skip
    assert np.all(forced.ranking["shrink"].to_numpy(dtype=float) % 1 == 0)


# -- search spaces ----------------------------------------------------------------------------
def test_search_space_syntax():
    from workbench.search.space import candidates, parse_space

    dims = parse_space(["n_factors=50,100,200", "lr=0.001:0.1:log", "reg=0.0:1:3", "k=10:20"])
    assert dims[0].grid() == ["50", "100", "200"]
    assert dims[1].grid() == pytest.approx([0.001, 0.01, 0.1])
    assert dims[2].grid() == [0.0, 0.5, 1.0] and dims[2].integer is False
    assert dims[3].integer and dims[3].grid() == [10, 15, 20]
    assert len(candidates(dims)) == 3 * 3 * 3 * 3
    toml = parse_space({"a": [1, 2], "b": {"low": 0.1, "high": 1, "log": True, "points": 2}})
    assert candidates(toml) == [
        {"a": 1, "b": 0.1},
        {"a": 1, "b": 1.0},
        {"a": 2, "b": 0.1},
        {"a": 2, "b": 1.0},
    ]
    draws = candidates(dims, search="random", n_iter=20, seed=1)
    assert draws == candidates(dims, search="random", n_iter=20, seed=1)
    assert all(0.001 <= d["lr"] <= 0.1 and 10 <= d["k"] <= 20 for d in draws)
    assert len(candidates(parse_space(["a=1,2"]), search="random", n_iter=10)) == 2


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["lr"], "expected NAME=VALUES"),
        (["lr=0.1:0.01"], "is empty"),
        (["lr=0:1:log"], "needs LOW > 0"),
        (["lr=a:b"], "is not a number"),
        (["lr=0.1:1:cubic"], "unknown range option"),
        (["lr=1,2", "lr=3"], "given twice"),
        ([], "is empty"),
    ],
)
def test_search_space_errors(items, message):
    from workbench.search.space import parse_space

    with pytest.raises(ParamError, match=message):
        parse_space(items)


def test_loaded_data_remembers_its_spec_but_a_subset_does_not():
    from workbench.experiments.resolve import resolve_data

    spec = "synthetic n_users=50 n_items=30 n_interactions=400"
    full, request = resolve_data(spec)
    assert request == spec and resolve_data(full)[1] == spec
    part = full.subset(np.arange(100))
    assert resolve_data(part)[1] is None


def test_toml_lines_find_keys_in_tables_inline_tables_and_dotted_keys(tmp_path):
    from workbench.experiments.config import TomlLines, load_experiment

    text = (
        'seed = 1\nprotocol = { clip = true, bad = 2 }\n\n[[models]]\nname = "sgd"\nlr = 0.1\n'
        '\n[[models]]\nname = "sgd"\n"lr" = 0.2\n'
    )
    lines = TomlLines(text)
    assert lines.line_of("protocol", "bad") == 2
    assert lines.line_of("models", 0, "lr") == 6 and lines.line_of("models", 1, "lr") == 10
    assert lines.line_of("models", 1) == 8 and lines.line_of("seed") == 1
    assert TomlLines("a = 1\nprotocol.bad = 3\n").line_of("protocol", "bad") == 2
    path = tmp_path / "e.toml"
    path.write_text(text)
    with pytest.raises(ParamError, match=r"e.toml line 2: unknown key 'protocol.bad'"):
        load_experiment(path)
    path.write_text('seed = 1\njobs = "two"\n')
    with pytest.raises(ParamError, match=r"line 2: 'jobs' must be an integer"):
        load_experiment(path)


def test_validation_curves_refuse_models_that_would_select_on_the_test_fold():
    from workbench.model import Model

    class Selecting(Toy):
        def selects_on_validation(self) -> bool:
            return True

    data = low_rank_ratings()
    assert not Model.selects_on_validation(Toy())
    with pytest.raises(DataError, match="would leak the test set"):
        compare(data, "holdout", [("picky", Selecting())], ["rmse"], validation=True)
    results = compare(data, "holdout", [("picky", Selecting())], ["rmse"], validation=False)
    assert results.models == ["picky"]
