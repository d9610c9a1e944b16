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
