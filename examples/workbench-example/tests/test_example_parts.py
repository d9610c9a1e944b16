"""The example's metric (gini), dataset (boardgames) and exporter (latex)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from workbench_example.dataset import BoardGames
from workbench_example.latex import LatexTable, escape
from workbench_example.metric import Gini

from workbench import Results
from workbench.metric import ListContext


def context(n_items: int) -> ListContext:
    return ListContext(n_items=n_items, item_counts=np.ones(n_items), n_train_users=5)


def gini_by_mean_difference(counts: np.ndarray) -> float:
    """The textbook definition: mean absolute difference over twice the mean, unbiased."""
    n = len(counts)
    diffs = np.abs(counts[:, None] - counts[None, :]).sum()
    return float(diffs / (2 * n * (n - 1) * counts.mean()))


def test_gini_known_answers() -> None:
    uniform = np.array([[0, 1], [2, 3], [4, 5]])
    assert Gini(k=2).compute(uniform, context(6)) == pytest.approx(0.0)
    same = np.zeros((4, 1), dtype=np.int64)
    assert Gini(k=1).compute(same, context(6)) == pytest.approx(1.0)


def test_gini_matches_the_mean_difference_definition() -> None:
    rng = np.random.default_rng(0)
    lists = rng.integers(0, 30, (50, 10))
    lists[rng.random((50, 10)) < 0.1] = -1  # padding is ignored
    counts = np.bincount(lists[:, :5][lists[:, :5] >= 0], minlength=40).astype(float)
    value = Gini(k=5).compute(lists, context(40))
    assert value == pytest.approx(gini_by_mean_difference(counts))
    assert Gini.higher_is_better is False and Gini(k=5).label == "gini@5"


def test_gini_is_nan_when_nothing_was_recommended() -> None:
    assert np.isnan(Gini().compute(np.full((3, 10), -1), context(10)))


def test_boardgames_loads_as_explicit_ratings_with_titles() -> None:
    data = BoardGames().load()
    assert (len(data), data.n_users, data.n_items) == (1049, 60, 40)
    assert data.rating_scale == (1.0, 5.0) and data.timestamp is not None
    assert data.users.is_string and not data.items.is_string
    assert data.item_titles(data.items.index_of([101]))[0] == "Harbour Lights"


def test_boardgames_implicit_keeps_ratings_above_the_threshold() -> None:
    ratings = BoardGames().load()
    implicit = BoardGames(implicit=True, threshold=5).load()
    assert implicit.kind == "implicit"
    assert len(implicit) == int((ratings.value >= 5).sum())
    assert np.all(implicit.value == 1)


def test_boardgames_threshold_is_validated() -> None:
    from workbench import ParamError

    with pytest.raises(ParamError, match="parameter 'threshold'.*got 9"):
        BoardGames(threshold=9)


def results() -> Results:
    records = []
    for fold, (a, b) in enumerate([(0.91, 0.95), (0.93, 0.94)]):
        records.append({"model": "item_knn", "fold": fold, "scores": {"rmse": a, "ndcg@10": 0.30}})
        records.append({"model": "mean & co", "fold": fold, "scores": {"rmse": b, "ndcg@10": 0.2}})
    return Results.from_records(records, {"higher_is_better": {"rmse": False, "ndcg@10": True}})


def test_latex_table_bolds_the_best_and_escapes_names(tmp_path) -> None:
    exporter = LatexTable(caption="ML 100% ok", label="tab:res", path=str(tmp_path / "t.tex"))
    out = exporter.export(results())
    assert out == tmp_path / "t.tex"
    text = out.read_text()
    assert r"\begin{tabular}{lrr}" in text and r"\toprule" in text
    assert r"rmse $\downarrow$ & ndcg@10 $\uparrow$" in text
    assert r"item\_knn & $\mathbf{0.9200} \pm 0.0141$ & $\mathbf{0.3000} \pm 0.0000$ \\" in text
    assert r"mean \& co & $0.9450 \pm 0.0071$ & $0.2000 \pm 0.0000$ \\" in text
    assert r"\caption{ML 100\% ok}" in text and r"\label{tab:res}" in text
    assert [p.name for p in tmp_path.iterdir()] == ["t.tex"]  # no temp file left


def test_latex_default_path_is_the_run_folder_or_the_current_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert LatexTable(precision=2).export(results()) == Path("results.tex")
    assert r"$\mathbf{0.92} \pm 0.01$" in Path("results.tex").read_text()
    res = results()
    res.metadata["run_dir"] = str(tmp_path / "run")
    assert LatexTable().export(res) == tmp_path / "run" / "results.tex"
    folder = LatexTable(path=f"{tmp_path}/folder/")
    assert folder.export(res) == tmp_path / "folder" / "results.tex"


def test_escape_covers_every_special_character() -> None:
    assert escape(r"a_b&c%d$e#f{g}h~i^j\k") == (
        r"a\_b\&c\%d\$e\#f\{g\}h\textasciitilde{}i\textasciicircum{}j\textbackslash{}k"
    )
