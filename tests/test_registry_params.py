"""Look-up by kind and name ("did you mean"), typed parameters and ``key=value`` parsing."""

from __future__ import annotations

import types
import warnings
from pathlib import Path
from typing import Literal

import pytest
from pydantic import Field

from workbench import Model, ParamError, UnknownNameError, hookimpl
from workbench.params import Params, describe_params, parse_assignments, validate_params
from workbench.plugins import PluginWarning, load_plugins
from workbench.specs import parse_spec


class ToyParams(Params):
    n_factors: int = Field(50, ge=1, le=1000, description="latent factors")
    lr: float = Field(0.01, gt=0, lt=1, description="learning rate")
    method: Literal["sgd", "als"] = Field("sgd", description="how to fit")
    verbose: bool = Field(False, description="print progress")
    layers: list[int] = Field(default_factory=lambda: [64, 32], description="hidden sizes")
    decay: float | None = Field(None, ge=0, description="optional decay")
    label: str = Field("toy", description="a free text label")


class Toy(Model):
    """A model used only for parameter tests."""

    name = "toy"
    Params = ToyParams


class Other(Model):
    """Another model."""

    name = "als"


def registry(*failing: str):
    """A registry with Toy (alias 'toy-model') and Other, plus plugins that fail."""

    def models(register):
        register(Toy, aliases=["toy-model"])
        register(Other)

    good = types.ModuleType("good")
    good.register_models = hookimpl(models)
    extra = [("good", good)]
    for name in failing:
        bad = types.ModuleType(name)

        def boom(register):
            raise RuntimeError("broken")

        bad.register_models = hookimpl(boom)
        extra.append((name, bad))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        return load_plugins(extra=extra, entry_points=False).registry


# -- registry ---------------------------------------------------------------------------------
def test_unknown_name_suggests_the_closest_and_lists_all() -> None:
    with pytest.raises(UnknownNameError) as err:
        registry().get("model", "alss")
    assert str(err.value) == "unknown model 'alss'; did you mean 'als'? (available: als, toy)"


def test_aliases_are_suggested_and_resolved() -> None:
    reg = registry()
    assert reg.get("model", "toy-model") is Toy
    with pytest.raises(UnknownNameError, match="did you mean 'toy-model'"):
        reg.get("model", "toy-modl")


def test_no_suggestion_when_nothing_is_close() -> None:
    with pytest.raises(UnknownNameError) as err:
        registry().get("model", "zzzzzz")
    assert str(err.value) == "unknown model 'zzzzzz' (available: als, toy)"


def test_unknown_kind_and_empty_kind() -> None:
    reg = registry()
    with pytest.raises(UnknownNameError, match="unknown kind 'widget' \\(kinds: dataset, "):
        reg.get("widget", "x")
    with pytest.raises(UnknownNameError, match="unknown dataset 'x' \\(available: none\\)"):
        reg.get("dataset", "x")


def test_unknown_name_mentions_plugins_that_failed() -> None:
    with pytest.raises(UnknownNameError) as err:
        registry("broken_one").get("model", "nmf")
    assert str(err.value).endswith(
        "(plugins that failed to load: broken_one; see `workbench plugins`)"
    )


def test_create_validates_parameters() -> None:
    model = registry().create("model", "toy", n_factors="20", method="als")
    assert isinstance(model, Toy) and model.n_factors == 20 and model.method == "als"
    with pytest.raises(ParamError, match="parameter 'n_factors' of model 'toy': got 0"):
        registry().create("model", "toy", n_factors=0)


# -- key=value parsing ---------------------------------------------------------------------------
def test_parse_assignments() -> None:
    parsed = parse_assignments(["n_factors=20", " lr = 0.1 ", "label=a=b", "label2="])
    assert parsed == {"n_factors": "20", "lr": "0.1", "label": "a=b", "label2": ""}


@pytest.mark.parametrize("bad", ["n_factors", "=5", " =5"])
def test_parse_assignments_needs_key_and_equals(bad: str) -> None:
    with pytest.raises(ParamError) as err:
        parse_assignments([bad])
    assert str(err.value) == f"--param {bad!r}: expected key=value, e.g. --param n_factors=50"


def validate(**raw: str) -> ToyParams:
    return validate_params(ToyParams, raw, owner="model 'toy'")


def test_strings_are_converted_to_the_declared_types() -> None:
    p = validate(
        n_factors="20", lr="0.5", method="als", verbose="true", layers="[8, 4]", decay="0.1"
    )
    assert (p.n_factors, p.lr, p.method, p.verbose, p.layers, p.decay) == (
        20,
        0.5,
        "als",
        True,
        [8, 4],
        0.1,
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("false", False), ("yes", True), ("no", False), ("1", True), ("0", False)],
)
def test_booleans(text: str, value: bool) -> None:
    assert validate(verbose=text).verbose is value


