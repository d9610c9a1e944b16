"""The batch-wise read (workbench_datasets.batchwise) gives exactly what the whole-file read
gives: the same arrays, id maps and their dtypes, duplicate handling, metadata, provenance
and fingerprint, or the same one-line error. Batches are made tiny here (a few rows or
bytes each), so ids first appear in later batches and columns span many blocks."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import workbench_datasets.columnbuffer as columnbuffer
import workbench_datasets.numeric_text as numeric_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workbench_datasets import batchwise, table
from workbench_datasets.idcodes import IdCodes

import workbench.fileio.textfile as textfile
from workbench.data import IdMap, Interactions
from workbench.errors import WorkbenchError
from workbench.fileio.files import resolve_path


@pytest.fixture(autouse=True, params=["numeric", "pyarrow"])
def tiny_batches(request, monkeypatch):
    """Tiny batches, text parsed by the compiled numeric reader where it applies, or always
    by pyarrow's (both must give the whole-file read's result)."""
    if request.param == "pyarrow":
        monkeypatch.setattr(numeric_text, "applies", lambda layout: False)
    else:
        monkeypatch.setattr(numeric_text, "MIN_BYTES", 0)
    monkeypatch.setattr(textfile, "BATCH_BYTES", 40)
    monkeypatch.setattr(batchwise, "BATCH_ROWS", 3)
    monkeypatch.setattr(columnbuffer, "FIRST_BLOCK_ROWS", 2)
    monkeypatch.setattr(columnbuffer, "MAX_BLOCK_ROWS", 8)


def assert_same(a: Interactions, b: Interactions) -> None:
    for name in ("user", "item", "value", "timestamp"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.dtype == y.dtype, name
            np.testing.assert_array_equal(x, y, err_msg=name)
    for ma, mb in ((a.users, b.users), (a.items, b.items)):
        assert ma == mb
        assert ma._index.dtype == mb._index.dtype
        assert ma.ids.dtype == mb.ids.dtype
        assert [type(v) for v in ma._index[:5]] == [type(v) for v in mb._index[:5]]
    assert (a.kind, a.rating_scale, a.name) == (b.kind, b.rating_scale, b.name)
    assert a.meta == b.meta
    assert a.provenance == b.provenance
    assert a.fingerprint() == b.fingerprint()
    if a.item_metadata is None:
        assert b.item_metadata is None
    else:
        pd.testing.assert_frame_equal(a.item_metadata, b.item_metadata)


def both(path: Path, strict: bool = True, **options: Any) -> tuple[Any, Any]:
    """(batch-wise result or error text, whole-file result or error text)."""
    ref = resolve_path(str(path))
    out = []
    for read in (batchwise_only if strict else table.load_table, whole_only):
        try:
            out.append(read(ref, **options))
        except WorkbenchError as exc:
            out.append(f"{type(exc).__name__}: {exc}")
    return out[0], out[1]


def batchwise_only(ref: Any, **options: Any) -> Interactions:
    """`load_table` that must take the batch-wise path."""
    data, layout, found = batchwise.read_batchwise(ref, batchwise.TableOptions(**options))
    return table._finish(data, layout, found, ref)


def whole_only(ref: Any, **options: Any) -> Interactions:
    """`load_table` reading the whole file at once."""
    return table.read_whole(ref, batchwise.TableOptions(**options))


def check(path: Path, strict: bool = True, **options: Any) -> Any:
    a, b = both(path, strict, **options)
    if isinstance(b, str):
        assert a == b
    else:
        assert not isinstance(a, str), a
        assert_same(a, b)
    return b


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def frame_csv(path: Path, frame: pd.DataFrame, **kw: Any) -> Path:
    frame.to_csv(path, index=False, **kw)
    return path


def test_integer_ids_that_first_appear_in_later_batches(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({
        "userId": np.arange(n) // 2 + 7, "movieId": rng.permutation(n) * 3 + 1,
        "rating": rng.integers(1, 11, n) / 2, "timestamp": rng.integers(0, 10**9, n),
    })  # fmt: skip
    data = check(frame_csv(tmp_path / "r.csv", frame))
    assert data.n_users == 150 and data.users.ids.dtype == np.int64
    check(frame_csv(tmp_path / "r.tsv", frame, sep="\t", header=False), header=False)
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "r.parquet", row_group_size=7)
    check(tmp_path / "r.parquet")


def test_text_ids_unicode_and_leading_zeros(tmp_path: Path) -> None:
    users = ["u10", "u2", "ü", "007", "u10", "Zoë", "a b", "u2", "x,y"] * 5
    items = [f"i{k % 7:03d}" for k in range(len(users))]
    frame = pd.DataFrame({"user": users, "item": items, "rating": [3.5] * len(users)})
    frame["item"] = frame["item"] + np.where(np.arange(len(users)) % 2, "", "!")
    data = check(frame_csv(tmp_path / "t.csv", frame), duplicates="last")
    assert data.users.is_string
    digits = pd.DataFrame({"user": ["007", "7", "0007"] * 4, "item": list(range(12))})
    digits["rating"] = 4
    kept = check(frame_csv(tmp_path / "d.csv", digits), string_ids=True)
    assert list(kept.users.ids) == ["0007", "007", "7"]
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "t.parquet", row_group_size=4)
    check(tmp_path / "t.parquet", duplicates="last")
    check(tmp_path / "t.parquet", duplicates="last", string_ids=True)
    table_ = pa.table({"user": pa.array(users, pa.large_string()), "item": items})
    pq.write_table(table_, tmp_path / "large.parquet")
    check(tmp_path / "large.parquet", duplicates="sum")


def test_ids_beyond_32_and_64_bits(tmp_path: Path) -> None:
    # small ids first, then ids beyond int32: the kept raw ids become codes mid-way
    users = [1, 2, 3, 1, 2, 10**12, 5, 10**12 + 1, 1, -(2**40)]
    rows = "\n".join(f"{u},{k},4" for k, u in enumerate(users))
    data = check(write(tmp_path / "wide.csv", rows + "\n"), header=False)
    assert data.users.ids.dtype == np.int64 and 10**12 in data.users.ids
    # sparse ids within 32 bits: ranks without a presence table
    sparse = "\n".join(f"{(k * 7919) % 13 * 10**8},{k % 3},1" for k in range(40))
    check(write(tmp_path / "sparse.csv", sparse + "\n"), header=False, kind="implicit")
    # beyond int64: the whole-file read keeps them as text (the batch-wise read declines)
    big = "\n".join(f"{2**64 - k},{k},3" for k in range(1, 9))
    path = write(tmp_path / "big.csv", big + "\n")
    data = check(path, strict=False, header=False)
    assert data.users.is_string
    with pytest.raises(batchwise.NotBatchable):
        batchwise.read_batchwise(resolve_path(str(path)), batchwise.TableOptions(header=False))


@pytest.mark.parametrize("policy", ["last", "first", "mean", "sum", "error"])
def test_duplicates_every_policy(tmp_path: Path, policy: str) -> None:
    rows = ["user,item,rating,timestamp"]
    rng = np.random.default_rng(3)
    for k in range(60):
        rows.append(f"{rng.integers(1, 6)},{rng.integers(1, 4)},{rng.integers(1, 6)},{k}")
    path = write(tmp_path / "dup.csv", "\n".join(rows) + "\n")
    a, b = both(path, policy != "error", duplicates=policy)  # an error: the whole read words it
    if policy == "error":
        assert isinstance(b, str) and "line" in b and a == b
        return
    assert_same(a, b)
    assert a.meta["duplicates_merged"] > 0 and "line" in a.meta["first_duplicate"]


@pytest.mark.parametrize("policy", ["mean", "sum"])
def test_merged_values_not_exact_in_float32(tmp_path: Path, policy: str) -> None:
    rows = [f"{k % 4},{k % 3},{0.1 * (k + 1):.17g}" for k in range(30)]
    check(write(tmp_path / "w.csv", "\n".join(rows) + "\n"), header=False, duplicates=policy)
    check(write(tmp_path / "i.csv", "u,i,weight\n" + "\n".join(rows) + "\n"), duplicates=policy)


def test_implicit_with_and_without_weights(tmp_path: Path) -> None:
    rows = "\n".join(f"{k % 5}\t{k % 7}\t{k % 4}" for k in range(50))
    check(write(tmp_path / "plays.tsv", "user\titem\tplays\n" + rows + "\n"))
    check(write(tmp_path / "clicks.tsv", rows + "\n"), header=False, kind="implicit")


def test_separators_compression_and_encodings(tmp_path: Path) -> None:
    lines = [f"{k % 9}::{k % 11}::{k % 5 + 1}::{978300760 + k}" for k in range(80)]
    check(write(tmp_path / "ratings.dat", "\n".join(lines) + "\n"), sep="::")
    gz = tmp_path / "ratings.dat.gz"
    gz.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    check(gz, sep="::")
    spaced = "\n".join(f"  {k % 9}   {k % 11}\t{k % 5 + 1} " for k in range(80))
    check(write(tmp_path / "ws.txt", spaced + "\n"), sep="whitespace", header=False)
    latin = "user;item;rating\n" + "\n".join(f"caf\xe9{k % 3};{k};4" for k in range(30))
    (tmp_path / "latin.csv").write_bytes(latin.encode("latin-1"))
    data = check(tmp_path / "latin.csv")
    assert "café0" in list(data.users.ids)
    crlf = "user,item,rating\r\n" + "".join(f"{k % 4},{k},2\r\n" for k in range(25))
    (tmp_path / "crlf.csv").write_bytes(crlf.encode())
    check(tmp_path / "crlf.csv")


def test_quoted_values(tmp_path: Path) -> None:
    rows = "\n".join(f'"user {k % 3}","item, {k % 5}",{k % 5 + 1}' for k in range(30))
    check(write(tmp_path / "q.csv", '"user","item","rating"\n' + rows + "\n"))
    spans = write(tmp_path / "span.csv", 'user,item,rating\n"a\nb",1,3\n' + "c,2,4\n" * 30)
    check(spans, strict=False)


def test_problems_give_the_whole_read_error(tmp_path: Path) -> None:
    cases = {
        "missing_id.csv": "user,item,rating\n1,2,3\n" * 20 + ",4,5\n",
        "nan.csv": "user,item,rating\n1,2,3\n" * 20 + "2,4,nan\n",
        "text_rating.csv": "user,item,rating\n1,2,3\n" * 20 + "2,4,good\n",
        "late_text_id.csv": "user,item,rating\n" + "1,2,3\n" * 20 + "bob,4,5\n",
        "fields.csv": "user,item,rating\n1,2,3\n" * 20 + "2,4\n",
        "inf.csv": "user,item,rating\n1,2,3\n" * 20 + "2,4,inf\n",
        "huge.csv": "user,item,rating\n1,2,3\n" * 20 + "2,4,1e39\n",
        "header_only.csv": "user,item,rating\n",
        "empty_id.csv": 'user,item,rating\n"a",1,3\n' * 20 + '" ",4,5\n',
    }
    for name, text in cases.items():  # errors, or (late_text_id) text ids after all
        check(write(tmp_path / name, text), strict=False, duplicates="sum")
    a, b = both(tmp_path / "nan.csv", strict=False, rating_scale=(1, 5))
    assert a == b
    weights = write(tmp_path / "neg.csv", "user,item,weight\n1,2,3\n" * 5 + "2,4,-1\n")
    assert len({*both(weights, strict=False)}) == 1


def test_parquet_types_and_missing_values(tmp_path: Path) -> None:
    n = 40
    t = pa.table({
        "user": pa.array(np.arange(n) % 7, pa.int32()),
        "item": pa.array(np.arange(n) % 11, pa.uint16()),
        "rating": pa.array(np.arange(n) % 5 + 1, pa.float32()),
        "time": pa.array(np.arange(n) * 86_400_123, pa.timestamp("ms", tz="Europe/Paris")),
    })  # fmt: skip
    pq.write_table(t, tmp_path / "typed.parquet", row_group_size=6)
    check(tmp_path / "typed.parquet", roles={"timestamp": "time"})
    dated = t.set_column(3, "day", pa.array([19_000 + k for k in range(n)], pa.date32()))
    pq.write_table(dated, tmp_path / "dated.parquet", row_group_size=6)
    check(tmp_path / "dated.parquet", roles={"timestamp": "day"})
    holes = t.set_column(2, "rating", pa.array([None] + [3.0] * (n - 1), pa.float64()))
    pq.write_table(holes, tmp_path / "holes.parquet")
    a, b = both(tmp_path / "holes.parquet", strict=False, roles={"timestamp": "time"})
    assert isinstance(b, str) and a == b


def test_item_metadata_and_provenance_through_load_dataset(tmp_path: Path, monkeypatch) -> None:
    from workbench.experiments.loading import load_dataset

    path = write(tmp_path / "r.csv", "user,item,rating\n" + "".join(
        f"{k % 6},{k % 9},{k % 5 + 1}\n" for k in range(40)))  # fmt: skip
    meta = pd.DataFrame({"title": ["a", "b"], "genres": ["x", "y"]}, index=["3", "4"])
    ref = resolve_path(str(path))
    assert_same(batchwise_only(ref, item_metadata=meta), whole_only(ref, item_metadata=meta))
    whole = load_dataset({"name": "tabular", "path": str(path)})

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the whole-file read was used")

    monkeypatch.setattr(table, "read_whole", refuse)
    assert_same(load_dataset({"name": "tabular", "path": str(path)}), whole)


def test_id_codes_match_factorize() -> None:
    rng = np.random.default_rng(5)
    for ids in (
        rng.integers(0, 50, 500),
        rng.integers(-(10**15), 10**15, 300),
        np.concatenate([rng.integers(0, 9, 100), rng.integers(2**40, 2**40 + 5, 100)]),
        rng.choice(np.arange(0, 10**9, 10**7), 400),
    ):
        codes = IdCodes()
        for start in range(0, len(ids), 37):
            codes.add_ints(ids[start : start + 37])
        got_map, got, at = codes.finish()
        want_map, want = IdMap.factorize(ids)
        assert got_map == want_map and got.dtype == np.int32
        np.testing.assert_array_equal(got, want)
        assert str(at(got[0])) == str(ids[0])


ID = st.one_of(
    st.integers(-5, 40),
    st.integers(-(2**63), 2**63 - 1),
    st.text("ab ü,\"'", min_size=0, max_size=3),
)
VALUE = st.one_of(
    st.integers(0, 5),
    st.floats(-1e3, 1e3, allow_nan=False),
    st.sampled_from(["", "nan", "x", "1e39"]),
)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@given(
    rows=st.lists(st.tuples(ID, ID, VALUE, st.integers(0, 2**40)), min_size=1, max_size=40),
    policy=st.sampled_from(["last", "first", "mean", "sum", "error"]),
    parquet=st.booleans(),
    string_ids=st.booleans(),
)
def test_fuzz_batchwise_equals_whole_read(
    tmp_path_factory, rows, policy: str, parquet: bool, string_ids: bool
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    frame = pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp"])
    if parquet:
        for col in ("user", "item", "rating"):
            frame[col] = frame[col].astype(str)
        path = folder / "f.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=4)
    else:
        path = frame_csv(folder / "f.csv", frame)
    a, b = both(path, strict=False, duplicates=policy, string_ids=string_ids)
    if isinstance(b, str):
        assert a == b
    else:
        assert_same(a, b)


def test_column_buffer_blocks_parts_and_finish() -> None:
    rng = np.random.default_rng(7)
    for expect in (0, 5, 40, 1000):
        buffer = columnbuffer.ColumnBuffer(np.int32, expect=expect)
        batches = [rng.integers(-50, 50, int(rng.integers(0, 9))) for _ in range(12)]
        for batch in batches:
            buffer.append(batch)
        whole = np.concatenate(batches).astype(np.int32)
        assert len(buffer) == len(whole)
        np.testing.assert_array_equal(np.concatenate(list(buffer.parts())), whole)
        for part in buffer.parts():  # edits in place reach the result
            part *= 2
        out = buffer.finish()
        assert out.dtype == np.int32 and out.flags.owndata
        np.testing.assert_array_equal(out, whole * 2)
        assert len(buffer) == 0 and len(buffer.finish()) == 0


def test_column_buffer_faults_large_blocks_in_first_and_keeps_every_value(monkeypatch) -> None:
    """Blocks and copies of `TOUCH_ROWS` rows or more have their pages faulted in on the
    threads first (a whole first block sized from ``expect``, else each copy's slice):
    every value still arrives, and the page-touching kernel writes only a zero per page."""
    from workbench_datasets._memory_kernels import PAGE, touch_pages

    raw = np.full(5 * PAGE + 7, 9, dtype=np.uint8)
    touch_pages(raw)
    assert (raw[::PAGE] == 0).all() and (np.delete(raw, np.arange(0, len(raw), PAGE)) == 9).all()
    monkeypatch.setattr(columnbuffer, "FIRST_BLOCK_ROWS", 64)
    monkeypatch.setattr(columnbuffer, "MAX_BLOCK_ROWS", 1 << 20)
    touches: list[int] = []
    monkeypatch.setattr(columnbuffer, "touched", lambda part: touches.append(len(part)) or part)
    rng = np.random.default_rng(3)
    batches = [rng.normal(size=int(n)) for n in (100, 30, 100, 0, 250)]
    whole = np.concatenate(batches).astype(np.float32)
    # what `touched` is given (it faults in those of TOUCH_ROWS rows or more)
    for expect, touched in ((480, [480]), (0, [100, 30, 100, 70, 180]), (200, [200, 30, 250])):
        touches.clear()
        buffer = columnbuffer.ColumnBuffer(np.float32, expect=expect)
        for batch in batches:
            buffer.append(batch)
        assert touches == touched, expect
        np.testing.assert_array_equal(buffer.finish(), whole)


def test_batches_of_many_parsed_blocks(tmp_path: Path, monkeypatch) -> None:
    # each batch holds several of pyarrow's blocks (chunked columns taken chunk by chunk)
    monkeypatch.setattr(textfile, "PARSE_BLOCK_BYTES", 64)
    monkeypatch.setattr(textfile, "BATCH_BYTES", 700)
    rng = np.random.default_rng(11)
    lines = [f"{rng.integers(0, 40)},i{rng.integers(0, 25)},{rng.integers(1, 6)},{k}"
             for k in range(400)]  # fmt: skip
    path = write(tmp_path / "blocks.csv", "user,item,rating,timestamp\n" + "\n".join(lines))
    data = check(path, duplicates="mean")
    assert data.items.is_string and not data.users.is_string
