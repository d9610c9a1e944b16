"""Loading plugins: one guarded path through the ``workbench`` entry-point group.

Built-in plugins are declared as entry points of the ``recsys-workbench`` distribution, so
they load exactly like third-party ones. Each plugin is imported and each of its hooks is
called separately inside try/except: a plugin that fails to import, raises in a hook, or
registers a name that is taken is rolled back and recorded with a one-line error; the rest
keep working. Nothing loads at import time; the registry is built once per process.

Environment switches:

- ``WORKBENCH_PLUGINS=a,b``: load only these plugins (by entry-point name).
- ``WORKBENCH_DISABLE_PLUGINS=a,b``: skip these plugins.
- ``WORKBENCH_STRICT=1``: a broken plugin is an error (as ``--strict``); a plugin that is
  only *unavailable* (missing optional dependency) is not.
"""

from __future__ import annotations

import importlib.metadata as importlib_metadata
import os
import re
import traceback
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from workbench import hookspecs
from workbench.errors import MissingDependency, PluginError, WorkbenchError
from workbench.registry import KINDS, PLURAL, DefaultArg, Entry, Registry, default_roles

GROUP = "workbench"
OWN_DISTRIBUTION = "recsys-workbench"
STATUS_OK, STATUS_UNAVAILABLE, STATUS_ERROR, STATUS_DISABLED = (
    "ok",
    "unavailable",
    "error",
    "disabled",
)


@dataclass
class PluginStatus:
    """What happened when a plugin was loaded."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    status: str = STATUS_OK
    error: str | None = None
    traceback: str | None = None
    hooks: list[str] = field(default_factory=list)
    registers: dict[str, list[str]] = field(default_factory=dict)
    #: Names the plugin tried to register (kept when it was rolled back, for error messages).
    attempted: set[str] = field(default_factory=set)

    @property
    def builtin(self) -> bool:
        return self.distribution == OWN_DISTRIBUTION

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "builtin": self.builtin,
            "status": self.status,
            "error": self.error,
            "hooks": self.hooks,
            "registers": self.registers,
        }


@dataclass
class PluginSource:
    """A plugin to load: an entry point, or a module/object given directly (tests)."""

    name: str
    load: Any
    module: str
    distribution: str | None = None
    version: str | None = None


def one_line(exc: BaseException) -> str:
    """``Type: first line`` of an exception; our own errors read better without the type."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if isinstance(exc, pluggy.PluginValidationError):
        lines = ["; ".join(lines)]  # the reason is on the following lines
    first = lines[0] if lines else ""
    if isinstance(exc, WorkbenchError) and first:
        return first
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _split_env(name: str) -> set[str] | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return {p.strip() for p in value.split(",") if p.strip()}


def strict_from_env() -> bool:
    return os.environ.get("WORKBENCH_STRICT", "").lower() in ("1", "true", "yes", "on")


def entry_point_sources() -> list[PluginSource]:
    """Plugins declared under the ``workbench`` group: built-ins first, then by name."""
    sources = []
    seen: set[tuple[str, str]] = set()
    for ep in importlib_metadata.entry_points(group=GROUP):
        dist = getattr(ep, "dist", None)
        key = (ep.name, ep.value)
        if key in seen:  # the same distribution visible twice on sys.path
            continue
        seen.add(key)
        sources.append(
            PluginSource(
                name=ep.name,
                load=ep.load,
                module=ep.value,
                distribution=dist.metadata["Name"] if dist is not None else None,
                version=dist.version if dist is not None else None,
            )
        )
    sources.sort(key=lambda s: (s.distribution != OWN_DISTRIBUTION, s.name))
    return sources


#: Module attribute a plugin (or its top-level package) may set to declare optional
#: dependencies by import name: ``{"implicit": "pip install my-plugin[implicit]"}``.
OPTIONAL_ATTRIBUTE = "WORKBENCH_OPTIONAL_DEPENDENCIES"


