"""User-facing errors.

Every error a user can cause (bad input, unknown names, bad files) is a `WorkbenchError`:
its message is one line that names the file, row or parameter and says what was expected.
The CLI prints it without a traceback (unless ``--verbose``).
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class: a one-line, user-facing error."""


class ParamError(WorkbenchError, ValueError):
    """A parameter has an unknown name or a value that is not allowed."""


class DataError(WorkbenchError, ValueError):
    """Input data is missing, malformed or inconsistent."""


class RowError(DataError):
    """A value problem at one row of a table (``row`` is 0-based).

    The message says ``WHERE: row N: DETAIL``; a file reader that knows the line behind the
    row re-raises it in its own ``FILE: line N: DETAIL: 'the line'`` form.
    """

    def __init__(self, where: str, row: int, detail: str, row_offset: int = 1):
        self.where = where
        self.row = row
        self.detail = detail
        super().__init__(f"{where}: row {row + row_offset}: {detail}")


class UnknownNameError(WorkbenchError, KeyError):
    """No plugin registered a thing of that kind under that name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class NotFittedError(WorkbenchError, AttributeError):
    """A model was used before `fit` (or `load`)."""


class ModelFileError(WorkbenchError):
    """A model file is unreadable, corrupted, of another version, or not a model file."""


class PluginError(WorkbenchError):
    """A plugin failed to load or registered something invalid (raised in strict mode)."""


class TrainingDiverged(WorkbenchError, FloatingPointError):
    """The training loss became NaN/infinite or exploded."""


class MissingDependency(WorkbenchError, ImportError):
    """An optional dependency a plugin needs is not installed.

    Plugins raise it (at import or inside a hook) to show as *unavailable* with an install
    hint instead of as broken.
    """

    def __init__(self, package: str, hint: str | None = None):
        self.package = package
        self.hint = hint or f"pip install {package}"
        super().__init__(f"needs the optional dependency '{package}' ({self.hint})")


class ClusterError(WorkbenchError, ConnectionError):
    """A cluster backend (``--backend dask/ray --scheduler ADDRESS``) cannot be reached."""


class WorkbenchWarning(UserWarning):
    """Something the user should know that does not stop the work (the CLI prints it as
    one ``warning:`` line)."""
