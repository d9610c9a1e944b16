"""The HTML report in a real headless browser (Chromium): it renders, with table and charts.

CI installs Chromium from the system packages (``apt-get install chromium``); without it
the test is skipped with the reason.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from workbench_exporters.html import Html

from workbench.results import Results

pytestmark = pytest.mark.browser

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(
        "no headless Chromium found (install it: apt-get install chromium); "
        f"looked for {', '.join(BROWSERS)}"
    )


def chromium(exe: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def sample_results() -> Results:
    rng = np.random.default_rng(0)
    records = []
    for model, base, fit in (("sgd", 0.90, 3.0), ("als", 0.92, 0.5), ("popularity", 1.00, 0.05)):
        for fold in range(3):
            curve = []
            if model != "popularity":
                curve = [
                    {
                        "epoch": e,
                        "loss": 1.0 / e + 0.01 * fold,
                        "seconds": 0.2,
                        "rmse": base + 0.1 / e,
                    }
                    for e in range(1, 9)
                ]
            records.append(
                {
                    "model": model,
                    "fold": fold,
                    "params": {"seed": 0},
                    "scores": {
                        "rmse": base + rng.normal(0, 0.01),
                        "ndcg@10": 1.2 - base + rng.normal(0, 0.01),
                        "coverage@10": rng.uniform(0.05, 0.5),
                    },
                    "fit_seconds": fit * (1 + 0.1 * fold),
                    "predict_seconds": 0.2,
                    "cold_pairs": 4,
                    "curve": curve,
                }
            )
    activity = [
        {"model": m, "bucket": b, "min_train": lo, "max_train": hi, "users": 50.0 - lo,
         "ndcg@10": 0.1 + lo / 100 + shift, "rmse": 1.0 - lo / 100 - shift}
        for m, shift in (("sgd", 0.02), ("als", 0.0), ("popularity", -0.03))
        for b, lo, hi in (("1-4", 1, 4), ("5-9", 5, 9), ("10-19", 10, 19), ("20+", 20, None))
    ]  # fmt: skip
    meta = {
        "dataset": {"name": "ml-100k"},
        "splitter": {"spec": "kfold n_folds=3"},
        "protocol": {"relevance_threshold": 4.0, "candidates": "all items unseen in train"},
        "seed": 7,
        "higher_is_better": {"rmse": False, "ndcg@10": True, "coverage@10": True},
        "activity": activity,
    }
    return Results.from_records(records, meta)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    return Html(title="Browser test report").export(sample_results(), folder / "report.html")


def test_report_renders_with_table_and_charts(report, tmp_path):
    exe = browser()
    done = chromium(exe, tmp_path / "profile", "--dump-dom", report.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "<title>Browser test report</title>" in dom
    table = re.search(r'<table id="results-table".*?</table>', dom, flags=re.S)
    assert table is not None, "results table missing from the rendered DOM"
    rows = re.findall(r"<tr>", table.group(0))
    assert len(rows) == 1 + 3  # header + three models
    assert 'class="best"' in table.group(0)
    charts = re.findall(r'<figure class="chart" data-chart="(\w+)"', dom)
    assert charts.count("metric") == 3 and "scatter" in charts
    assert "curves" in charts and "activity" in charts
    # the browser parsed the inline SVG into elements (with their drawn content)
    assert dom.count("<svg") == len(charts)
    assert len(re.findall(r"<path", dom)) > 50
    assert "ndcg@10" in dom and "ml-100k" in dom


def test_report_screenshot_is_not_blank(report, tmp_path):
    exe = browser()
    shot = tmp_path / "report.png"
    done = chromium(
        exe,
        tmp_path / "profile",
        "--window-size=1280,2400",
        f"--screenshot={shot}",
        report.as_uri(),
    )
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    from PIL import Image

    image = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    assert image.shape[0] >= 2000 and image.shape[1] >= 1200
    colours = len(np.unique(image.reshape(-1, 3)[::97], axis=0))
    assert colours > 30, "the screenshot looks blank"
    # the header band (blue gradient) and chart colours are drawn
    assert (image[:, :, 2] - image[:, :, 0] > 80).mean() > 0.02
