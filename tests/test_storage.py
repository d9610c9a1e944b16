"""Model files: one .npz without pickle, written atomically, refused clearly when wrong."""

from __future__ import annotations

import json
import pickle
import types
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import Field

from workbench import FactorModel, Interactions, ModelFileError, Params, WorkbenchError, hookimpl
from workbench.plugins import load_plugins, set_loaded
from workbench.storage import FORMAT, FORMAT_VERSION, load_model, read_model_file
from workbench.testing import low_rank_ratings


class Tiny(FactorModel):
    """Random factors from a seed: enough to check that files restore a model exactly."""

    name = "tiny-storage-test"

    class Params(Params):
        n_factors: int = Field(3, ge=1, description="factors")
        seed: int = Field(0, description="random seed")

    def _fit(self, train: Interactions, *, callback: Any, validation: Any) -> None:
        rng = np.random.default_rng(self.params.seed)
        f = self.params.n_factors
        self.global_mean_ = float(train.value.mean())
        self.user_factors_ = rng.normal(size=(train.n_users, f)).astype(np.float32)
        self.item_factors_ = rng.normal(size=(train.n_items, f)).astype(np.float32)
        self.user_bias_ = rng.normal(size=train.n_users).astype(np.float32)
        self.item_bias_ = rng.normal(size=train.n_items).astype(np.float32)


class Twin(Tiny):
    """Same arrays, another name."""

    name = "twin-storage-test"


@pytest.fixture
def registry():
    """A process registry that knows the two test models (plugin 'tinies')."""
    plugin = types.ModuleType("tinies")
    plugin.register_models = hookimpl(lambda register: (register(Tiny), register(Twin)))
    set_loaded(load_plugins(extra=[("tinies", plugin)], entry_points=False))
    yield
    set_loaded(None)


@pytest.fixture
def saved(registry, tmp_path: Path) -> tuple[Tiny, Path]:
    model = Tiny(n_factors=4, seed=3).fit(low_rank_ratings())
    return model, model.save(tmp_path / "model.npz")


