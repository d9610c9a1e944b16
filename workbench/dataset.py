"""The dataset contract: a named loader with typed options that returns `Interactions`."""

from __future__ import annotations

from typing import ClassVar

from workbench.component import Component
from workbench.data import Interactions


class Dataset(Component):
    """Base class of dataset plugins: ``Dataset(**options).load() -> Interactions``."""

    kind: ClassVar[str] = "dataset"

    def load(self) -> Interactions:
        """Read (or generate) the data. Bad input raises `DataError` with a one-line message."""
        raise NotImplementedError  # abstractmethod: every dataset implements it
