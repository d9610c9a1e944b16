"""Resolve once: an `ExperimentRequest` built at the edge is used by `compare` as it is."""

from __future__ import annotations

import pytest

import workbench as wb
from workbench.errors import ParamError, UnknownNameError
from workbench.experiments import request as request_module
from workbench.experiments.request import ExperimentRequest, build_request

SPEC = "synthetic n_users=60 n_items=40 n_interactions=900"


def test_a_request_is_resolved_once_and_gives_the_same_scores(monkeypatch):
    data = wb.load_dataset(SPEC)
    plain = wb.compare(data, "kfold n_folds=2", ["biases", "sgd n_epochs=3"], ["rmse"], seed=4)
    request = build_request(data, "kfold n_folds=2", ["biases", "sgd n_epochs=3"], ["rmse"],
                            seed=4)  # fmt: skip
    assert isinstance(request, ExperimentRequest) and len(request.models) == 2

    def resolved_again(*args, **kwargs):
        raise AssertionError("compare resolved the request again")

    for name in ("resolve_models", "resolve_metrics", "resolve_splitter", "resolve_data"):
        monkeypatch.setattr(request_module, name, resolved_again)
    again = wb.compare(request)
    assert again.scores.equals(plain.scores)


def test_a_bad_request_fails_before_anything_runs():
    with pytest.raises(ParamError, match="seed must be a non-negative integer"):
        build_request(SPEC, None, ["biases"], seed=-1)
    with pytest.raises(UnknownNameError, match="no-such-model"):
        build_request(SPEC, None, ["no-such-model"])
