"""Look-up of registered things by kind and name, with helpful errors.

The registry is filled by `workbench.plugins` from the registration hooks; duplicate names
(or aliases) are an error attributed to the plugin that came second.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.component import Component, contract_of
from workbench.errors import PluginError, UnknownNameError

KINDS: tuple[str, ...] = (
    "dataset",
    "splitter",
    "model",
    "metric",
    "exporter",
    "strategy",
    "backend",
)
PLURAL = {k: k + "s" for k in KINDS} | {"strategy": "strategies"}
#: The contract class of each kind, by name (for messages).
CONTRACT_NAMES = {
    "dataset": "Dataset",
    "splitter": "Splitter",
    "model": "Model",
    "metric": "Metric",
    "exporter": "Exporter",
    "strategy": "SearchStrategy",
    "backend": "Backend",
}


#: The defaults a plugin may declare for each kind: what the core uses when the user names
#: nothing. ``register(obj, default=True)`` is role ``"default"``; ``default="folds"`` or
#: ``default=["explicit", "implicit"]`` name roles; ``default={"search": "kfold n_folds=3"}``
#: gives a role a spec (parameters) instead of the bare name.
DEFAULT_ROLES: dict[str, dict[str, str]] = {
    "dataset": {
        "default": "the dataset used when none is named",
        "files": "reads a data file given by its path (workbench data info ratings.csv)",
    },
    "splitter": {
        "default": "the split used when none is named (one train/test split)",
        "folds": "the repeated split of comparisons when none is named",
        "search": "the repeated split of parameter searches when none is named",
    },
    "metric": {
        "explicit": "a default metric for explicit ratings (the first one ranks searches)",
        "implicit": "a default metric for implicit feedback (the first one ranks searches)",
    },
    "model": {},
    "exporter": {"default": "the export used when none is named"},
    "strategy": {"default": "the search strategy of tune when none is named"},
    "backend": {"default": "where (model, fold) tasks run when no backend is named"},
}


DefaultArg = bool | str | Iterable[str] | Mapping[str, str] | None


def default_roles(kind: str, name: str, default: DefaultArg) -> dict[str, str]:
    """Role -> spec of a ``default=`` given to ``register``, checked against `DEFAULT_ROLES`
    (a spec must name the registered thing itself)."""
    if default is False or default is None:
        return {}
    if default is True:
        specs = {"default": name}
    elif isinstance(default, str):
        specs = {default: name}
    elif isinstance(default, Mapping):
        specs = {str(role): str(spec) for role, spec in default.items()}
    else:
        specs = {str(role): name for role in default}
    known = DEFAULT_ROLES[kind]
    for role, spec in specs.items():
        if role not in known:
            choices = ", ".join(repr(r) for r in known) or "none"
            raise PluginError(f"{kind} default={role!r} is not a default role (roles: {choices})")
        head = spec.split(maxsplit=1)[0].split("@", 1)[0] if spec.strip() else ""
        if head != name:
            raise PluginError(f"{kind} '{name}': default spec {spec!r} must start with '{name}'")
    return specs


def is_contract_subclass(kind: str, obj: Any) -> bool:
    """Whether ``obj`` is a subclass of the contract class of ``kind``.

    The contract classes record themselves in `workbench.component` when their module is
    imported; a class that subclasses one has imported it, so none is missed, and the registry
    needs no import of the contract modules (which would put it in a cycle with them).
    """
    base = contract_of(kind)
    return base is not None and isinstance(obj, type) and issubclass(obj, base)


@dataclass
class Entry:
    """One registered thing."""

    kind: str
    name: str
    obj: type[Component]
    plugin: str
    distribution: str | None = None
    version: str | None = None
    aliases: tuple[str, ...] = ()
    #: Default roles the plugin declared for it, each with its spec (see `DEFAULT_ROLES`).
    defaults: dict[str, str] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        return self.obj.summary()


@dataclass
class Registry:
    """Everything registered by loaded plugins, plus each plugin's status."""

    entries: dict[str, dict[str, Entry]] = field(default_factory=lambda: {k: {} for k in KINDS})
    aliases: dict[str, dict[str, str]] = field(default_factory=lambda: {k: {} for k in KINDS})
    #: one `workbench.plugins.PluginStatus` per plugin loaded (typed loosely: the loader sits
    #: above the registry, and the registry never imports it)
    statuses: list[Any] = field(default_factory=list)
    #: Entries in the order they were registered (plugins load built-ins first).
    order: list[Entry] = field(default_factory=list)

    # -- filling -----------------------------------------------------------------------------
    def validate(self, kind: str, obj: Any, aliases: Iterable[str]) -> tuple[str, tuple[str, ...]]:
        """Check an object before registration; returns (name, aliases)."""
        if not is_contract_subclass(kind, obj):
            raise PluginError(f"{obj!r} is not a {CONTRACT_NAMES[kind]} subclass")
        name = getattr(obj, "name", "")
        if not isinstance(name, str) or not name or name != name.strip() or " " in name:
            raise PluginError(f"{obj.__name__} has no valid 'name' (a non-empty word)")
        alias_list = tuple(dict.fromkeys(a for a in aliases if a != name))
        for taken in (name, *alias_list):
            owner = self._owner_of(kind, taken)
            if owner is not None:
                raise PluginError(
                    f"{kind} name '{taken}' is already registered by plugin '{owner.plugin}'"
                    + (f" ({owner.distribution})" if owner.distribution else "")
                )
        return name, alias_list

    def add(self, entry: Entry) -> None:
        self.entries[entry.kind][entry.name] = entry
        self.order.append(entry)
        for alias in entry.aliases:
            self.aliases[entry.kind][alias] = entry.name

    def _owner_of(self, kind: str, name: str) -> Entry | None:
        if name in self.entries[kind]:
            return self.entries[kind][name]
        if name in self.aliases[kind]:
            return self.entries[kind][self.aliases[kind][name]]
        return None

    # -- look-up -------------------------------------------------------------------------------
    def names(self, kind: str) -> list[str]:
        return sorted(self.entries[kind])

    def list(self, kind: str) -> list[Entry]:
        return [self.entries[kind][n] for n in self.names(kind)]

    def entry(self, kind: str, name: str) -> Entry:
        if kind not in self.entries:
            raise UnknownNameError(f"unknown kind '{kind}' (kinds: {', '.join(KINDS)})")
        found = self._owner_of(kind, name)
        if found is not None:
            return found
        choices = list(self.entries[kind]) + list(self.aliases[kind])
        close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        available = ", ".join(self.names(kind)) or "none"
        failed = [s for s in self.statuses if s.status != "ok" and name in s.attempted]
        if failed:
            s = failed[0]
            return_msg = (
                f"{kind} '{name}' comes from plugin '{s.name}', which is {s.status}: {s.error}"
            )
            raise UnknownNameError(return_msg)
        broken = [s.name for s in self.statuses if s.status in ("error", "unavailable")]
        note = (
            f" (plugins that failed to load: {', '.join(broken)}; see `workbench plugins`)"
            if broken
            else ""
        )
        hints = [s.error for s in self.statuses if s.status == "unavailable" and s.error]
        if hints:  # an optional plugin may be the one that registers it
            note += f" ({'; '.join(hints)})"
        raise UnknownNameError(f"unknown {kind} '{name}'{hint} (available: {available}){note}")

    def defaults(self, kind: str, role: str = "default") -> list[str]:
        """Specs declared ``default=role`` for ``kind`` (a name, or a name with parameters),
        in registration order (built-in plugins load first)."""
        if role not in DEFAULT_ROLES.get(kind, {}):
            raise UnknownNameError(f"{kind}s have no default role {role!r}")
        return [e.defaults[role] for e in self.order if e.kind == kind and role in e.defaults]

    def default(self, kind: str, role: str = "default") -> str:
        """The first spec declared ``default=role`` for ``kind``; a clear error if none is."""
        names = self.defaults(kind, role)
        if not names:
            what = DEFAULT_ROLES[kind][role]
            raise UnknownNameError(
                f"no loaded plugin declares {what} ({kind} default={role!r}); name a {kind} "
                "(see `workbench plugins`)"
            )
        return names[0]

    def get(self, kind: str, name: str) -> type[Component]:
        """The registered class of ``kind`` called ``name`` (or an alias)."""
        return self.entry(kind, name).obj

    def create(self, kind: str, name: str, /, **params: Any) -> Any:
        """An instance of ``name`` with validated ``params``."""
        return self.get(kind, name)(**params)
