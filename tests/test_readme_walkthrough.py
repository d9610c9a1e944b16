"""The README walk (tests/walk_readme.py): a fresh clone, no activated venv, every bash block
of README.md and docs/workflows.md as written. The walk itself needs minutes (and pip for
`make`): it runs with WORKBENCH_WALKTHROUGH=1 (the lead's and the helpers' manual check);
what it reads from the documents is checked always."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import walk_readme  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_activates_the_venv_before_its_first_workbench_command():
    seen = [c for b in walk_readme.blocks(ROOT / "README.md") for c in walk_readme.commands(b)]
    first = next(i for i, c in enumerate(seen) if c.startswith("workbench "))
    assert "source .venv/bin/activate" in seen[:first]


def test_every_block_becomes_a_script_and_only_servers_are_skipped():
    skipped = []
    for doc in walk_readme.DOCS:
        for block in walk_readme.blocks(ROOT / doc):
            script, skips = walk_readme.script_of(block, with_tests=False)
            assert script.startswith("set -e\n")
            skipped += skips
    assert [s.split()[0:2] for s in skipped] == [["make", "test"], ["mlflow", "ui"]]


def test_the_new_users_file_comes_from_the_docs(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "workflows.md").write_text(
        (ROOT / "docs" / "workflows.md").read_text(encoding="utf-8"), encoding="utf-8"
    )
    walk_readme.new_users_file(tmp_path)
    lines = (tmp_path / "new_ratings.csv").read_text().splitlines()
    assert lines[0] == "user,item,rating" and len(lines) > 3


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("WORKBENCH_WALKTHROUGH"), reason="the README walk: WORKBENCH_WALKTHROUGH=1"
)
def test_walk_the_readme(tmp_path):
    venv = os.environ.get("WORKBENCH_WALKTHROUGH_VENV")
    args = ["--workdir", str(tmp_path / "walk")] + (["--venv-from", venv] if venv else [])
    assert walk_readme.main(args) == 0