def rewrite(path: Path, *, meta: dict | None = None, drop: tuple[str, ...] = (), **extra) -> Path:
    """Re-save a model file with changed metadata / arrays (a file from 'elsewhere')."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k not in drop}
    old = json.loads(arrays["__metadata__"].tobytes())
    old.update(meta or {})
    arrays["__metadata__"] = np.frombuffer(json.dumps(old).encode(), dtype=np.uint8)
    arrays.update(extra)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


class Payload:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


# -- round trip --------------------------------------------------------------------------------
def test_round_trip_restores_everything(saved) -> None:
    model, path = saved
    loaded = load_model(path)
    assert type(loaded) is Tiny and loaded.get_params() == model.get_params()
    assert loaded.users_ == model.users_ and loaded.items_ == model.items_
    assert loaded.rating_scale_ == model.rating_scale_ and loaded.feedback_ == "explicit"
    users = np.arange(model.n_users_)
    np.testing.assert_array_equal(loaded.recommend(users, k=5)[0], model.recommend(users, k=5)[0])
    assert (loaded.seen_ != model.seen_).nnz == 0


def test_non_integer_numeric_ids_survive_a_round_trip(registry, tmp_path: Path) -> None:
    # float ids (e.g. a CSV column such as 1.5) must not be truncated to int64 on save:
    # 1.5 -> 1 would hand user 1.5's factors to a user called 1 (or collide with it)
    data = Interactions.from_arrays([1.5, 2.5, 2.5, 3.0], [10.5, 10.5, 20.0, 20.0], [4, 5, 3, 2])
    model = Tiny().fit(data)
    loaded = load_model(model.save(tmp_path / "floats.npz"))
    assert loaded.users_ == model.users_ and loaded.items_ == model.items_
    assert loaded.users_.ids.tolist() == [1.5, 2.5, 3.0]
    assert loaded.items_.ids.tolist() == [10.5, 20.0]


def test_metadata_is_plain_json(saved) -> None:
    _, path = saved
    meta, arrays = read_model_file(path)
    assert meta["format"] == FORMAT and meta["format_version"] == FORMAT_VERSION
    assert meta["model"] == "tiny-storage-test" and meta["plugin"] == "tinies"
    assert meta["params"] == {"n_factors": 4, "seed": 3}
    assert all(a.dtype != object for a in arrays.values())
    assert "state/user_factors" in arrays and "base/user_ids" in arrays


def test_suffix_is_added_and_class_load_checks_the_name(registry, tmp_path: Path) -> None:
    path = Tiny().fit(low_rank_ratings()).save(tmp_path / "plain")
    assert path == tmp_path / "plain.npz" and path.exists()
    assert isinstance(Tiny.load(path), Tiny)
    with pytest.raises(ModelFileError) as err:
        Twin.load(path)
    assert str(err.value) == f"{path} holds a 'tiny-storage-test' model, not 'twin-storage-test'"


# -- atomic writes -----------------------------------------------------------------------------
def test_a_failed_write_leaves_no_partial_file(saved, monkeypatch) -> None:
    model, path = saved
    before = path.read_bytes()

    def half_then_fail(fh, **arrays):
        fh.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", half_then_fail)
    with pytest.raises(WorkbenchError) as err:
        model.save(path)
    assert str(err.value) == f"cannot write {path}: No space left on device"
    assert path.read_bytes() == before  # the old file is untouched
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.npz"]  # no temp file
    with pytest.raises(WorkbenchError):
        model.save(path.parent / "new.npz")
    assert not (path.parent / "new.npz").exists()


def test_missing_folder_and_unfitted_model(registry, tmp_path: Path) -> None:
    from workbench import NotFittedError

    model = Tiny().fit(low_rank_ratings())
    with pytest.raises(WorkbenchError, match="folder .*nowhere does not exist"):
        model.save(tmp_path / "nowhere" / "m.npz")
    with pytest.raises(NotFittedError):
        Tiny().save(tmp_path / "m.npz")


# -- refused files -----------------------------------------------------------------------------
def test_another_format_version(saved) -> None:
    _, path = saved
    rewrite(path, meta={"format_version": 99})
    with pytest.raises(ModelFileError) as err:
        load_model(path)
    assert str(err.value).startswith(f"model file {path} has format version 99; this workbench")
    assert str(err.value).endswith(f"reads version {FORMAT_VERSION}")


def test_another_state_version(saved) -> None:
    _, path = saved
    rewrite(path, meta={"state_version": 7})
    with pytest.raises(ModelFileError, match="'tiny-storage-test' state version 7; this plugin"):
        load_model(path)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_truncated_file(saved, keep: float) -> None:
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelFileError) as err:
        load_model(path)
    assert str(err.value).startswith(f"model file {path} is truncated or corrupted")


def test_corrupted_bytes(saved) -> None:
    _, path = saved
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("state/user_factors.npy")
    middle = info.header_offset + 200  # inside the stored array data
    data[middle : middle + 16] = bytes(16)
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="truncated or corrupted .*Bad CRC-32"):
        load_model(path)


def test_corrupted_metadata(saved) -> None:
    _, path = saved
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["__metadata__"] = np.frombuffer(b'{"format": "recsys-work', dtype=np.uint8)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(ModelFileError, match="metadata is corrupted"):
        load_model(path)


def test_crafted_npz_with_a_pickled_object_array_runs_nothing(saved, tmp_path: Path) -> None:
    _, path = saved
    marker = tmp_path / "code-ran"
    payload = np.empty(1, dtype=object)
    payload[0] = Payload(marker)
    rewrite(path, **{"state/user_factors": payload})
    with pytest.raises(ModelFileError) as err:
        load_model(path)
    assert "contains pickled data, which is refused" in str(err.value)
    assert not marker.exists()


def test_raw_pickle_file_runs_nothing(registry, tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    path = tmp_path / "model.npz"
    path.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(ModelFileError) as err:
        load_model(path)
    assert "contains pickled data, which is refused" in str(err.value)
    assert not marker.exists()
    # the payload really would have run:
    pickle.loads(path.read_bytes())
    assert marker.exists()


def test_not_a_model_file(registry, tmp_path: Path) -> None:
    npy = tmp_path / "array.npz"
    with open(npy, "wb") as fh:
        np.save(fh, np.arange(3))
    with pytest.raises(ModelFileError, match="not a workbench model file \\(a single .npy"):
        load_model(npy)
    text = tmp_path / "ratings.npz"
    text.write_text("user,item,rating\n1,2,3\n")
    with pytest.raises(ModelFileError, match="not a workbench model file \\(not an .npz archive"):
        load_model(text)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(ModelFileError, match="is empty"):
        load_model(empty)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.arange(3))
    with pytest.raises(ModelFileError, match="not a workbench model file \\(no metadata\\)"):
        load_model(other)
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "missing.npz")
    with pytest.raises(ModelFileError, match="is a folder"):
        load_model(tmp_path)


def test_incomplete_file(saved) -> None:
    _, path = saved
    rewrite(path, drop=("state/item_bias.npy", "state/item_bias"))
    with pytest.raises(ModelFileError, match="incomplete or inconsistent \\(KeyError: 'item_bias'"):
        load_model(path)


def test_model_unknown_to_this_installation(saved) -> None:
    _, path = saved
    rewrite(path, meta={"model": "deep-magic"})
    with pytest.raises(ModelFileError, match="cannot load a 'deep-magic' model: unknown model"):
        load_model(path)


def test_file_from_another_plugin_version(tmp_path: Path, fresh_plugins) -> None:
    from workbench_example.knn import ItemKNN

    model = ItemKNN().fit(low_rank_ratings())
    path = model.save(tmp_path / "knn.npz")
    meta, _ = read_model_file(path)
    assert (meta["plugin"], meta["plugin_version"]) == ("example", "0.1.0")
    assert isinstance(load_model(path), ItemKNN)
    rewrite(path, meta={"plugin_version": "0.0.9"})
    with pytest.raises(ModelFileError) as err:
        load_model(path)
    assert str(err.value) == (
        f"{path} was written by plugin 'example' 0.0.9; the installed version is 0.1.0: "
        "retrain, or install that version"
    )