_REQUIREMENT_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def declared_optional(distribution: str | None, module: str, plugin: Any = None) -> dict[str, str]:
    """Optional dependencies a plugin declares, by canonical name -> install hint: its
    distribution's extras (``Requires-Dist: x; extra == "name"``) and an explicit
    ``WORKBENCH_OPTIONAL_DEPENDENCIES`` mapping on the plugin or its top-level package."""
    import sys

    declared: dict[str, str] = {}
    if distribution:
        try:
            dist = importlib_metadata.distribution(distribution)
        except importlib_metadata.PackageNotFoundError:
            dist = None
        for text in (dist.requires or []) if dist is not None else []:
            name = _REQUIREMENT_NAME.match(text)
            extra = _EXTRA_MARKER.search(text.partition(";")[2])
            if name and extra:
                declared.setdefault(
                    _canonical(name.group(1)), f"pip install {distribution}[{extra.group(1)}]"
                )
    top = module.split(":")[0].split(".")[0]
    for holder in (plugin, sys.modules.get(top)):
        explicit = getattr(holder, OPTIONAL_ATTRIBUTE, None)
        if isinstance(explicit, dict):
            for name, hint in explicit.items():
                declared.setdefault(_canonical(str(name)), str(hint))
    return declared


def _missing_dependency(
    exc: BaseException, module: str, distribution: str | None = None, plugin: Any = None
) -> MissingDependency | None:
    """The declared optional dependency ``exc`` is about, or None (then it is an error).

    A `MissingDependency` raised by the plugin is its own declaration. A
    `ModuleNotFoundError` counts only for a module the plugin declares as optional; any
    other (a typo such as ``import numpyy``) is a broken plugin, and no install hint is
    built from its message."""
    if isinstance(exc, MissingDependency):
        return exc
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        top = exc.name.split(".")[0]
        if top == module.split(".")[0].split(":")[0]:
            return None
        hint = declared_optional(distribution, module, plugin).get(_canonical(top))
        if hint is not None:
            return MissingDependency(top, hint)
    return None


class _Loader:
    def __init__(self, strict: bool):
        self.strict = strict
        self.registry = Registry()
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)

    def fail(
        self, status: PluginStatus, exc: BaseException, where: str, plugin: Any = None
    ) -> None:
        missing = _missing_dependency(exc, status.module, status.distribution, plugin)
        if missing is not None:
            status.status = STATUS_UNAVAILABLE
            status.error = str(missing)
        else:
            status.status = STATUS_ERROR
            status.error = f"{where}: {one_line(exc)}"
        status.traceback = "".join(traceback.format_exception(exc))
        status.registers = {}
        dist = f" ({status.distribution})" if status.distribution else ""
        message = f"plugin '{status.name}'{dist} {status.status}: {status.error}"
        if self.strict and status.status == STATUS_ERROR:
            raise PluginError(message) from exc
        warnings.warn(message, PluginWarning, stacklevel=3)

    def load(self, source: PluginSource) -> PluginStatus:
        status = PluginStatus(
            name=source.name,
            module=source.module,
            distribution=source.distribution,
            version=source.version,
        )
        self.registry.statuses.append(status)
        # BaseException: a plugin that calls sys.exit() or raises KeyboardInterrupt while it
        # loads is a broken plugin too, never the end of every command
        try:
            plugin = source.load()
        except BaseException as exc:  # noqa: BLE001 - a broken plugin must not break the tool
            self.fail(status, exc, "import failed")
            return status
        try:
            self.pm.register(plugin, name=source.name)
        except BaseException as exc:  # noqa: BLE001
            if self.pm.get_plugin(source.name) is plugin:  # pluggy keeps the hooks it checked
                self.pm.unregister(name=source.name)
            self.fail(status, exc, "invalid hooks", plugin)
            return status
        status.hooks = sorted(
            hc.name
            for hc in (self.pm.get_hookcallers(plugin) or [])
            if hc.name.startswith(("register_", "on_"))
        )
        staged: list[Entry] = []
        for kind in KINDS:
            hook_name = f"register_{PLURAL[kind]}"
            impls = [
                i for i in getattr(self.pm.hook, hook_name).get_hookimpls() if i.plugin is plugin
            ]
            for impl in impls:

                def register(
                    obj: Any,
                    *,
                    aliases: Iterable[str] = (),
                    default: DefaultArg = False,
                    _kind: str = kind,
                ) -> None:
                    name = getattr(obj, "name", None)
                    if isinstance(name, str):
                        status.attempted.add(name)
                    clash = [e for e in staged if e.kind == _kind]
                    vname, valiases = self.registry.validate(_kind, obj, aliases)
                    roles = default_roles(_kind, vname, default)
                    for other in clash:
                        if {vname, *valiases} & {other.name, *other.aliases}:
                            raise PluginError(f"{_kind} name '{vname}' is registered twice")
                    staged.append(
                        Entry(
                            kind=_kind,
                            name=vname,
                            obj=obj,
                            plugin=source.name,
                            distribution=source.distribution,
                            version=source.version,
                            aliases=valiases,
                            defaults=roles,
                        )
                    )

                try:
                    impl.function(**{a: register for a in impl.argnames})
                except BaseException as exc:  # noqa: BLE001 - sys.exit() and Ctrl-C too
                    self.pm.unregister(plugin)
                    self.fail(status, exc, hook_name, plugin)
                    return status
        for entry in staged:
            self.registry.add(entry)
            status.registers.setdefault(entry.kind, []).append(entry.name)
        return status


