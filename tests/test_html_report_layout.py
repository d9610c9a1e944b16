"""The HTML report's layout in headless Chromium at 1280 px, 1920 px and phone width, with 3
and 20 models: no chart text overlaps another (bar value labels, scatter labels), the Runs
table fits the page on a desktop, the page never scrolls sideways, and the header states the
dataset's size. Screenshots are saved in the test's tmp dir and named in the output (-s).

A measuring script is added to a copy of the report (the report itself has none); Chromium's
``--dump-dom`` runs it and the test reads what it wrote into the page.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pytest
from test_html_report_browser import browser, chromium
from workbench_exporters.html import Html

from workbench.results import Results

pytestmark = pytest.mark.browser

MEASURE = """<script>
const out = {overlaps: [], innerWidth: window.innerWidth};
out.pageOverflow = document.documentElement.scrollWidth - window.innerWidth;
const runs = document.getElementById('runs-table');
out.runsWidth = runs.getBoundingClientRect().width;
out.runsRoom = runs.parentElement.clientWidth;
out.runsRowHeight = Math.max(...[...runs.querySelectorAll('tbody tr')].map(
  r => r.getBoundingClientRect().height));
out.cellHeight = runs.querySelector('tbody td').getBoundingClientRect().height;
for (const fig of document.querySelectorAll('figure.chart')) {
  const boxes = [...fig.querySelectorAll('svg text')].map(t => [t.textContent,
    t.getBoundingClientRect()]).filter(([s, b]) => s.trim() && b.width > 0);
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [a, ra] = boxes[i], [b, rb] = boxes[j];
    const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
    const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
    if (w > 1 && h > 1) out.overlaps.push([fig.dataset.chart, fig.dataset.metric || '', a, b]);
  }
}
const host = window.parent === window ? document : parent.document;  // phone: an iframe
const pre = host.createElement('pre'); pre.id = 'measure';
pre.textContent = JSON.stringify(out); host.body.appendChild(pre);
</script>"""

RANKING_ONLY = ("ials", "nmf")


def many_models(n: int) -> Results:
    """``n`` models, two of them ranking-only (no RMSE), pairs close in RMSE and fit time
    (the scatter labels that used to overlap), RMSEs between 0.85 and 0.95."""
    rng = np.random.default_rng(n)
    names = ["sgd", "svdpp", "torch-mlp", "torch-neumf", *RANKING_ONLY]
    names += [f"model-{i:02d}" for i in range(n - len(names))]
    names = names[:n] if n >= 4 else ["sgd", "svdpp", "ials"][:n]
    records = []
    for i, model in enumerate(names):
        rmse = 0.85 + 0.1 * (i % 7) / 6 + (0.001 if model == "svdpp" else 0)
        fit = 1.0 + (i // 2) * 0.02 if i < 4 else rng.uniform(0.05, 30)
        for fold in range(3):
            scores = {"ndcg@10": 0.05 + 0.01 * i + rng.normal(0, 0.002)}
            if model not in RANKING_ONLY:
                scores["rmse"] = rmse + rng.normal(0, 0.002)
                scores["mae"] = 0.8 * rmse + rng.normal(0, 0.002)
            records.append({
                "model": model, "fold": fold, "scores": scores,
                "params": {"n_factors": 50 + i, "lr": 0.005, "reg": 0.02, "n_epochs": 20,
                           "init_std": 0.1, "seed": None},
                "fit_seconds": fit * (1 + 0.01 * fold), "predict_seconds": 0.2,
                "rank_seconds": 0.1, "eval_seconds": 0.3, "n_train": 66666, "n_test": 33334,
                "relevance_threshold": 4.0, "list_length": 10, "cold_users": 0,
                "cold_fallback": "cold user: mu + b_i (the item baseline: zero factors)",
                "finished": f"2026-12-07T07:{10 + i:02d}:0{fold}+00:00",
            })  # fmt: skip
    meta = {
        "dataset": {"name": "ml-100k", "n_users": 943, "n_items": 1682, "n_interactions": 100000},
        "splitter": {"spec": "kfold n_folds=3"},
        "seed": 7,
        "higher_is_better": {"rmse": False, "mae": False, "ndcg@10": True},
    }
    return Results.from_records(records, meta)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("layout")
    out = {}
    for n in (3, 20):
        path = Html(title=f"{n} models").export(many_models(n), folder / f"report-{n}.html")
        text = path.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>")
        measured = folder / f"measure-{n}.html"
        measured.write_text(text, encoding="utf-8")
        out[n] = measured
    return out


def at_width(page: Path, width: int) -> Path:
    """The page itself, or below Chromium's 500 px smallest window, a page showing it in an
    iframe ``width`` px wide (a srcdoc frame: same origin, so the script can report)."""
    if width >= 500:
        return page
    framed = page.with_name(f"{page.stem}-{width}px.html")
    doc = html.escape(page.read_text(encoding="utf-8"), quote=True)
    framed.write_text(
        f'<!DOCTYPE html><html><body style="margin:0"><iframe srcdoc="{doc}" width="{width}" '
        'height="3000" style="border:0"></iframe></body></html>',
        encoding="utf-8",
    )
    return framed


def measure(exe: str, page: Path, width: int, profile: Path) -> dict:
    window = max(width, 500)
    page = at_width(page, width)
    done = chromium(exe, profile, f"--window-size={window},1000", "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="measure">(.*?)</pre>', done.stdout, flags=re.S)
    assert found, "the measuring script did not run"
    return json.loads(found.group(1).replace("&amp;", "&").replace("&lt;", "<"))


@pytest.mark.parametrize("n", [3, 20])
@pytest.mark.parametrize("width", [1280, 1920, 390])
def test_report_layout(reports, n, width, tmp_path):
    exe = browser()
    m = measure(exe, reports[n], width, tmp_path / "profile")
    assert m["innerWidth"] == width
    assert m["overlaps"] == [], f"chart texts overlap at {width} px, {n} models"
    assert m["pageOverflow"] <= 0, "the page scrolls sideways"
    if width >= 1280:  # on a desktop the Runs table fits, one line per row
        assert m["runsWidth"] <= m["runsRoom"] + 1, m
        assert m["runsRowHeight"] <= 1.5 * m["cellHeight"], m
    shot = tmp_path / f"report-{n}-models-{width}px.png"
    done = chromium(
        exe, tmp_path / "profile", f"--window-size={max(width, 500)},3000",
        f"--screenshot={shot}", at_width(reports[n], width).as_uri(),
    )  # fmt: skip
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    print(f"screenshot: {shot}")


def test_header_states_dataset_size_and_zoomed_axes(reports):
    html = reports[3].read_text(encoding="utf-8")
    assert "943 users × 1,682 items · 100,000 interactions · density 6.30%" in html
    # RMSE 0.85..0.95: the axis starts above 0 and says so; ndcg (0.05..0.07) is not zoomed
    rmse = re.search(r'data-metric="rmse".*?</figure>', html, flags=re.S).group(0)
    assert "axis starts at" in rmse and "not 0" in rmse
    ndcg = re.search(r'data-metric="ndcg@10".*?</figure>', html, flags=re.S).group(0)
    assert "axis starts at" not in ndcg
    many = reports[20].read_text(encoding="utf-8")
    rmse = re.search(r'data-metric="rmse".*?</figure>', many, flags=re.S).group(0)
    assert "n/a: ials, nmf (ranking-only models" in rmse and rmse.count(">n/a<") == 2
