"""TOML experiment files: a comparison (or a tuning run) reproducible from one file.

A comparison file (every key optional except ``models``; CLI options override it)::

    seed = 42
    jobs = 1
    backend = "dask"                        # a registered backend (local, dask, ray) and the
    scheduler = "tcp://127.0.0.1:8786"      # cluster's address, as --backend/--scheduler
    data = "synthetic n_users=300"          # a spec string, or a [data] table with name = ...
    split = "kfold n_folds=3"
    metrics = ["rmse", "ndcg@10", "recall@10"]
    exporters = ["terminal", "html path=reports/example.html"]
    run_dir = "runs/example"

    [protocol]                              # workbench.evaluation.Protocol fields
    relevance_threshold = 4.0

    [[models]]                              # one table per model: name, optional label, params
    name = "sgd"
    label = "sgd-50"
    n_factors = 50

A tuning file has ``model`` (a name or a table of fixed parameters), ``metric``, ``search``
(a registered strategy: grid, random, tpe, ...), ``n_iter`` and a ``[space]`` table (see
`workbench.search.space`) instead of ``models`` and ``metrics``.

An unknown key is an error naming the key and its line; so is a value of the wrong type and a
parameter a model does not have.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import ParamError, WorkbenchError
from workbench.evaluation import PROTOCOL_FIELDS, check_protocol_value

COMMON_KEYS = (
    "data", "split", "seed", "jobs", "backend", "scheduler", "protocol", "run_dir", "exporters",
)  # fmt: skip
COMPARE_KEYS = (*COMMON_KEYS, "models", "metrics")
TUNE_KEYS = (*COMMON_KEYS, "model", "metric", "search", "n_iter", "space")
PROTOCOL_KEYS = PROTOCOL_FIELDS


def _key_pattern(key: str) -> str:
    return rf"""(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')"""


class TomlLines:
    """Finds the line where a key (or table) of a TOML document is written."""

    def __init__(self, text: str):
        self.lines = text.splitlines()

    def _headers(self) -> list[tuple[int, str, bool]]:
        """(line index, table name, is array table) of every ``[table]`` header."""
        out = []
        for i, line in enumerate(self.lines):
            m = re.match(r"\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$", line)
            if m:
                out.append((i, m.group(2).strip().strip("\"'"), m.group(1) == "[["))
        return out

    def _find_key(self, key: str, start: int, stop: int) -> int | None:
        pat = re.compile(rf"\s*{_key_pattern(key)}\s*=")
        inline = re.compile(rf"[{{,]\s*{_key_pattern(key)}\s*=")
        for i in range(start, min(stop, len(self.lines))):
            if pat.match(self.lines[i]) or inline.search(self.lines[i]):
                return i
        return None

    def line_of(self, *path: str | int) -> int | None:
        """1-based line of ``path`` (e.g. ``("protocol", "clip")``, ``("models", 1, "lr")``)."""
        headers = self._headers()
        top_end = headers[0][0] if headers else len(self.lines)
        if not path:
            return None
        head, rest = path[0], path[1:]
        if not isinstance(head, str):
            return None
        dotted = self._find_key(".".join(str(p) for p in path if isinstance(p, str)), 0, top_end)
        if len(path) > 1 and dotted is not None:
            return dotted + 1
        # a [head] table, the i-th [[head]] table, or "head = ..." at the top level
        index = rest[0] if rest and isinstance(rest[0], int) else None
        tables = [(i, arr) for i, name, arr in headers if name == head]
        start = None
        if tables:
            pick = index if index is not None and index < len(tables) else 0
            start = tables[pick][0]
        else:
            found = self._find_key(head, 0, top_end)
            if found is None:
                return None
            start = found
        keys = [p for p in rest if isinstance(p, str)]
        if not keys:
            return start + 1
        following = [i for i, _, _ in headers if i > start]
        stop = following[0] if following else len(self.lines)
        found = self._find_key(keys[-1], start, stop)
        return (found if found is not None else start) + 1


@dataclass
class ExperimentFile:
    """A parsed experiment file: its values and where each was written."""

    path: Path
    values: dict[str, Any]
    lines: TomlLines = field(repr=False)

    def where(self, *key: str | int) -> str:
        line = self.lines.line_of(*key)
        return f"{self.path} line {line}" if line else str(self.path)

    def error(self, key: tuple[str | int, ...], message: str) -> WorkbenchError:
        return ParamError(f"{self.where(*key)}: {message}")

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


def _type_check(doc: ExperimentFile, key: str, value: Any, kinds: tuple[type, ...], what: str):
    if isinstance(value, bool) and bool not in kinds:
        raise doc.error((key,), f"'{key}' must be {what}, got {value!r}")
    if not isinstance(value, kinds):
        raise doc.error((key,), f"'{key}' must be {what}, got {value!r}")


def _spec_value(doc: ExperimentFile, key: str) -> None:
    value = doc.values.get(key)
    if value is None:
        return
    if isinstance(value, str):
        return
    if isinstance(value, Mapping):
        if not isinstance(value.get("name"), str):
            raise doc.error((key,), f"the '{key}' table needs name = \"...\"")
        return
    raise doc.error((key,), f"'{key}' must be a spec string or a table with a name")


def _spec_list(doc: ExperimentFile, key: str) -> None:
    value = doc.values.get(key)
    if value is None:
        return
    if isinstance(value, str):
        doc.values[key] = [value]
        return
    if not isinstance(value, list):
        raise doc.error((key,), f"'{key}' must be a list of spec strings")
    for i, item in enumerate(value):
        if not (isinstance(item, str) or (isinstance(item, Mapping) and "name" in item)):
            raise doc.error((key,), f"'{key}' entry {i + 1} must be a spec string, got {item!r}")


def load_experiment(path: str | Path, *, kind: str = "compare") -> ExperimentFile:
    """Read and check an experiment file (``kind``: compare or tune)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkbenchError(f"experiment file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkbenchError(f"cannot read experiment file {path}: {exc}") from None
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParamError(f"{path}: invalid TOML: {exc}") from None
    doc = ExperimentFile(path, values, TomlLines(text))
    allowed = COMPARE_KEYS if kind == "compare" else TUNE_KEYS
    for key in values:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise doc.error((key,), f"unknown key '{key}'{hint} (allowed: {', '.join(allowed)})")
    for key in ("seed", "jobs", "n_iter"):
        if key in values:
            _type_check(doc, key, values[key], (int,), "an integer")
    if isinstance(values.get("seed"), int) and values["seed"] < 0:
        raise doc.error(("seed",), f"'seed' must be an integer >= 0, got {values['seed']}")
    for key in ("run_dir", "metric", "search", "backend", "scheduler"):
        if key in values:
            _type_check(doc, key, values[key], (str,), "a string")
    if "search" in values:  # a registered search strategy (grid, random, tpe, a plugin's)
        from workbench.plugins import get_registry
        from workbench.specs import parse_spec

        try:
            get_registry().entry("strategy", parse_spec("strategy", values["search"]).name)
        except WorkbenchError as exc:
            raise doc.error(("search",), f"'search': {exc}") from None
    _spec_value(doc, "data")
    _spec_value(doc, "split")
    _spec_value(doc, "model")
    _spec_list(doc, "metrics")
    _spec_list(doc, "exporters")
    protocol = values.get("protocol")
    if protocol is not None:
        if not isinstance(protocol, Mapping):
            raise doc.error(("protocol",), "'protocol' must be a table")
        for key in protocol:
            if key not in PROTOCOL_KEYS:
                raise doc.error(
                    ("protocol", key),
                    f"unknown key 'protocol.{key}' (allowed: {', '.join(PROTOCOL_KEYS)})",
                )
            try:  # typed once, by the protocol itself: clip = "no" is an error, not true
                check_protocol_value(key, protocol[key])
            except ParamError as exc:
                raise doc.error(("protocol", key), str(exc)) from None
    models = values.get("models")
    if models is not None:
        if not isinstance(models, list) or not all(isinstance(m, Mapping) for m in models):
            raise doc.error(("models",), "'models' must be an array of tables ([[models]])")
        for i, model in enumerate(models):
            if not isinstance(model.get("name"), str):
                raise doc.error(("models", i), f'model {i + 1} needs name = "..."')
            if "label" in model and not isinstance(model["label"], str):
                raise doc.error(("models", i, "label"), f"model {i + 1}: label must be a string")
    space = values.get("space")
    if space is not None and not isinstance(space, Mapping):
        raise doc.error(("space",), "'space' must be a table of parameter ranges")
    return doc


_UNKNOWN_PARAM = re.compile(r"unknown parameter '([^']+)'|parameter '([^']+)' of")


def locate_param_error(
    doc: ExperimentFile, key: tuple[str | int, ...], exc: Exception
) -> ParamError:
    """Prefix a parameter error with the file and line of the parameter it names."""
    m = _UNKNOWN_PARAM.search(str(exc))
    name = next((g for g in m.groups() if g), None) if m else None
    line_key = (*key, name) if name else key
    return ParamError(f"{doc.where(*line_key)}: {exc}")
