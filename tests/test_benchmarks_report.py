"""The benchmark report renders the ALS/NMF, PyTorch, accuracy_mf and 100M sections from their
JSON records (small fixtures in tests/fixtures/benchmarks), and the scripts' output becomes
those records."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "benchmarks"


@pytest.fixture
def page(tmp_path: Path) -> str:
    from benchmarks.report import write_report

    results = tmp_path / "results"
    shutil.copytree(FIXTURES, results)
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\nIntro.\n\n## Time-aware models\n\nTheirs.\n")
    write_report(results, out)
    return out.read_text()


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n### ", start + 1)
    return text[start : end if end > 0 else len(text)]


def test_als_section_is_a_table_of_the_records(page: str) -> None:
    als = _section(page, "### ALS and NMF next to the reference libraries: suite `als`")
    assert "(full mode, 2026-11-30 10:06 UTC, 0.8 min)" in als
    assert "- script `python -m benchmarks.bench_als`: exit 0, 0.8 min" in als
    row = next(x for x in als.splitlines() if x.startswith("| `ials` (CG"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells == ["`ials` (CG, 64 factors) vs `implicit` CPU ALS", "lastfm (92,834)",
                     "0.027-0.034", "0.067-0.069", "**0.43**", "<= 1.5: met", "3"]  # fmt: skip
    one_thread = next(x for x in als.splitlines() if "one BLAS thread" in x)
    assert "| 0.022 | 0.012 | **1.86** | <= 1: **not met** | 1 |" in one_thread
    assert "| 0.56 (51) | 12.26 (200) |" in als
    # the hand-written notes follow the tables
    note = (ROOT / "benchmarks" / "notes" / "als.md").read_text().splitlines()[0]
    assert note in als and als.index("#### Speed") < als.index(note)


def test_torch_section_is_a_table_of_the_records(page: str) -> None:
    torch = _section(page, "### PyTorch models: suite `torch`")
    assert "- torch: x86_64, 1 torch threads, torch 2.13.0+cpu; CUDA available: False" in torch
    assert "| tutorial loop (batch 64, per-row Dataset/DataLoader, SparseAdam) | 1.690 | 1 | " \
           "1.4401 (3 epochs) |" in torch  # fmt: skip
    assert "| `torch-mf (defaults, 20 factors)` | 0.036 | **35.9x** | 0.9185 | >= 20x: met |" \
        in torch  # fmt: skip
    assert "| `torch-mf` | 0.9091 | 0.0731 | rmse <= 0.92: met |" in torch
    assert "| `torch-mf loss=bpr` | n/a | 0.3165 | ndcg@10 >= 0.223: met |" in torch
    assert "| 1,000,000 (10,000 x 5,000) | `torch-mf` | cpu | 2.72 | 414 | 528 |" in torch


def test_accuracy_mf_rows_sit_next_to_their_reference_and_in_the_plot(page: str) -> None:
    section = _section(page, "### Accuracy of the ALS, NMF and PyTorch models")
    rows = [x for x in section.splitlines() if x.startswith("| ials |")]
    assert len(rows) == 2 and "workbench" in rows[0] and "implicit ALS (ANCHORS.md)" in rows[1]
    assert "0.2859" in rows[0] and "target ndcg@10 >= 0.279 (implicit ALS): met" in rows[0]
    assert "| n/a | n/a |" in rows[0]  # a ranking model has no RMSE/MAE
    assert "![accuracy against fit time](benchmarks.png)" in section


def test_100m_rows_added_by_a_later_run_are_marked(page: str) -> None:
    section = _section(page, "### Suite `scale100m`")
    assert "rows marked 'run 2026-11-30 11:00 UTC' added by a later full run (15.0 min" in section
    ials = next(x for x in section.splitlines() if "fit ials" in x)
    assert "| 300.0 | 7.50 | 7.90 | iterations 140.5, 139.5 s; run 2026-11-30 11:00 UTC |" in ials
    sgd = next(x for x in section.splitlines() if "fit sgd" in x)
    assert "| 8.72 |  | epochs 10.1 s |" in sgd


def test_missing_reference_keeps_the_first_reason(page: str) -> None:
    assert "- lenskit: pins pandas < 3" in page


def test_bench_torch_records_flatten_its_results() -> None:
    pytest.importorskip("torch")
    from benchmarks.bench_torch import records

    results = {
        "machine": "m", "cuda": False,
        "speed": {"n_ratings": 80000, "tutorial_epochs": 3, "systems": {
            "tutorial": {"seconds_per_epoch": 1.0, "speedup_vs_tutorial": 1.0,
                         "median_pair_ratio": 1.0, "test_rmse": 1.4},
            "torch-mf (defaults, 20 factors)": {"seconds_per_epoch": 0.1,
                                                "speedup_vs_tutorial": 10.0,
                                                "median_pair_ratio": 12.0, "test_rmse": 0.92}}},
        "anchor": {"torch-mf threads=1": {"rmse": 0.93, "ndcg@10": 0.07, "seconds": 1.0},
                   "torch-neumf threads=1": {"rmse": 0.925, "ndcg@10": 0.01, "seconds": 1.0}},
        "scale": [{"n_ratings": 10, "model": "torch-mf"}],
    }  # fmt: skip
    found = records(results)
    assert [r["kind"] for r in found] == ["torch_machine", "tutorial_speed", "tutorial_speed",
                                          "anchor", "anchor", "torch_scale"]  # fmt: skip
    ours = found[2]
    assert ours["target"] == ">= 50x" and ours["met"] is False  # 12x is under the target
    mf, neumf = found[3], found[4]
    assert mf["model"] == "torch-mf" and mf["target"] == "rmse <= 0.92" and mf["met"] is False
    assert "target" not in neumf and neumf["model"] == "torch-neumf"


def test_bench_als_speed_record_is_the_median_of_paired_ratios() -> None:
    from benchmarks.bench_als import speed_record

    rec = speed_record("c", "d", 5, [1.0, 2.0, 9.0], [2.0, 2.0, 3.0], 1.5)
    assert rec["median_ratio"] == pytest.approx(1.0)  # ratios 0.5, 1, 3
    assert rec["met"] is True and rec["target"] == "<= 1.5" and rec["kind"] == "ratio_speed"


def test_script_suite_keeps_the_records_a_script_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks import suite_scripts
    from benchmarks.suites import Context

    (tmp_path / "fakebench.py").write_text(
        "import json, sys\n"
        "path = sys.argv[sys.argv.index('--json') + 1]\n"
        "json.dump({'records': [{'kind': 'ratio_speed', 'x': 1}]}, open(path, 'w'))\n"
        "print('done')\n"
    )
    monkeypatch.setattr(suite_scripts, "ROOT", tmp_path)
    monkeypatch.setitem(suite_scripts.SCRIPTS, "fake", ("fakebench", [], [], True))
    found = suite_scripts.run_script("fake", Context(quick=True))
    assert found[0]["kind"] == "script" and found[0]["exit"] == 0
    assert found[0]["output_tail"] == ["done"]
    assert found[1:] == [{"kind": "ratio_speed", "x": 1}]


def test_run_appends_records_of_a_later_run(tmp_path: Path) -> None:
    from benchmarks import run
    from benchmarks.suites import SUITES, Context

    SUITES["_append_test"] = lambda ctx: [{"kind": "scale", "step": "later"}]
    try:
        (tmp_path / "_append_test.json").write_text(json.dumps({
            "suite": "_append_test", "mode": "full", "when": "earlier", "seconds": 1.0,
            "machine": {}, "records": [{"kind": "scale", "step": "first"}]}))  # fmt: skip
        path = run.run_suite("_append_test", Context(quick=False), tmp_path, append=True)
    finally:
        del SUITES["_append_test"]
    payload = json.loads(path.read_text())
    assert payload["when"] == "earlier" and [r["step"] for r in payload["records"]] == [
        "first", "later"]
    assert "run" not in payload["records"][0] and payload["records"][1]["run"]
    assert payload["appended"][0]["mode"] == "full"
    assert len(payload["appended"][0]["loadavg_before"]) == 3


def test_fixtures_are_valid_for_the_report_kinds() -> None:
    from benchmarks.report import LINES, RENDER

    for path in FIXTURES.glob("*.json"):
        kinds = {r["kind"] for r in json.loads(path.read_text())["records"]}
        assert kinds <= set(RENDER) | LINES, (path.name, kinds - set(RENDER) - LINES)


def test_equal_settings_rows_show_time_ratio_and_paired_difference(page: str) -> None:
    rows = [x for x in page.splitlines() if x.startswith("| Last.fm plays |")]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    assert [c[3] for c in cells] == ["ours", "implicit", "ours - implicit (paired)"]
    assert cells[0][4:8] == ["0.055", "**0.45**", "0.2253 (0.0049)", "0.1903 (0.0043)"]
    assert cells[2][6] == "+0.0020 (0.0020)" and cells[2][4] == ""
