"""How many bytes a compressed data file (or a pipe) may give: a bound against gzip bombs.

``WORKBENCH_MAX_DATA_BYTES`` sets it (bytes, or with a unit: ``500M``, ``8G``; ``0`` or
``none``: no bound). The default is half the memory this process may use (the physical
memory, or the address-space limit ``ulimit -v`` where that is lower): text beyond it
could not be loaded into memory anyway, and reading stops with a one-line error at once,
not when memory runs out.
"""

from __future__ import annotations

import contextlib
import os
import re

from workbench.errors import DataError

ENV = "WORKBENCH_MAX_DATA_BYTES"
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def memory_available() -> int | None:
    """Bytes this process may use: physical memory, or a lower ``RLIMIT_AS``."""
    sizes = []
    with contextlib.suppress(ValueError, OSError, AttributeError):
        sizes.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY and soft > 0:
            sizes.append(soft)
    except (ImportError, ValueError, OSError):
        pass
    return min(sizes) if sizes else None


def max_data_bytes() -> int | None:
    """The bound in bytes (None: no bound)."""
    text = os.environ.get(ENV, "").strip().lower()
    if not text:
        available = memory_available()
        return None if available is None else available // 2
    if text in ("0", "none", "off"):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?", text)
    if not match:
        raise DataError(f"{ENV}={text!r}: expected a number of bytes, e.g. 500M or 8G (0: none)")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def size_text(n: int) -> str:
    """``1.5 GiB``, ``12.0 MiB``, ``512 bytes``."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"
