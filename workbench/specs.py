"""Component specs: one string that names a registered thing and its parameters.

Grammar (shell-like quoting): ``NAME[@K] [key=value ...]``, for example::

    sgd n_factors=200 lr=0.01          a model with two parameters
    ndcg@10                            a metric with k=10
    tabular path=ratings.dat sep=:: header=false

The same grammar is used on the command line (``--model "sgd n_factors=50"``) and can be
written as a table in TOML experiment files (``{name = "sgd", n_factors = 50}``).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import ParamError
from workbench.params import parse_assignments
from workbench.plugins import get_registry


@dataclass(frozen=True)
class Spec:
    """A parsed spec: kind, registered name and raw parameter values."""

    kind: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    def build(self, **overrides: Any) -> Any:
        """Instantiate from the process registry (parameters validated)."""

        return get_registry().create(self.kind, self.name, **{**self.params, **overrides})


def parse_spec(kind: str, text: str | Mapping[str, Any], extra: Iterable[str] = ()) -> Spec:
    """Parse ``"name@k key=value ..."`` (or a mapping with a ``name`` key) into a `Spec`.

    ``extra`` are more ``key=value`` strings (e.g. repeated ``--param`` options).
    """
    if isinstance(text, Mapping):
        data = dict(text)
        name = data.pop("name", None)
        if not isinstance(name, str) or not name:
            raise ParamError(f"{kind} spec {dict(text)!r}: needs a 'name'")
        params = {**data, **parse_assignments(extra)}
        return Spec(kind, name, params, text=name)
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise ParamError(f"{kind} spec {text!r}: {exc}") from None
    if not tokens:
        raise ParamError(f"empty {kind} spec: expected NAME [key=value ...]")
    head, rest = tokens[0], tokens[1:]
    if "=" in head:
        raise ParamError(f"{kind} spec {text!r}: must start with the {kind} name")
    params: dict[str, Any] = {}
    if "@" in head:
        head, _, k = head.partition("@")
        if not k.isdigit() or int(k) < 1:
            raise ParamError(f"{kind} spec {text!r}: expected NAME@K with K a positive integer")
        params["k"] = int(k)
    params.update(parse_assignments(rest, option=f"{kind} spec"))
    params.update(parse_assignments(extra))
    return Spec(kind, head, params, text=text)
