"""The plugin API's version and its deprecation policy, in one place.

`PLUGIN_API_VERSION` is ``MAJOR.MINOR``. Within a major version, what `docs/plugins.md`
lists as stable keeps working; a form that is replaced keeps working for at least one more
minor version and warns, once per class, with a `DeprecationWarning` that names the
replacement (`deprecated`). A plugin may say which version it targets (``plugin_api = "3.0"``
on a model class): a newer major version than this workbench's is refused with one line.
"""

from __future__ import annotations

import warnings

from workbench.errors import PluginError

#: The version of the plugin API this workbench provides (see docs/plugins.md, "Stability").
PLUGIN_API_VERSION = "3.0"

#: Deprecated forms that are still accepted: the old form -> its replacement (docs/plugins.md
#: lists the same table).
DEPRECATIONS: dict[str, str] = {
    "a dict returned by _user_state/_fold_in": "return workbench.UserState (UserState.of(...))",
    "cold_fallback = '...'": (
        "capabilities = Capabilities(cold_start=ColdStart(user=..., item=...))"
    ),
    "class variables feedback/predicts/cold_start/fork_safe/service/uses_timestamps/"
    "jit_warm_up/biased": "capabilities = Capabilities(...)",
    "overriding predicts_ratings()/can_fork()/has_biases()": (
        "a classmethod capabilities_for(params) returning Capabilities"
    ),
    "register_commands(app) importing workbench.cli.common": (
        "register_commands(app, kit) and kit.example / kit.console / kit.print_json"
    ),
    "the module paths of the flat v2 core (workbench.experiment, workbench.tuning, ...)": (
        "their new homes, listed in workbench._moved.MOVED (importing an old path warns)"
    ),
    "workbench.analysis.activity_buckets and the other names of the old analysis module": (
        "workbench.analysis.activity"
    ),
    "workbench.evaluation.Protocol": "workbench.protocol.EvaluationProtocol",
    "SparkALS(session=...) (the model kept its Spark session)": (
        "workbench_spark.use_session(session): the session is looked up at fit and rank time"
    ),
}

_warned: set[tuple[str, str]] = set()


def deprecated(owner: str, old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn once per ``(owner, old)`` that ``owner`` uses ``old``; ``new`` replaces it."""
    key = (owner, old)
    if key in _warned:
        return
    _warned.add(key)
    warnings.warn(
        f"{owner}: {old} is deprecated since plugin API 3.0; use {new} (the old form keeps "
        "working for at least one more minor version)",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def reset_warnings() -> None:
    """Forget which deprecations were reported (tests that check the warnings call it)."""
    _warned.clear()


def _parse(version: str, owner: str) -> tuple[int, int]:
    parts = str(version).split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise PluginError(
            f"{owner}: plugin_api must be 'MAJOR.MINOR' (e.g. {PLUGIN_API_VERSION!r}), "
            f"got {version!r}"
        )
    return int(parts[0]), int(parts[1])


def check_target(version: str | None, owner: str) -> None:
    """Refuse a plugin that targets a newer plugin API than this workbench provides."""
    if version is None:
        return
    major, minor = _parse(version, owner)
    have = _parse(PLUGIN_API_VERSION, "workbench")
    if (major, minor) > have:
        raise PluginError(
            f"{owner} targets plugin API {version}, but this workbench provides "
            f"{PLUGIN_API_VERSION}: upgrade recsys-workbench"
        )
