"""Reports that say what they cover (issue 10, items 2, 9 and 13): folds without a value,
resume differences by name, compile time apart from fit time, well-formed docs fences."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from workbench import FactorModel, compare
from workbench.data import Interactions
from workbench.errors import WorkbenchError
from workbench.results import Results

ROOT = Path(__file__).resolve().parents[1]


# -- item 13: docs fences ----------------------------------------------------------------------
def fence_problems(text: str) -> list[str]:
    """Lines where a code fence is followed by text (a closing fence must stand alone)."""
    problems, inside = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r"^(\s*)```(.*)$", line)
        if not match:
            continue
        rest = match.group(2).strip()
        if inside and rest:
            problems.append(f"line {number}: text after a closing fence: {line!r}")
        elif not inside and rest and not re.fullmatch(r"[\w+-]+", rest):
            problems.append(f"line {number}: a fence opens with {rest!r}")
        inside = not inside if not (inside and rest) else inside
    if inside:
        problems.append("a code fence is never closed")
    return problems


@pytest.mark.parametrize(
    "doc", [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"], ids=lambda p: p.name
)
def test_code_fences_close_on_a_line_of_their_own(doc: Path) -> None:
    assert fence_problems(doc.read_text(encoding="utf-8")) == []


def test_the_fence_check_finds_text_after_a_closing_fence() -> None:
    assert fence_problems("```python\nx = 1\n```Text\n") != []
    assert fence_problems("```python\nx = 1\n```\n\nText\n") == []


# -- item 13: compile time apart from fit time ------------------------------------------------
class SlowFirstFit(FactorModel):
    """Its first fit in a process pays a one-off cost, like numba's JIT compilation."""

    name = "slow-first-fit-test"
    jit_warm_up: ClassVar[bool] = True
    compiled: ClassVar[bool] = False

    def _fit(self, train: Interactions, *, callback: Any, validation: Any) -> None:
        if not SlowFirstFit.compiled:
            time.sleep(0.6)
            SlowFirstFit.compiled = True
        self.global_mean_ = float(train.value.mean())
        self.user_bias_ = np.zeros(train.n_users, dtype=np.float32)
        self.item_bias_ = np.zeros(train.n_items, dtype=np.float32)
        self.user_factors_ = np.zeros((train.n_users, 1), dtype=np.float32)
        self.item_factors_ = np.zeros((train.n_items, 1), dtype=np.float32)


def test_one_off_compile_time_is_reported_apart_from_fit_time() -> None:
    from workbench.testing import low_rank_ratings

    SlowFirstFit.compiled = False
    results = compare(low_rank_ratings(), "kfold n_folds=3", [SlowFirstFit()], ["rmse"])
    runs = results.runs.sort_values("fold")
    assert runs["fit_seconds"].max() < 0.5  # fold 0 no longer pays the one-off cost
    assert runs["compile_seconds"].iloc[0] >= 0.6
    assert (runs["compile_seconds"].iloc[1:] == 0).all()


def test_models_that_do_not_use_numba_get_no_extra_fit() -> None:
    from workbench.experiments.runner import needs_warm_up

    class Plain(SlowFirstFit):
        jit_warm_up = None  # type: ignore[assignment]

    assert needs_warm_up(Plain) is False  # this test module does not use numba
    assert needs_warm_up(SlowFirstFit) is True


# -- item 2: folds without a value ---------------------------------------------------------------
def one_user_results() -> Results:
    """ndcg@10 is undefined on folds whose test user has no relevant item."""
    scores, runs = [], []
    for fold, (rmse, ndcg, ranked) in enumerate([(1.6, None, 0), (0.7, None, 0), (1.75, 1.0, 1)]):
        scores.append({"model": "biases", "fold": fold, "metric": "rmse", "value": rmse})
        value = float("nan") if ndcg is None else ndcg
        scores.append({"model": "biases", "fold": fold, "metric": "ndcg@10", "value": value})
        runs.append(
            {
                "model": "biases",
                "fold": fold,
                "params": {},
                "fit_seconds": 0.01,
                "predict_seconds": 0.01,
                "n_test": 2,
                "n_ranked_users": ranked,
                "users_without_relevant": 1 - ranked,
                "relevance_threshold": 4.25,
                "error": None,
            }
        )
    return Results.from_dict(
        {"scores": scores, "runs": runs, "metadata": {"higher_is_better": {"rmse": False}}}
    )


