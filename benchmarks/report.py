"""Generate the suites' section of ``docs/benchmarks.md`` (and its plot) from
``benchmarks/results/*.json``: the section between the GENERATED markers is replaced, every
hand-written section of the page (other work's benchmarks) is kept.

Each suite's records become tables by ``kind`` (accuracy, speed, epoch, loading, scale,
ratio_speed and end_to_end (bench_als), tutorial_speed, anchor and torch_scale (bench_torch),
missing; other kinds as a generic table), followed by ``benchmarks/notes/<suite>.md`` when
that file exists (hand-written conclusions that cite the figures above them). Run by
``benchmarks.run``; on its own: ``python -m benchmarks.report``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.suites import ROOT

NOTES = ROOT / "benchmarks" / "notes"
ORDER = [
    "accuracy", "accuracy_mf", "speed", "als", "torch", "sgd_scaling", "scale", "scale100m",
    "load100m",
]  # fmt: skip
#: Headings of the suites that have one (the others: "Suite `name`").
TITLES = {
    "accuracy_mf": "Accuracy of the ALS, NMF and PyTorch models",
    "als": "ALS and NMF next to the reference libraries",
    "torch": "PyTorch models",
}
#: Kinds that are shown as a line, not a table.
LINES = {"missing", "machine_load", "script", "torch_machine"}
METRIC_COLS = ["rmse", "mae", "precision@10", "recall@10", "ndcg@10", "hitrate@10"]


def _f(x: Any, digits: int = 4) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        if x != x:  # NaN
            return "n/a"
        return f"{x:.{digits}f}"
    if isinstance(x, list):
        return ", ".join(_f(v, 2) for v in x)
    return str(x)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_f(c) if not isinstance(c, str) else c for c in r) + " |"
              for r in rows]  # fmt: skip
    return lines + [""]


def _seconds(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def accuracy_tables(records: list[dict]) -> list[str]:
    out: list[str] = []
    for data in dict.fromkeys(r["data"] for r in records):
        rows = [r for r in records if r["data"] == data]
        out.append(f"**{data}** ({rows[0]['folds']} fold(s), mean over folds; relevant = "
                   "rating >= 4, every unseen item ranked):")  # fmt: skip
        out.append("")
        out += _table(
            ["model", "library", "setting", "RMSE", "MAE", "P@10", "R@10", "nDCG@10", "HR@10",
             "fit s", "note"],
            [[r["model"], r["library"], r.get("setting", ""),
              *[r.get(m) for m in METRIC_COLS], _seconds(r.get("fit_s")),
              r.get("note") or r.get("error", "")] for r in rows],
        )  # fmt: skip
    return out


def speed_table(records: list[dict]) -> list[str]:
    return _table(
        ["data", "task", "ours", "ours s", "reference", "reference s", "ratio (ref/ours)",
         "warm-up ours s", "warm-up ref s", "runs"],
        [[r["data"], r["task"], r["ours"], _seconds(r["ours_s"]), r["reference"],
          _seconds(r["reference_s"]), f"{r['ratio']:.2f}x", _seconds(r["ours_warmup_s"]),
          _seconds(r["reference_warmup_s"]), str(r["runs"])] for r in records],
    )  # fmt: skip


def epoch_table(records: list[dict]) -> list[str]:
    return _table(
        ["data", "ratings", "system", "s / epoch", "ns / rating", "vs Surprise SVD",
         "fit set-up s", "runs"],
        [[r["data"], f"{r['rows']:,}", r["system"], _seconds(r["epoch_s"]),
          f"{r['ns_per_rating']:.0f}", "" if r["vs_surprise"] is None
          else f"{r['vs_surprise']:.2f}x", _seconds(r.get("setup_s")), str(r["runs"])]
         for r in records],
    )  # fmt: skip


def loading_table(records: list[dict]) -> list[str]:
    return _table(
        ["file", "rows", "ours s", "pyarrow read_csv s", "ours / pyarrow", "target", "runs"],
        [[r["file"], f"{r.get('rows', 0):,}", _seconds(r["ours_s"]), _seconds(r["pyarrow_s"]),
          f"{r['ratio']:.2f}x", r["target"], str(r["runs"])] for r in records],
    )  # fmt: skip


def _span(values: list[float]) -> str:
    """min-max of per-repeat figures (one figure when there is one repeat)."""
    lo, hi = min(values), max(values)
    digits = 3 if hi < 0.1 else 2
    return f"{lo:.{digits}f}" if len(values) == 1 else f"{lo:.{digits}f}-{hi:.{digits}f}"


def _target(r: dict) -> str:
    if not r.get("target"):
        return ""
    return f"{r['target']}: " + ("met" if r.get("met") else "**not met**")


def ratio_speed_table(records: list[dict]) -> list[str]:
    return _table(
        ["comparison", "data (nnz)", "ours s/it", "reference s/it", "median ratio (ours/ref)",
         "target", "repeats"],
        [[r["comparison"], f"{r['data']} ({r['nnz']:,})", _span(r["ours_s"]),
          _span(r["reference_s"]), f"**{r['median_ratio']:.2f}**", _target(r),
          str(len(r["ours_s"]))] for r in records],
    )  # fmt: skip


def end_to_end_table(records: list[dict]) -> list[str]:
    return _table(
        ["comparison", "data", "ours s (iterations)", "reference s (iterations)"],
        [[r["comparison"], r["data"], f"{r['ours_s']:.2f} ({r['ours_iterations']})",
          f"{r['reference_s']:.2f} ({r['reference_iterations']})"] for r in records],
    )  # fmt: skip


def tutorial_speed_table(records: list[dict]) -> list[str]:
    rows = []
    for r in records:
        ratio = r["median_pair_ratio"]
        rows.append([
            "tutorial loop (batch 64, per-row Dataset/DataLoader, SparseAdam)"
            if r["system"] == "tutorial" else f"`{r['system']}`",
            f"{r['seconds_per_epoch']:.3f}", "1" if r["system"] == "tutorial"
            else f"**{ratio:.1f}x**", f"{r['test_rmse']:.4f}" + (
                f" ({r['tutorial_epochs']} epochs)" if r["system"] == "tutorial" else ""),
            _target(r)])  # fmt: skip
    return _table(["system", "s / epoch", "speed-up (median paired ratio)", "test RMSE",
                   "target"], rows)  # fmt: skip


def anchor_table(records: list[dict]) -> list[str]:
    return _table(
        ["model", "RMSE", "nDCG@10", "target"],
        [[f"`{r['model']}`", r.get("rmse"), r.get("ndcg@10"), _target(r)] for r in records],
    )


def torch_scale_table(records: list[dict]) -> list[str]:
    return _table(
        ["ratings (users x items)", "model", "device", "s / epoch", "RSS before fit MB",
         "peak RSS during fit MB"],
        [[f"{r['n_ratings']:,} ({r['n_users']:,} x {r['n_items']:,})", f"`{r['model']}`",
          r["device"], f"{r['seconds_per_epoch']:.2f}", f"{r['rss_mb_before_fit']:,.0f}",
          f"{r['peak_rss_mb_during_fit']:,.0f}"] for r in records],
    )  # fmt: skip


def line(r: dict) -> str:
    """A record of a ``LINES`` kind as one line ("" when it has none)."""
    if r["kind"] == "script":
        return (f"- script `python -m {r['script'].split(' --json')[0]}`: exit {r['exit']}, "
                f"{r['seconds'] / 60:.1f} min")  # fmt: skip
    if r["kind"] == "torch_machine":
        return f"- torch: {r['machine']}; CUDA available: {r['cuda']}"
    return ""


def scale_table(records: list[dict]) -> list[str]:
    rows = []
    for r in records:
        if "aborted" in r or "error" in r:
            rows.append([r.get("data", ""), r.get("aborted") or r.get("error"), "", "", "", "",
                         ""])  # fmt: skip
            continue
        extra = []
        if r.get("epoch_s"):
            unit = "iterations" if "als " in f"{r['step']} " else "epochs"
            extra.append(f"{unit} " + ", ".join(f"{s:.1f}" for s in r["epoch_s"]) + " s")
        if r.get("peak_over_final"):
            extra.append(f"peak {r['peak_over_final']:.2f}x the final arrays "
                         f"({r['final_gb']:.2f} GiB)")  # fmt: skip
        if r.get("sampled"):
            extra.append(f"a seeded sample of the users; all {r['all_users']:,} users: "
                         f"about {r['all_users_s'] / 60:.0f} min (linear in users)")
        if r.get("scores"):
            extra.append(", ".join(f"{k} {v:.4f}" for k, v in r["scores"].items()))
        if r.get("run"):
            extra.append(f"run {r['run']}")
        rss = f"{r['max_rss_gb']:.2f}" if r.get("max_rss_gb") else ""
        rows.append([r.get("data", ""), r["step"], f"{r['rows']:,}", _seconds(r["seconds"]),
                     f"{r['peak_gb']:.2f}", rss, "; ".join(extra)])  # fmt: skip
    return _table(["data", "step", "rows", "seconds", "peak GiB (over imports)",
                   "max RSS GiB", "notes"], rows)  # fmt: skip


def equal_settings_table(records: list[dict]) -> list[str]:
    """ials and implicit trained alike: time per iteration and quality of the same fits."""
    rows = []
    for r in records:
        spi = r.get("seconds_per_iteration")
        ratio = r.get("ratio")
        rows.append([
            r["data"], str(r["iterations"]), str(r["test_users"]), r["library"],
            "" if spi is None or spi != spi else _seconds(spi),
            "" if ratio is None else f"**{ratio:.2f}**",
            *(f"{r[m]:+.4f} ({r[m + ' se']:.4f})" if "paired" in r["library"]
              else f"{r[m]:.4f} ({r[m + ' se']:.4f})" for m in ("ndcg@10", "recall@10")),
        ])  # fmt: skip
    return _table(["data", "iterations", "test users", "library", "s / iteration (median)",
                   "ours / implicit", "nDCG@10 (se)", "recall@10 (se)"], rows)  # fmt: skip


def generic_table(records: list[dict]) -> list[str]:
    keys = list(dict.fromkeys(k for r in records for k in r if k not in ("kind", "records")))
    return _table(keys, [[r.get(k) if not isinstance(r.get(k), dict)
                          else json.dumps(r.get(k)) for k in keys] for r in records])  # fmt: skip


RENDER = {
    "accuracy": ("Accuracy", accuracy_tables),
    "speed": ("Speed: fit and recommend-all, alternated runs (medians)", speed_table),
    "epoch": ("SGD seconds per epoch (medians of alternated runs)", epoch_table),
    "loading": ("CSV loading against pyarrow's own read (alternated, medians)", loading_table),
    "scale": ("Time and peak memory (fresh processes)", scale_table),
    "ratio_speed": ("Speed: seconds per iteration, alternated runs (ours / reference)",
                    ratio_speed_table),
    "end_to_end": ("End to end, each with its own stopping rule", end_to_end_table),
    "equal_settings": ("`ials` and `implicit` at equal settings: time and quality of the same "
                       "fits", equal_settings_table),
    "tutorial_speed": ("Speed against the tutorial loop (anchor fold 0's training part)",
                       tutorial_speed_table),
    "anchor": ("Accuracy on the ML-100k anchor folds (5-fold means)", anchor_table),
    "torch_scale": ("Scale: synthetic ratings (fresh process each)", torch_scale_table),
}


def plot(accuracy: list[dict], path: Path) -> bool:
    """nDCG@10 against fit seconds, one point per model and library (log time axis), for
    the data of the first record."""
    data = accuracy[0]["data"] if accuracy else None
    rows = [r for r in accuracy if r["data"] == data and r.get("fit_s")
            and r.get("ndcg@10") is not None and r.get("ndcg@10") == r.get("ndcg@10")]
    if not rows:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for r in rows:
        ours = r["library"] == "workbench"
        ax.scatter(r["fit_s"], r["ndcg@10"], marker="o" if ours else "s",
                   color="tab:blue" if ours else "tab:orange")  # fmt: skip
        label = r["model"] if ours else f"{r['library']} ({r.get('setting', '')})"
        ax.annotate(label, (r["fit_s"], r["ndcg@10"]), fontsize=6, xytext=(3, 2),
                    textcoords="offset points")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("fit seconds per fold (log scale)")
    ax.set_ylabel("nDCG@10")
    ax.set_title(f"{rows[0]['data']}: accuracy against fit time (blue: workbench, "
                 "orange: reference)", fontsize=9)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def machine_lines(machine: dict) -> list[str]:
    v = ", ".join(f"{k} {x}" for k, x in machine["versions"].items() if x)
    refs = ", ".join(
        f"{r['library']} {r['version']}" if r["version"] else f"{r['library']} (missing)"
        for r in machine["references"]
    )
    mem = f"{machine['memory_gb']:.0f} GiB" if machine.get("memory_gb") else "?"
    load = ", ".join(f"{x:.1f}" for x in machine.get("loadavg_before", []))
    return [f"- machine: {machine['cpu']}, {machine['cores']} cores, {mem} memory; "
            f"{machine['platform']}; Python {machine['python']}",
            f"- libraries: {v}", f"- references: {refs}",
            f"- load average when the suite started (1/5/15 min): {load}"]  # fmt: skip


def write_report(results: Path, out: Path) -> None:
    files = sorted(results.glob("*.json"), key=lambda p: (
        ORDER.index(p.stem) if p.stem in ORDER else len(ORDER), p.stem))  # fmt: skip
    payloads = [json.loads(p.read_text()) for p in files]
    lines = [
        "# Benchmarks",
        "",
        "## Workbench against the reference libraries, and one machine at 100M ratings",
        "",
        "Generated by `python -m benchmarks.run` (benchmarks/report.py) from "
        "benchmarks/results/*.json and benchmarks/notes/*.md: edit those, not this section. "
        "Every speed and accuracy figure the documentation quotes comes from this page. "
        "Regenerate it with `make bench` (quick: minutes) or `make bench-full`; the 100M-row "
        "run with `python -m benchmarks.run scale100m`; one suite alone with `python -m "
        "benchmarks.run SUITE [--full]` (each suite's heading names it and when it ran). "
        "Timings are medians of runs alternated "
        "between our code and the reference (A B A B ...) in one process; the first run of each "
        "(numba compiling or loading its cache, the reference's own JIT) is left out of the "
        "median and shown as warm-up. The machine is shared: its load average is recorded with "
        "each suite, and figures vary by 15-50% from run to run.",
        "",
    ]
    missing: dict[str, str] = {}
    installed = {ref["library"] for p in payloads for ref in p["machine"].get("references", [])
                 if ref["version"]}  # fmt: skip
    for payload in payloads:  # missing from every suite's run (the first reason given)
        for r in payload["records"]:
            if r.get("kind") == "missing" and r["library"] not in installed:
                missing.setdefault(r["library"], r["why"])
        for ref in payload["machine"].get("references", []):
            if not ref["version"] and ref["library"] not in installed:
                missing.setdefault(ref["library"], ref.get("why", "not installed"))
    if missing:
        lines += ["**Reference libraries that are missing** (their rows are absent below):", ""]
        lines += [f"- {k}: {v}" for k, v in missing.items()] + [""]
    # one plot of every suite's accuracy records, after the last suite that has some
    accuracy_records = [r for p in payloads for r in p["records"] if r.get("kind") == "accuracy"]
    with_accuracy = [p["suite"] for p in payloads
                     if any(r.get("kind") == "accuracy" for r in p["records"])]  # fmt: skip
    plot_after = with_accuracy[-1] if with_accuracy else None
    for payload in payloads:
        name = payload["suite"]
        runs = f"{payload['mode']} mode, {payload['when']}, {payload['seconds'] / 60:.1f} min"
        for extra in payload.get("appended", []):
            runs += (f"; rows marked 'run {extra['when']}' added by a later {extra['mode']} "
                     f"run ({extra['seconds'] / 60:.1f} min, load average before it "
                     f"{', '.join(f'{x:.1f}' for x in extra['loadavg_before'])})")
        heading = f"{TITLES[name]}: suite `{name}`" if name in TITLES else f"Suite `{name}`"
        lines += [f"### {heading} ({runs})", ""]
        lines += machine_lines(payload["machine"])
        lines += [x for x in (line(r) for r in payload["records"] if r.get("kind") in LINES) if x]
        lines += [""]
        by_kind: dict[str, list[dict]] = {}
        for r in payload["records"]:
            by_kind.setdefault(r.get("kind", "other"), []).append(r)
        for kind, records in by_kind.items():
            if kind in LINES:
                continue
            title, render = RENDER.get(kind, (kind, generic_table))
            lines += [f"#### {title}", ""] + render(records)
        if name == plot_after and plot(accuracy_records, out.with_suffix(".png")):
            lines += [f"![accuracy against fit time]({out.with_suffix('.png').name})", ""]
        note = NOTES / f"{payload['suite']}.md"
        if note.exists():
            lines += [note.read_text().strip(), ""]
    merge_into(out, "\n".join(lines[2:]).strip())


BEGIN = "<!-- BEGIN GENERATED by benchmarks/report.py from benchmarks/results/*.json -->"
END = "<!-- END GENERATED -->"


def merge_into(page: Path, generated: str) -> None:
    """Put ``generated`` between the markers of ``page``, keeping every hand-written section
    around them (other work owns those); a page without markers gets the block after its
    introduction, before its first ``## `` section."""
    block = f"{BEGIN}\n\n{generated}\n\n{END}"
    text = page.read_text() if page.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    elif "\n## " in text:
        head, rest = text.split("\n## ", 1)
        text = f"{head.rstrip()}\n\n{block}\n\n## {rest}"
    else:
        text = f"{text.rstrip()}\n\n{block}\n"
    page.write_text(text.rstrip() + "\n")


def main() -> None:
    write_report(ROOT / "benchmarks" / "results", ROOT / "docs" / "benchmarks.md")


if __name__ == "__main__":
    main()
