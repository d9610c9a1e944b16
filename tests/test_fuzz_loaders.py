"""Property-based fuzzing of the loaders (issue 10): the tabular reader, the Netflix reader
and the model-file loader, over generated and mutated inputs. Every input either loads into
consistent data (a usable model) or raises the workbench's own one-line error; never any
other exception.

CI runs a bounded number of examples per target. The long run (see docs/datasets.md,
"Fuzzing") sets ``WORKBENCH_FUZZ_EXAMPLES``::

    WORKBENCH_FUZZ_EXAMPLES=100000 .venv/bin/python -m pytest tests/test_fuzz_loaders.py \\
        -p no:xdist -p no:cacheprovider -q -s

and prints, per target, how many cases ran and how many loaded or were refused.
"""

from __future__ import annotations

import datetime
import gzip
import io
import json
import math
import os
import random
import re
import tempfile
import warnings
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.errors import ModelFileError, WorkbenchError

EXAMPLES = int(os.environ.get("WORKBENCH_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    derandomize=EXAMPLES <= 200,  # CI: the same cases every run
)
#: Cases run and their outcome, per target (printed at the end of the module).
TALLY: dict[str, Counter[str]] = {}
WORK = Path(tempfile.mkdtemp(prefix="workbench-fuzz-"))


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    for target, counts in TALLY.items():
        total = sum(counts.values())
        shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        print(f"\nfuzz {target}: {total} cases ({shown})")


#: Long runs: the tallies are also written here (every 100 cases), so a run stopped by a
#: time limit still tells exactly how many cases passed.
TALLY_FILE = os.environ.get("WORKBENCH_FUZZ_TALLY")


def _flush(target: str, counts: Counter[str]) -> None:
    if TALLY_FILE and sum(counts.values()) % 100 == 0:
        line = f"{target} {sum(counts.values())} " + json.dumps(dict(counts))
        Path(f"{TALLY_FILE}.{target}").write_text(line + "\n")


def outcome(target: str, load: Any) -> Any:
    """Run ``load()``: a result, or a one-line WorkbenchError; anything else fails."""
    counts = TALLY.setdefault(target, Counter())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = load()
    except WorkbenchError as exc:
        message = str(exc)
        assert message and "\n" not in message, f"not one line: {message!r}"
        assert "Traceback" not in message
        counts["refused"] += 1
        _flush(target, counts)
        return None
    counts["loaded"] += 1
    _flush(target, counts)
    return result


def mutate(data: bytes, draw: Any) -> bytes:
    """A few random byte-level edits: flip, insert, delete, duplicate, truncate."""
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "dup", "truncate"]))
        n = len(data)
        at = draw(st.integers(0, max(n - 1, 0)))
        if op == "flip" and n:
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
        elif op == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        elif op == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 16)) :]
        elif op == "dup":
            data = data[:at] + data[at : at + draw(st.integers(1, 40))] + data[at:]
        elif op == "truncate":
            data = data[:at]
    return data


# -- the tabular reader -------------------------------------------------------------------------
# Bulk content comes from a seeded `random.Random` (hypothesis draws the seed and the shape):
# drawing every field through hypothesis made generation 3x slower than loading.
SEPS = [",", "\t", "::", ";", "|", " "]
SPECIALS = ["", " ", "nan", "NA", "inf", "-inf", "Infinity", "1e400", "1e39", "0x10", "1_000"]
SPECIALS += ["٣", "2005-01-01", "2005-13-45", "1999-12-31T23:59:59Z", '"quoted, field"']
IDS = ["u1", "u2", "007", "a b", "9223372036854775808", "-3", "1.0", "1.5", "18446744073709551616"]
RATINGS = ["0.5", "4.5", "3.0", "17", "-1", "5e0"]


def noise_field(rng: random.Random) -> str:
    """An arbitrary field: numbers of every size, specials, dates, odd text."""
    kind = rng.randrange(6)
    if kind == 0:
        return str(rng.randint(-5, 2000))
    if kind == 1:
        return str(rng.randint(-(2**70), 2**70))
    if kind == 2:
        return repr(rng.choice([rng.uniform(-1e6, 1e6), math.nan, math.inf, -math.inf]))
    if kind == 3:
        return rng.choice(SPECIALS)
    if kind == 4:
        return repr(rng.uniform(-1, 1) * 10.0 ** rng.randint(-300, 308))
    codes = [rng.choice([rng.randint(32, 126), rng.randint(0x80, 0x2FF), 0, 9, 0xFEFF, 0x4E00])]
    return "".join(chr(c) for c in codes * rng.randint(0, 4))


def typed_field(rng: random.Random, column: int) -> str:
    if column in (0, 1):
        return str(rng.randint(0, 30)) if rng.randrange(8) else rng.choice(IDS)
    if column in (2, 4):
        return str(rng.randint(1, 5)) if rng.randrange(8) else rng.choice(RATINGS)
    return str(rng.randint(8 * 10**8, 10**9)) if rng.randrange(8) else "2005-01-01"


