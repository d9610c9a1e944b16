"""Leakage-safe protocols and how reports show the statistics: the rolling-origin splitter,
the random-split-of-time warning, the evaluated candidate set in report footers, the HTML
significance section and the terminal table's intervals."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import workbench as wb
from workbench.analysis.protocol_notes import TimeSplitWarning, candidate_set
from workbench.errors import DataError, ParamError
from workbench.specs import parse_spec

SMALL = "synthetic n_users=60 n_items=40 n_interactions=1200 seed=1"


@pytest.fixture(scope="module")
def data():
    return wb.load_dataset(SMALL)


def _splits(data, spec: str):
    return list(parse_spec("splitter", spec).build().split(data))


def test_rolling_origin_trains_on_everything_before_each_cut(data):
    ts = data.timestamp
    splits = _splits(data, "rolling n_folds=3 start=0.5")
    assert len(splits) == 3
    cuts = [s.test.meta["cut"] for s in splits]
    assert cuts == sorted(cuts) and len(set(cuts)) == 3
    assert cuts[0] == int(np.sort(ts)[int(0.5 * len(ts))])  # the 50% quantile
    n_train = []
    for f, split in enumerate(splits):
        train_ts, test_ts = split.train.timestamp, split.test.timestamp
        assert train_ts.max() < cuts[f] <= test_ts.min()
        # everything before the cut is in train (ids of cold test users aside)
        assert len(split.train) == int((ts < cuts[f]).sum())
        if f + 1 < len(cuts):
            assert test_ts.max() < cuts[f + 1]
        n_train.append(len(split.train))
    assert n_train == sorted(n_train) and n_train[0] < n_train[-1]
    rest = _splits(data, "rolling n_folds=3 start=0.5 window=rest")
    assert rest[0].test.timestamp.max() == ts.max()


def test_rolling_origin_given_cuts_and_bad_input(data):
    ts = np.sort(data.timestamp)
    a, b = int(ts[len(ts) // 2]), int(ts[3 * len(ts) // 4])
    splits = _splits(data, f"rolling cuts=[{a},{b}]")
    assert [s.test.meta["cut"] for s in splits] == [a, b]
    with pytest.raises(ParamError, match="must increase"):
        _splits(data, f"rolling cuts=[{b},{a}]")
    bare = wb.load_dataset(SMALL + " timestamps=false")
    with pytest.raises(DataError, match="timestamp"):
        _splits(bare, "rolling")


def test_random_split_of_timestamped_data_warns_for_time_models(monkeypatch, data):
    args = (data, "kfold n_folds=2", ["timebiases n_epochs=2"], ["rmse"])
    with pytest.warns(TimeSplitWarning, match="split 'kfold' is random.*timebiases"):
        wb.compare(*args)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TimeSplitWarning)
        wb.compare(data, "rolling n_folds=2", ["timebiases n_epochs=2"], ["rmse"])
        wb.compare(data, "kfold n_folds=2", ["biases"], ["rmse"])  # no model uses time
        monkeypatch.setenv("WORKBENCH_TIME_SPLIT_WARNING", "0")
        wb.compare(*args)


@pytest.fixture(scope="module")
def results(data, tmp_path_factory):
    run = tmp_path_factory.mktemp("run") / "r"
    return wb.compare(
        data, "kfold n_folds=2", ["global-mean", "biases", "popularity"], ["rmse", "ndcg@5"],
        run_dir=run, seed=1,
    )  # fmt: skip


def test_html_has_a_significance_section_and_the_candidates_in_its_footer(results, tmp_path):
    html = results.export("html", path=tmp_path / "r.html").read_text()
    section = re.search(r'<section id="significance">(.*?)</section>', html, re.S)
    assert section is not None
    body = section.group(1)
    assert 'id="intervals-table"' in body and 'id="pairs-ndcg@5"' in body
    assert body.count("<small>d=") == 2 * 3  # 3 pairs per metric in each lower triangle
    metadata = re.search(r'<section id="metadata">(.*?)</section>', html, re.S).group(1)
    for key in ("pairwise", "intervals", "significance"):
        assert f">{key}<" not in metadata  # no longer in "Run metadata"
    footer = re.search(r"<footer>(.*?)</footer>", html, re.S).group(1)
    assert "evaluated candidates: full ranking: every item unseen in train (40 items)" in footer


def test_terminal_table_shows_the_intervals(results, tmp_path):
    text = " ".join(results.export("terminal", path=tmp_path / "t.txt").read_text().split())
    ci = wb.intervals(results).set_index(["metric", "model"])
    low = ci.loc[("ndcg@5", "biases"), "ci_low"]
    assert "[a, b]: 95% bootstrap interval over users" in text
    assert re.search(r"\[0\.\d+, 0\.\d+\]", text)
    assert low <= ci.loc[("ndcg@5", "biases"), "mean"]
    assert "all items unseen in train" in text  # the candidate set in the caption


def test_sampled_negatives_are_labelled_sampled():
    meta = {"protocol": {"negatives": 100}, "dataset": {"n_items": 1682}}
    line = candidate_set(meta)
    assert line.startswith("SAMPLED") and "100 sampled" in line and "1,682" in line
    assert candidate_set({"protocol": {"negatives": None}, "dataset": {"n_items": 9}}) == (
        "full ranking: every item unseen in train (9 items)"
    )
