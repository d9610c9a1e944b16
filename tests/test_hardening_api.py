"""API misuse, protocol validation and k caps (issue 22): every wrong call is the workbench's
own one-line error, never a raw exception or a silently wrong answer."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from cli_helpers import cli

import workbench.api as wb
from workbench.errors import DataError, NotFittedError, ParamError, WorkbenchError
from workbench.experiments.config import load_experiment
from workbench.plugins import get_registry
from workbench.protocol import EvaluationProtocol

SYNTH = "synthetic n_users=60 n_items=40 n_interactions=800 seed=1"
#: every built-in model that needs no outside service (Spark), by registered name
MODELS = sorted(e.name for e in get_registry().list("model") if e.obj.service is None)


@pytest.fixture(scope="module")
def data():
    return wb.load_dataset(SYNTH)


@pytest.fixture(scope="module")
def sgd(data):
    return wb.train("sgd", data, n_epochs=3, seed=0)


# -- 1. the protocol is typed once, for TOML, the CLI and Python ------------------------------
BAD_PROTOCOL = [
    ("clip", '"no"'),
    ("exclude_seen", '"false"'),
    ("relevance_threshold", '"high"'),
    ("relevance_threshold", "[4]"),
    ("relevance_threshold", "true"),
    ("negatives", '"many"'),
    ("negatives", "0"),
    ("negatives", "2.5"),
    ("seed", '"x"'),
    ("seed", "-1"),
]


@pytest.mark.parametrize(("key", "toml_value"), BAD_PROTOCOL)
def test_toml_protocol_values_are_typed_and_name_their_line(tmp_path, key, toml_value):
    path = tmp_path / "e.toml"
    path.write_text(
        f'data = "{SYNTH}"\nmetrics = ["rmse"]\n\n[protocol]\n{key} = {toml_value}\n\n'
        '[[models]]\nname = "biases"\n'
    )
    with pytest.raises(ParamError) as err:
        load_experiment(path)
    message = str(err.value)
    assert message.startswith(f"{path} line 5: protocol: '{key}' must be"), message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("clip", "no"),
        ("exclude_seen", "false"),
        ("clip", 0),
        ("relevance_threshold", "high"),
        ("relevance_threshold", [4]),
        ("relevance_threshold", float("inf")),
        ("negatives", "many"),
        ("negatives", True),
        ("seed", "x"),
        ("seed", 1.5),
    ],
)
def test_python_protocol_values_are_typed(data, key, value):
    with pytest.raises(ParamError, match=f"protocol: '{key}' must be"):
        EvaluationProtocol.from_values({key: value})
    with pytest.raises(ParamError, match=f"protocol: '{key}' must be"):
        wb.compare(data, "kfold n_folds=2", ["biases"], ["rmse"], protocol={key: value})


def test_protocol_normalises_numbers_and_refuses_unknown_settings():
    p = EvaluationProtocol.from_values(
        {"relevance_threshold": 4, "negatives": np.int64(5), "seed": 3}
    )
    assert p.relevance_threshold == 4.0 and isinstance(p.relevance_threshold, float)
    assert type(p.negatives) is int and p.negatives == 5
    with pytest.raises(ParamError, match="unknown protocol setting 'clipp'"):
        EvaluationProtocol.from_values({"clipp": True})


def test_cli_protocol_false_string_is_an_error_not_true(capsys, tmp_path):
    path = tmp_path / "e.toml"
    path.write_text(
        f'data = "{SYNTH}"\nsplit = "kfold n_folds=2"\nmetrics = ["rmse"]\n\n'
        '[protocol]\nclip = "no"\n\n[[models]]\nname = "biases"\n'
    )
    code, out, err = cli(capsys, "compare", "-c", path, "--run-dir", tmp_path / "run")
    assert code == 1
    assert "Traceback" not in err
    assert f"{path} line 6: protocol: 'clip' must be true or false" in err
    assert not (tmp_path / "run").exists()


# -- 2. indices and parameters ----------------------------------------------------------------
def test_predict_refuses_float_indices_instead_of_truncating(sgd, data):
    with pytest.raises(DataError, match="indices must be integers, got float64"):
        sgd.predict([0.5, 1.7], [0.2, 3.9])
    with pytest.raises(DataError, match="item indices must be integers"):
        sgd.predict([0, 1], [0.0, 3.0])
    assert sgd.predict(np.array([0, 1], dtype=np.int32), [0, 3]).shape == (2,)
    folded = sgd.fold_in(data.subset(data.user < 2))
    with pytest.raises(DataError, match="folded row indices must be integers"):
        sgd.predict((folded, [0.7]), [3])
    assert sgd.predict((folded, [1]), [3]).shape == (1,)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), "inf", float("nan")])
def test_float_parameters_refuse_infinities(value):
    with pytest.raises(ParamError, match="parameter 'lr' of model 'sgd'.*finite number"):
        wb.make_model("sgd", lr=value)
    model = wb.make_model("sgd")
    with pytest.raises(ParamError):
        model.set_params(reg=value)


def test_a_field_may_allow_infinities_explicitly():
    from pydantic import Field

    from workbench.params import Params, validate_params

    class Bounded(Params):
        cap: float = Field(float("inf"), allow_inf_nan=True)
        rate: float = 0.1

    assert validate_params(Bounded, {"cap": "inf"}).cap == float("inf")
    with pytest.raises(ParamError, match="'rate'"):
        validate_params(Bounded, {"rate": "inf"})


# -- 3. k is capped at the catalogue ----------------------------------------------------------
def test_k_is_capped_at_the_candidates(sgd, data):
    items, scores = sgd.recommend([0, 1], k=10**9)
    assert items.shape == (2, data.n_items)
    full, _ = sgd.recommend([0, 1], k=data.n_items)
    np.testing.assert_array_equal(items, full)
    items, _ = sgd.recommend([0], k=10**9, items=[1, 2, 3])
    assert items.shape == (1, 3)
    blocks = list(sgd.rank_blocks([0, 1], 10**9))
    assert blocks[0].items.shape == (2, data.n_items)
    top, _ = sgd.similar_items([0], k=10**9)
    assert top.shape == (1, data.n_items - 1) and 0 not in top
    frame = wb.similar_items(sgd, [data.items.ids[0]], k=10**9)
    assert len(frame) == data.n_items - 1
    frame = wb.recommend(sgd, [data.users.ids[0]], k=10**9)
    assert len(frame) == data.n_items - data.csr()[0].nnz


def test_evaluation_with_k_above_the_catalogue_is_unchanged(data):
    """ndcg@K with K > n_items reads a list capped at the catalogue, padded as before."""
    fold = wb.first_split(data, seed=0)
    model = wb.train("biases", fold.train)
    table = wb.evaluate_model(model, fold.test, ["ndcg@40", "ndcg@100", "recall@100"])
    got = dict(zip(table["metric"], table["value"], strict=True))
    assert got["ndcg@100"] == pytest.approx(got["ndcg@40"])
    assert got["recall@100"] == pytest.approx(1.0)


_HUGE_K = """
import resource, sys, time
import numpy as np
import workbench.api as wb
data = wb.load_dataset("{spec}")
model = wb.train("sgd", data, n_epochs=2, seed=0)
limit = 1_500_000_000  # far below the 7.45 GiB a 10**9-wide list would take
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
started = time.perf_counter()
frame = wb.recommend(model, [data.users.ids[0]], k=10**9)
similar = wb.similar_items(model, [data.items.ids[0]], k=10**9)
items, _ = model.recommend(np.arange(data.n_users), k=10**9)
print(len(frame), len(similar), items.shape[1], round(time.perf_counter() - started, 2))
"""


def test_huge_k_returns_the_full_catalogue_under_a_memory_limit(data):
    code = _HUGE_K.format(spec=SYNTH)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    n_frame, n_similar, width, seconds = done.stdout.split()
    assert int(n_frame) == data.n_items - data.csr()[0].nnz
    assert int(n_similar) == data.n_items - 1
    assert int(width) == data.n_items
    assert float(seconds) < 10


def test_cli_recommend_and_similar_with_huge_k(capsys, tmp_path, sgd, data):
    path = tmp_path / "m.npz"
    sgd.save(path)
    user, item = data.users.ids[0], data.items.ids[0]
    code, out, err = cli(capsys, "recommend", path, "--user", user, "-k", 10**9, "--json")
    assert code == 0, err
    code, out, err = cli(capsys, "similar", path, "--item", item, "-k", 10**9, "--json")
    assert code == 0, err


# -- 4. the misuse table: one-line workbench errors -------------------------------------------
@pytest.mark.parametrize("name", MODELS)
def test_unfitted_models_say_not_fitted(name, data):
    model = wb.make_model(name)
    calls = {
        "similar_items": lambda: wb.similar_items(model, [data.items.ids[0]]),
        "model.similar_items": lambda: model.similar_items([0]),
        "recommend": lambda: wb.recommend(model, [data.users.ids[0]]),
        "model.recommend": lambda: model.recommend([0]),
        "predict": lambda: model.predict([0], [0]),
        "recommend_new_users": lambda: wb.recommend_new_users(model, data),
    }
    for what, call in calls.items():
        with pytest.raises(NotFittedError, match="is not fitted yet"):
            call()
        assert what


def _misuse_calls(model, data):
    user, item = data.users.ids[0], data.items.ids[0]
    return {
        "similar k=-1": (lambda: wb.similar_items(model, [item], k=-1), ParamError),
        "model.similar k=-1": (lambda: model.similar_items([0], k=-1), ParamError),
        "similar index -1": (lambda: model.similar_items([-1], k=3), DataError),
        "similar k=2.5": (lambda: wb.similar_items(model, [item], k=2.5), ParamError),
        "recommend k='5'": (lambda: wb.recommend(model, [user], k="5"), ParamError),
        "recommend k=2.5": (lambda: wb.recommend(model, [user], k=2.5), ParamError),
        "recommend k=None": (lambda: wb.recommend(model, [user], k=None), ParamError),
        "recommend k=True": (lambda: wb.recommend(model, [user], k=True), ParamError),
        "recommend k=0": (lambda: model.recommend([0], k=0), ParamError),
        "rank_blocks k='3'": (lambda: list(model.rank_blocks([0], "3")), ParamError),
        "predict strings": (lambda: model.predict(["a"], ["b"]), DataError),
        "predict None": (lambda: model.predict(None, None), DataError),
        "predict floats": (lambda: model.predict([0.5], [1.7]), DataError),
        "recommend float users": (lambda: model.recommend([0.5]), DataError),
        "candidates floats": (lambda: model.recommend([0], items=[0.5, 1.2]), DataError),
        "recommend None model": (lambda: wb.recommend(None, [user]), ParamError),
    }


@pytest.mark.parametrize("name", MODELS)
def test_api_misuse_gives_workbench_errors(name, data):
    model = wb.make_model(name)
    if model.missing_data(data):
        pytest.skip(f"{name}: {model.missing_data(data)}")
    if "n_epochs" in type(model).Params.model_fields:
        model.set_params(n_epochs=1)
    if "n_iter" in type(model).Params.model_fields:
        model.set_params(n_iter=1)
    model.fit(data)
    has_vectors = model.item_embeddings() is not None or name == "item-knn"
    for what, (call, error) in _misuse_calls(model, data).items():
        if "similar" in what and not has_vectors:
            with pytest.raises(WorkbenchError):
                call()
            continue
        try:
            call()
        except error as exc:
            assert "\n" not in str(exc), (what, str(exc))
        else:
            pytest.fail(f"{name}: {what} raised nothing")
    if has_vectors:
        assert wb.similar_items(model, [data.items.ids[0]], k=0).empty


def test_train_without_data_is_a_data_error():
    with pytest.raises(DataError, match="train: data must be Interactions.*NoneType"):
        wb.train("sgd", None)
    with pytest.raises(DataError, match="train: data must be Interactions"):
        wb.train_holdout("sgd", "ml-100k")


def test_the_misuse_table_covers_every_built_in_model():
    expected = {"als", "sgd", "svdpp", "ials", "nmf", "biases", "popularity", "item-knn"}
    assert expected <= set(MODELS)
