"""The benchmark suite's quick path runs end to end on tiny data (no timing assertions):
suites write JSON records, the report turns them into docs/benchmarks.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quick_suite_runs_on_tiny_data_and_generates_the_page(tmp_path: Path) -> None:
    results, page = tmp_path / "results", tmp_path / "benchmarks.md"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--tiny", "--repeat", "1",
         "--results", str(results), "--docs", str(page), "accuracy", "accuracy_mf", "speed"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    accuracy = json.loads((results / "accuracy.json").read_text())
    kinds = {r["kind"] for r in accuracy["records"]}
    assert "accuracy" in kinds and accuracy["machine"]["cores"] >= 1
    ours = [r for r in accuracy["records"] if r.get("library") == "workbench"]
    assert {"global-mean", "biases", "sgd"} <= {r["model"] for r in ours}
    assert all(0 < r["rmse"] < 5 and 0 <= r["ndcg@10"] <= 1 for r in ours)
    check = next(r for r in accuracy["records"] if r["kind"] == "check")
    assert check["max_abs_difference"] < 1e-9  # the reference evaluator agrees with ours
    speed = json.loads((results / "speed.json").read_text())
    assert any(r["kind"] == "speed" for r in speed["records"]) or any(
        r["kind"] == "missing" for r in speed["records"]
    )
    text = page.read_text()
    assert text.startswith("# Benchmarks") and "GENERATED" in text
    assert "## Suite `accuracy`" in text and "## Suite `speed`" in text
    assert "suite `accuracy_mf`" in text
    plugged = json.loads((results / "accuracy_mf.json").read_text())["records"]
    assert {r["model"] for r in plugged if r["library"] == "workbench"} == {"ials", "nmf"}
    assert all(0 <= r["ndcg@10"] <= 1 for r in plugged)


def test_report_renders_records_of_a_plugged_in_suite(tmp_path: Path) -> None:
    from benchmarks.report import write_report

    results = tmp_path / "results"
    results.mkdir()
    machine = {"cpu": "cpu", "cores": 2, "memory_gb": 1.0, "platform": "p", "python": "3",
               "versions": {"numpy": "2"}, "references": [
                   {"library": "implicit", "version": None, "why": "not installed"}]}
    (results / "plugged.json").write_text(json.dumps({
        "suite": "plugged", "mode": "quick", "when": "now", "seconds": 1.0, "machine": machine,
        "records": [{"kind": "als_iterations", "model": "als", "seconds_per_iteration": 0.5}],
    }))  # fmt: skip
    page = tmp_path / "b.md"
    write_report(results, page)
    text = page.read_text()
    assert "## Suite `plugged`" in text and "seconds_per_iteration" in text and "0.5000" in text
    assert "implicit: not installed" in text


def test_generated_section_keeps_hand_written_sections(tmp_path: Path) -> None:
    from benchmarks.report import BEGIN, END, merge_into

    page = tmp_path / "benchmarks.md"
    page.write_text("# Benchmarks\n\nIntro.\n\n## Time-aware models\n\nTheirs.\n")
    merge_into(page, "## Ours\n\nfirst")
    merge_into(page, "## Ours\n\nsecond")
    text = page.read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert "second" in text and "first" not in text
    assert text.index("Intro.") < text.index(BEGIN) < text.index("## Time-aware models")
    assert text.endswith("Theirs.\n")


def test_als_ndcg_holdout_is_seeded_and_per_user() -> None:
    from benchmarks.als_ndcg import holdout
    from workbench.testing import low_rank_ratings

    data = low_rank_ratings(kind="implicit", seed=3)
    mask, n_test_users = holdout(data, 0.25, seed=1)
    counts = np.bincount(data.user, minlength=data.n_users)
    held = np.bincount(data.user[mask], minlength=data.n_users)
    want = np.where(counts >= 2, np.maximum(1, np.rint(0.25 * counts)), 0)
    np.testing.assert_array_equal(held, want)
    assert n_test_users == int((counts >= 2).sum())
    np.testing.assert_array_equal(mask, holdout(data, 0.25, seed=1)[0])
    assert not np.array_equal(mask, holdout(data, 0.25, seed=2)[0])


def test_als_ndcg_compare_scores_both_libraries_on_tiny_data() -> None:
    pytest.importorskip("implicit.cpu.als")
    from benchmarks.als_ndcg import compare
    from workbench.testing import low_rank_ratings

    rows = compare("tiny", low_rank_ratings(kind="implicit", seed=4), confidence="linear",
                   factors=4, iterations=3, repeats=1, threads=1)
    assert [r["library"] for r in rows] == [
        "ours", "implicit", "popularity", "ours - implicit (paired)"
    ]
    assert all(0 <= r["ndcg@10"] <= 1 and 0 <= r["recall@10"] <= 1 for r in rows[:3])
    assert rows[0]["seconds_per_iteration"] > 0 and rows[1]["seconds_per_iteration"] > 0
    assert rows[3]["ndcg@10"] == pytest.approx(rows[0]["ndcg@10"] - rows[1]["ndcg@10"])
    assert rows[0]["ratio"] > 0
