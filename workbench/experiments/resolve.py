"""Turning what a user asked for (specs, instances) into datasets, splitters, models, metrics.

Shared by `compare`, `tune`, the Python API and the CLI.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy

from workbench.data import Interactions
from workbench.errors import DataError, ParamError
from workbench.experiments.loading import load_dataset
from workbench.jsonvalues import normalise
from workbench.metric import Metric
from workbench.model import Model
from workbench.plugins import get_loaded, get_registry
from workbench.protocol import EvaluationProtocol
from workbench.registry import Registry
from workbench.specs import parse_spec
from workbench.splits import Split, Splitter
from workbench.storage import workbench_version


# -- resolving what to run ---------------------------------------------------------------------
@dataclass
class ModelEntry:
    """One model of a comparison: its label, an unfitted prototype and how it was asked for."""

    label: str
    model: Model
    seed_fixed: bool = False

    @property
    def name(self) -> str:
        return self.model.name or type(self.model).__name__

    def spec(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "name": self.name,
            "class": f"{type(self.model).__module__}.{type(self.model).__qualname__}",
            "params": normalise(self.model.get_params()),
            "seed_fixed": self.seed_fixed,
        }


def registry() -> Registry:
    """The process-wide plugin registry."""
    return get_registry()


def _build_model(spec_text: Any) -> tuple[str | None, Model, bool]:
    spec = parse_spec("model", spec_text)
    params = dict(spec.params)
    label = params.pop("label", None)
    if label is not None and (not isinstance(label, str) or not label.strip()):
        raise ParamError(f"model spec {spec.text!r}: label must be a non-empty string")
    model = registry().create("model", spec.name, **params)
    return label, model, "seed" in params


def resolve_models(models: Iterable[Any]) -> list[ModelEntry]:
    """Entries from spec strings (``"sgd n_factors=50 label=big"``), mappings with a ``name``
    (and optional ``label``), ``(label, model)`` pairs, `Model` instances or classes.

    Labels default to the model name; a name used again is labelled ``name[2]``, ``name[3]``.
    """
    raw: list[tuple[str | None, Model, bool]] = []
    for item in models:
        if isinstance(item, ModelEntry):
            raw.append((item.label, item.model, item.seed_fixed))
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            label, obj = item
            if isinstance(obj, Model):
                raw.append((label, obj, False))
            else:
                _, model, fixed = _build_model(obj)
                raw.append((label, model, fixed))
        elif isinstance(item, Model):
            raw.append((None, item, False))
        elif isinstance(item, type) and issubclass(item, Model):
            raw.append((None, item(), False))
        elif isinstance(item, str | Mapping):
            raw.append(_build_model(item))
        else:
            raise ParamError(
                f"cannot use {item!r} as a model: give a spec string, a mapping with a name, "
                "a Model instance or a (label, model) pair"
            )
    if not raw:
        raise ParamError("no models to run: give at least one model")
    taken = [label for label, _, _ in raw if label is not None]
    dupes = {lab for lab in taken if taken.count(lab) > 1}
    if dupes:
        raise ParamError(f"model label '{sorted(dupes)[0]}' is used twice")
    used = set(taken)
    counts: dict[str, int] = {}
    entries = []
    for label, model, fixed in raw:
        if label is None:
            base = model.name or type(model).__name__
            counts[base] = counts.get(base, 0) + 1
            label = base if counts[base] == 1 else f"{base}[{counts[base]}]"
            while label in used:
                counts[base] += 1
                label = f"{base}[{counts[base]}]"
            used.add(label)
        entries.append(ModelEntry(label, model, fixed))
    return entries


def resolve_metrics(metrics: Iterable[Any] | None, data: Interactions) -> list[Metric]:
    """Metric instances from specs (``"ndcg@10"``) or instances; None: defaults for the data."""
    if metrics is None:
        metrics = default_metrics(data.kind)
    out = []
    for m in metrics:
        out.append(m if isinstance(m, Metric) else parse_spec("metric", m).build())
    if not out:
        raise ParamError("no metrics: give at least one metric")
    return out


def default_metrics(kind: str) -> list[str]:
    """The default metrics for ``kind`` feedback (``explicit``/``implicit``): those the loaded
    plugins declare (``register(Metric, default=kind)``), as labels, in registration order."""
    registry = get_registry()
    specs = registry.defaults("metric", kind)
    if not specs:
        registry.default("metric", kind)  # the error: no plugin declares one
    return [parse_spec("metric", spec).build().label for spec in specs]


def default_metric(kind: str) -> str:
    """The metric searches rank by when none is named: the first default for ``kind``."""
    return default_metrics(kind)[0]


def resolve_data(data: Any) -> tuple[Interactions, Any]:
    """(Interactions, the spec it was loaded from, or None) from Interactions or a spec."""
    if isinstance(data, Interactions):
        return data, data.provenance.spec
    if isinstance(data, str | Mapping):
        loaded = load_dataset(data)
        return loaded, loaded.provenance.spec
    raise ParamError(f"cannot use {type(data).__name__} as data: give Interactions or a spec")


def resolve_splitter(splitter: Any, seed: int, *, role: str = "default") -> Splitter | list[Split]:
    """A splitter from a spec (the run seed fills an unset ``seed``), an instance or splits;
    None: the splitter a plugin declares for ``role`` (``default``: one split; ``folds``:
    the repeated split of comparisons)."""
    if splitter is None:
        splitter = registry().default("splitter", role)
    if isinstance(splitter, Splitter):
        return splitter
    if isinstance(splitter, Split):
        return [splitter]
    if isinstance(splitter, str | Mapping):
        spec = parse_spec("splitter", splitter)
        cls = registry().get("splitter", spec.name)
        params = dict(spec.params)
        if "seed" in cls.Params.model_fields and "seed" not in params:
            params["seed"] = seed
        return cls(**params)
    if isinstance(splitter, Iterable):
        splits = list(splitter)
        if splits and all(isinstance(s, Split) for s in splits):
            return splits
    raise ParamError(f"cannot use {splitter!r} as a splitter: give a spec, a Splitter or splits")


def splitter_info(splitter: Splitter | list[Split]) -> dict[str, Any]:
    if isinstance(splitter, Splitter):
        params = normalise(splitter.get_params())
        text = " ".join([splitter.name, *(f"{k}={v}" for k, v in params.items())])
        return {"name": splitter.name, "params": params, "spec": text}
    digest = [
        {"n_train": len(s.train), "n_test": len(s.test), "test": s.test.fingerprint()}
        for s in splitter
    ]
    return {"name": "given splits", "params": {"splits": digest}}


def resolve_protocol(protocol: Any, seed: int):

    if protocol is None:
        return EvaluationProtocol(seed=seed)
    if isinstance(protocol, EvaluationProtocol):
        return protocol
    if isinstance(protocol, Mapping):
        values = dict(protocol)
        values.setdefault("seed", seed)
        return EvaluationProtocol.from_values(values)  # typed: "false" is not a boolean
    raise ParamError(f"cannot use {protocol!r} as a protocol")


def derive_seed(seed: int, fold: int) -> int:
    """The seed models get on ``fold`` of a run with ``seed`` (same for every model)."""
    state = np.random.SeedSequence([int(seed), int(fold)]).generate_state(1)[0]
    return int(state) & 0x7FFFFFFF


def versions() -> dict[str, Any]:

    plugins = {s.name: s.version for s in get_loaded().registry.statuses if s.status == "ok"}
    return {
        "workbench": workbench_version(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "plugins": plugins,
    }


def check_models_fit(
    entries: Sequence[ModelEntry], data: Interactions, *, validation: bool = False
) -> None:
    """Refuse, before training, a model that cannot learn from this kind of feedback, or
    one that would select on the test fold when it is passed as validation data."""
    for entry in entries:
        if validation and entry.model.selects_on_validation():
            raise DataError(
                f"model '{entry.label}' selects on its validation data (early stopping), and "
                "validation curves pass each fold's test set: that would leak the test set "
                "into training; let the model hold out part of its training data instead "
                "(e.g. validation_fraction=0.1) or turn validation curves off"
            )
        if data.kind not in entry.model.feedback:
            need = " or ".join(sorted(entry.model.feedback))
            raise DataError(
                f"model '{entry.label}' needs {need} feedback, but dataset '{data.name}' "
                f"is {data.kind}"
            )
