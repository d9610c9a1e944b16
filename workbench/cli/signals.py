"""SIGTERM ends a command the way Ctrl-C does.

Python's default SIGTERM kills the process on the spot: no "interrupted" line, no clean-up,
and the worker processes of ``--jobs`` outlive it (holding the caller's stdout and stderr).
`terminate_like_interrupt` turns SIGTERM into `Terminated`, a `KeyboardInterrupt`, so
finished results are kept, the workers are stopped and the command says how to resume;
the exit code is 143 (128 + SIGTERM) instead of Ctrl-C's 130.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

#: Exit codes of an interrupted command: Ctrl-C, SIGTERM.
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM (raised in the main thread)."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def exit_code(exc: BaseException | None) -> int:
    """143 for `Terminated`, 130 for any other interruption."""
    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


@contextlib.contextmanager
def terminate_like_interrupt() -> Iterator[None]:
    """For the duration, SIGTERM raises `Terminated` in the main thread, unless the program
    embedding the CLI installed its own SIGTERM handler (left as it is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
