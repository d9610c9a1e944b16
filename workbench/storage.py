"""Model files: one ``.npz`` (zip of ``.npy`` arrays) with JSON metadata inside, no pickle.

Layout: ``base/<name>`` arrays (id maps, training counts, seen items), ``state/<name>`` arrays
(what the model learned) and ``__metadata__`` (UTF-8 JSON as uint8): format and version,
model name, plugin and its version, workbench version, parameters, rating scale.
Files are written to a temporary file in the same folder, fsynced and renamed, so a crash
never leaves a half-written model. Loading uses ``allow_pickle=False``: a crafted file that
would run code when unpickled is refused before anything runs.
"""

from __future__ import annotations

import json
import zipfile
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from workbench.data import IdMap
from workbench.errors import ModelFileError, UnknownNameError, WorkbenchError
from workbench.files import write_atomic
from workbench.plugins import get_registry, plugin_of

if TYPE_CHECKING:
    from workbench.model import Model

FORMAT = "recsys-workbench-model"
FORMAT_VERSION = 1
_META_KEY = "__metadata__"


def workbench_version() -> str:
    try:
        return importlib_metadata.version("recsys-workbench")
    except importlib_metadata.PackageNotFoundError:  # pragma: no cover - source checkout
        return "0+unknown"


def _ids_array(idmap: IdMap) -> np.ndarray:
    ids = idmap.ids
    if idmap.is_string:
        return ids.astype(str)
    # integer ids as int64; other numeric ids (floats such as 1.5) keep their values
    return ids.astype(np.float64) if ids.dtype.kind == "f" else ids.astype(np.int64)


def save_model(model: Model, path: str | Path) -> Path:
    """Write a fitted model to ``path`` (``.npz`` is appended if missing)."""

    model.check_fitted()
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    plugin = plugin_of("model", model.name)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": model.name,
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "state_version": model.state_version,
        "plugin": plugin[0] if plugin else None,
        "plugin_version": plugin[1] if plugin else None,
        "workbench_version": workbench_version(),
        "params": model.get_params(),
        "feedback": model.feedback_,
        "rating_scale": model.rating_scale_,
        "user_ids_are_strings": model.users_.is_string,
        "item_ids_are_strings": model.items_.is_string,
    }
    arrays: dict[str, np.ndarray] = {
        "base/user_ids": _ids_array(model.users_),
        "base/item_ids": _ids_array(model.items_),
        "base/user_counts": model.user_counts_,
        "base/item_counts": model.item_counts_,
        "base/seen_indptr": model.seen_.indptr,
        "base/seen_indices": model.seen_.indices,
    }
    titles = getattr(model, "item_titles_", None)
    if titles is not None:
        arrays["base/item_titles"] = np.asarray(titles, dtype=str)
    for key, value in model._state_arrays().items():
        arr = np.asarray(value)
        if arr.dtype == object:
            raise WorkbenchError(f"{model.owner()}: state array {key!r} has dtype object")
        arrays[f"state/{key}"] = arr
    arrays[_META_KEY] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    return write_atomic(path, lambda fh: np.savez(fh, **arrays))


_PICKLED = (
    "{path} contains pickled data, which is refused (it could run code); "
    "workbench model files hold plain arrays only"
)


def _check_magic(path: Path) -> None:
    """Refuse, by its first bytes, a file that is not a zip archive (before numpy sees it)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {path}: {exc.strerror or exc}") from None
    if head.startswith(b"PK"):
        return
    if not head:
        raise ModelFileError(f"model file {path} is empty")
    if head.startswith(b"\x80"):  # pickle protocol 2+
        raise ModelFileError(_PICKLED.format(path=path))
    if head.startswith(b"\x93NUMPY"):
        raise ModelFileError(f"{path} is not a workbench model file (a single .npy array)")
    raise ModelFileError(f"{path} is not a workbench model file (not an .npz archive)")


def read_model_file(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Metadata and arrays of a model file, validated; never unpickles."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"model file {path} does not exist")
    if path.is_dir():
        raise ModelFileError(f"model file {path} is a folder, expected a .npz file")
    _check_magic(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            if _META_KEY not in npz.files:
                raise ModelFileError(f"{path} is not a workbench model file (no metadata)")
            arrays = {name: npz[name] for name in npz.files}
    except ModelFileError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise ModelFileError(_PICKLED.format(path=path)) from None
        raise ModelFileError(f"{path} is not a workbench model file ({exc})") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
        raise ModelFileError(
            f"model file {path} is truncated or corrupted ({type(exc).__name__}: {exc})"
        ) from None
    try:
        meta = json.loads(arrays.pop(_META_KEY).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"model file {path}: metadata is corrupted ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a workbench model file")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"model file {path} has format version {version}; this workbench "
            f"({workbench_version()}) reads version {FORMAT_VERSION}"
        )
    return meta, arrays


def load_model(path: str | Path, *, expected: type[Model] | None = None) -> Model:
    """Load a model file; the model class is looked up by name in the plugin registry."""

    path = Path(path)
    meta, arrays = read_model_file(path)
    name = meta.get("model")
    if expected is not None and expected.name:  # a concrete class (the base has no name)
        if expected.name != name:
            raise ModelFileError(f"{path} holds a '{name}' model, not '{expected.name}'")
        cls = expected
    else:
        try:
            cls = get_registry().get("model", name)
        except UnknownNameError as exc:
            raise ModelFileError(f"{path}: cannot load a '{name}' model: {exc}") from None
    plugin = plugin_of("model", name)
    if plugin and meta.get("plugin_version") and plugin[1] != meta["plugin_version"]:
        raise ModelFileError(
            f"{path} was written by plugin '{meta.get('plugin')}' {meta['plugin_version']}; "
            f"the installed version is {plugin[1]}: retrain, or install that version"
        )
    if meta.get("state_version") != cls.state_version:
        raise ModelFileError(
            f"{path} holds '{name}' state version {meta.get('state_version')}; "
            f"this plugin reads version {cls.state_version}"
        )
    try:
        model = cls(**meta.get("params", {}))
        base = {k[5:]: v for k, v in arrays.items() if k.startswith("base/")}
        state = {k[6:]: v for k, v in arrays.items() if k.startswith("state/")}
        model.users_ = IdMap(base["user_ids"])
        model.items_ = IdMap(base["item_ids"])
        model.n_users_ = len(model.users_)
        model.n_items_ = len(model.items_)
        model.feedback_ = meta.get("feedback")
        scale = meta.get("rating_scale")
        model.rating_scale_ = None if scale is None else (float(scale[0]), float(scale[1]))
        model.user_counts_ = base["user_counts"]
        titles = base.get("item_titles")
        model.item_titles_ = None if titles is None else np.asarray(titles, dtype=str)
        model.item_counts_ = base["item_counts"]
        indptr, indices = base["seen_indptr"], base["seen_indices"]
        model.seen_ = sp.csr_matrix(
            (np.ones(len(indices), dtype=np.bool_), indices, indptr),
            shape=(model.n_users_, model.n_items_),
        )
        model._set_state_arrays(state)
    except WorkbenchError as exc:
        raise ModelFileError(f"model file {path}: {exc}") from None
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise ModelFileError(
            f"model file {path} is incomplete or inconsistent ({type(exc).__name__}: {exc})"
        ) from None
    return model
