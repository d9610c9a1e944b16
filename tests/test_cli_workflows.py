"""The workflow commands end to end: compare, tune, report, analyse, train, evaluate,
recommend (known and new users), similar, and their one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import cli

from workbench.plugins import load_plugins, set_loaded
from workbench.testing import low_rank_ratings

ROOT = Path(__file__).resolve().parents[1]
SMALL = "synthetic n_users=120 n_items=80 n_interactions=2400"
WORKBENCH = str(Path(sys.executable).with_name("workbench"))


@pytest.fixture(autouse=True)
def default_plugins(monkeypatch):
    """The installed plugins (built-ins first), fresh for each test."""
    monkeypatch.delenv("WORKBENCH_PLUGINS", raising=False)
    set_loaded(None)
    yield
    set_loaded(None)


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A ratings file with string ids and an item file with titles."""
    folder = tmp_path_factory.mktemp("data")
    data = low_rank_ratings(n_users=60, n_items=40, density=0.35)
    frame = data.to_pandas().rename(columns={"value": "rating"})
    frame.to_csv(folder / "ratings.csv", index=False)
    items = [f"i{k}" for k in range(40)]
    (folder / "items.csv").write_text(
        "item,title\n" + "".join(f"{i},Film {i.upper()}\n" for i in items)
    )
    new = "user,item,rating\nnew1,i1,5\nnew1,i2,4\nnew1,i3,1\nnew2,i5,5\nnew2,i6,2\n"
    (folder / "history.csv").write_text(new)
    return {
        "ratings": folder / "ratings.csv",
        "items": folder / "items.csv",
        "history": folder / "history.csv",
        "spec": f"tabular path={folder / 'ratings.csv'} items={folder / 'items.csv'}",
    }


