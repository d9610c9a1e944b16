"""Recommendations for every user (or a users file) to CSV/Parquet, in batches: the file holds
exactly what `wb.recommend` returns for the same users, whatever the batch size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cli_helpers import cli

import workbench as wb
from workbench.errors import ParamError
from workbench.plugins import set_loaded

SMALL = "synthetic n_users=50 n_items=30 n_interactions=600 seed=3"


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    set_loaded(None)
    data = wb.load_dataset(SMALL)
    model = wb.train("sgd n_factors=4 n_epochs=3", data)
    path = tmp_path_factory.mktemp("m") / "sgd.npz"
    model.save(path)
    return path


def expected(model_file, users=None, k=3) -> pd.DataFrame:
    model = wb.load_model(model_file)
    ids = model.users_.id_of(np.arange(len(model.users_))) if users is None else users
    return wb.recommend(model, list(ids), k=k)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_every_user_in_batches_matches_recommend(model_file, tmp_path, suffix):
    out = tmp_path / f"recs{suffix}"
    seen = []
    n = wb.recommend_to_file(
        model_file, out, k=3, batch_size=7, progress=lambda d, t: seen.append((d, t))
    )
    assert n == 50 and seen[-1] == (50, 50) and len(seen) == 8  # ceil(50 / 7) batches
    got = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    want = expected(model_file)
    assert len(got) == 50 * 3
    assert got["user"].tolist() == [int(u) for u in want["user"]]
    assert got["item"].tolist() == [int(i) for i in want["item"]]
    assert got["rank"].tolist() == want["rank"].tolist()
    np.testing.assert_allclose(got["score"], want["score"], rtol=1e-6)
    assert not list(tmp_path.glob("*.part"))


def test_cli_all_users_and_users_file(model_file, tmp_path, capsys):
    out = tmp_path / "all.csv"
    code, stdout, err = cli(capsys, "recommend", model_file, "--all-users", "-o", out, "-k", "2")
    assert code == 0, err
    assert "top-2 lists of 50 users" in stdout + err
    assert len(pd.read_csv(out)) == 100
    users = tmp_path / "users.txt"
    users.write_text("# two users\n7\n\n3\n")
    out = tmp_path / "two.parquet"
    code, _, err = cli(capsys, "recommend", model_file, "--users-file", users, "-o", out, "-k", "2")
    assert code == 0, err
    got = pd.read_parquet(out)
    assert got["user"].tolist() == [7, 7, 3, 3]
    assert got["item"].tolist() == [int(i) for i in expected(model_file, [7, 3], 2)["item"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--all-users"], "add --output"),
        (["--all-users", "-o", "x.txt"], "expected a .csv or .parquet"),
        (["--all-users", "--user", "3", "-o", "x.csv"], "give one of --all-users"),
        (["--users-file", "missing.txt", "-o", "x.csv"], "cannot read users file"),
        (["--all-users", "-o", "x.csv", "--batch-size", "0"], "batch_size must be between"),
    ],
)
def test_cli_errors_are_one_line(model_file, tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "recommend", model_file, *args)
    assert code != 0 and "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], err


def test_unknown_user_in_file_is_named(model_file, tmp_path):
    with pytest.raises(Exception, match="'nobody' is not in the model"):
        wb.recommend_to_file(model_file, tmp_path / "r.csv", users=["nobody"])
    with pytest.raises(ParamError):
        wb.recommend_to_file(model_file, tmp_path / "r.csv", batch_size=10**9)