@pytest.mark.parametrize("word", ["none", "None", "null"])
def test_none_words_mean_none(word: str) -> None:
    assert validate(decay=word).decay is None


@pytest.mark.parametrize(
    ("name", "given", "expected"),
    [
        ("n_factors", "abc", "expected a valid integer"),
        ("n_factors", "0", "expected greater than or equal to 1"),
        ("n_factors", "5000", "expected less than or equal to 1000"),
        ("n_factors", "2.5", "expected a valid integer"),
        ("n_factors", "none", "expected a valid integer"),
        ("lr", "0", "expected greater than 0"),
        ("method", "adam", "expected 'sgd' or 'als'"),
        ("verbose", "maybe", "expected a valid boolean"),
        ("layers", "[1, 'x']", "expected a valid list"),
        ("layers", "[1, 2.5]", "expected a valid integer"),
        ("decay", "-1", "expected greater than or equal to 0"),
    ],
)
def test_one_line_error_names_parameter_value_and_what_is_allowed(
    name: str, given: str, expected: str
) -> None:
    with pytest.raises(ParamError) as err:
        validate(**{name: given})
    message = str(err.value)
    assert message.startswith(f"parameter '{name}' of model 'toy': got {given!r}, ")
    assert expected in message and "\n" not in message


def test_unknown_parameter_suggests_and_lists_the_valid_ones() -> None:
    with pytest.raises(ParamError) as err:
        validate(n_factor="5")
    assert str(err.value) == (
        "unknown parameter 'n_factor' for model 'toy'; did you mean 'n_factors'? "
        "(valid: n_factors, lr, method, verbose, layers, decay, label)"
    )


def test_values_are_never_evaluated(tmp_path: Path) -> None:
    marker = tmp_path / "evaluated"
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    assert validate(label=code).label == code  # a string stays a string
    with pytest.raises(ParamError, match="parameter 'n_factors'"):
        validate(n_factors=code)
    with pytest.raises(ParamError, match="parameter 'n_factors'.*got '1\\+1'"):
        validate(n_factors="1+1")
    with pytest.raises(ParamError, match="parameter 'layers'"):
        validate(layers=f"[{code}]")
    assert not marker.exists()


def test_describe_params_types_defaults_bounds_and_help() -> None:
    info = {p.name: p for p in describe_params(ToyParams)}
    assert list(info) == ["n_factors", "lr", "method", "verbose", "layers", "decay", "label"]
    assert (info["n_factors"].type, info["n_factors"].default) == ("int", 50)
    assert info["n_factors"].bounds == ">= 1, <= 1000"
    assert info["lr"].bounds == "> 0, < 1" and info["lr"].description == "learning rate"
    assert info["method"].type == "'sgd' | 'als'"
    assert info["layers"].type == "list[int]" and info["layers"].default == [64, 32]
    assert info["decay"].type == "float | None" and info["decay"].bounds == ">= 0"
    assert not any(p.required for p in info.values())
    assert info["verbose"].as_dict()["default"] is False


def test_component_parameters_are_typed_everywhere() -> None:
    toy = Toy(n_factors=10)
    assert toy.n_factors == 10 and toy.get_params()["n_factors"] == 10
    assert toy.set_params(lr="0.2") is toy and toy.lr == 0.2
    with pytest.raises(ParamError):
        toy.set_params(lr=5)
    assert toy.lr == 0.2  # a refused change leaves the old value
    assert toy.clone().get_params() == toy.get_params()
    assert repr(toy) == "Toy(n_factors=10, lr=0.2)"
    with pytest.raises(ParamError, match="unknown parameter 'nfactors'"):
        Toy(nfactors=3)


# -- specs -------------------------------------------------------------------------------------
def test_spec_grammar() -> None:
    spec = parse_spec("metric", "ndcg@10 gain=graded")
    assert (spec.name, spec.params) == ("ndcg", {"k": 10, "gain": "graded"})
    spec = parse_spec("model", "toy n_factors=20 'label=two words'", extra=["lr=0.1"])
    assert spec.params == {"n_factors": "20", "label": "two words", "lr": "0.1"}
    assert parse_spec("model", {"name": "toy", "n_factors": 3}).params == {"n_factors": 3}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty model spec: expected NAME [key=value ...]"),
        ("n_factors=3", "model spec 'n_factors=3': must start with the model name"),
        ("toy@x", "model spec 'toy@x': expected NAME@K with K a positive integer"),
        ("toy@0", "model spec 'toy@0': expected NAME@K with K a positive integer"),
        ("toy 'unclosed", 'model spec "toy \'unclosed": No closing quotation'),
        ("toy lr", "model spec 'lr': expected key=value, e.g. model spec n_factors=50"),
    ],
)
def test_spec_errors(text: str, message: str) -> None:
    with pytest.raises(ParamError) as err:
        parse_spec("model", text)
    assert str(err.value) == message
