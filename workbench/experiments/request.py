"""One validated experiment request, resolved once at the edge (CLI, TOML or Python).

`build_request` turns what a user gave — a dataset spec or `Interactions`, a splitter spec,
model and metric specs, protocol settings, a seed and a backend — into objects, checks that
they fit each other (metrics and models against the data's feedback kind) and returns an
`ExperimentRequest`. `workbench.experiments.compare.compare` takes one as it is (nothing is
resolved again) or builds one from its arguments; the CLI builds it where it can name the
TOML line of a bad value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.backend import Backend, resolve_backend
from workbench.data import Interactions
from workbench.errors import ParamError
from workbench.evaluation import check_metrics_fit
from workbench.experiments.resolve import (
    ModelEntry,
    check_models_fit,
    resolve_data,
    resolve_metrics,
    resolve_models,
    resolve_protocol,
    resolve_splitter,
)
from workbench.experiments.seeds import expand_seeds, parse_seeds, seed_groups
from workbench.metric import Metric
from workbench.protocol import EvaluationProtocol
from workbench.splits import Split, Splitter


@dataclass(frozen=True)
class ExperimentRequest:
    """Everything a comparison needs, resolved and checked: the data (and the spec it was
    loaded from, for the run's metadata and ``--resume``), the splitter or given splits, the
    model entries, the metrics, the protocol, the seed, the backend and the two flags."""

    data: Interactions
    data_request: Any
    splitter: Splitter | list[Split]
    models: tuple[ModelEntry, ...]
    metrics: tuple[Metric, ...]
    protocol: EvaluationProtocol
    seed: int
    backend: Backend
    validation: bool = False
    per_user: bool = False
    #: base label -> its seeded labels (``seeds``: the same split, N training seeds)
    seed_groups: tuple[tuple[str, tuple[str, ...]], ...] = ()


def check_seed(seed: Any) -> int:
    """The run's seed as an int; a one-line error unless it is an integer >= 0."""
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ParamError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def build_request(
    data: Any,
    splitter: Any = None,
    models: Iterable[Any] = (),
    metrics: Iterable[Any] | None = None,
    *,
    protocol: Any = None,
    seed: int = 0,
    backend: Any = None,
    scheduler: str | None = None,
    validation: bool = False,
    per_user: bool = False,
    proposed: bool = False,
    seeds: Any = None,
) -> ExperimentRequest:
    """Resolve and check an experiment once (see `compare` for what each argument takes).

    ``proposed``: the candidates are proposed as the run goes (a sequential search), so
    ``models`` is empty and not checked. ``seeds`` (N or a list): each model with a ``seed``
    parameter is trained once per seed on the same split (`workbench.experiments.seeds`)."""
    seed = check_seed(seed)
    where = resolve_backend(backend, scheduler)
    data_obj, data_request = resolve_data(data)
    entries = [] if proposed else resolve_models(models)
    seed_list = parse_seeds(seeds, seed)
    expanded = expand_seeds(entries, seed_list)
    groups = seed_groups(entries, expanded)
    entries = expanded
    metric_objs = resolve_metrics(metrics, data_obj)
    check_metrics_fit(metric_objs, data_obj)
    check_models_fit(entries, data_obj, validation=bool(validation))
    return ExperimentRequest(
        data=data_obj,
        data_request=data_request,
        splitter=resolve_splitter(splitter, seed, role="folds"),
        models=tuple(entries),
        metrics=tuple(metric_objs),
        protocol=resolve_protocol(protocol, seed),
        seed=seed,
        backend=where,
        validation=bool(validation),
        per_user=bool(per_user),
        seed_groups=tuple((k, tuple(v)) for k, v in groups.items()),
    )
