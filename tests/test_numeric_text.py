"""The compiled numeric text reader (`workbench_datasets.numeric_text`): known answers, correctly
rounded decimals, chunks cut anywhere, everything it must leave to pyarrow, and the loader
taking it for plain files with the whole-file read's result."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pytest
import workbench_datasets.numeric_text as numeric_text
from workbench_datasets import _numeric_text_kernels as kernels
from workbench_datasets import batchwise, table

import workbench.fileio.textfile as textfile
from workbench.fileio.files import resolve_path
from workbench.fileio.textfile import NotBatchable, sniff

KINDS = np.array([kernels.INTEGER, kernels.INTEGER, kernels.DECIMAL, kernels.INTEGER])
SLOTS = np.array([0, 1, 0, 2])


def parse(text: bytes, n_chunks: int = 1, kinds=KINDS, slots=SLOTS):
    buf = np.frombuffer(text, dtype=np.uint8)
    n_ints = int((kinds == kernels.INTEGER).sum())
    n_floats = int((kinds == kernels.DECIMAL).sum())
    capacity = buf.tobytes().count(b"\n") + 1
    ints, floats = np.empty((n_ints, capacity), np.int64), np.empty((n_floats, capacity))
    rows, bad = kernels.parse_block(buf, len(buf), ord(","), kinds, slots, ints, floats, n_chunks)
    return ints[:, :rows], floats[:, :rows], rows, bad


def test_too_small_buffers_are_asked_to_grow() -> None:
    buf = np.frombuffer(b"1,2,3,4\n5,6,7,8\n9,9,9,9\n", dtype=np.uint8)
    ints, floats = np.empty((3, 2), np.int64), np.empty((1, 2))
    assert kernels.parse_block(buf, len(buf), ord(","), KINDS, SLOTS, ints, floats, 2) == (3, -2)


def test_known_answers() -> None:
    ints, floats, rows, bad = parse(b"1,10,4.5,100\n-2,0,3,7\n\n007,5,1e1,-9\r\n3,4,.25,0")
    assert (rows, bad) == (4, -1)
    np.testing.assert_array_equal(ints, [[1, -2, 7, 3], [10, 0, 5, 4], [100, 7, -9, 0]])
    np.testing.assert_array_equal(floats, [[4.5, 3.0, 10.0, 0.25]])


def test_leading_zeros_do_not_count_as_significant_digits() -> None:
    """More digits than the limits, all but a few of them leading zeros (before or after
    the point): read, as pyarrow reads them; 16 significant digits behind zeros are not."""
    line = b"000000000000000000012,123456789012345678,0.0000000000000001234,-%s7\n" % (b"0" * 20)
    ints, floats, rows, bad = parse(line)
    assert (rows, bad) == (1, -1)
    np.testing.assert_array_equal(ints, [[12], [123456789012345678], [-7]])
    assert floats[0, 0] == float("0.0000000000000001234")
    theirs = pacsv.read_csv(io.BytesIO(b"a,b,c,d\n" + line)).column("c").to_numpy()
    np.testing.assert_array_equal(floats[0], theirs)
    for text in (b"0.1234567890123456", b"00001234567890123456", b"0.0000001234567890123456"):
        assert parse(b"1,2," + text + b",4\n")[3] >= 0
    assert parse(b"00001234567890123456789,2,3,4\n")[3] >= 0  # 19 significant in an id


def test_decimals_are_rounded_as_pyarrow_rounds() -> None:
    """Up to 15 significant digits, point anywhere, exponents: bit for bit what pyarrow's
    parser (and Python's float) gives."""
    rng = np.random.default_rng(0)
    texts = []
    for _ in range(3000):
        digits = "".join(map(str, rng.integers(0, 10, int(rng.integers(1, 16)))))
        point = int(rng.integers(0, len(digits) + 1))
        text = digits[:point] + "." + digits[point:] if rng.random() < 0.8 else digits
        if rng.random() < 0.3:
            text += f"e{int(rng.integers(-6, 7))}"
        texts.append(("-" if rng.random() < 0.3 else "") + text)
    texts = [t for t in texts if t.strip("-.")]
    body = "".join(f"1,2,{t},3\n" for t in texts).encode()
    _, floats, rows, bad = parse(body, n_chunks=5)
    assert (rows, bad) == (len(texts), -1)
    expected = np.array([float(t) for t in texts])
    np.testing.assert_array_equal(floats[0].view(np.int64), expected.view(np.int64))
    theirs = pacsv.read_csv(io.BytesIO(b"a,b,c,d\n" + body)).column("c").to_numpy()
    np.testing.assert_array_equal(floats[0], theirs)


def test_chunks_cut_anywhere_give_the_same_rows() -> None:
    rng = np.random.default_rng(1)
    lines = [
        f"{rng.integers(-99, 99)},{rng.integers(0, 9)},{rng.random():.3f},{k}" for k in range(500)
    ]
    text = "\n".join(line + ("\r" if k % 7 == 0 else "") + ("\n" if k % 11 == 0 else "")
                     for k, line in enumerate(lines))  # fmt: skip
    ints1, floats1, rows1, _ = parse(text.encode(), n_chunks=1)
    assert rows1 == 500
    for n_chunks in (2, 3, 16, 64, 700):
        ints, floats, rows, bad = parse(text.encode(), n_chunks=n_chunks)
        assert (rows, bad) == (500, -1)
        np.testing.assert_array_equal(ints, ints1)
        np.testing.assert_array_equal(floats, floats1)


def test_skipped_columns_may_hold_anything_but_quotes() -> None:
    kinds = np.array([kernels.INTEGER, kernels.SKIP, kernels.DECIMAL])
    slots = np.array([0, 0, 0])
    ints, floats, rows, bad = parse(b"1,Toy Story (1995),4\n2,,3.5\n", kinds=kinds, slots=slots)
    assert (rows, bad) == (2, -1)
    np.testing.assert_array_equal(ints, [[1, 2]])
    assert parse(b'1,"a,b",4\n', kinds=kinds, slots=slots)[3] >= 0


@pytest.mark.parametrize(
    "line",
    [
        b'"1",2,3,4',  # quotes
        b"+1,2,3,4",  # a plus sign
        b" 1,2,3,4",  # spaces (pyarrow trims them)
        b"0x10,2,3,4",  # hex (pyarrow reads it)
        b"1,2,nan,4",
        b"1,2,,4",  # a missing value
        b"1,2,3",  # too few fields
        b"1,2,3,4,5",  # too many
        b"1.0,2,3,4",  # a decimal in an integer column
        b"1e2,2,3,4",  # an exponent in an integer column
        b"1,2,3,4\r5,6,7,8",  # a lone CR (a line break to pyarrow)
        b"1,2,1234567890123456,4",  # 16 significant digits
        b"1,2,1e23,4",  # beyond the exact powers of ten
        b"1,2,1e,4",
        b"1,2,-,4",
        b"1234567890123456789,2,3,4",  # 19 digits
    ],
)
def test_what_is_left_to_pyarrow(line: bytes) -> None:
    *_, bad = parse(b"1,2,3,4\n" + line + b"\n")
    assert bad >= 0


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_the_loader_takes_plain_files_with_the_whole_read_result(tmp_path: Path, monkeypatch):
    rng = np.random.default_rng(2)
    lines = [f"{rng.integers(0, 300)}\t{rng.integers(5, 90)}\t{rng.integers(1, 11) / 2}\t{k}"
             for k in range(3000)]  # fmt: skip
    path = write(tmp_path / "r.tsv", "user\titem\trating\ttimestamp\n" + "\n".join(lines) + "\n")
    monkeypatch.setattr(textfile, "BATCH_BYTES", 5000)
    monkeypatch.setattr(numeric_text, "MIN_BYTES", 0)
    calls = []
    real = numeric_text.read_numeric_batches

    def spy(*args, **kwargs):
        for batch in real(*args, **kwargs):
            calls.append(len(next(iter(batch[0].values()))))
            yield batch

    monkeypatch.setattr(numeric_text, "read_numeric_batches", spy)
    ref = resolve_path(str(path))
    fast = table.load_table(ref, duplicates="last")
    whole = table.read_whole(ref, batchwise.TableOptions(duplicates="last"))
    assert len(calls) > 5 and sum(calls) == 3000  # many blocks, every row
    for name in ("user", "item", "value", "timestamp"):
        got, want = getattr(fast, name), getattr(whole, name)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    assert fast.users == whole.users and fast.items == whole.items
    assert fast.meta == whole.meta and fast.fingerprint() == whole.fingerprint()


def test_a_file_it_cannot_take_midway_is_read_again_by_pyarrow(tmp_path: Path, monkeypatch):
    """A text id late in the file: the compiled reader stops there, and pyarrow's
    batch-wise read (then the whole-file read) gives the same result as without it."""
    lines = [f"{k % 50},{k // 50},{1 + k % 5}" for k in range(2000)] + ["u7,3,4"]
    path = write(tmp_path / "late.csv", "\n".join(lines) + "\n")
    monkeypatch.setattr(textfile, "BATCH_BYTES", 2000)
    monkeypatch.setattr(numeric_text, "MIN_BYTES", 0)
    ref = resolve_path(str(path))
    data = table.load_table(ref)
    assert data.users.is_string and len(data) == 2001
    whole = table.read_whole(ref)
    np.testing.assert_array_equal(data.user, whole.user)
    assert data.fingerprint() == whole.fingerprint()


def test_applies_only_to_plain_files_of_a_batch_or_more(tmp_path: Path, monkeypatch) -> None:
    plain = sniff(resolve_path(str(write(tmp_path / "a.csv", "1,2,3\n4,5,6\n"))))
    assert not numeric_text.applies(plain)  # small: pyarrow's parse is quicker than numba's load
    monkeypatch.setattr(numeric_text, "MIN_BYTES", 12)
    assert numeric_text.applies(plain)
    double = sniff(resolve_path(str(write(tmp_path / "b.dat", "1::2::3\n4::5::6\n"))))
    assert not numeric_text.applies(double)  # a two-byte separator: pyarrow after a transform
    with pytest.raises(NotBatchable):
        next(numeric_text.read_numeric_batches(double, {0: "integer"}))
