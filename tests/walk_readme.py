"""Walk README.md and docs/workflows.md as a new user would: a fresh clone, no activated venv,
every ``bash`` block run as written, in order. Prints one line per block (ok/FAILED, seconds)
and exits non-zero when a block fails.

    python tests/walk_readme.py                      # full: clone, make demo (installs .venv)
    python tests/walk_readme.py --venv-from .venv    # quick: reuse an installed venv (its
                                                     # editable install is this checkout)
    python tests/walk_readme.py --list               # the blocks and commands, nothing run

What the walk adds to the documents, and why: the clone's URL (``<this repository>`` is this
checkout); ``../shared/data`` beside the clone (the README's data folder: a link to
``$WORKBENCH_DATA_DIR`` or this checkout's ``../shared/data``); the new users' ratings file of
docs/workflows.md (its ``text`` block that starts ``user,item,rating``) under the names the
documents use; docs/workflows.md's blocks run after ``source .venv/bin/activate`` (the
README's instruction). ``mlflow ui`` (a server that never returns) and ``make test`` (the whole
suite; ``--with-tests`` runs it) are skipped and listed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "docs/workflows.md")
SKIP = {"mlflow ui": "a server that never returns", "make test": "the whole suite (--with-tests)"}


def blocks(doc: Path) -> list[str]:
    """The ``bash`` code blocks of a Markdown file, in order."""
    text = doc.read_text(encoding="utf-8")
    return [b for b in re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M)]


def commands(block: str) -> list[str]:
    """The commands of a block (continuation lines joined, comments and blanks left out)."""
    joined = block.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip() and not
            line.strip().startswith("#")]  # fmt: skip


def script_of(block: str, with_tests: bool) -> tuple[str, list[str]]:
    """The block as a bash script (``set -e``), and the commands it skips."""
    lines, skipped = ["set -e"], []
    for command in commands(block):
        if command.startswith("git clone ") or command == "cd recsys-workbench":
            continue  # done by the walk itself (clone of this checkout, run inside it)
        why = next((w for k, w in SKIP.items() if command.startswith(k)), None)
        if why and not (with_tests and command.startswith("make test")):
            skipped.append(f"{command}  ({why})")
            continue
        lines.append(command)
    return "\n".join(lines) + "\n", skipped


def data_dir() -> Path | None:
    env = os.environ.get("WORKBENCH_DATA_DIR")
    if env:
        return Path(env).resolve()
    candidate = ROOT.parent / "shared" / "data"
    return candidate.resolve() if candidate.exists() else None


def new_users_file(clone: Path) -> None:
    """docs/workflows.md's new users' ratings, under the names README and the docs use."""
    text = (clone / "docs" / "workflows.md").read_text(encoding="utf-8")
    found = re.search(r"^```text\n(user,item,rating\n.*?)^```", text, flags=re.S | re.M)
    if found:
        for name in ("new_ratings.csv", "new_users.csv"):
            (clone / name).write_text(found.group(1), encoding="utf-8")


def prepare(workdir: Path, venv_from: Path | None) -> Path:
    """A fresh clone of this checkout's HEAD in ``workdir``, with ../shared/data beside it."""
    clone = workdir / "recsys-workbench"
    if clone.exists():
        shutil.rmtree(clone)
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    data = data_dir()
    shared = workdir / "shared"
    if data is None:
        print("no data folder: set WORKBENCH_DATA_DIR (the MovieLens commands will fail)")
    elif not (shared / "data").exists():
        shared.mkdir(exist_ok=True)
        (shared / "data").symlink_to(data)
    if venv_from is not None:
        (clone / ".venv").symlink_to(venv_from.resolve())
    new_users_file(clone)
    return clone


def clean_env(clone: Path) -> dict[str, str]:
    """The environment of a new shell: no activated venv (its bin not on PATH)."""
    env = dict(os.environ)
    venv = env.pop("VIRTUAL_ENV", None)
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if p and not (
        venv and p.startswith(venv)) and not p.endswith("/.venv/bin")]  # fmt: skip
    env["PATH"] = os.pathsep.join(parts)
    env.pop("WORKBENCH_DATA_DIR", None)  # the documents set it where they use it
    env["WORKBENCH_DATA_DIR_FOR_WALK"] = str(clone.parent / "shared" / "data")
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/walk-readme"))
    parser.add_argument("--venv-from", type=Path, default=None)
    parser.add_argument("--with-tests", action="store_true")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--only", default="", help="run only blocks containing this text")
    parser.add_argument(
        "--skip", action="append", default=[], help="skip blocks containing this text (repeatable)"
    )
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per block")
    args = parser.parse_args(argv)
    plan = [(doc, i, b) for doc in DOCS for i, b in enumerate(blocks(ROOT / doc), start=1)]
    if args.list:
        for doc, i, block in plan:
            print(f"{doc} block {i}:")
            for command in commands(block):
                print(f"    {command}")
        return 0
    clone = prepare(args.workdir, args.venv_from)
    env = clean_env(clone)
    failed = 0
    for doc, i, block in plan:
        if (args.only and args.only not in block) or any(t in block for t in args.skip):
            print(f"{doc} block {i}: not run (--only/--skip)")
            continue
        script, skipped = script_of(block, args.with_tests)
        if doc != "README.md":  # the README says to activate the venv first
            script = (
                "source .venv/bin/activate\nexport WORKBENCH_DATA_DIR=../shared/data\n" + script
            )
        start = time.perf_counter()
        try:
            done = subprocess.run(["bash", "-c", script], cwd=clone, env=env, text=True,
                                  capture_output=True, timeout=args.timeout)  # fmt: skip
            code, out = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired:
            code, out = 124, f"timed out after {args.timeout} s"
        seconds = time.perf_counter() - start
        status = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"{doc} block {i}: {status} in {seconds:.0f} s", flush=True)
        for line in skipped:
            print(f"    skipped: {line}")
        if code != 0:
            failed += 1
            print("    " + "\n    ".join(out.strip().splitlines()[-15:]))
    print(f"{failed} block(s) failed" if failed else "every block ran")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
