"""The spark plugin without Spark: unavailable (with the install hint) when pyspark or Java is
missing, never a crash; the SPARK_LOCAL_IP work-around. No Spark session is started here."""

from __future__ import annotations

import importlib.util
import os
import socket
import warnings

import pytest

from workbench.errors import UnknownNameError
from workbench.plugins import PluginWarning, load_plugins

session = pytest.importorskip("workbench_spark.session", reason="the spark plugin is not installed")


def _spark_status(loaded):
    return next(s for s in loaded.registry.statuses if s.name == "spark")


def _load():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        return load_plugins(only=["spark", "baselines"])


def test_missing_pyspark_shows_unavailable_with_the_install_hint(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a, **k: None if name == "pyspark" else real(name, *a, **k),
    )
    loaded = _load()
    status = _spark_status(loaded)
    assert status.status == "unavailable"
    assert "pyspark" in status.error and "recsys-workbench[spark]" in status.error
    assert "biases" in loaded.registry.names("model")  # the other plugins are unaffected
    with pytest.raises(UnknownNameError, match=r"spark-als.*unavailable.*recsys-workbench\[spark"):
        loaded.registry.get("model", "spark-als")


def test_missing_java_shows_unavailable_with_a_hint(monkeypatch):
    monkeypatch.setattr(session, "java_executable", lambda: None)
    status = _spark_status(_load())
    assert status.status == "unavailable"
    assert "java" in status.error and "JAVA_HOME" in status.error


def test_java_home_without_java_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    assert session.java_executable() is None
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "java").write_text("")
    assert session.java_executable() == str(tmp_path / "bin" / "java")


def test_spark_local_ip_is_set_only_when_the_host_name_does_not_resolve(monkeypatch):
    monkeypatch.delenv("SPARK_LOCAL_IP", raising=False)
    monkeypatch.setattr(socket, "gethostbyname", lambda name: "10.0.0.5")
    assert session.ensure_local_ip() is False
    assert "SPARK_LOCAL_IP" not in os.environ

    def fail(name):
        raise socket.gaierror("Name or service not known")

    monkeypatch.setattr(socket, "gethostbyname", fail)
    assert session.ensure_local_ip() is True
    assert os.environ["SPARK_LOCAL_IP"] == "127.0.0.1"
    monkeypatch.setenv("SPARK_LOCAL_IP", "10.1.2.3")  # the user's choice is kept
    assert session.ensure_local_ip() is False
    assert os.environ["SPARK_LOCAL_IP"] == "10.1.2.3"


def test_model_parameters_without_spark():
    from workbench_spark.model import SparkALS

    model = SparkALS(n_factors=8, implicit_prefs=True, master="spark://host:7077")
    assert model.get_params()["master"] == "spark://host:7077"
    assert not model.can_fork() and not model.predicts_ratings()
    twin = model.clone()
    assert twin.get_params() == model.get_params()
