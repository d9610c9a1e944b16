"""Fuzzing of two more user inputs (issue 22): TOML experiment files (``compare --config``,
``tune --config``) and the new users' history file of ``workbench recommend --history``.

Cases come from a seeded `random.Random` (case i uses seed i): generated files with random,
misspelt and mistyped keys, values of every TOML type, protocol and model tables, then
sometimes byte-level edits. Each case goes through the functions the CLI calls, in
process, and must either succeed or raise the workbench's own one-line error (a
`WorkbenchError`); any other exception fails the test.

- TOML: `load_experiment`, then what `compare`/`tune` read from the file before the first
  task runs: run folder, jobs, backend, exporters, dataset, models, metrics, protocol, split
  (compare); model, space, search, n_iter, seed, metric (tune).
- history: `loading.read_file` with ``--history-option`` strings, then
  `api.recommend_new_users` on a small trained model (explicit `sgd`, implicit `ials`).

CI runs ``WORKBENCH_FUZZ_EXAMPLES`` cases per target (300 by default); the long run (see
docs/datasets.md, "Fuzzing")::

    WORKBENCH_FUZZ_EXAMPLES=100000 WORKBENCH_FUZZ_TALLY=/tmp/fuzz-tally \\
        .venv/bin/python -m pytest tests/test_fuzz_experiment_inputs.py -k toml -p no:xdist \\
        -p no:cacheprovider -q -s          # and -k history

``WORKBENCH_FUZZ_FIRST=50000`` starts at case 50,000 (a long run split over processes).
"""

from __future__ import annotations

import functools
import json
import os
import random
import tempfile
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from workbench.errors import WorkbenchError

EXAMPLES = int(os.environ.get("WORKBENCH_FUZZ_EXAMPLES", "300"))
#: The first case (seed) of this run: a long run can be split over processes.
FIRST = int(os.environ.get("WORKBENCH_FUZZ_FIRST", "0"))
TALLY_FILE = os.environ.get("WORKBENCH_FUZZ_TALLY")
WORK = Path(tempfile.mkdtemp(prefix="workbench-fuzz-inputs-"))


def _run_cases(target: str, case: Any) -> Counter[str]:
    """``case(rng, i)`` for i in 0..EXAMPLES-1: a result, or a one-line WorkbenchError."""
    counts: Counter[str] = Counter()
    for i in range(FIRST, FIRST + EXAMPLES):
        rng = random.Random(i)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                case(rng, i)
        except WorkbenchError as exc:
            message = str(exc)
            assert message and "\n" not in message, f"case {i}: not one line: {message!r}"
            counts["refused"] += 1
        except Exception as exc:
            raise AssertionError(f"{target} case {i}: {type(exc).__name__}: {exc}") from exc
        else:
            counts["accepted"] += 1
        if TALLY_FILE and (i + 1 - FIRST) % 100 == 0:
            line = f"{target} {i + 1 - FIRST} {json.dumps(dict(counts))}\n"
            Path(f"{TALLY_FILE}.{target}.{FIRST}").write_text(line)
    print(f"\nfuzz {target}: {EXAMPLES} cases from {FIRST} ({json.dumps(dict(counts))})")
    return counts


def mutate(data: bytes, rng: random.Random) -> bytes:
    """A few byte-level edits: flip, insert, delete, duplicate, truncate."""
    for _ in range(rng.randint(1, 4)):
        n = len(data)
        at = rng.randint(0, max(n - 1, 0))
        op = rng.choice(["flip", "insert", "delete", "dup", "truncate"])
        if op == "flip" and n:
            data = data[:at] + bytes([rng.randint(0, 255)]) + data[at + 1 :]
        elif op == "insert":
            data = data[:at] + bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 6)))
            data += data[at:]
        elif op == "delete":
            data = data[:at] + data[at + rng.randint(1, 16) :]
        elif op == "dup":
            data = data[:at] + data[at : at + rng.randint(1, 40)] + data[at:]
        elif op == "truncate":
            data = data[:at]
    return data


