"""Running the CLI in the test process (shared by the CLI and hardening tests)."""

from __future__ import annotations

from typing import Any


def cli(capsys: Any, *args: object) -> tuple[int, str, str]:
    """Run ``workbench ARGS`` in this process: (exit code, stdout, stderr)."""
    from workbench.cli.app import main

    capsys.readouterr()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out = capsys.readouterr()
    return code, out.out, out.err
