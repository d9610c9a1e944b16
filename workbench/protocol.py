"""The evaluation protocol: which test items are relevant, which items are ranked, whether
predictions are clipped, and the seed of its random choices (negative sampling, tie order).

`EvaluationProtocol` is checked once, strictly (``"false"`` is not a boolean), wherever it comes
from: TOML experiment files, the CLI and ``protocol={...}`` in Python. Every result records it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from workbench.data import Interactions
from workbench.errors import ParamError

#: Where the default relevance threshold sits on a rating scale lo..hi: lo + 0.75 (hi - lo),
#: i.e. 4 on 1..5, 3.875 on 0.5..5 (so 4, 4.5 and 5 are relevant), 7.75 on 1..10.
DEFAULT_THRESHOLD_FRACTION = 0.75

def default_threshold(scale: tuple[float, float]) -> float:
    """The default relevance threshold of a rating scale: ``lo + 0.75 (hi - lo)``."""
    lo, hi = scale
    return float(lo + DEFAULT_THRESHOLD_FRACTION * (hi - lo))


#: The settings of an `EvaluationProtocol`, in order.
PROTOCOL_FIELDS = ("relevance_threshold", "exclude_seen", "clip", "negatives", "seed")


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def check_protocol_value(name: str, value: Any) -> Any:
    """``value`` checked (strictly: ``"false"`` is not a boolean) and normalised for protocol
    setting ``name``; a one-line `ParamError` naming the setting and what it expects."""
    def fail(expected: str) -> ParamError:
        return ParamError(f"protocol: '{name}' must be {expected}, got {value!r}")

    if name in ("exclude_seen", "clip"):
        if not isinstance(value, bool | np.bool_):
            raise fail("true or false (a boolean, not a string)")
        return bool(value)
    if name == "relevance_threshold":
        if value is None:
            return None
        if not (_is_int(value) or isinstance(value, float | np.floating)):
            raise fail("a finite number or None")
        if not np.isfinite(value):
            raise fail("a finite number or None")
        return float(value)
    if name == "negatives":
        if value is None:
            return None
        if not _is_int(value) or value < 1:
            raise fail("an integer >= 1 or None")
        return int(value)
    if name == "seed":
        if not _is_int(value) or value < 0:
            raise fail("an integer >= 0")
        return int(value)
    raise ParamError(f"unknown protocol setting '{name}' (allowed: {', '.join(PROTOCOL_FIELDS)})")


@dataclass(frozen=True)
class EvaluationProtocol:
    """How a model is evaluated (relevance, candidates, clipping, seed); recorded in every
    result (`as_dict`)."""

    #: Ratings at or above this are relevant; None: ``lo + 0.75 (hi - lo)`` of the rating scale
    #: (4.0 on 1..5). Ignored for implicit data, where every test item is relevant.
    relevance_threshold: float | None = None
    #: Rank only items the user did not interact with in train (or in the fold-in history).
    exclude_seen: bool = True
    #: Clip rating predictions to the rating scale before rating metrics.
    clip: bool = True
    #: Rank each user's relevant items among N sampled non-relevant unseen items instead of
    #: among all unseen items (None: all; only when asked for explicitly).
    negatives: int | None = None
    #: Seed of the protocol's random choices: negative sampling and the order of tied scores.
    seed: int = 0

    def __post_init__(self) -> None:
        for name in PROTOCOL_FIELDS:
            object.__setattr__(self, name, check_protocol_value(name, getattr(self, name)))

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> EvaluationProtocol:
        """A protocol from a mapping of its fields (TOML, ``protocol={...}``); an unknown key
        or a value of the wrong type is a one-line `ParamError` naming the key."""
        if not isinstance(values, Mapping):
            raise ParamError(f"protocol: expected a table of settings, got {values!r}")
        unknown = sorted(str(k) for k in values if k not in PROTOCOL_FIELDS)
        if unknown:
            raise ParamError(
                f"unknown protocol setting '{unknown[0]}' (allowed: {', '.join(PROTOCOL_FIELDS)})"
            )
        return cls(**values)

    def threshold_for(self, data: Interactions) -> float | None:
        """The relevance threshold used on ``data`` (None for implicit data)."""
        if data.kind == "implicit":
            return None
        if self.relevance_threshold is not None:
            return float(self.relevance_threshold)
        scale = data.rating_scale
        if scale is None:
            scale = (float(data.value.min()), float(data.value.max())) if len(data) else (1, 5)
        return default_threshold(scale)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["candidates"] = (
            "all items unseen in train"
            if self.negatives is None
            else f"relevant items + {self.negatives} sampled unseen non-relevant items"
        )
        out["relevance"] = (
            "test rating >= relevance_threshold (default lo + 0.75 (hi - lo) of the rating "
            "scale: 4 on 1..5); every test item for implicit data"
        )
        out["averaging"] = "mean over test users with at least one relevant test item"
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationProtocol:
        """Rebuild from `as_dict` output (descriptive keys are ignored)."""
        return cls(**{k: v for k, v in data.items() if k in PROTOCOL_FIELDS})
