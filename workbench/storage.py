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
import math
import os
import struct
import tempfile
import zipfile
import zlib
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from workbench.data import IdMap
from workbench.errors import ModelFileError, UnknownNameError, WorkbenchError
from workbench.fileio.files import write_atomic
from workbench.plugins import get_registry, plugin_of

#: a `workbench.model.Model` (typed loosely: model files are a layer below the model contract,
#: which calls `save_model` / `load_model`; this module never imports it)
Model = Any

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


def model_target(path: str | Path) -> Path:
    """The file a model saved to ``path`` goes to (``.npz`` appended if missing), checked
    before any work: an existing folder, a missing folder, or a folder that does not accept
    new files (read-only, ``/proc``) is a one-line error."""
    text = str(path)
    given = Path(path)
    if given.is_dir() or text.endswith(("/", os.sep)):
        raise WorkbenchError(
            f"cannot write model file {text}: it is a folder; give a file name such as "
            f"{given / 'model.npz'}"
        )
    target = given if given.suffix == ".npz" else given.with_name(given.name + ".npz")
    if target.is_dir():
        raise WorkbenchError(f"cannot write model file {target}: it is a folder")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.exists():
        raise WorkbenchError(
            f"cannot write model file {target}: folder {folder} does not exist (create it first)"
        )
    if not folder.is_dir():
        raise WorkbenchError(f"cannot write model file {target}: {folder} is not a folder")
    if target.exists() and not os.access(target, os.W_OK):
        raise WorkbenchError(f"cannot write model file {target}: permission denied")
    try:  # the one reliable test: create (and remove) a file there
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        raise WorkbenchError(
            f"cannot write model file {target}: folder {folder} does not accept new files "
            f"({exc.strerror or exc})"
        ) from None
    os.close(fd)
    Path(probe).unlink(missing_ok=True)
    return target


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


#: dtype kinds a model file may hold: bool, integers, floats and text (ids, titles).
_ALLOWED_KINDS = {"b": "bool", "i": "integer", "u": "unsigned integer", "f": "float", "U": "text"}


def _read_npy_header(fh: Any) -> tuple[tuple[int, ...], np.dtype]:
    from numpy.lib import format as npy_format

    version = npy_format.read_magic(fh)
    if version == (1, 0):
        shape, _, dtype = npy_format.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, _, dtype = npy_format.read_array_header_2_0(fh)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    return tuple(int(n) for n in shape), np.dtype(dtype)


def check_archive(path: Path) -> None:
    """Check every array's header before anything is allocated: an allowed dtype, and a
    declared size that matches the bytes the archive really holds (so a crafted shape never
    makes numpy allocate terabytes)."""
    disk_size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            stored = sum(info.compress_size for info in infos)
            if stored > disk_size:
                raise ModelFileError(
                    f"model file {path} is truncated or corrupted (its entries declare "
                    f"{stored:,} bytes, the file has {disk_size:,})"
                )
            for info in infos:
                name = info.filename.removesuffix(".npy")
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    raise ModelFileError(
                        f"model file {path}: array {name!r} uses an unsupported compression"
                    )
                stored_alone = info.compress_type == zipfile.ZIP_STORED
                if stored_alone and info.file_size != info.compress_size:
                    raise ModelFileError(
                        f"model file {path} is truncated or corrupted (array {name!r}: "
                        "inconsistent sizes)"
                    )
                if info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > max(
                    1 << 20, 1000 * info.compress_size
                ):
                    raise ModelFileError(
                        f"model file {path}: array {name!r} expands {info.compress_size:,} "
                        f"bytes to {info.file_size:,}: refused"
                    )
                with zf.open(info) as fh:
                    try:
                        shape, dtype = _read_npy_header(fh)
                    except (ValueError, SyntaxError, TypeError) as exc:
                        raise ModelFileError(
                            f"model file {path}: array {name!r} has an invalid header ({exc})"
                        ) from None
                    header = fh.tell()
                _check_dtype(path, name, dtype)
                declared = math.prod(shape) * dtype.itemsize
                holds = info.file_size - header
                if declared != holds:
                    raise ModelFileError(
                        f"model file {path}: array {name!r} declares shape {shape} "
                        f"({declared:,} bytes) but holds {holds:,} bytes"
                    )
    except ModelFileError:
        raise
    except _ZIP_ERRORS as exc:
        raise ModelFileError(
            f"model file {path} is truncated or corrupted ({type(exc).__name__}: {exc})"
        ) from None


#: What zipfile raises on damaged or unsupported archives (encrypted members, unknown
#: compression or zip versions, bad deflate streams).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    EOFError,
    OSError,
    KeyError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    zlib.error,
    struct.error,
)


def _check_dtype(path: Path, name: str, dtype: np.dtype) -> None:
    if dtype.hasobject:
        raise ModelFileError(_PICKLED.format(path=path))
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in _ALLOWED_KINDS:
        allowed = ", ".join(_ALLOWED_KINDS.values())
        raise ModelFileError(
            f"model file {path}: array {name!r} has dtype {dtype} (allowed: {allowed})"
        )