REASON = "no test user has a relevant item (rating >= 4.25)"


def test_missing_folds_are_counted_and_explained() -> None:
    results = one_user_results()
    assert results.fold_counts().loc["biases"].to_dict() == {"rmse": 3, "ndcg@10": 1}
    assert results.missing_folds() == [
        {"model": "biases", "metric": "ndcg@10", "fold": 0, "reason": REASON},
        {"model": "biases", "metric": "ndcg@10", "fold": 1, "reason": REASON},
    ]
    assert np.isnan(results.summary().loc["biases", ("ndcg@10", "std")])  # not a fake 0


def test_every_exporter_shows_how_many_folds_a_cell_covers(tmp_path: Path) -> None:
    from rich.console import Console
    from workbench_exporters.files import markdown
    from workbench_exporters.html import render_html
    from workbench_exporters.terminal import render

    results = one_user_results()
    console = Console(width=200, record=True, color_system=None)
    console.print(render(results))
    text = " ".join(console.export_text().split())  # the caption wraps at the table's width
    assert "1.0000 (1 of 3 folds)" in text and "± 0.0000" not in text
    assert f"ndcg@10 of biases: no value on folds 0, 1: {REASON}" in text
    md = markdown(results)
    assert "1.0000 (1 of 3 folds)" in md and f"no value on folds 0, 1: {REASON}" in md
    html = render_html(results)
    assert "1.0000 (1 of 3 folds)" in html and "no value on folds 0, 1" in html
    path = results.export("json", tmp_path / "r.json")
    data = json.loads(Path(path).read_text())
    assert data["summary"][0]["ndcg@10_folds"] == 1 and data["summary"][0]["ndcg@10_std"] is None
    assert data["missing_folds"][0]["reason"] == REASON


def test_a_real_one_user_comparison_says_so(tmp_path: Path) -> None:
    data = Interactions.from_arrays([1] * 6, [1, 2, 3, 4, 5, 6], [4, 5, 3, 4, 2, 5])
    results = compare(data, "kfold n_folds=3", ["biases"], ["rmse", "ndcg@10"])
    counts = results.fold_counts().loc["biases"]
    assert counts["rmse"] == 3 and counts["ndcg@10"] < 3
    assert all(m["metric"] == "ndcg@10" for m in results.missing_folds())


# -- item 9: resuming with other models or metrics ---------------------------------------------
@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    from workbench.testing import low_rank_ratings

    data = low_rank_ratings(n_users=30, n_items=20)
    run = tmp_path_factory.mktemp("resume") / "run"
    compare(data, "kfold n_folds=2", ["biases", "global-mean"], ["rmse", "mae"], run_dir=run)
    return data, run


def resume_error(started: tuple[Any, Path], models: list[str], metrics: list[str]) -> str:
    data, run = started
    with pytest.raises(WorkbenchError) as err:
        compare(data, "kfold n_folds=2", models, metrics, run_dir=run, resume=True)
    return str(err.value)


def test_resume_names_the_added_and_removed_models(started) -> None:
    message = resume_error(started, ["biases", "popularity"], ["rmse", "mae"])
    assert 'different models (added "popularity"; removed "global-mean")' in message


def test_resume_names_the_added_and_removed_metrics(started) -> None:
    message = resume_error(started, ["biases", "global-mean"], ["rmse", "ndcg@10"])
    assert 'different metrics (added "ndcg@10"; removed "mae")' in message
    message = resume_error(started, ["biases", "global-mean"], ["rmse"])
    assert 'different metrics (removed "mae")' in message


def test_resume_names_a_changed_parameter_of_a_model(started) -> None:
    message = resume_error(started, ["biases reg_user=3", "global-mean"], ["rmse", "mae"])
    assert "different models[biases].params.reg_user" in message
