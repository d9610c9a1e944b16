"""The examples in docs/ run: every docs/examples/*.py script, and the Python code blocks of
docs/api.md executed in order (the real-data ones read $WORKBENCH_DATA_DIR)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.py"))
#: Every script in docs/examples has a test of its own below.
OWN_TESTS = {"kernel_mf_new_users.py", "sgd_learning_curve.py", "third_party_model.py"}


def _run(script: Path, cwd: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{script.name} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def test_every_example_has_a_test():
    names = {p.name for p in EXAMPLES}
    assert names == OWN_TESTS, f"add a test for the new example scripts: {names - OWN_TESTS}"


def test_third_party_example_compares_the_plugin_and_an_instance(tmp_path):
    out = _run(ROOT / "docs/examples/third_party_model.py", tmp_path, dict(os.environ))
    assert "item-average (inline)" in out and "biases" in out
    from workbench.plugins import get_registry

    if "item-knn" in get_registry().names("model"):
        assert "item-knn" in out


@pytest.mark.realdata
def test_sgd_learning_curve_example(tmp_path, real_data_dir):
    env = {**os.environ, "WORKBENCH_DATA_DIR": str(real_data_dir)}
    figure = tmp_path / "curve.png"
    out = _run(ROOT / "docs/examples/sgd_learning_curve.py", tmp_path, env, str(figure))
    assert figure.stat().st_size > 10_000
    for model in ("sgd", "svdpp", "kernel-mf"):
        assert model in out
    last = {
        line.split()[0]: line.split()
        for line in out.split("After the last epoch")[1].splitlines()[3:6]
    }
    assert all(float(row[3]) < 1.0 for row in last.values()), out  # validation RMSE < 1


@pytest.mark.realdata
def test_kernel_mf_update_users_beats_the_cold_fallback(tmp_path, real_data_dir):
    env = {**os.environ, "WORKBENCH_DATA_DIR": str(real_data_dir)}
    out = _run(ROOT / "docs/examples/kernel_mf_new_users.py", tmp_path, env)
    row = next(line.split() for line in out.splitlines() if line.strip().startswith("rmse"))
    after, before = float(row[1]), float(row[2])
    assert after < before, out


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def test_api_md_code_blocks_run(tmp_path, monkeypatch):
    blocks = _python_blocks(ROOT / "docs" / "api.md")
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    from workbench.plugins import set_loaded

    set_loaded(None)
    namespace: dict[str, object] = {"__name__": "api_md"}
    for block in blocks:
        exec(compile(block, "docs/api.md", "exec"), namespace)  # noqa: S102 - our own docs
    set_loaded(None)