class PluginWarning(UserWarning):
    """A plugin failed to load (one line; the traceback is in its status)."""


@dataclass
class LoadedPlugins:
    registry: Registry
    pm: pluggy.PluginManager


def load_plugins(
    *,
    strict: bool | None = None,
    only: Iterable[str] | None = None,
    disable: Iterable[str] | None = None,
    extra: Iterable[tuple[str, Any]] = (),
    entry_points: bool = True,
) -> LoadedPlugins:
    """Build a fresh registry from the entry points (and ``extra`` (name, module) pairs)."""
    strict = strict_from_env() if strict is None else strict
    only_set = set(only) if only is not None else _split_env("WORKBENCH_PLUGINS")
    disabled = (
        set(disable) if disable is not None else (_split_env("WORKBENCH_DISABLE_PLUGINS") or set())
    )
    loader = _Loader(strict)
    sources = entry_point_sources() if entry_points else []
    sources += [
        PluginSource(name=n, load=lambda o=o: o, module=getattr(o, "__name__", n)) for n, o in extra
    ]
    for source in sources:
        if (only_set is not None and source.name not in only_set) or source.name in disabled:
            loader.registry.statuses.append(
                PluginStatus(
                    name=source.name,
                    module=source.module,
                    distribution=source.distribution,
                    version=source.version,
                    status=STATUS_DISABLED,
                )
            )
            continue
        loader.load(source)
    return LoadedPlugins(registry=loader.registry, pm=loader.pm)


_LOADED: LoadedPlugins | None = None


def get_loaded(**kwargs: Any) -> LoadedPlugins:
    """The process-wide plugins (loaded on first use, then cached)."""
    global _LOADED
    if _LOADED is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PluginWarning)
            _LOADED = load_plugins(**kwargs)
    return _LOADED


def get_registry() -> Registry:
    """The process-wide registry."""
    return get_loaded().registry


def set_loaded(loaded: LoadedPlugins | None) -> None:
    """Replace (or with None, reset) the process-wide plugins; for tests and the CLI."""
    global _LOADED
    _LOADED = loaded


def plugin_of(kind: str, name: str) -> tuple[str, str | None] | None:
    """(plugin name, plugin version) that registered ``kind`` ``name``, if known."""
    try:
        entry = get_registry().entry(kind, name)
    except Exception:  # noqa: BLE001 - unknown is fine here
        return None
    return entry.plugin, entry.version