@st.composite
def table_case(draw: Any) -> tuple[bytes, dict[str, Any]]:
    """A delimited file (mostly well-formed, sometimes noisy or mutated) and its options."""
    rng = random.Random(draw(st.integers(0, 2**64 - 1)))
    sep = draw(st.sampled_from(SEPS))
    width = draw(st.sampled_from([3, 3, 4, 4, 2, 1, 5]))
    lines = []
    if draw(st.booleans()):
        names = ["user", "item", "rating", "timestamp", "weight", "fold", "x"]
        if not rng.randrange(4):
            rng.shuffle(names)
        lines.append(sep.join(names[:width]))
    noise = draw(st.sampled_from([0, 0, 20, 5, 2]))  # 1 in N fields is arbitrary (0: none)
    for _ in range(draw(st.integers(0, 25))):
        n = width if rng.randrange(20) else rng.randint(0, 6)
        fields = [
            noise_field(rng) if noise and not rng.randrange(noise) else typed_field(rng, j % 5)
            for j in range(n)
        ]
        lines.append(sep.join(fields))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    text = end.join(lines) + (end if draw(st.booleans()) else "")
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    if not draw(st.integers(0, 3)):
        data = mutate(data, draw)
    wrap = draw(st.sampled_from(["plain", "plain", "gzip", "zip"]))
    if wrap == "gzip":
        data = gzip.compress(data)
        if not draw(st.integers(0, 3)):
            data = data[: draw(st.integers(0, len(data)))]
    elif wrap == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            zf.writestr("ratings.csv", data)
        data = buffer.getvalue()
    options: dict[str, Any] = {}
    if draw(st.booleans()):
        options = draw(TABULAR_OPTIONS)
        if "sep" in options and draw(st.integers(0, 3)):
            options["sep"] = sep
    return data, options


TABULAR_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "sep": st.sampled_from(["tab", ",", "::", ";", "|", "space", "whitespace", "x"]),
        "header": st.booleans(),
        "kind": st.sampled_from(["auto", "explicit", "implicit"]),
        "duplicates": st.sampled_from(["error", "last", "first", "mean", "sum"]),
        "string_ids": st.booleans(),
        "rating_scale": st.sampled_from(["1-5", "0.5-5", "auto"]),
        "user": st.sampled_from([0, 1, "user", "missing"]),
        "rating": st.sampled_from([2, "rating", "-"]),
        "weight": st.sampled_from([2, "weight"]),
        "timestamp": st.sampled_from([3, "timestamp", "-"]),
    },
)


def check_interactions(data: Any) -> None:
    from workbench.data import Interactions

    assert isinstance(data, Interactions) and len(data) > 0
    data._validate()
    assert len(data.users) == data.n_users and len(data.items) == data.n_items
    assert np.isfinite(data.value).all()
    if data.rating_scale is not None:
        lo, hi = data.rating_scale
        assert lo <= float(data.value.min()) and float(data.value.max()) <= hi


@FUZZ
@given(case=table_case())
def test_fuzz_tabular_reader(case: tuple[bytes, dict[str, Any]]) -> None:
    from workbench.experiments.loading import load_dataset

    content, options = case
    path = WORK / "ratings.csv"
    path.write_bytes(content)
    data = outcome("tabular", lambda: load_dataset("tabular", path=str(path), **options))
    if data is not None:
        check_interactions(data)


# -- the Netflix reader ------------------------------------------------------------------------
NETFLIX_NOISE = ["", " ", "1:2", ",,", "12,3", "MovieID:", "7,3,2005-01-01,extra", "7,,2005-01-01"]
NETFLIX_NOISE += [",3,2005-01-01", "7,3,", "-5,3,2005-01-01", "7,3,2005-02-30", "7,0,2005-01-01"]


