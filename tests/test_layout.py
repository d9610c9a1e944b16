"""The shape of the code: a small contract at the top of ``workbench/``, and every
sub-package and plugin package saying its job in a docstring paragraph."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import workbench

PACKAGE = Path(workbench.__file__).parent
ROOT = PACKAGE.parent
#: the contract (the modules directly in ``workbench/``) stays readable in an afternoon
CONTRACT_MAX_LINES = 6000


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_contract_stays_small():
    top = sorted(PACKAGE.glob("*.py"))
    total = sum(_lines(p) for p in top)
    biggest = sorted(((_lines(p), p.name) for p in top), reverse=True)[:5]
    assert total <= CONTRACT_MAX_LINES, (
        f"workbench/*.py has {total} lines (at most {CONTRACT_MAX_LINES}); biggest: {biggest}: "
        "move features into a sub-package or a plugin"
    )


def _packages() -> list[Path]:
    subs = [p for p in sorted(PACKAGE.iterdir()) if (p / "__init__.py").is_file()]
    plugins = [p for p in sorted((ROOT / "plugins").glob("workbench_*")) if p.is_dir()]
    example = ROOT / "examples" / "workbench-example" / "workbench_example"
    return [PACKAGE, *subs, *plugins, example]


@pytest.mark.parametrize("package", _packages(), ids=lambda p: p.name)
def test_every_package_says_its_job(package):
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8")))
    assert doc, f"{package.relative_to(ROOT)}/__init__.py has no docstring"
    first_paragraph = doc.split("\n\n")[0]
    assert len(first_paragraph.split()) >= 8, (
        f"{package.relative_to(ROOT)}: the docstring's first paragraph should say the "
        f"package's job in a sentence or two, got {first_paragraph!r}"
    )
