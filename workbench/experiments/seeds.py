"""Training seeds: the same split, each model trained with N seeds (``compare --seeds``).

`expand_seeds` turns each model entry that has a ``seed`` parameter (and no seed in its
spec) into one entry per seed, labelled ``LABEL seed=S``, each with its seed fixed for every
fold; models without a seed parameter are deterministic and stay one entry. `seed_groups`
maps each base label to its seeded labels (kept in the run's metadata), from which
`workbench.analysis.seeds` separates seed variance from fold variance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.errors import ParamError
from workbench.experiments.resolve import ModelEntry

#: training seeds per model at most (each is a full training per fold)
MAX_SEEDS = 100


def parse_seeds(value: Any, run_seed: int) -> list[int] | None:
    """The training seeds: None/0 (no replicates), N (``run_seed .. run_seed + N - 1``), a
    list of seeds, or the text ``"3"`` / ``"1,2,3"`` (the CLI's form)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            parts = [int(p) for p in text.split(",") if p.strip()] if text else []
        except ValueError:
            raise ParamError(
                f"--seeds {value!r}: expected a number of seeds (3) or a list of seeds (1,2,3)"
            ) from None
        value = parts[0] if len(parts) == 1 and "," not in text else parts
    if isinstance(value, bool):
        raise ParamError(f"seeds={value!r}: expected a number of seeds or a list of seeds")
    if isinstance(value, int):
        if not 0 <= value <= MAX_SEEDS:
            raise ParamError(f"seeds={value}: expected 1..{MAX_SEEDS} training seeds")
        return [run_seed + i for i in range(value)] or None
    seeds = list(value)
    if not seeds or len(seeds) > MAX_SEEDS:
        raise ParamError(f"seeds: expected 1..{MAX_SEEDS} training seeds, got {len(seeds)}")
    if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
        raise ParamError(f"seeds {seeds}: each seed must be a non-negative integer")
    if len(set(seeds)) != len(seeds):
        raise ParamError(f"seeds {seeds}: a seed is listed twice")
    return [int(s) for s in seeds]


def expand_seeds(entries: Sequence[ModelEntry], seeds: Sequence[int] | None) -> list[ModelEntry]:
    """One entry per (model, seed) for models with a free ``seed`` parameter."""
    if not seeds:
        return list(entries)
    out: list[ModelEntry] = []
    for entry in entries:
        if entry.seed_fixed or "seed" not in type(entry.model).Params.model_fields:
            out.append(entry)
            continue
        for s in seeds:
            model = entry.model.clone().set_params(seed=int(s))
            out.append(ModelEntry(label=f"{entry.label} seed={s}", model=model, seed_fixed=True))
    return out


def seed_groups(
    entries: Sequence[ModelEntry], expanded: Sequence[ModelEntry]
) -> dict[str, list[str]]:
    """Base label -> the labels of its seeded entries (models with replicates only)."""
    labels = [e.label for e in expanded]
    groups: dict[str, list[str]] = {}
    for entry in entries:
        mine = [lab for lab in labels if lab.startswith(f"{entry.label} seed=")]
        if mine:
            groups[entry.label] = mine
    return groups
