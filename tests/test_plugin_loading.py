"""Broken plugins never break the tool: real installed fixture distributions, then in-process.

The fixture distributions in ``tests/fixtures/plugins/`` are installed with pip (real
``.dist-info`` metadata and entry points) and the ``workbench`` CLI runs in a subprocess.
"""

from __future__ import annotations

import json
import types
import warnings
from pathlib import Path
from typing import Any

import pytest
from plugin_env import EXAMPLE, FIXTURES, install, is_installed, run_workbench

from workbench import Dataset, MissingDependency, Model, PluginError, UnknownNameError, hookimpl
from workbench.plugins import PluginWarning, load_plugins

#: plugin -> (distribution, status, how its one-line error starts)
EXPECTED: dict[str, tuple[str, str, str | None]] = {
    "broken_import": (
        "wb-fixture-broken-import",
        "error",
        "import failed: RuntimeError: fixture: this plugin is broken at import time",
    ),
    "hook_raises": (
        "wb-fixture-hook-raises",
        "error",
        "register_models: RuntimeError: fixture: register_models exploded",
    ),
    "taken_name": (
        "wb-fixture-taken-name",
        "error",
        "register_models: model name 'item-knn' is already registered by plugin 'example' "
        "(workbench-example)",
    ),
    "needs_module": (
        "wb-fixture-optional",
        "unavailable",
        "needs the optional dependency 'wb_fixture_absent_dependency' "
        "(pip install wb-fixture-optional[absent])",
    ),
    "needs_typo": (
        "wb-fixture-optional",
        "error",
        "import failed: ModuleNotFoundError: No module named 'numpyy'",
    ),
    "needs_extra": (
        "wb-fixture-optional",
        "unavailable",
        "needs the optional dependency 'fancylib' (pip install recsys-workbench[fancy])",
    ),
    "not_a_subclass": (
        "wb-fixture-invalid",
        "error",
        "register_models: <class 'wb_fixture_invalid.not_a_subclass.NotAModel'> "
        "is not a Model subclass",
    ),
    "nameless": ("wb-fixture-invalid", "error", "register_metrics: Nameless has no valid 'name'"),
    "bad_signature": (
        "wb-fixture-invalid",
        "error",
        "invalid hooks: PluginValidationError: Plugin 'bad_signature' for hook 'register_models'",
    ),
    "broken_command": (
        "wb-fixture-commands",
        "error",
        "register_commands: RuntimeError: fixture: cannot add commands",
    ),
    "hello_command": ("wb-fixture-commands", "ok", None),
}
FAILING = sorted(name for name, (_, status, _) in EXPECTED.items() if status == "error")