# -- compare ----------------------------------------------------------------------------------
def test_compare_json_and_run_folder(capsys, tmp_path):
    run = tmp_path / "run"
    code, out, err = cli(
        capsys,
        "compare",
        "--data",
        SMALL,
        "--split",
        "kfold n_folds=2",
        "--model",
        "sgd n_epochs=3",
        "--model",
        "sgd n_epochs=3 n_factors=4",
        "--metric",
        "rmse",
        "--metric",
        "ndcg@10",
        "--run-dir",
        run,
        "--json",
        "--seed",
        "3",
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["run_dir"] == str(run)
    labels = {r["model"] for r in payload["scores"]}
    assert labels == {"sgd", "sgd[2]"}
    assert {r["metric"] for r in payload["scores"]} == {"rmse", "ndcg@10"}
    assert payload["metadata"]["seed"] == 3
    assert len((run / "results.jsonl").read_text().splitlines()) == 4
    assert payload["metadata"]["significance"]


def test_compare_jobs_2_same_as_serial(capsys, tmp_path):
    args = [
        "compare",
        "--data",
        SMALL,
        "--split",
        "kfold n_folds=2",
        "--model",
        "sgd n_epochs=3 n_factors=4",
        "--model",
        "biases",
        "--metric",
        "rmse",
        "--metric",
        "ndcg@10",
        "--json",
        "--seed",
        "5",
    ]
    code, serial, err = cli(capsys, *args, "--run-dir", tmp_path / "a")
    assert code == 0, err
    code, parallel, err = cli(capsys, *args, "--run-dir", tmp_path / "b", "--jobs", "2")
    assert code == 0, err

    def scores(text: str) -> list:
        return sorted(
            (r["model"], r["fold"], r["metric"], r["value"]) for r in json.loads(text)["scores"]
        )

    assert scores(serial) == scores(parallel)


def test_compare_default_table_and_significance(capsys, tmp_path):
    code, out, err = cli(
        capsys,
        "compare",
        "-d",
        SMALL,
        "-s",
        "kfold n_folds=3",
        "-m",
        "biases",
        "-m",
        "global-mean",
        "--metric",
        "rmse",
        "--run-dir",
        tmp_path / "r",
        "--quiet",
    )
    assert code == 0, err
    assert "biases" in out and "global-mean" in out
    assert "Paired tests over 3 folds" in out


def test_interrupted_compare_resumes_from_its_folder(capsys, tmp_path):
    from test_experiment import Toy, _Plugin

    set_loaded(load_plugins(extra=[("toy", _Plugin)]))
    Toy.fits.clear()
    Toy.armed = True
    run = tmp_path / "run"
    args = [
        "compare",
        "-d",
        SMALL,
        "-s",
        "kfold n_folds=2",
        "-m",
        "toy-test interrupt_at=2",
        "-m",
        "biases",
        "--metric",
        "rmse",
        "--run-dir",
        run,
        "--quiet",
    ]
    code, _, err = cli(capsys, *args)
    assert code == 130
    assert "interrupted: 2 finished results are kept in" in err
    assert f"workbench compare --resume --run-dir {run}" in err
    before = (run / "results.jsonl").read_text().splitlines()
    Toy.fits.clear()
    code, out, err = cli(capsys, "compare", "--resume", "--run-dir", run, "--json")
    assert code == 0, err
    assert len(Toy.fits) == 1  # only the missing (toy, fold 2) and (biases, fold 2) ran
    after = (run / "results.jsonl").read_text().splitlines()
    assert len(before) == 2 and after[:2] == before and len(after) == 4
    assert len(json.loads(out)["runs"]) == 4


@pytest.mark.slow
def test_ctrl_c_of_a_real_process_keeps_results(tmp_path):
    """SIGINT to a running `workbench compare`: finished results stay, --resume finishes."""
    run = tmp_path / "run"
    args = [
        WORKBENCH,
        "compare",
        "-d",
        "synthetic n_users=300 n_items=200 n_interactions=9000",
        "-s",
        "kfold n_folds=4",
        "-m",
        "sgd n_epochs=150 n_factors=30",
        "--metric",
        "rmse",
        "--run-dir",
        str(run),
        "--quiet",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = run / "results.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (results.exists() and results.read_text().strip()):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    kept = results.read_text().splitlines()
    if proc.returncode == 0:
        pytest.skip("the run finished before the interrupt arrived")
    assert proc.returncode == 130, err
    assert "interrupted" in err and "--resume" in err
    assert 1 <= len(kept) < 4
    done = subprocess.run(
        [WORKBENCH, "compare", "--resume", "--run-dir", str(run), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = results.read_text().splitlines()
    assert lines[: len(kept)] == kept and len(lines) == 4


def test_report_from_run_folder_without_training(capsys, tmp_path):
    run = tmp_path / "run"
    code, out, err = cli(
        capsys,
        "compare",
        "-d",
        SMALL,
        "-s",
        "holdout",
        "-m",
        "biases",
        "--metric",
        "rmse",
        "--run-dir",
        run,
        "--json",
        "--per-user",
    )
    assert code == 0, err
    first = json.loads(out)
    csv = tmp_path / "out" / "r.csv"
    code, out, err = cli(capsys, "report", run, "--export", f"csv path={csv}")
    assert code == 0, err
    assert csv.exists() and "biases" in csv.read_text()
    code, out, err = cli(capsys, "report", run, "--json")
    assert json.loads(out)["scores"] == first["scores"]
    code, out, err = cli(capsys, "analyse", run, "--bins", "0,5,20", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert {r["bucket"] for r in rows} <= {"0-4", "5-19", "20+"} and "rmse" in rows[0]


def test_toml_experiment_file(capsys, tmp_path):
    run = tmp_path / "run"
    toml = tmp_path / "exp.toml"
    toml.write_text(
        f'seed = 4\ndata = "{SMALL}"\nsplit = "kfold n_folds=2"\nmetrics = ["rmse", "ndcg@5"]\n'
        f'run_dir = "{run}"\n\n[protocol]\nrelevance_threshold = 4.0\n\n'
        '[[models]]\nname = "biases"\n\n[[models]]\nname = "sgd"\nlabel = "small-sgd"\n'
        "n_epochs = 2\nn_factors = 3\n"
    )
    code, out, err = cli(capsys, "compare", "--config", toml, "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert {r["model"] for r in payload["runs"]} == {"biases", "small-sgd"}
    assert payload["metadata"]["protocol"]["relevance_threshold"] == 4.0
    assert payload["metadata"]["seed"] == 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('seed = 1\nmodel = "sgd"\n', r"line 2: unknown key 'model'; did you mean 'models'\?"),
        (
            "seed = 1\n\n[protocol]\nclip = true\nthreshold = 4\n",
            r"line 5: unknown key 'protocol.threshold'",
        ),
        (
            '[[models]]\nname = "biases"\n\n[[models]]\nname = "sgd"\nn_factor = 3\n',
            r"line 6: unknown parameter 'n_factor' for model 'sgd'; did you mean 'n_factors'",
        ),
        ('seed = "abc"\n', r"line 1: 'seed' must be an integer"),
        ('seed = 1\nbackend = "spark"\n', r"line 2: .*backend.*'spark'"),
        ('backend = "dask"\n', r"line 1: backend 'dask' needs the scheduler address"),
        ('backend = "ray"\nscheduler = "nohost:xx"\n', r"line 2: ray address must be 'auto'"),
        ("backend = 3\n", r"line 1: 'backend' must be a string"),
        ("seed = 1\nmetrics = [\n", r"invalid TOML"),
    ],
)
def test_toml_errors_name_key_and_line(capsys, tmp_path, text, expected):
    toml = tmp_path / "bad.toml"
    toml.write_text(text)
    code, _, err = cli(capsys, "compare", "--config", toml, "--quiet")
    assert code == 1
    line = error_line(err)
    assert str(toml) in line
    import re

    assert re.search(expected, line), line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-m", "sgdd"], "unknown model 'sgdd'; did you mean 'sgd'?"),
        (["-m", "sgd", "--metric", "ndgc@10"], "unknown metric 'ndgc'; did you mean 'ndcg'?"),
        (
            ["-d", "synthetik", "-m", "sgd"],
            "unknown dataset 'synthetik'; did you mean 'synthetic'?",
        ),
        (["-m", "sgd", "--export", "htm"], "unknown exporter 'htm'; did you mean 'html'?"),
        (["-m", "sgd", "-s", "kfolds"], "unknown splitter 'kfolds'; did you mean 'kfold'?"),
    ],
)
def test_unknown_names_suggest_the_closest(capsys, tmp_path, args, expected):
    code, _, err = cli(capsys, "compare", "-d", SMALL, *args, "--run-dir", tmp_path / "r")
    assert code == 1
    assert expected in error_line(err)


def test_rmse_on_implicit_data_refused_before_training(capsys, tmp_path):
    run = tmp_path / "r"
    code, _, err = cli(
        capsys,
        "compare",
        "-d",
        f"{SMALL} kind=implicit",
        "-m",
        "popularity",
        "--metric",
        "rmse",
        "--run-dir",
        run,
    )
    assert code == 1
    assert "metric 'rmse' needs explicit feedback" in error_line(err)
    assert not run.exists()


def test_unwritable_output_paths(capsys, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    code, _, err = cli(
        capsys,
        "compare",
        "-d",
        SMALL,
        "-m",
        "biases",
        "--export",
        f"html path={blocker}/report.html",
        "--run-dir",
        tmp_path / "r",
    )
    assert code == 1 and "is a file, not a folder" in error_line(err)
    assert not (tmp_path / "r").exists()
    code, _, err = cli(capsys, "compare", "-d", SMALL, "-m", "biases", "--run-dir", blocker / "run")
    assert code == 1 and "cannot write run folder" in error_line(err)
    code, _, err = cli(capsys, "train", "biases", "-d", SMALL, "-o", blocker / "m.npz")
    assert code == 1 and "cannot write model file" in error_line(err)


# -- tune -------------------------------------------------------------------------------------
def test_tune_grid_prints_and_saves_best(capsys, tmp_path):
    run, best = tmp_path / "tune", tmp_path / "best.json"
    code, out, err = cli(
        capsys,
        "tune",
        "sgd n_epochs=3",
        "-p",
        "n_factors=2,8",
        "-p",
        "lr=0.005:0.02:log:2",
        "--metric",
        "rmse",
        "-d",
        SMALL,
        "-s",
        "kfold n_folds=2",
        "--run-dir",
        run,
        "-o",
        best,
        "--json",
    )
    assert code == 0, err
    payload = json.loads(out)
    ranking = payload["ranking"]
    assert len(ranking) == 4 and [r["rank"] for r in ranking] == [1, 2, 3, 4]
    assert ranking[0]["mean"] <= ranking[-1]["mean"]
    saved = json.loads(best.read_text())
    assert saved == payload["best"] and saved["params"]["n_epochs"] == 3
    assert json.loads((run / "best.json").read_text())["params"] == saved["params"]
    code, out, err = cli(capsys, "tune", "--resume", "--run-dir", run, "--quiet")
    assert code == 0, err
    assert "best params:" in out


def test_tune_errors(capsys, tmp_path):
    code, _, err = cli(capsys, "tune", "sgd", "-p", "n_factor=2,8", "-d", SMALL)
    assert code == 1 and "unknown parameter 'n_factor'" in error_line(err)
    toml = tmp_path / "t.toml"
    toml.write_text(
        'model = "sgd"\nmetric = "rmse"\n\n[space]\nn_factors = [2, 4]\nlrr = "0.01:0.1"\n'
    )
    code, _, err = cli(capsys, "tune", "--config", toml, "--run-dir", tmp_path / "x")
    assert code == 1
    assert f"{toml} line 6: unknown parameter 'lrr'" in error_line(err)


# -- single models ----------------------------------------------------------------------------
def test_train_evaluate_recommend_similar_round_trip(capsys, tmp_path, files):
    model = tmp_path / "m.npz"
    split = "holdout ratio=0.25"
    code, out, err = cli(
        capsys,
        "train",
        "sgd",
        "-d",
        files["spec"],
        "-p",
        "n_epochs=20",
        "-p",
        "n_factors=8",
        "-s",
        split,
        "--metric",
        "rmse",
        "-o",
        model,
        "--json",
        "--seed",
        "2",
    )
    assert code == 0, err
    trained = json.loads(out)
    assert model.exists() and trained["params"]["n_factors"] == 8

    code, out, err = cli(
        capsys,
        "evaluate",
        model,
        "-d",
        files["spec"],
        "-s",
        split,
        "--seed",
        "2",
        "--metric",
        "rmse",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["scores"]["rmse"] == pytest.approx(trained["scores"]["rmse"])

    code, out, err = cli(
        capsys, "recommend", model, "--user", "u1", "--user", "u2", "-k", "5", "--json"
    )
    assert code == 0, err
    recs = json.loads(out)
    assert [r["rank"] for r in recs if r["user"] == "u1"] == [1, 2, 3, 4, 5]
    assert all(r["title"] == f"Film {r['item'].upper()}" for r in recs)
    from workbench.api import load_model

    fitted = load_model(model)
    row = fitted.seen_[fitted.users_.index_of(["u1"])[0]]
    seen = set(fitted.items_.id_of(row.indices))
    code, out, _ = cli(capsys, "recommend", model, "--user", "u1", "-k", "40", "--json")
    unseen = json.loads(out)
    assert len(unseen) == 40 - len(seen) and not {r["item"] for r in unseen} & seen
    code, out, _ = cli(
        capsys, "recommend", model, "--user", "u1", "-k", "40", "--json", "--include-seen"
    )
    assert len(json.loads(out)) == 40

    code, out, err = cli(
        capsys, "recommend", model, "--history", files["history"], "-k", "3", "--json"
    )
    assert code == 0, err
    new = json.loads(out)
    assert {r["user"] for r in new} == {"new1", "new2"}
    assert not {r["item"] for r in new if r["user"] == "new1"} & {"i1", "i2", "i3"}
    assert all(r["title"].startswith("Film ") for r in new)

    code, out, err = cli(capsys, "similar", model, "--item", "i4", "-k", "3", "--json")
    assert code == 0, err
    sims = json.loads(out)
    assert len(sims) == 3 and all(r["similar"] != "i4" for r in sims)
    assert sims[0]["similarity"] >= sims[-1]["similarity"]

    code, out, _ = cli(capsys, "recommend", model, "--user", "u1", "-k", "3")
    assert "Film" in out and "user u1" in out


def test_unknown_user_and_item_messages(capsys, tmp_path, files):
    model = tmp_path / "m.npz"
    assert cli(capsys, "train", "biases", "-d", files["spec"], "-o", model)[0] == 0
    code, _, err = cli(capsys, "recommend", model, "--user", "nobody")
    assert code == 1
    line = error_line(err)
    assert "user nobody is not in the training data" in line and "--history FILE" in line
    code, _, err = cli(capsys, "similar", model, "--item", "nothing")
    assert code == 1 and "item 'nothing' is not in the model's training data" in error_line(err)


def test_model_file_of_another_plugin_version(capsys, tmp_path, files):
    import zipfile

    model = tmp_path / "m.npz"
    assert cli(capsys, "train", "biases", "-d", files["spec"], "-o", model)[0] == 0
    old = tmp_path / "old.npz"
    with zipfile.ZipFile(model) as src, zipfile.ZipFile(old, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "__metadata__.npy":
                arr = np.load(__import__("io").BytesIO(data))
                meta = json.loads(arr.tobytes().decode())
                meta["plugin_version"] = "0.0.1"
                buf = __import__("io").BytesIO()
                np.save(buf, np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
                data = buf.getvalue()
            dst.writestr(item, data)
    code, _, err = cli(capsys, "recommend", old, "--user", "u1")
    assert code == 1
    assert "was written by plugin 'baselines' 0.0.1" in error_line(err)


def test_every_workflow_command_shows_an_example(capsys):
    for command in (
        "compare",
        "tune",
        "train",
        "evaluate",
        "recommend",
        "similar",
        "report",
        "analyse",
    ):
        code, out, _ = cli(capsys, command, "--help")
        assert code == 0 and "Example" in out and f"workbench {command}" in out, command


@pytest.mark.slow
def test_make_demo_command_runs(tmp_path):
    """The Makefile's demo target (on a smaller synthetic dataset to keep the suite fast)."""
    makefile = (ROOT / "Makefile").read_text()
    demo = makefile.split("demo: setup\n", 1)[1].split("\n\n", 1)[0]
    command = " ".join(part.strip().rstrip("\\") for part in demo.splitlines())
    command = command.replace("$(BIN)/workbench", WORKBENCH).strip()
    assert "--all-models" in command and "html path=reports/demo.html" in command
    command = command.replace("--data synthetic", f'--data "{SMALL}"')
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "reports" / "demo.html").exists()
    assert "Paired tests" in done.stdout


def test_an_interrupted_run_names_its_own_resume_command(tmp_path, capsys):
    import typer

    from workbench.cli.workflow import interrupted

    for command in ("compare", "tune"):
        with pytest.raises(typer.Exit) as info:
            interrupted(tmp_path, command)
        assert info.value.exit_code == 130
        err = " ".join(capsys.readouterr().err.split())
        assert f"finish with: workbench {command} --resume --run-dir {tmp_path}" in err
