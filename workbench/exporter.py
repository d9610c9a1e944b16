"""The exporter contract. Concrete exporters are plugins (``workbench_exporters``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from workbench.component import Component

if TYPE_CHECKING:
    from workbench.results import Results


class Exporter(Component):
    """Base class of exporter plugins: write `Results` to a file or the terminal."""

    kind: ClassVar[str] = "exporter"
    #: File extension written (".csv"), or None for exporters that print to the terminal.
    extension: ClassVar[str | None] = None

    def export(self, results: Results, path: Path | None = None) -> Path | None:
        """Write ``results``; returns the path written (None for the terminal)."""
        raise NotImplementedError  # abstractmethod: every exporter implements it
