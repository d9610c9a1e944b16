"""Install plugin distributions for real and run the ``workbench`` CLI against them.

Fixture distributions (``tests/fixtures/plugins/*``) are built and installed with pip into a
temporary folder (``--target``) that is put on ``PYTHONPATH`` of a ``workbench`` subprocess:
their entry points come from real ``.dist-info`` metadata, exactly as for a user.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "plugins"
EXAMPLE = ROOT / "examples" / "workbench-example"
SWITCHES = ("WORKBENCH_PLUGINS", "WORKBENCH_DISABLE_PLUGINS", "WORKBENCH_STRICT")


def is_installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def install(sources: Iterable[Path], target: Path, scratch: Path) -> Path:
    """``pip install --target`` copies of ``sources`` (so builds never write into the repo)."""
    copies = []
    for src in sources:
        dst = scratch / src.name
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("build", "*.egg-info", "__py*"))
        copies.append(str(dst))
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    cmd += ["--no-deps", "--no-build-isolation", "--no-index", "--target", str(target), *copies]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"pip install failed:\n{done.stdout}\n{done.stderr}")
    return target


def workbench_command() -> list[str]:
    script = Path(sys.executable).with_name("workbench")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from workbench.cli import main; main()"]


def run_workbench(
    *args: str,
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """Run ``workbench ARGS`` in a subprocess (plugin switches cleared unless given)."""
    full_env = {k: v for k, v in os.environ.items() if k not in SWITCHES}
    if path is not None:
        extra = full_env.get("PYTHONPATH")
        full_env["PYTHONPATH"] = str(path) + (os.pathsep + extra if extra else "")
    full_env.update({"COLUMNS": "400", "NO_COLOR": "1", "TERM": "dumb"})
    full_env.update(env or {})
    return subprocess.run(
        [*workbench_command(), *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
    )
