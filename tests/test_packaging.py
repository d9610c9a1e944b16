"""Packaging: every third-party module the code imports is a declared dependency, and
`workbench.testing` imports without pytest."""

from __future__ import annotations

import ast
import importlib.metadata as importlib_metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Imported only where an optional extra or a test needs them (each guarded in the code).
OPTIONAL = {"pytest", "hypothesis", "playwright", "zstandard"}


def _requirement_name(req: str) -> str:
    return re.split(r"[\s<>=!~;\[]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _top_level_imports(folder: Path) -> set[str]:
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_every_imported_third_party_package_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_requirement_name(r) for r in project["dependencies"]}
    for extra in project.get("optional-dependencies", {}).values():
        declared |= {_requirement_name(r) for r in extra}
    own = {"workbench", *(p.name for p in (ROOT / "plugins").iterdir() if p.is_dir())}
    dists = importlib_metadata.packages_distributions()
    missing = []
    for folder in (ROOT / "workbench", ROOT / "plugins"):
        for name in sorted(_top_level_imports(folder)):
            if name in own or name in sys.stdlib_module_names or name in OPTIONAL:
                continue
            providers = {d.lower().replace("_", "-") for d in dists.get(name, [name])}
            if not providers & declared:
                missing.append(f"{name} ({', '.join(sorted(providers))})")
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_workbench_testing_imports_without_pytest():
    code = (
        "import sys\n"
        "sys.modules['pytest'] = None  # as if not installed\n"
        "import workbench.testing as t\n"
        "data = t.low_rank_ratings(n_users=10, n_items=8)\n"
        "print(len(data) > 0, 'pytest' in sys.modules and sys.modules['pytest'] is None)\n"
        "import workbench.testing.contract as suite  # its pytest is the stand-in\n"
        "try:\n"
        "    suite.pytest.raises(ValueError)\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout.splitlines()
    assert out[0] == "True True"
    assert "needs the optional dependency 'pytest'" in out[1]
