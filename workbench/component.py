"""The base of everything a plugin registers: named, documented, typed parameters.

Follows scikit-learn's estimator conventions: constructor keywords are the parameters,
`get_params`/`set_params`/`clone` come free, and learned attributes end in ``_``.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Self

from workbench.params import ParamInfo, Params, describe_params, validate_params

#: The contract base class of each kind ("model": `workbench.model.Model`, ...), recorded when
#: the contract module defines it, so the registry can check plugins against it without
#: importing every contract (which would tie the registry to the models' module).
_CONTRACTS: dict[str, type[Component]] = {}


def contract_of(kind: str) -> type[Component] | None:
    """The base class plugins of ``kind`` subclass (None until its module is imported)."""
    return _CONTRACTS.get(kind)


class Component:
    """A named thing with typed parameters (dataset, splitter, model, metric, exporter)."""

    #: The kind, set by each base class ("model", "dataset", ...).
    kind: ClassVar[str] = "component"
    #: The name users type; set on every concrete class.
    name: ClassVar[str] = ""
    #: The typed parameter class (a `workbench.params.Params` subclass).
    Params: ClassVar[type[Params]] = Params

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # a contract: a direct subclass of Component in the core that declares its kind
        if (
            Component in cls.__bases__
            and "kind" in cls.__dict__
            and cls.__module__.startswith("workbench.")
        ):
            _CONTRACTS.setdefault(cls.kind, cls)

    def __init__(self, **params: Any) -> None:
        self._params = validate_params(self.Params, params, owner=self.owner())

    # -- parameters -------------------------------------------------------------------------
    @classmethod
    def owner(cls) -> str:
        """How errors refer to this component, e.g. ``model 'sgd'``."""
        return f"{cls.kind} '{cls.name or cls.__name__}'"

    @classmethod
    def summary(cls) -> str:
        """The first line of the class docstring."""
        doc = inspect.getdoc(cls) or ""
        return doc.strip().splitlines()[0] if doc.strip() else ""

    @classmethod
    def describe_params(cls) -> list[ParamInfo]:
        return describe_params(cls.Params)

    @property
    def params(self) -> Params:
        """The validated parameters (a copy is never needed: assignment is validated)."""
        return self._params

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters as a plain dict (scikit-learn API)."""
        return self._params.model_dump()

    def set_params(self, **params: Any) -> Self:
        """Change parameters (validated as a whole); returns self."""
        merged = {**self.get_params(), **params}
        self._params = validate_params(self.Params, merged, owner=self.owner())
        return self

    def clone(self) -> Self:
        """A new, unfitted instance with the same parameters."""
        return type(self)(**self.get_params())

    def __getattr__(self, item: str) -> Any:
        # Parameters read like attributes (model.n_factors), as in scikit-learn.
        if item.startswith("_") or item.endswith("_"):
            raise AttributeError(item)
        params = self.__dict__.get("_params")
        if params is not None and item in type(params).model_fields:
            return getattr(params, item)
        raise AttributeError(f"{type(self).__name__!s} has no attribute {item!r}")

    def __setattr__(self, key: str, value: Any) -> None:
        # Assigning a parameter (model.n_factors = 50) updates it, validated; never a silent
        # attribute that get_params() does not see.
        params = self.__dict__.get("_params")
        if params is not None and key in type(params).model_fields:
            self.set_params(**{key: value})
            return
        object.__setattr__(self, key, value)

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in self.describe_params()}
        shown = ", ".join(
            f"{k}={v!r}" for k, v in self.get_params().items() if defaults.get(k) != v
        )
        return f"{type(self).__name__}({shown})"
