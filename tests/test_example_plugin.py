"""The third-party example (examples/workbench-example) works exactly like a built-in.

It is its own distribution with a ``workbench`` entry point; `make setup` installs it (and
if it is missing, these tests install it into a temporary folder first).
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import typer
from plugin_env import EXAMPLE, install, is_installed, run_workbench

from workbench.plugins import get_registry, set_loaded


@pytest.fixture(scope="session")
def example_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | None]:
    """None when the example is installed; else a folder it was just installed into."""
    if is_installed("workbench-example"):
        yield None
        return
    target = install([EXAMPLE], tmp_path_factory.mktemp("site"), tmp_path_factory.mktemp("src"))
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    yield target
    sys.path.remove(str(target))


@pytest.fixture
def registry(example_path):
    set_loaded(None)
    yield get_registry()
    set_loaded(None)


def cli(example_path: Path | None, *args: str, cwd: Path | None = None):
    return run_workbench(*args, path=example_path, cwd=cwd)


def has_command(name: str) -> bool:
    from workbench.cli.app import build_app

    return name in typer.main.get_command(build_app()).commands


# -- CLI ---------------------------------------------------------------------------------------
def test_listed_by_workbench_plugins(example_path) -> None:
    done = cli(example_path, "plugins", "--json")
    assert done.returncode == 0, done.stderr
    listed = {p["name"]: p for p in json.loads(done.stdout)}
    example = listed["example"]
    assert example["distribution"] == "workbench-example" and example["version"] == "0.1.0"
    assert example["status"] == "ok" and example["builtin"] is False
    assert example["module"] == "workbench_example"
    assert example["registers"] == {
        "dataset": ["boardgames"],
        "model": ["item-knn"],
        "metric": ["gini"],
        "exporter": ["latex"],
    }
    builtins = [p for p in listed.values() if p["builtin"]]
    assert builtins and all(p["status"] == "ok" for p in builtins)


def test_models_command_shows_its_parameter_table(example_path) -> None:
    done = cli(example_path, "models", "item-knn")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "item-knn (model from plugin 'example')" in out
    row = next(line for line in out.splitlines() if line.startswith("│ k "))
    assert "int" in row and "40" in row and ">= 1" in row and "neighbours used" in row
    assert "'auto' | 'pearson-baseline' | 'cosine' | 'adjusted-cosine'" in out


def test_train_recommend_similar_from_the_cli(registry, tmp_path: Path) -> None:
    """In process (`CliRunner` on the same app the console script runs)."""
    if not has_command("train"):
        pytest.skip("the train command is not part of this checkout")
    from typer.testing import CliRunner

    from workbench.cli.app import build_app

    def invoke(*args: str):
        result = CliRunner().invoke(build_app(), list(args))
        assert result.exit_code == 0, result.output
        return result.stdout

    path = str(tmp_path / "knn.npz")
    trained = invoke(
        "train", "item-knn", "-d", "boardgames", "-p", "k=20", "-o", path, "-q", "--json"
    )
    assert json.loads(trained)["params"]["k"] == 20
    rows = json.loads(invoke("recommend", path, "--user", "u01", "-k", "3", "--json"))
    assert [r["rank"] for r in rows] == [1, 2, 3] and all(r["title"] for r in rows)
    similar = json.loads(invoke("similar", path, "--item", "101", "-k", "2", "--json"))
    assert len(similar) == 2


def test_a_bad_parameter_is_one_line_naming_it(example_path, tmp_path: Path) -> None:
    if not has_command("train"):
        pytest.skip("the train command is not part of this checkout")
    done = cli(
        example_path,
        "train",
        "item-knn",
        "-d",
        "boardgames",
        "-p",
        "k=0",
        "-o",
        "x.npz",
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: parameter 'k' of model 'item-knn': got '0', expected greater than or equal to 1"
    )
    assert not (tmp_path / "x.npz").exists()


def test_compare_uses_its_model_metric_dataset_and_exporter(example_path, tmp_path: Path) -> None:
    if not has_command("compare"):
        pytest.skip("the compare command is not part of this checkout")
    done = cli(
        example_path,
        "compare",
        "--data",
        "boardgames",
        "--model",
        "item-knn",
        "--model",
        "knn-baseline k=5",
        "--split",
        "kfold n_folds=2",
        "--metric",
        "rmse",
        "--metric",
        "gini@5",
        "--export",
        "latex path=table.tex",
        "--run-dir",
        "run",
        "--json",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    scores = {(s["model"], s["metric"]) for s in json.loads(done.stdout)["scores"]}
    assert ("item-knn", "rmse") in scores and ("item-knn[2]", "gini@5") in scores
    table = (tmp_path / "table.tex").read_text()
    assert r"gini@5 $\downarrow$" in table and "item-knn" in table


# -- Python API --------------------------------------------------------------------------------
def test_created_by_name_from_python(registry) -> None:
    from workbench_example.knn import ItemKNN

    from workbench.specs import parse_spec

    model = registry.create("model", "item-knn", k=15)
    assert isinstance(model, ItemKNN) and model.k == 15
    assert registry.get("model", "knn-baseline") is ItemKNN
    built = parse_spec("model", "item-knn k=5 similarity=cosine").build()
    assert (built.k, built.similarity) == (5, "cosine")
    assert registry.entry("model", "item-knn").distribution == "workbench-example"


def test_every_part_works_through_the_core(registry, tmp_path: Path) -> None:
    from workbench.evaluation import evaluate
    from workbench.splits import Split
    from workbench.storage import load_model

    data = registry.create("dataset", "boardgames").load()
    test = np.random.default_rng(0).random(len(data)) < 0.2
    split = Split(data.subset(~test), data.subset(test))
    model = registry.create("model", "item-knn").fit(split.train)
    metrics = [registry.create("metric", "rmse"), registry.create("metric", "gini", k=5)]
    scores = evaluate(model, split, metrics).scores
    assert 0.5 < scores["rmse"] < 1.0 and 0.0 < scores["gini@5"] < 1.0
    loaded = load_model(model.save(tmp_path / "knn"))  # found by its registered name
    np.testing.assert_array_equal(
        loaded.predict(split.test.user, split.test.item),
        model.predict(split.test.user, split.test.item),
    )


def test_python_api_compare_and_export(registry, tmp_path: Path) -> None:
    api = pytest.importorskip("workbench.api")
    results = api.compare(
        "boardgames", "kfold n_folds=2", ["item-knn", "biases"], ["rmse", "gini@10"]
    )
    assert set(results.models) == {"item-knn", "biases"}
    out = results.export("latex", path=tmp_path / "r.tex")
    assert out == tmp_path / "r.tex" and "biases" in out.read_text()
    recs = api.recommend(api.train("item-knn", api.load_dataset("boardgames")), ["u01"], k=2)
    assert list(recs["rank"]) == [1, 2]
