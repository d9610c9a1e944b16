"""A third-party search strategy and backend, installed with pip like any distribution
(``tests/fixtures/plugins/wb-fixture-kinds``, the examples of docs/plugins.md), run through the
CLI: ``tune --strategy shuffled-grid`` and ``compare --backend threads``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plugin_env import FIXTURES, install, run_workbench

FIXTURE = FIXTURES / "wb-fixture-kinds"
DATA = "synthetic n_users=80 n_items=60 n_interactions=2000 seed=3"
ONLY = {"WORKBENCH_PLUGINS": "datasets,splitters,baselines,sgd,metrics,exporters,search,kinds"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install([FIXTURE], tmp_path_factory.mktemp("site"), tmp_path_factory.mktemp("src"))


def wb(site: Path, *args: str):
    done = run_workbench(*args, path=site, env=ONLY)
    return done.returncode, done.stdout, done.stderr


def test_the_plugin_registers_a_strategy_and_a_backend(site):
    code, out, err = wb(site, "plugins", "--json")
    assert code == 0, err
    kinds = {p["name"]: p for p in json.loads(out)}["kinds"]
    assert kinds["distribution"] == "wb-fixture-kinds" and kinds["status"] == "ok"
    assert kinds["registers"] == {"strategy": ["shuffled-grid"], "backend": ["threads"]}
    code, out, _ = wb(site, "strategies", "--json")
    assert code == 0 and "shuffled-grid" in [s["name"] for s in json.loads(out)]
    code, out, _ = wb(site, "backends", "shuffled-grid", "--json")
    assert code == 1 and "unknown backend 'shuffled-grid'" in out + _


def test_tune_with_the_third_party_strategy(site, tmp_path):
    run = tmp_path / "run"
    args = ["tune", "sgd n_epochs=2", "-p", "n_factors=2,4,8", "-p", "lr=0.002,0.01,0.03"]
    args += ["-d", DATA, "-s", "holdout", "--metric", "rmse", "--n-iter", "9", "--seed", "5"]
    code, out, err = wb(site, *args, "--strategy", "shuffled-grid patience=2", "--run-dir",
                        str(run), "--json", "-q")  # fmt: skip
    assert code == 0, err
    ranking = json.loads(out)["ranking"]
    # the strategy stops after two candidates in a row that do not beat the best so far
    by_label = sorted(ranking, key=lambda r: r["label"])
    best, stale = None, 0
    for row in by_label:
        assert stale < 2, "a candidate was proposed after the strategy should have stopped"
        better = best is None or row["mean"] < best
        best, stale = (row["mean"], 0) if better else (best, stale + 1)
    assert stale == 2 or len(by_label) == 9
    assert len({(r["n_factors"], r["lr"]) for r in ranking}) == len(ranking)  # no repeats
    meta = json.loads((run / "metadata.json").read_text())
    assert meta["tune"]["search"] == "shuffled-grid"
    assert [m["label"] for m in meta["models"]] == [r["label"] for r in by_label]
    records = (run / "results.jsonl").read_text().splitlines()
    assert len(records) == len(ranking)  # one holdout fold per candidate, all on disk
    # a finished search resumes to the same ranking without training again
    code, out, err = wb(site, "tune", "--resume", "--run-dir", str(run), "--json", "-q")
    assert code == 0, err
    assert json.loads(out)["ranking"] == ranking
    assert len((run / "results.jsonl").read_text().splitlines()) == len(records)


def scores(out: str) -> list[tuple]:
    rows = json.loads(out)["scores"]
    return sorted((r["model"], r["fold"], r["metric"], r["value"]) for r in rows)


def test_compare_on_the_third_party_backend_gives_the_local_scores(site, tmp_path):
    args = ["compare", "-d", DATA, "-s", "kfold n_folds=3", "-m", "sgd n_epochs=3", "-m", "biases"]
    args += ["--metric", "rmse", "--json", "-q"]
    code, local, err = wb(site, *args, "--run-dir", str(tmp_path / "a"))
    assert code == 0, err
    code, threads, err = wb(site, *args, "--backend", "threads", "--run-dir", str(tmp_path / "b"))
    assert code == 0, err
    assert scores(threads) == scores(local) and len(scores(local)) == 6
    code, _, err = wb(site, *args, "--backend", "thread", "--run-dir", str(tmp_path / "c"))
    assert code == 1 and "unknown backend 'thread'; did you mean 'threads'?" in err
    assert len(err.strip().splitlines()) == 1


def test_the_docs_show_the_tested_code():
    text = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
    for name in ("strategy.py", "backend.py"):
        code = (FIXTURE / "wb_fixture_kinds" / name).read_text().rstrip("\n")
        assert code in text, f"docs/plugins.md does not show {name} of the fixture"