# -- TOML experiment files ----------------------------------------------------------------------
#: Small datasets only: a fuzzed size must not make a case slow or large.
DATA = [
    "synthetic n_users=40 n_items=30 n_interactions=400 seed=1",
    "synthetic n_users=40 n_items=30 n_interactions=400 seed=1 kind=implicit",
    "synthetic n_users=40 n_items=30 n_interactions=400 nonsense=3",
    "no-such-dataset",
    "",
]
SPLITS = ["kfold n_folds=3", "holdout", "kfold n_folds=1", "kfold n_folds=x", "temporal", "nope"]
MODELS = ["biases", "global-mean", "popularity", "sgd", "als", "ials", "item-knn", "nope", ""]
METRICS = ["rmse", "mae", "ndcg@10", "ndcg@0", "ndcg@x", "precision@5", "coverage@10", "nope"]
EXPORTERS = ["terminal", "nope", "terminal extra=1"]
PARAMS = ["n_factors", "n_epochs", "reg", "lr", "seed", "label", "kernel", "k", "x", ""]
SPACE = ["1,2,3", "0.001:0.1:log", "1:10", "a,b", "", "1:", ":", "0:0:log", "5:1"]


def toml_value(rng: random.Random, depth: int = 0) -> Any:
    """Any TOML value: numbers of every size, strings, booleans, dates, arrays, tables."""
    kind = rng.randrange(10 if depth < 2 else 7)
    if kind == 0:
        return rng.choice([0, 1, -1, 7, 10**6, 2**63 - 1, -(2**63)])
    if kind == 1:
        return rng.choice([0.0, 0.5, -1.5, 1e300, float("inf"), float("-inf"), float("nan")])
    if kind == 2:
        return rng.choice([True, False])
    if kind in (3, 4):
        pool = rng.choice([DATA, SPLITS, MODELS, METRICS, EXPORTERS, SPACE])
        return rng.choice([*pool, "x" * rng.randint(0, 5), "é\u0000", "[1, 2]", "{a=1}"])
    if kind == 5:
        return "1979-05-27T07:32:00Z"  # written bare: a TOML date-time
    if kind == 6:
        return rng.choice(["none", "null", "true", "-", "0x10"])
    if kind == 7:
        return [toml_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(PARAMS) or "k": toml_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _key(key: str) -> str:
    return key if key and key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _inline(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return {"inf": "inf", "-inf": "-inf", "nan": "nan"}.get(repr(value), repr(value))
    if isinstance(value, str):
        return value if value == "1979-05-27T07:32:00Z" else json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return "{" + ", ".join(f"{_key(k)} = {_inline(v)}" for k, v in value.items()) + "}"


def toml_text(rng: random.Random, kind: str) -> str:
    """A compare or tune experiment file: mostly the right keys with right or wrong values."""
    from workbench.experiments.config import COMPARE_KEYS, PROTOCOL_KEYS, TUNE_KEYS

    keys = list(COMPARE_KEYS if kind == "compare" else TUNE_KEYS)
    lines: list[str] = []
    good = {
        "data": lambda: rng.choice(DATA),
        "split": lambda: rng.choice(SPLITS),
        "model": lambda: rng.choice(MODELS),
        "metric": lambda: rng.choice(METRICS),
        "metrics": lambda: rng.sample(METRICS, rng.randint(0, 3)),
        "exporters": lambda: rng.sample(EXPORTERS, rng.randint(0, 2)),
        "seed": lambda: rng.randint(-3, 10**6),
        "jobs": lambda: rng.choice([1, 2, 0, -1, -2]),
        "n_iter": lambda: rng.randint(-1, 5),
        "search": lambda: rng.choice(["grid", "random", "tpe", "bayes"]),
        "backend": lambda: rng.choice(["local", "loky", "dask", "ray", "nope"]),
        "scheduler": lambda: rng.choice(["tcp://127.0.0.1:1", "auto", "x"]),
        "run_dir": lambda: str(WORK / "never-written"),
    }
    for key in rng.sample(keys, rng.randint(0, len(keys))):
        if key in ("models", "protocol", "space"):
            continue
        name = key if rng.randrange(10) else key + rng.choice(["s", "_", "x"])
        value = good[key]() if key in good and rng.randrange(3) else toml_value(rng)
        lines.append(f"{_key(name)} = {_inline(value)}")
    if rng.randrange(2):
        protocol_keys = [*PROTOCOL_KEYS, "threshold", "clip "]
        body = {k: toml_value(rng) for k in rng.sample(protocol_keys, rng.randint(0, 3))}
        lines.append("[protocol]")
        lines += [f"{_key(k)} = {_inline(v)}" for k, v in body.items()]
    if kind == "compare":
        for _ in range(rng.randint(0, 3)):
            lines.append("[[models]]")
            if rng.randrange(8):
                name = rng.choice(MODELS) if rng.randrange(4) else toml_value(rng)
                lines.append(f"name = {_inline(name)}")
            for param in rng.sample(PARAMS, rng.randint(0, 3)):
                lines.append(f"{_key(param)} = {_inline(toml_value(rng))}")
    elif rng.randrange(4):
        lines.append("[space]")
        for param in rng.sample(PARAMS, rng.randint(0, 3)):
            value = rng.choice(SPACE) if rng.randrange(3) else toml_value(rng)
            lines.append(f"{_key(param)} = {_inline(value)}")
    return "\n".join(lines) + "\n"


@functools.cache
def _dataset(spec: str) -> Any:
    from workbench.api import load_dataset

    return load_dataset(spec)


def _fake_load(spec: Any = None) -> Any:
    """`load_dataset` for the fuzz: the small specs above are loaded once; any other value
    goes to the real loader only if it cannot name a large dataset."""
    from workbench.api import load_dataset

    if isinstance(spec, str) and spec in DATA:
        return _dataset(spec)
    if spec is None:
        return _dataset(DATA[0])
    if isinstance(spec, str) and spec.split(" ", 1)[0] in ("synthetic", "movielens", "netflix"):
        return _dataset(DATA[0])  # mutated sizes: never a large synthetic set
    return load_dataset(spec)


def compare_file_case(path: Path) -> None:
    """What `workbench compare --config PATH` reads and checks before its first task."""
    from workbench.cli.compare_cmd import _model_items
    from workbench.cli.workflow import backend_of, build_exporters, config_value, located
    from workbench.experiments.config import load_experiment
    from workbench.experiments.resolve import resolve_metrics, resolve_protocol, resolve_splitter

    doc = load_experiment(path, kind="compare")
    folder = config_value(doc, "run_dir", None)
    if folder is not None:
        Path(folder)
    int(config_value(doc, "jobs", None, 1))
    backend_of(doc, None, None)
    located(doc, ("exporters",), lambda: build_exporters(config_value(doc, "exporters", None)))
    seed = int(config_value(doc, "seed", None, 0))
    dataset = located(doc, ("data",), lambda: _fake_load(config_value(doc, "data", None)))
    _model_items(doc, [], False, dataset, True)
    specs = config_value(doc, "metrics", None, None)
    located(doc, ("metrics",), lambda: resolve_metrics(specs, dataset))
    resolve_protocol(dict(config_value(doc, "protocol", None, {}) or {}), seed)
    split = config_value(doc, "split", None)
    located(doc, ("split",), lambda: resolve_splitter(split, seed, role="folds"))


def tune_file_case(path: Path) -> None:
    """What `workbench tune --config PATH` reads and checks before its first trial."""
    from workbench.cli.workflow import backend_of, config_value, located
    from workbench.experiments.config import load_experiment
    from workbench.experiments.resolve import resolve_metrics, resolve_models, resolve_protocol
    from workbench.search.space import parse_space

    doc = load_experiment(path, kind="tune")
    int(config_value(doc, "jobs", None, 1))
    backend_of(doc, None, None)
    model = config_value(doc, "model", None)
    if model is not None:
        located(doc, ("model",), lambda: resolve_models([model]))
    space = config_value(doc, "space", None)
    if space:
        located(doc, ("space",), lambda: parse_space(space))
    int(config_value(doc, "n_iter", None, 10))
    seed = int(config_value(doc, "seed", None, 0))
    dataset = located(doc, ("data",), lambda: _fake_load(config_value(doc, "data", None)))
    metric = config_value(doc, "metric", None)
    specs = None if metric is None else [metric]
    located(doc, ("metric",), lambda: resolve_metrics(specs, dataset))
    resolve_protocol(config_value(doc, "protocol", None), seed)


def toml_case(rng: random.Random, i: int) -> None:
    kind = rng.choice(["compare", "tune"])
    data = toml_text(rng, kind).encode("utf-8")
    if not rng.randrange(4):
        data = mutate(data, rng)
    path = WORK / f"case-{i % 50}.toml"
    path.write_bytes(data)
    (compare_file_case if kind == "compare" else tune_file_case)(path)


def test_fuzz_toml_experiment_files(fresh_plugins):
    counts = _run_cases("toml", toml_case)
    assert counts["accepted"] and counts["refused"]  # the generator reaches both outcomes


# -- the --history file of recommend -------------------------------------------------------------
SEPS = [",", "\t", ";", "|", " ", "::"]
ODD = ["", " ", "nan", "inf", "-1", "1e400", "0.5", "5.5", "٣", "x", '"4,5"', "\u0000", "9" * 30]


@functools.cache
def _models() -> dict[str, Any]:
    from workbench.api import load_dataset, make_model

    spec = "synthetic n_users=60 n_items=40 n_interactions=900 seed=3"
    explicit, implicit = load_dataset(spec), load_dataset(spec + " kind=implicit")
    return {
        "sgd": make_model("sgd", n_epochs=2, n_factors=8).fit(explicit),
        "ials": make_model("ials", n_iterations=2, n_factors=8).fit(implicit),
    }


def history_text(rng: random.Random) -> bytes:
    width = rng.choice([3, 3, 2, 4, 1])
    lines = []
    if rng.randrange(2):
        lines.append(rng.choice(SEPS[:3]).join(["user", "item", "rating", "timestamp"][:width]))
    sep = rng.choice(SEPS)
    noise = rng.choice([0, 0, 10, 3])
    for _ in range(rng.randint(0, 12)):
        fields = [
            str(rng.randint(900, 903)),
            str(rng.randint(1, 45)),
            str(rng.randint(1, 5)),
            str(rng.randint(10**8, 10**9)),
        ][: width if rng.randrange(15) else rng.randint(0, 5)]
        if noise:
            fields = [rng.choice(ODD) if not rng.randrange(noise) else f for f in fields]
        lines.append(sep.join(fields))
    text = rng.choice(["\n", "\r\n"]).join(lines) + ("\n" if rng.randrange(2) else "")
    data = text.encode(rng.choice(["utf-8", "utf-8-sig", "latin-1"]), errors="replace")
    return mutate(data, rng) if not rng.randrange(4) else data


HISTORY_OPTIONS = {
    "sep": [",", "tab", ";", "x", "whitespace"],
    "header": ["true", "false", "maybe"],
    "kind": ["explicit", "implicit", "auto", "x"],
    "duplicates": ["error", "last", "mean", "x"],
    "rating_scale": ["1-5", "auto", "5-1", "x"],
    "string_ids": ["true", "false"],
    "nonsense": ["1"],
}


def history_case(rng: random.Random, i: int) -> None:
    from workbench.api import recommend_new_users
    from workbench.experiments.loading import read_file

    path = WORK / f"history-{i % 50}.csv"
    path.write_bytes(history_text(rng))
    options = {}
    if not rng.randrange(3):
        for key in rng.sample(sorted(HISTORY_OPTIONS), rng.randint(1, 2)):
            options[key] = rng.choice(HISTORY_OPTIONS[key])
    model = _models()[rng.choice(["sgd", "ials"])]
    frame = recommend_new_users(model, read_file(path, **options), rng.randint(1, 12))
    assert set(frame.columns) >= {"user", "rank", "item", "score"}


def test_fuzz_history_files():
    counts = _run_cases("history", history_case)
    assert counts["accepted"] and counts["refused"]


# -- what the fuzz found -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "line",
    [
        'clip = "no"',
        'exclude_seen = "false"',
        'relevance_threshold = "high"',
        "relevance_threshold = [4]",
        'negatives = "many"',
        "negatives = 2.5",
        'seed = "x"',
        "seed = -1",
        "clip = {a = 1}",
    ],
)
def test_protocol_values_of_the_wrong_type_are_one_line_errors(tmp_path: Path, line: str):
    """Before, a string was taken as true (clip, exclude_seen) or raised a TypeError."""
    path = tmp_path / "experiment.toml"
    path.write_text(f'data = "{DATA[0]}"\n[[models]]\nname = "biases"\n[protocol]\n{line}\n')
    key = line.split(" ", 1)[0]
    with pytest.raises(WorkbenchError, match=rf"line \d+: protocol: '{key}' must be "):
        compare_file_case(path)


def test_a_history_id_beyond_int64_is_a_one_line_error_or_unknown(tmp_path: Path):
    """Before: OverflowError from IdMap.index_of (history fuzz case 2439)."""
    from workbench.api import recommend_new_users
    from workbench.experiments.loading import read_file

    path = tmp_path / "history.csv"
    path.write_text("900\t9\n900\t999999999999999999999999999999\n900\t12\n")
    model = _models()["sgd"]
    try:
        frame = recommend_new_users(model, read_file(path), 5)
    except WorkbenchError as exc:
        assert "\n" not in str(exc)
    else:
        assert len(frame) == 5
    assert model.items_.index_of(["999999999999999999999999999999"], missing="minus1")[0] == -1
