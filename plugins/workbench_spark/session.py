"""Finding Spark: dependency checks, the local IP work-around and the session to train in.

- `check_dependencies` raises `MissingDependency` (the plugin then shows as *unavailable*)
  when pyspark or a Java runtime is missing; it never starts a JVM.
- `ensure_local_ip` sets ``SPARK_LOCAL_IP=127.0.0.1`` when it is unset and this machine's
  host name does not resolve (Spark would otherwise fail to bind its driver).
- `session_for` returns the session a model trains and ranks in, looked up at fit and rank
  time (the model never holds one: it clones, pickles and saves without it): the one given
  to `use_session`, else (`get_session`) the active session, else a new one on ``master``
  (``local[*]`` by default).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

from workbench.errors import MissingDependency, WorkbenchError

INSTALL_HINT = "pip install 'recsys-workbench[spark]'"
JAVA_HINT = (
    "Spark needs a Java 17+ runtime: install one (e.g. apt-get install openjdk-17-jre-headless) "
    "or set JAVA_HOME"
)


def java_executable() -> str | None:
    """The ``java`` Spark will start: ``$JAVA_HOME/bin/java`` or the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.exists() else None
    return shutil.which("java")


def check_dependencies() -> None:
    """Raise `MissingDependency` when pyspark or Java is missing (cheap: imports nothing)."""
    if importlib.util.find_spec("pyspark") is None:
        raise MissingDependency("pyspark", INSTALL_HINT)
    if java_executable() is None:
        raise MissingDependency("java", JAVA_HINT)


def hostname_resolves() -> bool:
    """Whether this machine's host name resolves (Spark binds its driver to it)."""
    try:
        socket.gethostbyname(socket.gethostname())
    except OSError:
        return False
    return True


def ensure_local_ip() -> bool:
    """Set ``SPARK_LOCAL_IP=127.0.0.1`` when unset and the host name does not resolve; returns
    whether it was set here."""
    if os.environ.get("SPARK_LOCAL_IP") or hostname_resolves():
        return False
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    return True


def spark_available() -> bool:
    """Whether pyspark and Java are both there (a Spark session could be started)."""
    try:
        check_dependencies()
    except MissingDependency:
        return False
    return True


def _is_local(master: str) -> bool:
    return master == "local" or master.startswith("local[")


#: The session given to `use_session` (None: the active one, or one started on demand).
_given: Any = None


def use_session(session: Any) -> None:
    """Make Spark models in this process train and rank in ``session`` (None: forget it, and
    use the active session again). A model whose ``master`` parameter is set still uses a
    session on that master."""
    global _given
    _given = session


def session_for(master: str | None, *, shuffle_partitions: int | None = None) -> Any:
    """The session a model with these parameters uses: the one given to `use_session` when
    ``master`` is None, else `get_session`."""
    if _given is not None and master is None:
        return _given
    return get_session(master, shuffle_partitions=shuffle_partitions)


def get_session(master: str | None, *, shuffle_partitions: int | None = None) -> Any:
    """The session to train in: the active one (``master`` None), else one on ``master``.

    A session created here has its UI off, Arrow transfers on, checkpoints of finished work
    cleaned and, for a local master, its Python workers on this interpreter. An existing
    session is used as it is (Spark keeps one per process: a different ``master`` then has
    no effect).
    """
    check_dependencies()
    ensure_local_ip()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    master = master or "local[*]"
    if _is_local(master):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName("recsys-workbench")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # checkpoints of RDDs no longer referenced (finished ALS fits) are deleted
        .config("spark.cleaner.referenceTracking.cleanCheckpoints", "true")
    )
    if shuffle_partitions is not None:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    try:
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        return session
    except Exception as exc:  # noqa: BLE001 - the JVM failing to start is a user-facing error
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WorkbenchError(
            f"Spark could not start a session on {master!r}: {first} "
            "(check JAVA_HOME and SPARK_LOCAL_IP)"
        ) from exc
