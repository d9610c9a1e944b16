"""``workbench datasets``, ``workbench data info|split`` and the loading API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from workbench.cli.app import build_app
from workbench.data import Interactions
from workbench.errors import UnknownNameError
from workbench.experiments.loading import load_dataset, make_dataset, make_splitter

FIX = Path(__file__).parent / "fixtures" / "data"
TAB = FIX / "tabular"
runner = CliRunner()


def invoke(*args: str):
    result = runner.invoke(build_app(), list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def info_json(*args: str) -> dict:
    return json.loads(invoke("data", "info", *args, "--json"))


def test_datasets_lists_every_dataset_with_options():
    out = invoke("datasets")
    for name in ("movielens", "netflix", "tabular", "synthetic", "lastfm"):
        assert name in out
    params = {p["name"]: p for p in json.loads(invoke("datasets", "tabular", "--json"))["params"]}
    assert {"path", "sep", "header", "user", "item", "rating", "duplicates"} <= set(params)
    assert all(p["description"] for p in params.values())
    ml = json.loads(invoke("datasets", "movielens", "--json"))
    assert {p["name"] for p in ml["params"]} >= {"variant", "path", "download", "duplicates"}


@pytest.mark.parametrize(
    "args",
    [
        ("tabular", f"path={TAB / 'ratings.dat'}", "sep=::", "header=false"),
        ("tabular", "-o", f"path={TAB / 'ratings.dat'}", "-o", "sep=::"),
        (f"tabular path={TAB / 'ratings.csv.gz'}",),
        (str(TAB / "ratings.parquet"),),
        (str(TAB / "ratings.zip"),),
        ("csv", f"path={TAB / 'ratings_semicolon.txt'}"),
        ("movielens", f"path={FIX / 'ml-1m.zip'}"),
        ("movielens", f"path={FIX / 'ml-100k-recbole'}"),
        ("netflix", f"path={FIX / 'netflix'}"),
    ],
)
def test_data_info_every_format_from_the_cli(args):
    info = info_json(*args)
    assert info["n_interactions"] == 36
    assert info["n_users"] == 8 and info["n_items"] == 10
    assert info["density"] == pytest.approx(36 / 80)
    assert sum(info["values"]["histogram"].values()) == 36
    assert info["user_activity"]["min"] == 1 and info["user_activity"]["max"] == 6
    assert info["cold"]["users_with_1"] == 1


def test_data_info_implicit_and_synthetic():
    info = info_json(f"tabular path={TAB / 'plays.tsv'}")
    assert info["kind"] == "implicit" and info["rating_scale"] is None
    assert info["string_ids"] == {"users": True, "items": True}
    synth = info_json("synthetic", "n_users=100", "n_items=200", "n_interactions=3000")
    assert synth["n_interactions"] == 3000 and synth["n_users"] == 100
    assert set(synth["values"]["histogram"]) == {"1", "2", "3", "4", "5"}
    assert synth["time_range"]["first"].startswith("200")


def test_data_info_rich_output():
    out = invoke("data", "info", "movielens", f"path={FIX / 'ml-100k'}")
    for text in ("interactions", "36", "density", "45.0000%", "ratings", "per user", "titles"):
        assert text in out
    assert "█" in out


def test_data_split_reports_sizes_cold_counts_and_leakage():
    out = invoke(
        "data", "split", "movielens", f"path={FIX / 'ml-100k'}", "--split", "predefined", "--json"
    )
    rows = json.loads(out)["splits"]
    assert [r["fold"] for r in rows] == [0, 1]
    assert all(r["leaked_pairs"] == 0 and r["n_train"] + r["n_test"] == 36 for r in rows)
    text = invoke("data", "split", "synthetic", "n_interactions=2000", "n_users=50", "-s", "kfold")
    assert "cold" in text and "leaked" in text


def test_help_shows_examples():
    for args in (("data", "--help"), ("data", "info", "--help"), ("data", "split", "--help")):
        assert "Example" in invoke(*args)


# -- Python API ------------------------------------------------------------------------------
def test_load_dataset_forms():
    by_spec = load_dataset(f"tabular path={TAB / 'ratings.dat'} sep=::")
    by_kw = load_dataset("tabular", path=str(TAB / "ratings.dat"), sep="::")
    by_map = load_dataset({"name": "tabular", "path": str(TAB / "ratings.dat")})
    by_path = load_dataset(str(TAB / "ratings.dat"))
    assert len({d.fingerprint() for d in (by_spec, by_kw, by_map, by_path)}) == 1
    assert load_dataset(by_spec) is by_spec
    dataset = make_dataset("synthetic", n_users=20, n_items=30, n_interactions=100)
    assert isinstance(dataset.load(), Interactions) and dataset.n_users == 20
    assert make_dataset(dataset, seed=3).seed == 3
    assert len(load_dataset()) == 100_000  # the default: synthetic
    with pytest.raises(UnknownNameError, match="unknown dataset 'no-such-thing'"):
        load_dataset("no-such-thing")


def test_make_splitter_forms():
    assert make_splitter("kfold n_folds=3").n_splits() == 3
    assert make_splitter({"name": "cv", "n_folds": 4}).n_splits() == 4
    base = make_splitter("holdout")
    assert make_splitter(base, ratio=0.5) is base and base.ratio == 0.5
