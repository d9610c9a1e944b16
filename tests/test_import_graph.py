"""No import cycles among the modules of ``workbench/``, the built-in plugins and the example
plugin, and the layering rules between them.

Every import counts: also those inside functions (they hide a cycle, they do not remove it)
and those under ``if TYPE_CHECKING:`` (a cycle a type checker follows is still a cycle in the
design). The graph is read with `ast`, so nothing is imported.

Layering: no plugin imports another plugin package or ``workbench.cli`` (plugins find each
other's components through the registry, and plugin commands get a `CommandKit`); the CLI
reaches the core only through ``workbench.api``, the errors it reports and the types it
displays.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import workbench

PACKAGE = Path(workbench.__file__).parent
ROOT = PACKAGE.parent
PLUGIN_PACKAGES = sorted((ROOT / "plugins").glob("workbench_*"))
EXAMPLE_PACKAGE = ROOT / "examples" / "workbench-example" / "workbench_example"
#: every package the checks read
PACKAGES = [PACKAGE, *PLUGIN_PACKAGES, EXAMPLE_PACKAGE]
#: what ``workbench/cli`` may import from the core besides ``workbench.api``: the errors it
#: reports and the types it displays or annotates
CLI_MAY_IMPORT = {"workbench.errors", "workbench.results", "workbench.model"}


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under the package folder ``root``."""
    mods = {}
    for path in root.rglob("*.py"):
        rel = path.relative_to(root.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        mods[".".join(parts)] = path
    return mods


def imported_names(path: Path, name: str, is_package: bool) -> Iterator[str]:
    """Everything a module imports (``a.b`` and, for ``from a import b``, ``a.b``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    base = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                parts = parts[: len(parts) - node.level + 1]
                module = ".".join(parts + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def import_graph(*roots: Path) -> dict[str, set[str]]:
    """Module -> the modules of the packages ``roots`` it imports (each package's top
    ``__init__`` left out: it re-exports, and importing a submodule runs it anyway)."""
    mods: dict[str, Path] = {}
    for root in roots:
        mods.update(module_files(root))
    tops = {root.name for root in roots}
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        deps = set()
        for target in imported_names(path, name, path.name == "__init__.py"):
            while target and target not in mods:
                target = target.rpartition(".")[0]
            if target and target != name and target not in tops:
                deps.add(target)
        graph[name] = deps
    return graph


def raw_imports(*roots: Path) -> dict[str, set[str]]:
    """Module -> every dotted name it imports (any package), for the layering rules."""
    out: dict[str, set[str]] = {}
    for root in roots:
        for name, path in module_files(root).items():
            out[name] = set(imported_names(path, name, path.name == "__init__.py"))
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles_in_the_core_the_plugins_and_the_example():
    graph = import_graph(*PACKAGES)
    for seen in ("workbench.model", "workbench.cli.app", "workbench_sgd.biased",
                 "workbench_example.knn"):  # fmt: skip
        assert seen in graph  # the walk saw it all
    found = cycles(graph)
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def _top(name: str) -> str:
    return name.partition(".")[0]


def test_no_plugin_imports_another_plugin_or_the_cli():
    plugin_tops = {p.name for p in [*PLUGIN_PACKAGES, EXAMPLE_PACKAGE]}
    bad = []
    for module, names in raw_imports(*PLUGIN_PACKAGES, EXAMPLE_PACKAGE).items():
        for target in names:
            other = _top(target) in plugin_tops and _top(target) != _top(module)
            if other or target == "workbench.cli" or target.startswith("workbench.cli."):
                bad.append(f"{module} imports {target}")
    assert not bad, "; ".join(sorted(bad))


def test_the_cli_reaches_the_core_only_through_the_api():
    bad = []
    for module, names in raw_imports(PACKAGE).items():
        if not module.startswith("workbench.cli"):
            continue
        for target in names:
            if _top(target) != "workbench" or target == "workbench":
                continue
            allowed = target.startswith(("workbench.api", "workbench.cli")) or any(
                target == ok or target.startswith(ok + ".") for ok in CLI_MAY_IMPORT
            )
            if not allowed:
                bad.append(f"{module} imports {target}")
    assert not bad, "; ".join(sorted(bad))


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for rel, text in {"__init__.py": "", **files}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_the_check_finds_cycles_hidden_in_functions_and_relative_imports(tmp_path):
    root = _package(
        tmp_path,
        {
            "a.py": "from pkg.b import thing\n",
            "b.py": "def f():\n    from . import c\n",
            "c.py": "def g():\n    import pkg.a\n",
            "d.py": "from pkg import a\n",
            "sub/__init__.py": "from ..d import x\n",
            "sub/e.py": "from . import f\n",
            "sub/f.py": "from .e import y\n",
        },
    )
    found = cycles(import_graph(root))
    assert sorted(found) == [["pkg.a", "pkg.b", "pkg.c"], ["pkg.sub.e", "pkg.sub.f"]]


def test_type_checking_imports_count(tmp_path):
    root = _package(
        tmp_path,
        {
            "a.py": "import pkg.b\n",
            "b.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pkg.a import A\n"
            ),
        },
    )
    assert cycles(import_graph(root)) == [["pkg.a", "pkg.b"]]


def test_cycles_across_packages_are_found(tmp_path):
    one = _package(tmp_path / "one", {"m.py": "from pkg2.n import x\n"})
    two = tmp_path / "two" / "pkg2"
    two.mkdir(parents=True)
    (two / "__init__.py").write_text("")
    (two / "n.py").write_text("def f():\n    import pkg.m\n")
    assert cycles(import_graph(one, two)) == [["pkg.m", "pkg2.n"]]
