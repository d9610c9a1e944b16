"""Typed parameters: declared once, used by the constructor, the CLI and the docs.

A component's parameters are a pydantic model (`Params`) with ``extra="forbid"``; each field
carries its type, default, bounds and a description. ``key=value`` strings from the CLI are
parsed here into validated values, with one-line errors. Float parameters are finite unless a
field allows infinities (``Field(..., allow_inf_nan=True)``).
"""

from __future__ import annotations

import copy
import difflib
import json
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import annotated_types
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from workbench.errors import ParamError


class Params(BaseModel):
    """Base class for the parameters of a dataset, splitter, model, metric or exporter."""

    #: ``allow_inf_nan=False``: a float parameter is never infinite or NaN, unless its field
    #: says ``Field(..., allow_inf_nan=True)``.
    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, frozen=False, allow_inf_nan=False
    )

    @classmethod
    def with_defaults(cls, **defaults: Any) -> type[Params]:
        """A subclass that changes only the defaults of some fields (types, bounds and
        descriptions stay as declared once here): ``SGDParams.with_defaults(n_epochs=60)``."""
        unknown = sorted(set(defaults) - set(cls.model_fields))
        if unknown:
            raise ParamError(f"{cls.__name__} has no parameter {unknown[0]!r}")
        fields: dict[str, Any] = {}
        for key, value in defaults.items():
            info = copy.copy(cls.model_fields[key])
            info.default = value
            fields[key] = (cls.model_fields[key].annotation, info)
        return create_model(cls.__name__, __base__=cls, __module__=cls.__module__, **fields)


@dataclass(frozen=True)
class ParamInfo:
    """What a user needs to know about one parameter."""

    name: str
    type: str
    default: Any
    required: bool
    bounds: str
    description: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "required": self.required,
            "bounds": self.bounds,
            "description": self.description,
        }


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " | ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def _bounds(metadata: Iterable[Any]) -> str:
    parts = []
    for m in metadata:
        if isinstance(m, annotated_types.Gt):
            parts.append(f"> {m.gt}")
        elif isinstance(m, annotated_types.Ge):
            parts.append(f">= {m.ge}")
        elif isinstance(m, annotated_types.Lt):
            parts.append(f"< {m.lt}")
        elif isinstance(m, annotated_types.Le):
            parts.append(f"<= {m.le}")
        elif isinstance(m, annotated_types.MinLen):
            parts.append(f"len >= {m.min_length}")
    return ", ".join(parts)


def describe_params(params_cls: type[Params]) -> list[ParamInfo]:
    """Name, type, default, bounds and help of every parameter, in declaration order."""
    infos = []
    for name, field in params_cls.model_fields.items():
        required = field.is_required()
        default = None if required else field.get_default(call_default_factory=True)
        infos.append(
            ParamInfo(
                name=name,
                type=_type_name(field.annotation),
                default=default,
                required=required,
                bounds=_bounds(field.metadata),
                description=field.description or "",
            )
        )
    return infos


def parse_assignments(assignments: Iterable[str], *, option: str = "--param") -> dict[str, str]:
    """Split ``key=value`` strings (from repeated CLI options) into a dict of raw strings."""
    out: dict[str, str] = {}
    for text in assignments:
        key, sep, value = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParamError(f"{option} {text!r}: expected key=value, e.g. {option} n_factors=50")
        out[key] = value.strip()
    return out


_NONE_WORDS = {"none", "null"}


def _coerce_raw(value: Any) -> Any:
    """Turn CLI strings into JSON-ish values where unambiguous; leave the rest to pydantic."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lower() in _NONE_WORDS:
        return None
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return value
    return value


def _expected(field_error: Mapping[str, Any]) -> str:
    msg = str(field_error.get("msg", "an allowed value"))
    msg = msg.replace("Input should be", "expected").replace("Value error, ", "")
    return msg[0].lower() + msg[1:] if msg else msg


def validate_params(
    params_cls: type[Params], values: Mapping[str, Any], *, owner: str = "component"
) -> Params:
    """Validate ``values`` against ``params_cls`` with one-line, helpful errors.

    String values (from the CLI) are coerced by pydantic's lax mode ("50" -> 50,
    "true" -> True); "none"/"null" mean None; values starting with ``[`` or ``{`` are JSON.
    """
    fields = params_cls.model_fields
    unknown = [k for k in values if k not in fields]
    if unknown:
        name = unknown[0]
        valid = ", ".join(fields) or "(none)"
        close = difflib.get_close_matches(name, list(fields), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ParamError(f"unknown parameter '{name}' for {owner}{hint} (valid: {valid})")
    coerced = {k: _coerce_raw(v) for k, v in values.items()}
    try:
        return params_cls(**coerced)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err.get("loc") or ("?",)
        name = str(loc[0])
        given = values.get(name, err.get("input"))
        raise ParamError(
            f"parameter '{name}' of {owner}: got {given!r}, {_expected(err)}"
        ) from None