def netflix_noise(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return f"{rng.randint(0, 2**66)}:"
    if kind == 1:
        day = datetime.date(1, 1, 1) + datetime.timedelta(days=rng.randint(0, 3_000_000))
        return f"{rng.randint(-5, 2**66)},{rng.randint(-1, 7)},{day.isoformat()}"
    if kind == 2:
        return rng.choice(NETFLIX_NOISE)
    return "".join(chr(rng.randint(0, 255)) for _ in range(rng.randint(0, 12)))


@st.composite
def netflix_bytes(draw: Any) -> bytes:
    rng = random.Random(draw(st.integers(0, 2**64 - 1)))
    lines = [f"{rng.randint(1, 20)}:"] if draw(st.integers(0, 5)) else []
    noise = draw(st.sampled_from([0, 0, 10, 3]))
    first = datetime.date(1998, 1, 1)
    for _ in range(draw(st.integers(0, 30))):
        if noise and not rng.randrange(noise):
            lines.append(netflix_noise(rng))
        elif not rng.randrange(8):
            lines.append(f"{rng.randint(1, 20)}:")
        else:
            day = first + datetime.timedelta(days=rng.randint(0, 3000))
            lines.append(f"{rng.randint(1, 40)},{rng.randint(1, 5)},{day.isoformat()}")
    end = draw(st.sampled_from(["\n", "\r\n"]))
    data = (end.join(lines) + (end if draw(st.booleans()) else "")).encode("latin-1")
    return mutate(data, draw) if not draw(st.integers(0, 3)) else data


@FUZZ
@given(files=st.lists(netflix_bytes(), min_size=1, max_size=3), dup=st.booleans())
def test_fuzz_netflix_reader(files: list[bytes], dup: bool) -> None:
    from workbench.experiments.loading import load_dataset

    folder = WORK / "netflix" / "training_set"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("mv_*.txt"):
        old.unlink()
    for k, content in enumerate(files, start=1):
        (folder / f"mv_{k:07d}.txt").write_bytes(content)
    options = {"duplicates": "error"} if dup else {}
    data = outcome(
        "netflix",
        lambda: load_dataset("netflix", path=str(folder.parent), titles=False, **options),
    )
    if data is not None:
        check_interactions(data)
        assert set(np.unique(data.value)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
        # every customer id is one written in the files (never a wrapped or made-up one)
        written = {int(m) for c in files for m in re.findall(rb"(?m)^\s*(\d+)\s*,", c)}
        assert set(data.users.ids.tolist()) <= written


# -- the model-file loader -----------------------------------------------------------------------
def _saved_models() -> list[tuple[str, dict[str, np.ndarray]]]:
    from workbench.plugins import get_registry
    from workbench.testing import low_rank_ratings

    data = low_rank_ratings(n_users=12, n_items=9, seed=1)
    out = []
    for spec in ({"name": "sgd", "n_factors": 3, "n_epochs": 2}, {"name": "popularity"}):
        params = {k: v for k, v in spec.items() if k != "name"}
        model = get_registry().create("model", spec["name"], **params).fit(data)
        path = model.save(WORK / f"base-{spec['name']}.npz")
        with np.load(path, allow_pickle=False) as npz:
            out.append((spec["name"], {k: npz[k] for k in npz.files}))
    return out


_BASES: list[tuple[str, dict[str, np.ndarray]]] = []


def bases() -> list[tuple[str, dict[str, np.ndarray]]]:
    if not _BASES:
        _BASES.extend(_saved_models())
    return _BASES


DTYPES = ["float32", "float64", "int32", "int64", "uint8", "bool", "complex64", "U3", "V4"]


@st.composite
def model_file(draw: Any) -> bytes:
    """A saved model with some arrays changed (valid CRCs), then maybe byte-level edits."""
    _, arrays = draw(st.sampled_from(bases()))
    arrays = dict(arrays)
    names = sorted(arrays)
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(names))
        if name not in arrays:
            continue
        arr = arrays[name]
        op = draw(st.sampled_from(["drop", "shrink", "grow", "dtype", "value", "reshape", "meta"]))
        if op == "drop":
            arrays.pop(name, None)
        elif op == "shrink" and arr.ndim and len(arr):
            arrays[name] = arr[: draw(st.integers(0, len(arr) - 1))]
        elif op == "grow" and arr.ndim:
            arrays[name] = np.concatenate([arr, arr[:1]]) if len(arr) else arr
        elif op == "dtype":
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    arrays[name] = arr.astype(draw(st.sampled_from(DTYPES)))
            except (ValueError, TypeError):
                pass
        elif op == "value" and arr.size and arr.dtype.kind in "iuf":
            flat = arr.astype(np.float64).ravel().copy()
            flat[draw(st.integers(0, flat.size - 1))] = draw(
                st.sampled_from([np.nan, np.inf, -1.0, 1e30, 2.0**40, -(2.0**40)])
            )
            try:
                with np.errstate(all="ignore"):
                    arrays[name] = flat.reshape(arr.shape).astype(arr.dtype)
            except (ValueError, OverflowError):
                pass
        elif op == "reshape" and arr.size:
            arrays[name] = arr.reshape(-1, 1) if arr.ndim == 1 else arr.ravel()
        elif op == "meta" and "__metadata__" in arrays:
            text = arrays["__metadata__"].tobytes()
            edited = mutate(text, draw)
            arrays["__metadata__"] = np.frombuffer(edited, dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    if draw(st.integers(0, 3)) == 0:
        data = mutate(data, draw)
    return data


@FUZZ
@given(content=model_file())
def test_fuzz_model_file_loader(content: bytes) -> None:
    from workbench.storage import load_model

    bases()  # fit the base models outside the measured case
    path = WORK / "fuzzed.npz"
    path.write_bytes(content)
    model = outcome("model-file", lambda: load_model(path))
    if model is None:
        return
    # a model that loads is usable: finite scores, recommendations within the item space
    users = np.arange(model.n_users_)
    scores = model.predict(users, np.zeros(len(users), dtype=np.int64))
    assert np.isfinite(scores).all()
    from workbench.api import recommend

    frame = recommend(model, model.users_.ids[:2].tolist(), 3)
    assert frame["item"].isin(model.items_.ids).all()


def test_the_fuzz_targets_refuse_with_model_file_errors() -> None:
    """The loader's own error type for a file that is not a model at all."""
    from workbench.storage import load_model

    path = WORK / "junk.npz"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelFileError):
        load_model(path)