def read_model_file(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Metadata and arrays of a model file, validated; never unpickles."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"model file {path} does not exist")
    if path.is_dir():
        raise ModelFileError(f"model file {path} is a folder, expected a .npz file")
    _check_magic(path)
    check_archive(path)
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
    except _ZIP_ERRORS as exc:
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


def _fail(path: Path, message: str) -> ModelFileError:
    return ModelFileError(f"model file {path}: {message}")


def _vector(path: Path, arrays: dict[str, np.ndarray], key: str, kinds: str) -> np.ndarray:
    if key not in arrays:
        raise _fail(path, f"array {key!r} is missing")
    arr = arrays[key]
    if arr.ndim != 1 or arr.dtype.kind not in kinds:
        raise _fail(path, f"array {key!r} has shape {arr.shape} and dtype {arr.dtype}")
    return arr


#: State arrays of the embedding contract (`workbench.factor.embedding`): rows and dimensions.
#: Other state arrays are the model's own; the load-time smoke test covers them.
_EMBEDDING_STATE = {
    "user_factors": ("users", 2),
    "item_factors": ("items", 2),
    "user_bias": ("users", 1),
    "item_bias": ("items", 1),
}


def check_contents(path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Shapes against the id maps, finite values and index ranges (one-line errors).

    The embedding contract's ``user_factors``/``item_factors`` (2-D) and ``user_bias``/
    ``item_bias`` (1-D) have one row per user or item.
    """
    for key, arr in arrays.items():
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            bad = int(np.flatnonzero(~np.isfinite(arr.ravel()))[0])
            raise _fail(path, f"array {key!r} holds a non-finite value ({arr.ravel()[bad]})")
    user_ids = _vector(path, arrays, "base/user_ids", "iufU")
    item_ids = _vector(path, arrays, "base/item_ids", "iufU")
    n_users, n_items = len(user_ids), len(item_ids)
    if n_users == 0 or n_items == 0:
        raise _fail(path, f"it has {n_users} users and {n_items} items")
    for key, n in (("base/user_counts", n_users), ("base/item_counts", n_items)):
        counts = _vector(path, arrays, key, "iu")
        if len(counts) != n or (counts < 0).any():
            raise _fail(path, f"array {key!r} has {len(counts)} entries, expected {n} counts >= 0")
    indptr = _vector(path, arrays, "base/seen_indptr", "iu")
    indices = _vector(path, arrays, "base/seen_indices", "iu")
    if (
        len(indptr) != n_users + 1
        or indptr[0] != 0
        or int(indptr[-1]) != len(indices)
        or (np.diff(indptr.astype(np.int64)) < 0).any()
    ):
        raise _fail(path, f"the seen-items index does not match its {n_users} users")
    if len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= n_items):
        raise _fail(
            path,
            f"a seen item index ({int(indices.max())}) is outside the {n_items} items",
        )
    titles = arrays.get("base/item_titles")
    if titles is not None and (titles.ndim != 1 or len(titles) != n_items):
        raise _fail(path, f"item titles have shape {titles.shape}, expected ({n_items},)")
    for name, (rows, ndim) in _EMBEDDING_STATE.items():  # the embedding contract's arrays
        arr = arrays.get(f"state/{name}")
        if arr is None:
            continue
        n = n_users if rows == "users" else n_items
        if arr.ndim != ndim or arr.shape[0] != n:
            raise _fail(
                path, f"array {name!r} has shape {arr.shape}, expected {n} {rows} rows ({ndim}-D)"
            )
    scale = meta.get("rating_scale")
    if scale is not None and not (
        isinstance(scale, list)
        and len(scale) == 2
        and all(isinstance(v, int | float) and math.isfinite(v) for v in scale)
        and scale[0] < scale[1]
    ):
        raise _fail(path, f"rating_scale {scale!r} is not [low, high]")
    if not isinstance(meta.get("params", {}), dict):
        raise _fail(path, "params are not a mapping")


def _smoke_test(path: Path, model: Model) -> None:
    """Score the corner (user, item) pairs once: model-specific state that does not fit the
    id maps fails here, at load, instead of at the first recommendation."""
    users = np.array([0, model.n_users_ - 1], dtype=np.int64)
    items = np.array([model.n_items_ - 1, 0], dtype=np.int64)
    try:
        with np.errstate(all="ignore"):
            scores = model.predict(users, items)
            model.recommend(users, k=1, exclude_seen=False)
    except (IndexError, ValueError, TypeError, KeyError, ZeroDivisionError) as exc:
        raise _fail(
            path, f"its state does not fit its id maps ({type(exc).__name__}: {exc})"
        ) from None
    if not np.isfinite(np.asarray(scores, dtype=np.float64)).all():
        raise _fail(path, "it predicts non-finite scores")


def load_model(path: str | Path, *, expected: type[Model] | None = None) -> Model:
    """Load a model file; the model class is looked up by name in the plugin registry."""

    path = Path(path)
    meta, arrays = read_model_file(path)
    check_contents(path, meta, arrays)
    name = meta.get("model")
    if not isinstance(name, str) or not name:
        raise _fail(path, f"the metadata names no model ({name!r})")
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
        _smoke_test(path, model)
    except ModelFileError:
        raise
    except WorkbenchError as exc:
        raise ModelFileError(f"model file {path}: {exc}") from None
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise ModelFileError(
            f"model file {path} is incomplete or inconsistent ({type(exc).__name__}: {exc})"
        ) from None
    return model
