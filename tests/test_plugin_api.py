"""The plugin API's promise: a model plugin written from the first release's docs keeps
loading, comparing and passing the contract suite, with deprecation warnings only (each
naming its replacement); the contract suite tests only what a model declares."""

from __future__ import annotations

import importlib
import sys
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from plugin_env import FIXTURES, install, run_workbench

import workbench
from workbench import Capabilities, ColdStart, Model, PluginError, UserState
from workbench.capabilities import FOLD_IN_STRATEGIES
from workbench.errors import WorkbenchError
from workbench.factor.embedding import RatingFactorModel
from workbench.plugin_api import PLUGIN_API_VERSION, reset_warnings
from workbench.testing import ModelContract, low_rank_ratings

V1 = FIXTURES / "wb-fixture-v1-model"
sys.path.insert(0, str(V1))  # the fixture's module, importable without installing it


def import_v1() -> tuple[Any, list[warnings.WarningMessage]]:
    """The v1 fixture model module, freshly imported, and the warnings its import raised."""
    reset_warnings()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sys.modules.pop("wb_fixture_v1_model.model", None)
        module = importlib.import_module("wb_fixture_v1_model.model")
    return module, list(caught)


v1, _ = import_v1()


# -- the v1 model through its own copy of the contract suite (as the v1 docs wrote it) --------
@pytest.mark.filterwarnings("error", "ignore::DeprecationWarning")
class TestV1ModelContract(ModelContract):
    seeded = False  # nothing random

    def make_model(self, **params: Any) -> Model:
        params.pop("seed", None)
        return v1.ResidualNeighbours(**params)


def test_v1_model_warns_only_deprecations_each_naming_its_replacement() -> None:
    module, caught = import_v1()
    messages = [str(w.message) for w in caught]
    assert caught and all(w.category is DeprecationWarning for w in caught), messages
    assert any("cold_fallback" in m and "ColdStart(" in m for m in messages), messages
    assert any("'feedback'" in m and "Capabilities(feedback=" in m for m in messages), messages
    assert all(w.filename.endswith("model.py") for w in caught)  # points at the plugin
    data = low_rank_ratings()
    reset_warnings()
    with warnings.catch_warnings(record=True) as during:
        warnings.simplefilter("always")
        model = module.ResidualNeighbours().fit(data)
        model.recommend([0, 1], k=3)
        model.predict(model.fold_in(data.subset(data.user == 0)), [1])
    messages = [str(w.message) for w in during]
    assert [w.category for w in during] == [DeprecationWarning] * 2, messages
    assert "_user_state" in messages[0] and "UserState.of(" in messages[0]
    assert "_fold_in" in messages[1] and "UserState.of(" in messages[1]


def test_v1_model_declares_what_its_v1_form_said() -> None:
    caps = v1.ResidualNeighbours.capabilities
    assert caps.feedback == {"explicit"}
    assert caps.cold_start.describe() == "cold user: mu + b_i; unknown item: mu + b_u"
    assert caps.fold_in == "custom" and caps.update_users is False
    assert v1.ResidualNeighbours.describe_cold_start() == caps.cold_start.describe()
    model = v1.ResidualNeighbours().fit(low_rank_ratings())
    with pytest.raises(WorkbenchError, match="cannot keep folded-in users"):
        model.update_users(low_rank_ratings(seed=3))
    assert model.n_users_ == low_rank_ratings().n_users  # nothing changed


def test_v1_model_compares_beside_the_built_ins() -> None:
    results = workbench.compare(
        low_rank_ratings(), "kfold n_folds=2", ["biases", ("v1", v1.ResidualNeighbours())],
        ["rmse", "ndcg@5"], seed=1,
    )
    scores, runs = results.scores, results.runs
    v1_rmse = scores[(scores["model"] == "v1") & (scores["metric"] == "rmse")]["value"]
    assert len(v1_rmse) == 2 and np.isfinite(v1_rmse).all()
    assert runs["error"].isna().all()
    assert set(runs[runs["model"] == "v1"]["cold_fallback"]) == {
        "cold user: mu + b_i; unknown item: mu + b_u"
    }


