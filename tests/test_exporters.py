"""Exporters: terminal, CSV, JSON, Markdown and the HTML report (content, not the browser)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner
from workbench_exporters.common import build_table, number
from workbench_exporters.files import Csv, Json, Markdown, markdown
from workbench_exporters.html import Html, render_html
from workbench_exporters.terminal import Terminal, render, tall, wide

from workbench.results import Results

# Two models, three folds. "mf" is better on rmse (lower) and ndcg; "pop" on coverage.
VALUES = {
    ("mf", "rmse"): [0.90, 0.92, 0.94],
    ("mf", "ndcg@10"): [0.30, 0.32, 0.34],
    ("mf", "coverage@10"): [0.20, 0.20, 0.20],
    ("pop", "rmse"): [1.00, 1.02, 1.04],
    ("pop", "ndcg@10"): [0.20, 0.21, 0.22],
    ("pop", "coverage@10"): [0.50, 0.60, 0.70],
}


def make_results(curves: bool = True, activity: bool = False, **meta) -> Results:
    records = []
    for model in ("mf", "pop"):
        for fold in range(3):
            scores = {m: VALUES[(model, m)][fold] for m in ("rmse", "ndcg@10", "coverage@10")}
            curve = (
                [
                    {"epoch": e, "loss": 1.0 / e, "seconds": 0.1, "rmse": 1.0 - e / 50}
                    for e in (1, 2, 3)
                ]
                if curves and model == "mf"
                else []
            )
            records.append(
                {
                    "model": model,
                    "model_name": "sgd" if model == "mf" else "popularity",
                    "fold": fold,
                    "params": {"n_factors": 8} if model == "mf" else {},
                    "scores": scores,
                    "fit_seconds": 2.0 + fold if model == "mf" else 0.1,
                    "predict_seconds": 0.5,
                    "cold_users": 1,
                    "cold_pairs": 3,
                    "cold_fallback": "mu + b_i",
                    "curve": curve,
                }
            )
    metadata = {
        "dataset": {"name": "toy", "n_items": 50},
        "splitter": {"name": "kfold", "spec": "kfold n_folds=3"},
        "protocol": {"relevance_threshold": 4.0, "candidates": "all items unseen in train"},
        "seed": 42,
        "higher_is_better": {"rmse": False, "ndcg@10": True, "coverage@10": True},
        **meta,
    }
    if activity:
        metadata["activity"] = [
            {"model": m, "bucket": b, "min_train": lo, "max_train": hi, "users": 10.0,
             "ndcg@10": v, "rmse": 1.0 - v}
            for m in ("mf", "pop")
            for (b, lo, hi, v) in (("1-4", 1, 4, 0.1), ("5-9", 5, 9, 0.2), ("10+", 10, None, 0.3))
        ]  # fmt: skip
    return Results.from_records(records, metadata)


def test_table_best_respects_the_direction():
    t = build_table(make_results())
    assert t.cells[("mf", "rmse")].best and not t.cells[("pop", "rmse")].best
    assert t.cells[("mf", "ndcg@10")].best
    assert t.cells[("pop", "coverage@10")].best and not t.cells[("mf", "coverage@10")].best
    assert t.text("mf", "rmse") == "0.9200 ± 0.0200"
    assert t.text("mf", "fit_seconds") == "3.0000"  # timings: the mean only
    assert t.arrow("rmse") == "↓" and t.arrow("ndcg@10") == "↑"


def test_direction_falls_back_to_the_registered_metric():
    results = make_results()
    results.metadata.pop("higher_is_better")
    t = build_table(results)
    assert t.arrow("rmse") == "↓" and t.cells[("mf", "rmse")].best


def test_number_format():
    assert number(0.123456) == "0.1235"
    assert number(12.345) == "12.35"
    assert number(12345.6) == "12,346"
    assert number(float("nan")) == "-"


def test_terminal_prints_mean_std_and_highlights_the_best(capsys, tmp_path):
    results = make_results()
    path = Terminal().export(results, tmp_path / "table.txt")
    out = capsys.readouterr().out
    assert "mf" in out and "pop" in out and "±" in out
    text = path.read_text()
    assert "0.9200 ± 0.0200" in text and "kfold n_folds=3" in text
    table = wide(results)
    styles = {
        (row, col): getattr(cell, "style", "")
        for col, column in enumerate(table.columns)
        for row, cell in enumerate(column._cells)
    }
    assert styles[(0, 1)] == "bold green"  # mf, rmse
    assert styles[(1, 1)] == ""  # pop, rmse
    assert styles[(1, 3)] == "bold green"  # pop, coverage


def test_terminal_goes_tall_when_narrow():
    results = make_results()
    assert render(results, width=300).columns[0].header == "model"
    narrow = render(results, width=40)
    assert narrow.columns[0].header == "metric"
    assert [c.header for c in tall(results).columns] == ["metric", "mf", "pop"]


def test_csv_tables(tmp_path):
    results = make_results()
    folds = pd.read_csv(Csv().export(results, tmp_path / "r.csv"))
    assert len(folds) == 6 and {"rmse", "ndcg@10", "fit_seconds"} <= set(folds.columns)
    mf = folds[folds["model"] == "mf"].sort_values("fold")
    np.testing.assert_allclose(mf["rmse"], VALUES[("mf", "rmse")])
    summary = pd.read_csv(Csv(table="summary").export(results, tmp_path / "s.csv"))
    assert summary.set_index("model").loc["mf", "rmse_mean"] == pytest.approx(0.92)
    assert summary.set_index("model").loc["pop", "folds"] == 3
    long = pd.read_csv(Csv(table="scores").export(results, tmp_path / "l.csv"))
    assert len(long) == 18


def test_json_full_detail_round_trips(tmp_path):
    results = make_results()
    results.metadata["odd"] = {"nan": float("nan"), "array": np.arange(3), "tuple": (1, 5)}
    path = Json().export(results, tmp_path / "r.json")
    data = json.loads(path.read_text())  # strict JSON: NaN became null
    assert data["metadata"]["odd"] == {"nan": None, "array": [0, 1, 2], "tuple": [1, 5]}
    assert data["metadata"]["protocol"]["relevance_threshold"] == 4.0
    assert data["metadata"]["seed"] == 42
    assert len(data["scores"]) == 18 and len(data["runs"]) == 6
    assert json.loads(data["runs"][0]["params"]) == {"n_factors": 8}
    assert data["export"]["environment"]["numpy"] == np.__version__
    assert {r["model"] for r in data["summary"]} == {"mf", "pop"}
    back = Results.from_dict(data)
    assert back.summary().loc["mf", ("rmse", "mean")] == pytest.approx(0.92)
    assert len(back.curves) == 9  # 3 epochs x 3 folds of mf


def test_markdown_table(tmp_path):
    results = make_results()
    text = Markdown().export(results, tmp_path / "r.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + 2  # header, rule, two models
    assert "| mf | **0.9200 ± 0.0200** |" in text
    assert "**0.6000 ± 0.1000**" in text  # pop's coverage
    assert "ndcg@10 ↑" in text and "rmse ↓" in text
    results.runs.loc[0, "model"] = "a|b"
    assert "a\\|b" in markdown(results)


def test_default_paths_and_missing_folders(tmp_path, monkeypatch):
    results = make_results(run_dir=str(tmp_path / "run"))
    (tmp_path / "run").mkdir()
    assert Csv().export(results) == tmp_path / "run" / "results.csv"
    assert Markdown(path=str(tmp_path / "deep" / "er")).export(results).name == "er"
    assert Json().export(results, tmp_path).name == "results.json"
    monkeypatch.chdir(tmp_path)
    plain = make_results()
    assert Html().export(plain).resolve() == (tmp_path / "results.html").resolve()
    mode = (tmp_path / "results.html").stat().st_mode & 0o777
    assert mode & 0o044  # readable by others like any file the user creates (umask 022)


def test_html_report_is_self_contained_and_complete(tmp_path):
    results = make_results(activity=True, errors=[{"model": "x", "fold": 0, "error": "boom"}])
    html = Html(title="Toy <report>").export(results, tmp_path / "r.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "Toy &lt;report&gt;" in html  # escaped
    # self-contained: nothing is fetched at view time, no scripts
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "url(http" not in html
    assert 'id="results-table"' in html and 'class="best"' in html
    figures = re.findall(r'<figure class="chart" data-chart="(\w+)"', html)
    assert figures.count("metric") == 3
    assert figures.count("scatter") == 2  # rmse and ndcg@10 against fit time
    assert figures.count("curves") == 1 and figures.count("activity") == 1
    assert html.count("<svg") == len(figures)
    assert 'id="activity-table"' in html and 'id="runs-table"' in html
    assert "kfold n_folds=3" in html and "boom" in html
    ids = re.findall(r'<(?:clipPath|path|g)\s[^>]*id="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # inline SVGs do not clash


def test_html_without_curves_or_timings_says_so():
    results = make_results(curves=False)
    results.runs = results.runs.drop(columns=["fit_seconds"])
    html = render_html(results)
    assert "no learning curves recorded" in html
    assert "no fit times recorded" in html


def test_results_export_by_name(tmp_path):
    results = make_results()
    path = results.export("md", tmp_path / "by-name.md")
    assert path.exists() and path.read_text().startswith("## Results")
    path = results.export("report", tmp_path / "by-alias.html")
    assert "<svg" in path.read_text()


def test_cli_lists_every_metric_and_exporter():
    from workbench.cli.app import build_app

    runner = CliRunner()
    app = build_app()
    out = runner.invoke(app, ["metrics", "--json"])
    assert out.exit_code == 0, out.output
    metrics = {m["name"]: m for m in json.loads(out.output)}
    expected = {
        "rmse", "mae", "precision", "recall", "ndcg", "map", "mrr", "hitrate", "auc",
        "coverage", "novelty", "popularity", "diversity", "personalisation",
    }  # fmt: skip
    assert expected <= set(metrics)
    assert "hit_rate" in metrics["hitrate"]["aliases"]
    assert any(p["name"] == "gain" for p in metrics["ndcg"]["params"])
    out = runner.invoke(app, ["metrics", "ndcg"])
    assert out.exit_code == 0 and "log2(i + 1)" in out.output
    out = runner.invoke(app, ["exporters", "--json"])
    exporters = {e["name"]: e for e in json.loads(out.output)}
    assert {"terminal", "csv", "json", "markdown", "html"} <= set(exporters)
    assert "md" in exporters["markdown"]["aliases"] and "report" in exporters["html"]["aliases"]
    assert all(any(p["name"] == "path" for p in e["params"]) for e in exporters.values())


def test_every_metric_and_exporter_is_documented():
    from workbench.plugins import get_registry

    doc = (Path(__file__).resolve().parents[1] / "docs" / "metrics.md").read_text()
    registry = get_registry()
    for kind in ("metric", "exporter"):
        for entry in registry.list(kind):
            if entry.plugin in ("metrics", "exporters"):
                assert f"`{entry.name}`" in doc, f"{kind} {entry.name} missing in docs/metrics.md"
                assert entry.obj.__doc__ and len(entry.obj.__doc__) > 40
