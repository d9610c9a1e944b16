"""What the loaded plugins offer, for the CLI and for scripts: the plugin statuses, the
registered components of each kind and the defaults plugins declare, and the version.

Light to import (no pandas, no numpy beyond the core's contract): ``workbench --help`` uses it.
"""

from __future__ import annotations

from typing import Any

from workbench.plugins import (
    STATUS_ERROR,
    LoadedPlugins,
    PluginStatus,
    get_loaded,
    get_registry,
    one_line,
    strict_from_env,
)
from workbench.registry import KINDS, PLURAL, Entry, Registry
from workbench.storage import workbench_version

__all__ = [
    "KINDS",
    "PLURAL",
    "STATUS_ERROR",
    "Entry",
    "LoadedPlugins",
    "PluginStatus",
    "Registry",
    "hook_implementations",
    "loaded_plugins",
    "one_line",
    "plugin_statuses",
    "registry",
    "strict",
    "version",
]


def version() -> str:
    """The installed recsys-workbench version."""
    return workbench_version()


def loaded_plugins() -> LoadedPlugins:
    """Every plugin loaded once per process (their registry and pluggy manager)."""
    return get_loaded()


def registry() -> Registry:
    """The process-wide registry of datasets, splitters, models, metrics and exporters."""
    return get_registry()


def plugin_statuses() -> list[PluginStatus]:
    """One status per plugin: name, distribution, version, what it registers, any error."""
    return list(get_loaded().registry.statuses)


def hook_implementations(hook: str) -> list[Any]:
    """The plugins' implementations of ``hook`` (pluggy `HookImpl`s), to call one by one."""
    return list(getattr(get_loaded().pm.hook, hook).get_hookimpls())


def strict() -> bool:
    """Whether a broken plugin is an error (``WORKBENCH_STRICT=1``)."""
    return strict_from_env()
