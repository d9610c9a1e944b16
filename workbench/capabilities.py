"""What a model declares it can do: one frozen record, `Capabilities`.

A model class sets ``capabilities = Capabilities(...)`` (or ``Parent.capabilities.replace(
...)``); where a parameter decides (a loss that makes scores ratings, a device that cannot
fork), the classmethod ``capabilities_for(params)`` returns the record for those parameters.
Everything that asks what a model can do (the runner, the evaluation, the contract suite)
reads ``model.declared()``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from workbench.errors import ParamError, PluginError

#: How a model folds new users in (items frozen); None: it cannot.
#: ``ridge``/``confidence``/``nonnegative`` name the solvers of `workbench.factor.fold_in`,
#: ``gradient`` a few epochs of the model's own training with items frozen, ``custom`` a
#: model's own `_fold_in`.
FoldInStrategy = Literal["ridge", "confidence", "nonnegative", "gradient", "custom"]
FOLD_IN_STRATEGIES: tuple[str, ...] = ("ridge", "confidence", "nonnegative", "gradient", "custom")
FEEDBACK_KINDS = frozenset({"explicit", "implicit"})


@dataclass(frozen=True)
class ColdStart:
    """What a model predicts for users and items without training interactions (declared as
    data; the evaluation records `describe()` next to the cold-pair counts)."""

    user: str
    item: str
    #: One free-text line instead of ``user``/``item`` (the v1 ``cold_fallback`` string).
    text: str = ""

    def describe(self) -> str:
        if self.text:
            return self.text
        return f"cold user: {self.user}; cold item: {self.item}"

    @classmethod
    def from_text(cls, text: str) -> ColdStart:
        """A v1 ``cold_fallback`` line as a `ColdStart`."""
        return cls(user=text, item=text, text=text)


@dataclass(frozen=True)
class Capabilities:
    """Everything a model declares about itself, in one place."""

    #: Feedback kinds it trains on.
    feedback: frozenset[str] = FEEDBACK_KINDS
    #: "ratings": predictions are on the rating scale (rating metrics apply); "scores": only
    #: the order matters.
    predicts: Literal["ratings", "scores"] = "ratings"
    #: What cold users and items get.
    cold_start: ColdStart | None = None
    #: How new users are folded in (`Model.fold_in`), or None.
    fold_in: FoldInStrategy | None = None
    #: Whether folded-in users can be kept (`Model.update_users`; the model stores rows).
    update_users: bool = False
    #: False for models that must not run in a forked worker (CUDA, a Spark session).
    fork_safe: bool = True
    #: An outside service the model starts or needs (e.g. "a Spark session"), or None.
    service: str | None = None
    #: Scores depend on the pair's timestamp (`predict(..., timestamps=...)`).
    uses_timestamps: bool = False
    #: Fitting compiles code on first use (numba): the runner fits once on a tiny sample
    #: first so that timings leave compilation out.
    jit_warm_up: bool = False
    #: `similar_items` works (item vectors or a neighbourhood of its own).
    similar_items: bool = False
    #: Embedding models: scores include ``mu + b_u + b_i``.
    biased: bool = False

    def __post_init__(self) -> None:
        feedback = frozenset(self.feedback)
        object.__setattr__(self, "feedback", feedback)
        if not feedback or not feedback <= FEEDBACK_KINDS:
            raise PluginError(
                f"Capabilities: feedback must be a non-empty subset of {sorted(FEEDBACK_KINDS)}, "
                f"got {sorted(feedback)}"
            )
        if self.predicts not in ("ratings", "scores"):
            raise PluginError(
                f"Capabilities: predicts must be 'ratings' or 'scores', got {self.predicts!r}"
            )
        if self.fold_in is not None and self.fold_in not in FOLD_IN_STRATEGIES:
            raise PluginError(
                f"Capabilities: fold_in must be one of {', '.join(FOLD_IN_STRATEGIES)} or None, "
                f"got {self.fold_in!r}"
            )
        if self.update_users and self.fold_in is None:
            raise PluginError("Capabilities: update_users needs a fold_in strategy")
        if self.cold_start is not None and not isinstance(self.cold_start, ColdStart):
            raise PluginError(
                f"Capabilities: cold_start must be a ColdStart, got {type(self.cold_start)!r}"
            )

    def replace(self, **changes: Any) -> Capabilities:
        """A copy with some fields changed (e.g. a subclass's from its parent's)."""
        return dataclasses.replace(self, **changes)


def gradient_options(options: dict[str, Any], owner: str) -> dict[str, Any]:
    """The per-call options of gradient fold-in (SGD, PyTorch): ``n_epochs`` (an integer
    >= 1) and ``lr`` (a number > 0); anything else is an error. None values are dropped."""
    unknown = sorted(set(options) - {"n_epochs", "lr"})
    if unknown:
        raise ParamError(f"{owner}: unknown fold-in option {unknown[0]!r} (expected n_epochs, lr)")
    epochs, lr = options.get("n_epochs"), options.get("lr")
    if epochs is not None and (
        isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 1
    ):
        raise ParamError(f"{owner}: fold-in n_epochs must be an integer >= 1, got {epochs!r}")
    if lr is not None and (
        isinstance(lr, bool) or not isinstance(lr, int | float) or not 0 < lr < float("inf")
    ):
        raise ParamError(f"{owner}: fold-in lr must be a number > 0, got {lr!r}")
    return {k: v for k, v in options.items() if v is not None}