def test_v1_plugin_installed_for_real_compares_by_name(tmp_path: Path) -> None:
    site = install([V1], tmp_path / "site", tmp_path / "src")
    done = run_workbench(
        "compare", "--data", "synthetic n_users=120 n_items=80 n_interactions=3000",
        "--split", "kfold n_folds=2", "-m", "v1-neighbours", "-m", "biases",
        "--metric", "rmse", "--run-dir", str(tmp_path / "runs"), "--quiet",
        path=site, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "v1-neighbours" in done.stdout
    assert "Traceback" not in done.stderr


# -- what a model declares ------------------------------------------------------------------
def test_plugin_api_version_is_major_minor_and_a_newer_target_is_refused() -> None:
    assert workbench.PLUGIN_API_VERSION == PLUGIN_API_VERSION
    major, minor = PLUGIN_API_VERSION.split(".")
    assert major.isdigit() and minor.isdigit()
    with pytest.raises(PluginError, match=r"targets plugin API 99\.0.*upgrade"):

        class FromTheFuture(Model):
            plugin_api = "99.0"

    with pytest.raises(PluginError, match="MAJOR.MINOR"):

        class Garbled(Model):
            plugin_api = "three"

    class Current(Model):
        plugin_api = PLUGIN_API_VERSION  # accepted, no warning

    assert Current.plugin_api == PLUGIN_API_VERSION


def test_capabilities_refuse_bad_values_with_one_line() -> None:
    with pytest.raises(PluginError, match="feedback must be"):
        Capabilities(feedback=frozenset({"clicks"}))
    with pytest.raises(PluginError, match="predicts must be"):
        Capabilities(predicts="probabilities")  # type: ignore[arg-type]
    with pytest.raises(PluginError, match="fold_in must be one of"):
        Capabilities(fold_in="magic")  # type: ignore[arg-type]
    with pytest.raises(PluginError, match="update_users needs a fold_in"):
        Capabilities(update_users=True)
    assert set(FOLD_IN_STRATEGIES) == {"ridge", "confidence", "nonnegative", "gradient", "custom"}


def test_v2_class_variables_and_reader_overrides_keep_working_with_a_warning() -> None:
    reset_warnings()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        class V2(RatingFactorModel):
            fork_safe: ClassVar[bool] = False
            jit_warm_up: ClassVar[bool] = True

            def predicts_ratings(self) -> bool:
                return False

    messages = [str(w.message) for w in caught]
    assert len(caught) == 3 and all(w.category is DeprecationWarning for w in caught)
    assert any("'fork_safe'" in m and "Capabilities(fork_safe=" in m for m in messages)
    assert any("predicts_ratings()" in m and "capabilities_for(params)" in m for m in messages)
    model = V2()
    caps = model.declared()
    assert caps.fork_safe is False and caps.jit_warm_up is True and caps.predicts == "scores"
    assert model.can_fork() is False and V2.fork_safe is False
    assert V2.capabilities.fold_in == "ridge" and V2.capabilities.update_users  # inherited


def test_new_form_declares_once_with_no_warning_and_params_decide_in_one_place() -> None:
    reset_warnings()
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        class Declared(RatingFactorModel):
            capabilities = RatingFactorModel.capabilities.replace(
                cold_start=ColdStart(user="mu", item="mu"), jit_warm_up=True
            )

            @classmethod
            def capabilities_for(cls, params: Any) -> Capabilities:
                return cls.capabilities.replace(fork_safe=False)

    model = Declared()
    assert model.declared().fork_safe is False and model.can_fork() is False
    assert Declared.feedback == {"explicit"} and Declared.cold_start == ColdStart("mu", "mu")
    from workbench.experiments.runner import needs_warm_up

    assert needs_warm_up(Declared) is True


def test_every_builtin_model_declares_its_capabilities_without_deprecated_forms() -> None:
    from workbench.plugins import get_registry

    registry = get_registry()
    for name in registry.names("model"):
        cls = registry.entry("model", name).obj
        caps = cls.capabilities
        assert isinstance(caps, Capabilities) and caps.cold_start is not None, name
        assert "capabilities" in {k for c in cls.__mro__ for k in vars(c)}, name
        assert cls._legacy_readers == (), name
        for legacy in ("cold_fallback", "jit_warm_up", "biased"):
            assert not any(legacy in vars(c) for c in cls.__mro__ if c is not Model), (name, legacy)
    # the models that compile numba kernels declare it (the runner no longer reads sources)
    from workbench.experiments.runner import needs_warm_up

    warm = {n for n in registry.names("model") if needs_warm_up(registry.entry("model", n).obj)}
    assert {"als", "sgd", "nmf", "biases", "item-knn"} <= warm
    assert not warm & {"torch-mf", "spark-als"}


def test_dict_user_state_is_coerced_with_shared_values() -> None:
    shared = v1.SharedRows(None)
    state = UserState.coerce({"bias": np.zeros(3), "residuals": shared})
    assert len(state) == 3 and list(state) == ["bias"]
    assert state.take([0, 2])["residuals"] is shared and len(state.take([0, 2])) == 2
