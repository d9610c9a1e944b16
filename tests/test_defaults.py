"""Defaults are declared by plugins (``register(..., default=ROLE)``), never named by the core."""

from __future__ import annotations

import types

import pytest

from workbench import hookimpl
from workbench.dataset import Dataset
from workbench.errors import UnknownNameError
from workbench.experiments.resolve import default_metric, default_metrics
from workbench.metric import RatingMetric
from workbench.plugins import PluginWarning, load_plugins, set_loaded
from workbench.testing import low_rank_ratings


class Tiny(Dataset):
    """A small dataset."""

    name = "tiny"

    def load(self):
        return low_rank_ratings(n_users=12, n_items=10)


class Err(RatingMetric):
    """Mean error."""

    name = "err"

    def compute(self, truth, predicted):
        return float((predicted - truth).mean())


def _plugin(**hooks):
    return types.SimpleNamespace(**{k: hookimpl(v) for k, v in hooks.items()})


@pytest.fixture
def registry_of():
    def build(*plugins, entry_points=False, disable=()):
        loaded = load_plugins(
            extra=[(f"p{i}", p) for i, p in enumerate(plugins)],
            entry_points=entry_points,
            disable=disable,
            strict=True,
        )
        set_loaded(loaded)
        return loaded.registry

    yield build
    set_loaded(None)


def test_builtin_defaults_match_the_documented_ones(registry_of):
    registry = registry_of(entry_points=True)
    assert registry.default("dataset") == "synthetic"
    assert registry.default("dataset", "files") == "tabular"
    assert registry.default("splitter") == "holdout"
    assert registry.default("splitter", "folds") == "kfold"
    assert registry.default("splitter", "search") == "kfold n_folds=3"
    assert default_metrics("explicit") == [
        "rmse", "mae", "ndcg@10", "precision@10", "recall@10", "coverage@10",
    ]  # fmt: skip
    assert default_metrics("implicit") == [
        "ndcg@10", "precision@10", "recall@10", "coverage@10", "map@10", "hitrate@10",
    ]  # fmt: skip
    assert default_metric("explicit") == "rmse" and default_metric("implicit") == "ndcg@10"


def test_a_plugin_declares_defaults_and_a_disabled_one_does_not_break_them(registry_of):
    def register_datasets(register):
        register(Tiny, default=True)

    def register_metrics(register):
        register(Err, default="explicit")

    registry = registry_of(
        _plugin(register_datasets=register_datasets, register_metrics=register_metrics),
        entry_points=True,
        disable=["datasets", "metrics"],
    )
    assert registry.default("dataset") == "tiny"
    assert default_metrics("explicit") == ["err"]
    from workbench.experiments.loading import load_dataset

    data = load_dataset()
    assert data.name == "low-rank" and data.provenance.spec == {"name": "tiny"}
    with pytest.raises(UnknownNameError, match="no loaded plugin declares a default metric for"):
        default_metrics("implicit")
    with pytest.raises(UnknownNameError, match=r"reads a data file.*default='files'"):
        registry.default("dataset", "files")


def test_an_unknown_default_role_is_a_plugin_error():
    def register_datasets(register):
        register(Tiny, default="everything")

    with pytest.warns(PluginWarning, match="is not a default role"):
        loaded = load_plugins(
            extra=[("bad", _plugin(register_datasets=register_datasets))], entry_points=False
        )
    status = loaded.registry.statuses[0]
    assert status.status == "error"
    assert "dataset default='everything' is not a default role" in status.error
    assert loaded.registry.names("dataset") == []


def test_a_default_spec_must_name_the_registered_thing():
    def register_datasets(register):
        register(Tiny, default={"default": "synthetic n_users=5"})

    with pytest.warns(PluginWarning, match="must start with 'tiny'"):
        loaded = load_plugins(
            extra=[("bad", _plugin(register_datasets=register_datasets))], entry_points=False
        )
    assert loaded.registry.statuses[0].status == "error"
