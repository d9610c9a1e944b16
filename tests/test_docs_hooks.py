"""docs/hooks.md documents every hook of `workbench.hookspecs` with its exact signature."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path

import pytest

import workbench.hookspecs as hookspecs

DOC = Path(__file__).resolve().parents[1] / "docs" / "hooks.md"


def hooks() -> dict[str, Callable]:
    return {
        name: fn
        for name, fn in vars(hookspecs).items()
        if inspect.isfunction(fn) and hasattr(fn, "workbench_spec")
    }


def signature(fn: Callable) -> str:
    """``def name(arg: Type, ...) -> Return`` from the spec's (string) annotations."""
    notes = dict(fn.__annotations__)
    ret = notes.pop("return", "None")
    args = ", ".join(
        f"{p}: {notes[p]}" if p in notes else p for p in inspect.signature(fn).parameters
    )
    return f"def {fn.__name__}({args}) -> {ret}"


def sections() -> dict[str, str]:
    """``## `name` `` headings of the reference and the text under each."""
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^## `([A-Za-z_]+)`[^\n]*$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_there_are_hooks_to_document() -> None:
    assert {"register_models", "register_commands", "on_run_finished"} <= set(hooks())


@pytest.mark.parametrize("name", sorted(hooks()))
def test_every_hook_has_a_section_with_its_exact_signature(name: str) -> None:
    found = sections()
    assert name in found, f"docs/hooks.md has no section '## `{name}`'"
    assert signature(hooks()[name]) in found[name], (
        f"the section of {name} does not show its signature: {signature(hooks()[name])}"
    )


def test_no_section_documents_a_hook_that_does_not_exist() -> None:
    stale = set(sections()) - set(hooks())
    assert not stale, f"docs/hooks.md documents hooks that do not exist: {sorted(stale)}"


def test_signature_is_built_from_the_spec() -> None:
    assert signature(hookspecs.register_models) == (
        "def register_models(register: Register) -> None"
    )
