"""`workbench.fileio.textfile.line_blocks`: whole lines per block, the same blocks whether
each is read into a fresh buffer or all into one reused buffer (the numeric CSV reader's
way: no fresh memory per block)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from workbench.fileio.textfile import line_blocks


def text(n_lines: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    widths = rng.integers(0, 40, n_lines)
    return b"".join(b"x" * int(w) + b",%d\n" % k for k, w in enumerate(widths))


@pytest.mark.parametrize(("size", "first_lines"), [(16, 1), (64, 1), (100, 5), (7, 3)])
def test_reused_buffer_gives_the_same_whole_line_blocks(size, first_lines):
    data = text(300, size) + b"no newline at the end"
    fresh = [bytes(b) for b in line_blocks(io.BytesIO(data), size, first_lines)]
    reused = []
    for block in line_blocks(io.BytesIO(data), size, first_lines, reuse=True):
        reused.append(bytes(block))  # copied before the next block overwrites it
    assert reused == fresh
    assert b"".join(reused) == data
    assert all(b.endswith(b"\n") for b in reused[:-1])
    assert fresh[0].count(b"\n") >= first_lines


def test_reused_blocks_share_one_buffer():
    data = text(2000, 1)
    seen = set()
    for block in line_blocks(io.BytesIO(data), 1024, reuse=True):
        seen.add(np.frombuffer(block, dtype=np.uint8).__array_interface__["data"][0])
    assert len(seen) <= 2  # one buffer (grown at most once for a long first read)


@pytest.mark.parametrize("first_lines", [1, 30_000, 90_000])
def test_a_long_header_count_and_the_buffer_maker(first_lines):
    """The first block holds ``first_lines`` lines however far past 64 KiB they reach (the
    count reads the block in growing spans), and ``allocate`` makes the reused buffer."""
    data = text(100_000, 2)
    made: list[int] = []

    def allocate(length: int) -> np.ndarray:
        made.append(length)
        return np.zeros(length, dtype=np.uint8)

    fresh = [bytes(b) for b in line_blocks(io.BytesIO(data), 1 << 20, first_lines)]
    reused = [
        bytes(b)
        for b in line_blocks(io.BytesIO(data), 1 << 20, first_lines, reuse=True, allocate=allocate)
    ]
    assert reused == fresh and b"".join(reused) == data
    assert fresh[0].count(b"\n") >= first_lines
    if first_lines <= 30_000:  # within the first MiB: no longer first block than that
        assert len(fresh[0]) <= 1 << 20
    assert made and all(n >= 1 << 20 for n in made)