@pytest.fixture(scope="session")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the fixture distributions (and the example, if not installed) in it."""
    sources = sorted(p for p in FIXTURES.iterdir() if (p / "pyproject.toml").exists())
    if not is_installed("workbench-example"):
        sources.append(EXAMPLE)
    target = tmp_path_factory.mktemp("site")
    return install(sources, target, tmp_path_factory.mktemp("src"))


@pytest.fixture(scope="session")
def listing(plugin_path: Path) -> dict[str, dict[str, Any]]:
    done = run_workbench("plugins", "--json", path=plugin_path)
    assert done.returncode == 0, done.stderr
    return {p["name"]: p for p in json.loads(done.stdout)}


def broken_builtins(listing: dict[str, dict[str, Any]]) -> list[str]:
    """Plugins outside the fixtures that failed (none once the tree is complete)."""
    return [n for n, p in listing.items() if p["status"] == "error" and n not in EXPECTED]


def without_builtins(listing: dict[str, dict[str, Any]], *also: str) -> dict[str, str]:
    """An environment that skips the built-in plugins (faster start; not needed here)."""
    names = [n for n, p in listing.items() if p["builtin"]] + list(also)
    return {"WORKBENCH_DISABLE_PLUGINS": ",".join(names)}


# -- real installed distributions -------------------------------------------------------------
def test_each_fixture_plugin_is_listed_with_distribution_version_and_status(listing) -> None:
    for name, (dist, status, error) in EXPECTED.items():
        entry = listing[name]
        assert entry["distribution"] == dist, name
        assert entry["version"] == "0.1.0" and entry["builtin"] is False
        assert entry["status"] == status, (name, entry["error"])
        if error is None:
            assert entry["error"] is None
        else:
            assert entry["error"].startswith(error), (name, entry["error"])
            assert "\n" not in entry["error"]
    assert "registrar" in listing["bad_signature"]["error"]  # the reason, not just the hook
    assert listing["example"]["status"] == "ok"


def test_failed_plugins_are_rolled_back(listing) -> None:
    for name, (_, status, _) in EXPECTED.items():
        if status != "ok":
            assert listing[name]["registers"] == {}, name
    assert listing["hook_raises"]["hooks"] == ["register_datasets", "register_models"]


def test_plugins_table_shows_every_plugin(plugin_path: Path) -> None:
    done = run_workbench("plugins", path=plugin_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    row = next(line for line in lines if "│ example " in line)
    assert "workbench-example" in row and "0.1.0" in row and "ok" in row
    assert "models: item-knn" in row and "metrics: gini" in row
    row = next(line for line in lines if "│ broken_import " in line)
    assert "wb-fixture-broken-import" in row and "error: import failed: RuntimeError" in row
    row = next(line for line in lines if "│ needs_extra " in line)
    assert "unavailable" in row and "pip install recsys-workbench[fancy]" in row
    assert done.stderr == ""  # the listing itself is the report: no warnings


def test_other_commands_keep_working_with_one_warning_line_each(plugin_path, listing) -> None:
    done = run_workbench("models", path=plugin_path)
    assert done.returncode == 0, done.stderr
    assert "item-knn" in done.stdout and "half-model" not in done.stdout
    warnings_ = [line for line in done.stderr.splitlines() if line.strip()]
    failed = FAILING + broken_builtins(listing)
    assert len(warnings_) == len(failed)
    for name in FAILING:
        dist, _, error = EXPECTED[name]
        line = next(w for w in warnings_ if f"plugin '{name}'" in w)
        assert line.startswith(f"warning: plugin '{name}' ({dist}) failed: {error}")
    assert "Traceback" not in done.stderr
    assert "needs_extra" not in done.stderr  # unavailable is a status, not a warning


def test_showing_a_builtin_model_still_works(plugin_path: Path) -> None:
    done = run_workbench("models", "sgd", "--json", path=plugin_path)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["name"] == "sgd" and shown["plugin"] == "sgd" and shown["params"]
    assert len([w for w in done.stderr.splitlines() if w.startswith("warning:")]) >= len(FAILING)


@pytest.mark.parametrize(
    ("kind", "name", "plugin"),
    [("datasets", "half-dataset", "hook_raises"), ("models", "innocent-bystander", "taken_name")],
)
def test_asking_for_something_of_a_failed_plugin_says_so(
    plugin_path, listing, kind, name, plugin
) -> None:
    done = run_workbench(kind, name, path=plugin_path, env=without_builtins(listing))
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    singular = kind[:-1]
    assert last.startswith(f"error: {singular} '{name}' comes from plugin '{plugin}', which is ")
    assert EXPECTED[plugin][2] in last


@pytest.mark.parametrize(
    ("args", "env"),
    [(("--strict", "models"), {}), (("models",), {"WORKBENCH_STRICT": "1"})],
    ids=["flag", "env"],
)
def test_strict_turns_a_failure_into_a_one_line_error(plugin_path, listing, args, env) -> None:
    done = run_workbench(*args, path=plugin_path, env={**env, **without_builtins(listing)})
    assert done.returncode == 1
    assert done.stdout == ""
    # the first broken plugin in load order (fixtures load by name) stops the command
    dist, _, error = EXPECTED["bad_signature"]
    assert done.stderr.strip().startswith(f"error: plugin 'bad_signature' ({dist}) error: {error}")
    assert len(done.stderr.strip().splitlines()) == 1


def test_strict_accepts_plugins_that_are_only_unavailable(plugin_path, listing) -> None:
    env = without_builtins(listing, *FAILING)
    done = run_workbench("--strict", "plugins", "--json", path=plugin_path, env=env)
    assert done.returncode == 0, done.stderr
    status = {p["name"]: p["status"] for p in json.loads(done.stdout)}
    assert status["needs_extra"] == "unavailable" and status["broken_import"] == "disabled"


def test_strict_covers_a_plugin_whose_commands_fail(plugin_path, listing) -> None:
    env = without_builtins(listing, *(n for n in FAILING if n != "broken_command"))
    done = run_workbench("--strict", "models", path=plugin_path, env=env)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: plugin 'broken_command' (wb-fixture-commands) error: "
        "register_commands: RuntimeError: fixture: cannot add commands"
    )


def test_only_some_plugins(plugin_path: Path) -> None:
    env = {"WORKBENCH_PLUGINS": "example,needs_extra"}
    done = run_workbench("plugins", "--json", path=plugin_path, env=env)
    assert done.returncode == 0 and done.stderr == ""
    status = {p["name"]: p["status"] for p in json.loads(done.stdout)}
    assert status.pop("example") == "ok" and status.pop("needs_extra") == "unavailable"
    assert set(status.values()) == {"disabled"}


def test_disabling_a_plugin_frees_its_names(plugin_path: Path, listing) -> None:
    env = without_builtins(listing, "example", " broken_import")
    done = run_workbench("plugins", "--json", path=plugin_path, env=env)
    status = {p["name"]: p for p in json.loads(done.stdout)}
    assert status["example"]["status"] == "disabled"
    assert status["broken_import"]["status"] == "disabled"
    # without the example, the name 'item-knn' is free: the former impostor registers fine
    assert status["taken_name"]["status"] == "ok"
    assert status["taken_name"]["registers"] == {"model": ["innocent-bystander", "item-knn"]}


def test_verbose_shows_the_traceback(plugin_path: Path, listing) -> None:
    env = without_builtins(listing)
    done = run_workbench("--verbose", "models", path=plugin_path, env=env)
    assert done.returncode == 0
    assert "Traceback (most recent call last)" in done.stderr
    assert 'raise RuntimeError("fixture: register_models exploded")' in done.stderr
    listed = run_workbench("plugins", "--verbose", path=plugin_path, env=env)
    assert "fixture: this plugin is broken at import time" in listed.stdout
    assert "Traceback (most recent call last)" in listed.stdout


def test_plugin_commands_are_added_and_a_refused_plugin_adds_none(plugin_path, listing) -> None:
    env = without_builtins(listing)
    done = run_workbench("fixture-hello", "--name", "Ada", path=plugin_path, env=env)
    assert done.returncode == 0 and done.stdout.strip() == "hello, Ada"
    helped = run_workbench("--help", path=plugin_path, env=env)
    assert helped.returncode == 0 and "Example" in helped.stdout  # help despite broken plugins
    assert "fixture-hello" in helped.stdout and "fixture-should-not-exist" not in helped.stdout
    refused = run_workbench("fixture-should-not-exist", path=plugin_path, env=env)
    assert refused.returncode == 2 and "No such command" in refused.stderr


# -- in process: load_plugins(extra=..., entry_points=False) ----------------------------------
class Good(Model):
    """A registrable model (never fitted here)."""

    name = "good-model"


class Other(Model):
    """Another one."""

    name = "other-model"


class HalfData(Dataset):
    """Registered, then rolled back."""

    name = "half-data"


def plugin(name: str, **hooks: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook, fn in hooks.items():
        setattr(module, hook, hookimpl(fn))
    return module


def registers(*classes: type, aliases: tuple[str, ...] = ()):
    def hook(register):
        for cls in classes:
            register(cls, aliases=aliases)

    return hook


def load(*plugins: types.ModuleType, **kwargs: Any):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        extra = [(p.__name__, p) for p in plugins]
        return load_plugins(extra=extra, entry_points=False, **kwargs).registry


def test_in_process_registration_and_lookup_by_alias() -> None:
    reg = load(plugin("good", register_models=registers(Good, aliases=("fine",))))
    assert reg.get("model", "good-model") is Good and reg.get("model", "fine") is Good
    assert reg.entry("model", "fine").plugin == "good"
    assert isinstance(reg.create("model", "good-model"), Good)
    assert [s.status for s in reg.statuses] == ["ok"]


def test_in_process_rollback_of_a_hook_that_raises() -> None:
    def boom(register):
        register(Good)
        raise ValueError("no")

    reg = load(plugin("half", register_datasets=registers(HalfData), register_models=boom))
    assert reg.names("dataset") == [] and reg.names("model") == []
    status = reg.statuses[0]
    assert status.status == "error" and status.error == "register_models: ValueError: no"
    assert status.attempted == {"half-data", "good-model"}
    with pytest.raises(UnknownNameError, match="comes from plugin 'half', which is error"):
        reg.get("model", "good-model")


def test_in_process_duplicates_and_alias_clashes_blame_the_second_plugin() -> None:
    class Clash(Model):
        name = "clash"

    reg = load(
        plugin("first", register_models=registers(Good, aliases=("shared",))),
        plugin("second", register_models=registers(Other, Clash, aliases=("shared",))),
    )
    first, second = reg.statuses
    assert first.status == "ok" and second.status == "error"
    assert (
        second.error
        == "register_models: model name 'shared' is already registered by plugin 'first'"
    )
    assert reg.names("model") == ["good-model"]


def test_in_process_a_name_registered_twice_by_one_plugin() -> None:
    reg = load(plugin("twice", register_models=registers(Good, Good)))
    assert reg.statuses[0].error == "register_models: model name 'good-model' is registered twice"


def test_in_process_missing_dependency_is_unavailable_and_strict_ignores_it() -> None:
    def needs(register):
        raise MissingDependency("fancylib", "pip install recsys-workbench[fancy]")

    reg = load(plugin("fancy", register_models=needs), strict=True)
    status = reg.statuses[0]
    assert status.status == "unavailable"
    assert (
        status.error
        == "needs the optional dependency 'fancylib' (pip install recsys-workbench[fancy])"
    )


def test_in_process_an_undeclared_missing_module_is_an_error_without_install_hint() -> None:
    """Issue 10 item 6: ``import numpyy`` (a typo) must not read as an optional dependency."""

    def typo(register):
        import numpyy  # noqa: F401

    with pytest.warns(PluginWarning) as caught:
        reg = load_plugins(
            extra=[("typo", plugin("typo", register_models=typo))], entry_points=False
        ).registry
    status = reg.statuses[0]
    assert status.status == "error"
    assert status.error == "register_models: ModuleNotFoundError: No module named 'numpyy'"
    assert "pip install" not in str(caught[0].message)
    with pytest.raises(PluginError, match="No module named 'numpyy'"):
        load(plugin("typo", register_models=typo), strict=True)


def test_in_process_a_declared_optional_module_is_unavailable_with_its_hint() -> None:
    def needs(register):
        import wb_declared_but_absent  # noqa: F401

    module = plugin("declares", register_models=needs)
    module.WORKBENCH_OPTIONAL_DEPENDENCIES = {
        "wb_declared_but_absent": "pip install my-plugin[absent]"
    }
    status = load(module, strict=True).statuses[0]
    assert status.status == "unavailable"
    assert status.error == (
        "needs the optional dependency 'wb_declared_but_absent' (pip install my-plugin[absent])"
    )


def test_strict_fails_on_a_mistyped_import(plugin_path, listing) -> None:
    env = without_builtins(listing, *(n for n in FAILING if n != "needs_typo"))
    done = run_workbench("--strict", "models", path=plugin_path, env=env)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: plugin 'needs_typo' (wb-fixture-optional) error: import failed: "
        "ModuleNotFoundError: No module named 'numpyy'"
    )
    assert "pip install" not in done.stderr


def test_in_process_strict_raises_with_plugin_name() -> None:
    def boom(register):
        raise RuntimeError("bad")

    with pytest.raises(
        PluginError, match=r"^plugin 'bad' error: register_models: RuntimeError: bad$"
    ):
        load(plugin("bad", register_models=boom), strict=True)


def test_in_process_failure_warns_once_in_one_line() -> None:
    def boom(register):
        raise RuntimeError("bad\nsecond line")

    with pytest.warns(PluginWarning) as caught:
        load_plugins(extra=[("bad", plugin("bad", register_models=boom))], entry_points=False)
    assert len(caught) == 1
    assert str(caught[0].message) == "plugin 'bad' error: register_models: RuntimeError: bad"


def test_in_process_only_and_disable() -> None:
    a = plugin("a", register_models=registers(Good))
    b = plugin("b", register_models=registers(Other))
    assert load(a, b, only=["b"]).names("model") == ["other-model"]
    reg = load(a, b, disable=["b"])
    assert reg.names("model") == ["good-model"]
    assert [s.status for s in reg.statuses] == ["ok", "disabled"]


def test_in_process_env_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    a = plugin("a", register_models=registers(Good))
    b = plugin("b", register_models=registers(Other))
    monkeypatch.setenv("WORKBENCH_PLUGINS", "a")
    assert load(a, b).names("model") == ["good-model"]
    monkeypatch.delenv("WORKBENCH_PLUGINS")
    monkeypatch.setenv("WORKBENCH_DISABLE_PLUGINS", "a")
    assert load(a, b).names("model") == ["other-model"]

    def boom(register):
        raise RuntimeError("bad")

    monkeypatch.setenv("WORKBENCH_STRICT", "1")
    with pytest.raises(PluginError):
        load(plugin("c", register_models=boom))
