"""``workbench report`` on a nested-CV folder (``tune --outer``): the outer folds' table from
``nested.json``; each inner search (``inner-K``) is a tuning run folder reported on its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workbench.cli.common import console, print_json
from workbench.cli.workflow import note, print_frame
from workbench.errors import DataError, ParamError


def report_nested(folder: Path, exporters: list[Any], as_json: bool) -> None:
    import pandas as pd

    try:
        summary = json.loads((folder / "nested.json").read_text(encoding="utf-8"))
        rows = pd.DataFrame(summary["folds"])
        metric = str(summary["metric"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{folder / 'nested.json'}: not a nested-CV summary ({exc})") from None
    inner = sorted(
        (p for p in folder.glob("inner-*") if (p / "metadata.json").exists()),
        key=lambda p: int(p.name.split("-", 1)[1]) if p.name.split("-", 1)[1].isdigit() else 0,
    )
    if any(e.extension is not None for e in exporters):
        raise ParamError(
            f"{folder} is a nested search: export its searches one by one, e.g. "
            f"workbench report {folder}/inner-1 --export ..."
        )
    if as_json:
        print_json({**summary, "run_dir": str(folder), "searches": [str(p) for p in inner]})
        return
    view = rows.rename(columns={"inner_best": f"inner best {metric}", "outer": f"outer {metric}"})
    print_frame(view, title=f"Nested cross-validation ({folder}): one search per outer fold")
    console.print(
        f"nested CV: {metric} = {summary['outer_mean']:.4g} ± {summary['outer_std']:.4g} on "
        f"the outer test folds; mean inner best = {summary['inner_best_mean']:.4g}",
        markup=False,
    )
    note(f"each search: workbench report {folder}/inner-K ({len(inner)} searches)")
