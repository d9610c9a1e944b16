"""Run folders: where a comparison keeps every finished result as soon as it exists.

A run folder holds

- ``metadata.json``: what was asked for (seed, dataset name and fingerprint, splitter,
  protocol, models and their parameters, metrics) and the versions that ran it; written
  atomically when the run starts.
- ``results.jsonl``: one JSON line per finished (model, fold), appended, flushed and fsynced
  the moment it completes. Ctrl-C or a crash loses at most the task that was running; a line
  cut short by a crash is ignored when the folder is read again.

Resuming compares the request part of the metadata with the new request and refuses a
different one, so a run folder never mixes results of two experiments.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.errors import WorkbenchError
from workbench.fileio.files import write_atomic
from workbench.jsonvalues import dumps, normalise

METADATA = "metadata.json"
RESULTS = "results.jsonl"
PER_USER = "per_user"
LOCK = ".lock"
#: Metadata keys that define the experiment: a resumed run must match them exactly.
REQUEST_KEYS = (
    "kind",
    "seed",
    "dataset",
    "splitter",
    "protocol",
    "models",
    "metrics",
    "tune",
    "validation",
    "per_user",
)
#: Within ``dataset``, the keys that identify the data (not its display name).
_DATASET_KEYS = ("fingerprint", "kind", "n_users", "n_items", "n_interactions")


def _request_view(meta: Mapping[str, Any]) -> dict[str, Any]:
    view = {k: meta.get(k) for k in REQUEST_KEYS}
    if isinstance(view["dataset"], Mapping):
        view["dataset"] = {k: view["dataset"].get(k) for k in _DATASET_KEYS}
    return normalise(view)


def _describe(value: Any) -> str:
    text = dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def _labelled(value: Any) -> dict[str, Any] | None:
    """``{label: entry}`` of a list of labelled entries (models, metrics), else None."""
    if not isinstance(value, list) or not all(
        isinstance(v, dict) and isinstance(v.get("label"), str) for v in value
    ):
        return None
    out = {v["label"]: v for v in value}
    return out if len(out) == len(value) else None


def list_change(old: Any, new: Any) -> str | None:
    """What was added to and removed from a list (by label for models and metrics):
    ``added 'sgd[2]', 'als'; removed 'biases'``; None when nothing was added or removed."""
    by_label_old, by_label_new = _labelled(old), _labelled(new)
    if by_label_old is not None and by_label_new is not None:
        added = [k for k in by_label_new if k not in by_label_old]
        removed = [k for k in by_label_old if k not in by_label_new]
    elif isinstance(old, list) and isinstance(new, list):
        keys_old = [json.dumps(v, sort_keys=True, default=str) for v in old]
        keys_new = [json.dumps(v, sort_keys=True, default=str) for v in new]
        added = [json.loads(k) for k in keys_new if k not in keys_old]
        removed = [json.loads(k) for k in keys_old if k not in keys_new]
    else:
        return None
    parts = []
    if added:
        parts.append("added " + ", ".join(_describe(v) for v in added))
    if removed:
        parts.append("removed " + ", ".join(_describe(v) for v in removed))
    return "; ".join(parts) or None


def _first_difference(old: Any, new: Any, path: str) -> tuple[str, Any, Any] | None:
    by_label_old, by_label_new = _labelled(old), _labelled(new)
    if by_label_old is not None and by_label_new is not None:
        if list(by_label_old) != list(by_label_new):
            return (path, old, new)  # added, removed or reordered: list_change names them
        for label, entry in by_label_old.items():
            found = _first_difference(entry, by_label_new[label], f"{path}[{label}]")
            if found:
                return found
        return None
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(dict.fromkeys([*old, *new])):
            found = _first_difference(old.get(key), new.get(key), f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            found = _first_difference(a, b, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if old == new else (path, old, new)


class RunFolder:
    """Read and append to one run folder."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock: Any = None

    # -- one writer at a time ----------------------------------------------------------------
    def lock(self) -> None:
        """Hold the folder's lock file while this process writes (POSIX ``flock``); a second
        process resuming the same folder at the same time is refused."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no cross-process guard
            return
        handle = open(self.path / LOCK, "a+")  # noqa: SIM115 - held until unlock()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise WorkbenchError(
                f"run folder {self.path} is in use by another running comparison; wait for "
                "it to finish (or stop it) before resuming"
            ) from None
        self._lock = handle

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing releases the flock
            self._lock = None

    @property
    def metadata_path(self) -> Path:
        return self.path / METADATA

    @property
    def results_path(self) -> Path:
        return self.path / RESULTS

    # -- opening ---------------------------------------------------------------------------------
    @classmethod
    def start(cls, path: str | Path, metadata: Mapping[str, Any], *, resume: bool) -> RunFolder:
        """Create a new run folder, or reopen one to resume (refusing a different request)."""
        folder = cls(path)
        if folder.path.exists() and not folder.path.is_dir():
            raise WorkbenchError(f"run folder {folder.path} is a file, expected a folder")
        has_meta = folder.metadata_path.exists()
        if resume:
            if not has_meta:
                raise WorkbenchError(
                    f"cannot resume: {folder.path} is not a run folder (no {METADATA}); "
                    "start a new run without --resume"
                )
            folder.check_matches(metadata)
            folder._check_writable()
            folder.lock()
            folder._repair_tail()
            try:
                folder.records()  # a damaged or edited record: refused before any task runs
            except WorkbenchError:
                folder.unlock()
                raise
            return folder
        if has_meta or (folder.results_path.exists() and folder.results_path.stat().st_size):
            raise WorkbenchError(
                f"run folder {folder.path} already holds a run: use --resume to finish it, "
                "or choose another --run-dir"
            )
        try:
            folder.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkbenchError(
                f"cannot create run folder {folder.path}: {exc.strerror or exc}"
            ) from None
        folder._check_writable()
        folder.lock()
        folder.write_metadata(metadata)
        return folder

    def _check_writable(self) -> None:
        if not os.access(self.path, os.W_OK | os.X_OK):
            raise WorkbenchError(f"run folder {self.path} is not writable")

    def check_matches(self, metadata: Mapping[str, Any]) -> None:
        """Raise if the stored request differs from ``metadata``'s (names the first field)."""
        old = _request_view(self.read_metadata())
        new = _request_view(metadata)
        found = _first_difference(old, new, "")
        if found:
            where, was, now = found
            change = list_change(was, now)
            if change is None and isinstance(was, list) and isinstance(now, list):
                change = "the same entries in another order"
            detail = change or f"was {_describe(was)}, now {_describe(now)}"
            article = "" if change else "a "
            raise WorkbenchError(
                f"cannot resume {self.path}: it was started with {article}different "
                f"{where.lstrip('.')} ({detail}); use the same settings or another --run-dir"
            )

    # -- metadata ------------------------------------------------------------------------------
    def write_metadata(self, metadata: Mapping[str, Any]) -> None:

        text = json.dumps(normalise(dict(metadata)), indent=2)
        write_atomic(self.metadata_path, lambda fh: fh.write(text.encode("utf-8") + b"\n"))

    def read_metadata(self) -> dict[str, Any]:
        try:
            data = json.loads(self.metadata_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise WorkbenchError(f"{self.path} is not a run folder (no {METADATA})") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise WorkbenchError(f"{self.metadata_path} is unreadable ({exc})") from None
        if not isinstance(data, dict):
            raise WorkbenchError(f"{self.metadata_path}: expected a JSON object")
        return data

    # -- results -------------------------------------------------------------------------------
    def append(self, record: Mapping[str, Any]) -> None:
        """Append one finished (model, fold) record, durably (fsync). A failed write (a full
        disk, the file-size limit) is cut back off, so the records before it stay intact,
        and raised as one line: ``cannot write PATH: No space left on device``."""
        data = (json.dumps(normalise(dict(record)), allow_nan=True) + "\n").encode("utf-8")
        path = self.results_path
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        except OSError as exc:
            raise WorkbenchError(f"cannot write {path}: {exc.strerror or exc}") from None
        try:
            start = os.fstat(fd).st_size
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, start)
                raise WorkbenchError(f"cannot write {path}: {exc.strerror or exc}") from None
        finally:
            os.close(fd)

    def records(self) -> list[dict[str, Any]]:
        """Every complete record, in the order written (a cut-off last line is skipped).

        A record must name a model of the run's metadata and one of its folds; a line that is
        not such a record (edited, or written by something else) is an error naming it.
        """
        if not self.results_path.exists():
            return []
        out = []
        try:
            text = self.results_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise WorkbenchError(f"cannot read {self.results_path}: {exc}") from None
        lines = text.splitlines()
        check = self._record_check()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines) and not text.endswith("\n"):
                    break  # a crash while writing the last line: that task reruns on resume
                raise WorkbenchError(
                    f"{self.results_path}: line {number} is not valid JSON"
                ) from None
            problem = check(record)
            if problem:
                raise WorkbenchError(f"{self.results_path}: line {number}: {problem}")
            out.append(record)
        return out

    def _record_check(self) -> Any:
        """A function telling what is wrong with a record (None: nothing), from the models
        and folds the metadata names (only the shape is checked without metadata)."""
        try:
            meta = self.read_metadata()
        except WorkbenchError:
            meta = {}
        models = meta.get("models")
        labels = (
            {m.get("label") for m in models if isinstance(m, Mapping)}
            if isinstance(models, list)
            else None
        )
        n_splits = (meta.get("splitter") or {}).get("n_splits") if meta else None

        def check(record: Any) -> str | None:
            if not isinstance(record, dict) or "model" not in record or "fold" not in record:
                return "expected a result record with 'model' and 'fold'"
            model, fold = record["model"], record["fold"]
            if labels is not None and model not in labels:
                return f"model {model!r} was never configured in this run"
            if isinstance(fold, bool) or not isinstance(fold, int) or fold < 0:
                return f"fold {fold!r} is not a fold number"
            if isinstance(n_splits, int) and fold >= n_splits:
                return f"fold {fold} is outside this run's folds 0..{n_splits - 1}"
            return None

        return check

    def _repair_tail(self) -> None:
        """Drop a cut-off last line so new records start on a line of their own."""
        path = self.results_path
        if not path.exists():
            return
        data = path.read_bytes()
        if not data or data.endswith(b"\n"):
            return
        keep = data[: data.rfind(b"\n") + 1]
        with open(path, "wb") as fh:
            fh.write(keep)
            fh.flush()
            os.fsync(fh.fileno())

    # -- per-user results --------------------------------------------------------------------
    def write_per_user(self, label: str, fold: int, frame: Any) -> str:
        """Write one task's per-user results (Parquet, atomically); returns the relative path."""

        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(label)).strip("_") or "model"
        tag = f"{zlib.crc32(str(label).encode()):08x}"  # labels that clean up alike stay apart
        rel = f"{PER_USER}/{safe}-{tag}-fold{int(fold)}.parquet"
        (self.path / PER_USER).mkdir(exist_ok=True)
        write_atomic(self.path / rel, lambda fh: frame.to_parquet(fh, index=False))
        return rel

    def read_per_user(self, rel: str) -> Any:

        path = self.path / rel
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise WorkbenchError(f"cannot read per-user results {path}: {exc}") from None

    def finished(self) -> set[tuple[str, int]]:
        """(model label, fold) pairs that finished without an error."""
        return {(str(r["model"]), int(r["fold"])) for r in self.records() if not r.get("error")}
