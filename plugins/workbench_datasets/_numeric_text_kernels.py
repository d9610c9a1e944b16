"""Compiled parsing of plain numeric delimited text (numba; see
`workbench_datasets.numeric_text`)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_NL, _CR, _MINUS, _DOT, _QUOTE = 10, 13, 45, 46, 34
_ZERO, _NINE, _E, _LOWER_E, _PLUS = 48, 57, 69, 101, 43
#: Significant digits of a decimal that float64 holds exactly (10^15 < 2^53).
_MAX_DIGITS = 15
#: Integer digits that always fit int64.
_MAX_INT_DIGITS = 18
#: Powers of ten float64 holds exactly: m * 10^k (or m / 10^k) with an exact m is then
#: rounded once, i.e. correctly, as pyarrow's parser rounds.
_POW10 = np.array([10.0**k for k in range(23)])

#: Field kinds.
SKIP, INTEGER, DECIMAL = 0, 1, 2


@njit(cache=True, nogil=True, inline="always")
def _u(p: int) -> np.uint64:
    """``p`` (never negative here) as an unsigned index: numba then skips the test for a
    negative index (wraparound) on every byte read."""
    return np.uint64(p)


@njit(cache=True, nogil=True)
def _line_end(buf: np.ndarray, p: int, hi: int) -> int:
    """The length of the line break at ``p`` (1 for LF, 2 for CRLF; 0: none; -1: a lone
    CR, which this parser leaves to pyarrow); the end of the range counts as a break."""
    if p >= hi:
        return 1
    c = buf[_u(p)]
    if c == _NL:
        return 1
    if c == _CR:
        return 2 if p + 1 < hi and buf[_u(p + 1)] == _NL else -1
    return 0


@njit(cache=True, nogil=True)
def _significant(buf: np.ndarray, lo: int, hi: int) -> int:
    """The digits of ``buf[lo:hi]`` (digits and at most one point) from the first non-zero
    one."""
    n = 0
    for p in range(lo, hi):
        c = buf[p]
        if c != _DOT and (n or c != _ZERO):
            n += 1
    return n


@njit(cache=True, nogil=True)
def parse_range(
    buf: np.ndarray, lo: int, hi: int, sep: int, kinds: np.ndarray, slots: np.ndarray,
    ints: np.ndarray, floats: np.ndarray, row0: int,
) -> tuple[int, int]:  # fmt: skip
    """Parse the whole lines in ``buf[lo:hi]`` into rows ``row0, row0 + 1, ...`` of
    ``ints``/``floats`` (field f goes to row ``slots[f]`` of the array of its kind; SKIP
    fields are only stepped over). Empty lines are skipped, as pyarrow does.

    Returns (rows written, -1) or (rows written so far, position) where something is not
    a plain number: a quote, a sign other than a leading minus, an empty field, too many
    digits, an exponent out of range, a decimal in an integer field, a wrong number of
    fields. The caller then reads the file with pyarrow instead."""
    n_fields = kinds.shape[0]
    row = row0
    p = lo
    while p < hi:
        brk = _line_end(buf, p, hi)
        if brk > 0:  # an empty line
            p += brk
            continue
        for f in range(n_fields):
            kind = kinds[f]
            start = p
            if kind == SKIP:
                while p < hi:
                    c = buf[_u(p)]
                    if c in (sep, _NL, _CR):
                        break
                    if c == _QUOTE:
                        return row - row0, p
                    p += 1
            else:
                negative = False
                if p < hi and buf[_u(p)] == _MINUS:
                    negative = True
                    p += 1
                digits_at = p  # two loops, not one helper: a helper returning a tuple
                mantissa = 0  # made the whole parse 1.3x slower
                n_digits = 0  # every digit, leading zeros included
                while p < hi:
                    d = np.int64(buf[_u(p)]) - _ZERO
                    if d < 0 or d > 9:
                        break
                    mantissa = mantissa * 10 + d
                    n_digits += 1
                    p += 1
                point = p < hi and buf[_u(p)] == _DOT
                fraction = 0  # digits after the point
                if point:
                    p += 1
                    while p < hi:
                        d = np.int64(buf[_u(p)]) - _ZERO
                        if d < 0 or d > 9:
                            break
                        mantissa = mantissa * 10 + d
                        fraction += 1
                        p += 1
                    n_digits += fraction
                if n_digits == 0:
                    return row - row0, start
                digits = n_digits  # significant: from the first non-zero digit
                if n_digits > _MAX_DIGITS:  # rare: leading zeros do not count
                    digits = _significant(buf, digits_at, p)
                exponent = 0
                has_exponent = p < hi and (buf[_u(p)] == _E or buf[_u(p)] == _LOWER_E)
                if has_exponent:
                    p += 1
                    exp_negative = False
                    if p < hi and (buf[_u(p)] == _MINUS or buf[_u(p)] == _PLUS):
                        exp_negative = buf[_u(p)] == _MINUS
                        p += 1
                    exp_digits = 0
                    while p < hi and _ZERO <= buf[_u(p)] <= _NINE and exp_digits < 4:
                        exponent = exponent * 10 + (buf[_u(p)] - _ZERO)
                        exp_digits += 1
                        p += 1
                    if exp_digits == 0:
                        return row - row0, start
                    if exp_negative:
                        exponent = -exponent
                if kind == INTEGER:
                    if point or has_exponent or digits > _MAX_INT_DIGITS:
                        return row - row0, start
                    ints[slots[f], row] = -mantissa if negative else mantissa
                else:
                    if digits > _MAX_DIGITS:
                        return row - row0, start
                    scale = exponent - fraction
                    if mantissa == 0:
                        value = 0.0
                    elif scale > 22 or scale < -22:
                        return row - row0, start
                    elif scale >= 0:
                        value = float(mantissa) * _POW10[scale]
                    else:
                        value = float(mantissa) / _POW10[-scale]
                    floats[slots[f], row] = -value if negative else value
            if f < n_fields - 1:
                if p >= hi or buf[_u(p)] != sep:
                    return row - row0, start
                p += 1
        brk = _line_end(buf, p, hi)
        if brk <= 0:  # a field went on past a number, or a lone CR
            return row - row0, p
        p += brk
        row += 1
    return row - row0, -1


@njit(cache=True, nogil=True)
def _count_lines(buf: np.ndarray, lo: int, hi: int) -> int:
    """Line breaks in ``buf[lo:hi]``, plus one for a last line without a break."""
    n = 0
    part = buf[lo:hi]  # indices from 0 up: no wraparound test per byte, so it vectorises
    for p in range(hi - lo):
        n += part[p] == _NL
    if hi > lo and buf[hi - 1] != _NL:
        n += 1
    return n


@njit(cache=True, nogil=True)
def chunk_bounds(buf: np.ndarray, n: int, n_chunks: int) -> np.ndarray:
    """``n_chunks + 1`` offsets cutting ``buf[:n]`` after line breaks into about equal
    chunks (some may be empty)."""
    bounds = np.empty(n_chunks + 1, dtype=np.int64)
    bounds[0] = 0
    for k in range(1, n_chunks):
        p = max((n * k) // n_chunks, bounds[k - 1])
        while 0 < p < n and buf[p - 1] != _NL:
            p += 1
        bounds[k] = p
    bounds[n_chunks] = n
    return bounds


@njit(cache=True, parallel=True)
def parse_block(
    buf: np.ndarray, n: int, sep: int, kinds: np.ndarray, slots: np.ndarray,
    ints: np.ndarray, floats: np.ndarray, n_chunks: int,
) -> tuple[int, int]:  # fmt: skip
    """Every line of ``buf[:n]`` (whole lines) into the first columns of ``ints``
    (n_ints x capacity, int64) and ``floats`` (n_floats x capacity, float64), chunks parsed
    in parallel: (rows, -1); (rows needed, -2) when the capacity is too small, nothing
    parsed; (0, position) at the first problem."""
    bounds = chunk_bounds(buf, n, n_chunks)
    most = np.empty(n_chunks + 1, dtype=np.int64)  # rows each chunk may hold, then offsets
    most[0] = 0
    for k in prange(n_chunks):
        most[k + 1] = _count_lines(buf, bounds[k], bounds[k + 1])
    for k in range(n_chunks):
        most[k + 1] += most[k]
    if most[n_chunks] > ints.shape[1] or most[n_chunks] > floats.shape[1]:
        return most[n_chunks], -2
    n_ints, n_floats = ints.shape[0], floats.shape[0]
    got = np.zeros(n_chunks, dtype=np.int64)
    bad = np.full(n_chunks, -1, dtype=np.int64)
    for k in prange(n_chunks):
        rows_k, bad_k = parse_range(
            buf, bounds[k], bounds[k + 1], sep, kinds, slots, ints, floats, most[k]
        )
        got[k] = rows_k
        bad[k] = bad_k
    for k in range(n_chunks):
        if bad[k] >= 0:
            return 0, bad[k]
    rows = 0
    for k in range(n_chunks):  # close the gaps of chunks with empty lines (in order)
        if rows != most[k]:
            for j in range(got[k]):
                for s in range(n_ints):
                    ints[s, rows + j] = ints[s, most[k] + j]
                for s in range(n_floats):
                    floats[s, rows + j] = floats[s, most[k] + j]
        rows += got[k]
    return rows, -1
