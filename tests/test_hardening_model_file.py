"""Model files with a valid CRC but inconsistent content are refused at load, in one line;
an interrupted save leaves no litter behind (issue 10, items 3 and 7)."""

from __future__ import annotations

import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import cli

from workbench import ModelFileError
from workbench.storage import load_model
from workbench.testing import low_rank_ratings


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from workbench.plugins import get_registry

    model = get_registry().create("model", "sgd", n_factors=4, n_epochs=2, seed=1)
    model.fit(low_rank_ratings(n_users=30, n_items=20, seed=2))
    return model.save(tmp_path_factory.mktemp("model") / "model.npz")


def rewrite(src: Path, dst: Path, **changes: np.ndarray | None) -> Path:
    """A copy of ``src`` with arrays replaced (None: removed); np.savez gives valid CRCs."""
    with np.load(src, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    for key, value in changes.items():
        name = key.replace("__", "/")
        if value is None:
            arrays.pop(name)
        else:
            arrays[name] = value
    np.savez(dst, **arrays)
    return dst


def arrays_of(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def refused(path: Path) -> str:
    with pytest.raises(ModelFileError) as err:
        load_model(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    return message


def test_the_untouched_file_loads(saved: Path) -> None:
    model = load_model(saved)
    assert np.isfinite(model.predict(np.arange(3), np.arange(3))).all()


def test_nan_factors_are_refused(saved: Path, tmp_path: Path) -> None:
    factors = arrays_of(saved)["state/item_factors"].copy()
    factors[3, 1] = np.nan
    message = refused(rewrite(saved, tmp_path / "m.npz", state__item_factors=factors))
    assert "'state/item_factors' holds a non-finite value (nan)" in message


def test_item_factors_shorter_than_the_item_map_are_refused(saved: Path, tmp_path: Path) -> None:
    factors = arrays_of(saved)["state/item_factors"][:-2]
    message = refused(rewrite(saved, tmp_path / "m.npz", state__item_factors=factors))
    assert "'item_factors' has shape (18, 4), expected 20 items rows (2-D)" in message


def test_out_of_range_seen_indices_are_refused(saved: Path, tmp_path: Path) -> None:
    indices = arrays_of(saved)["base/seen_indices"].copy()
    indices[0] = 999
    message = refused(rewrite(saved, tmp_path / "m.npz", base__seen_indices=indices))
    assert "seen item index (999) is outside the 20 items" in message


def test_complex_arrays_are_refused(saved: Path, tmp_path: Path) -> None:
    bias = arrays_of(saved)["state/user_bias"].astype(np.complex64)
    message = refused(rewrite(saved, tmp_path / "m.npz", state__user_bias=bias))
    assert "'state/user_bias' has dtype complex64 (allowed:" in message


def test_counts_that_do_not_match_the_id_map_are_refused(saved: Path, tmp_path: Path) -> None:
    counts = arrays_of(saved)["base/user_counts"][:5]
    message = refused(rewrite(saved, tmp_path / "m.npz", base__user_counts=counts))
    assert "'base/user_counts' has 5 entries, expected 30" in message


def test_an_enormous_declared_shape_is_refused_before_allocating(
    saved: Path, tmp_path: Path
) -> None:
    target = tmp_path / "huge.npz"
    with zipfile.ZipFile(saved) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "state/item_factors.npy":
                old = b"(20, 4)"
                assert old in data[:128]
                # same header length: only the declared shape changes (10**12 rows)
                new = b"(1000000000000, 4)"
                pad = data[:128].index(b"\n") if b"\n" in data[:128] else None
                assert pad is not None
                header = data[: data.index(b"\n") + 1]
                body = data[len(header) :]
                header = header.replace(old, new)
                header = header.replace(b" " * (len(new) - len(old)) + b"\n", b"\n", 1)
                data = header + body
            dst.writestr(info, data)
    message = refused(target)
    assert "declares shape (1000000000000, 4)" in message and "but holds 320 bytes" in message


def test_missing_arrays_are_refused(saved: Path, tmp_path: Path) -> None:
    message = refused(rewrite(saved, tmp_path / "m.npz", base__seen_indptr=None))
    assert "array 'base/seen_indptr' is missing" in message


# -- item 7: temporary files of an interrupted save -------------------------------------------
def test_a_killed_save_leaves_a_temp_file_the_next_save_removes(saved: Path, tmp_path: Path):
    """A child process is killed with SIGKILL in the middle of writing; the next save of
    the same target removes its temporary file and says so."""
    from workbench.errors import WorkbenchWarning
    from workbench.fileio.files import remove_stale_temporaries

    target = tmp_path / "m.npz"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from workbench.fileio.files import write_atomic\n"
            "def write(fh):\n"
            "    fh.write(b'x' * 100000); fh.flush()\n"
            "    print('writing', flush=True); time.sleep(60)\n"
            f"write_atomic(Path({str(target)!r}), write)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "writing"
        litter = list(tmp_path.glob(".m.npz.*.tmp"))
        assert len(litter) == 1
        # while the save runs, its temporary file is locked: never removed
        assert remove_stale_temporaries(target) == []
        assert litter[0].exists()
    finally:
        child.kill()
        child.wait()
    assert litter[0].exists() and not target.exists()
    from workbench.fileio.files import write_atomic

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_atomic(target, lambda fh: fh.write(b"new"))
    assert not litter[0].exists() and target.read_bytes() == b"new"
    assert list(tmp_path.glob(".*.tmp")) == []
    said = [str(w.message) for w in caught if issubclass(w.category, WorkbenchWarning)]
    assert len(said) == 1 and litter[0].name in said[0] and "100,000 bytes" in said[0]


def test_temp_files_of_other_targets_are_left_alone(tmp_path: Path) -> None:
    from workbench.fileio.files import remove_stale_temporaries

    other = tmp_path / ".other.npz.abc123.tmp"
    other.write_bytes(b"x")
    lookalike = tmp_path / ".m.npz.tmp"  # not the mkstemp pattern
    lookalike.write_bytes(b"x")
    assert remove_stale_temporaries(tmp_path / "m.npz") == []
    assert other.exists() and lookalike.exists()


def test_cli_says_what_it_removed(tmp_path: Path, capsys) -> None:
    stale = tmp_path / ".m.npz.zzz999.tmp"
    stale.write_bytes(b"y" * 10)
    code, _, err = cli(capsys, "train", "biases", "-q", "-o", tmp_path / "m.npz")
    assert code == 0, err
    assert "warning: removed 1 stale temporary file(s)" in err
    assert ".m.npz.zzz999.tmp" in err and not stale.exists()


@pytest.mark.parametrize("flag", [0x1, 0x20, 0x40])  # encrypted, patched data, strong encryption
def test_unsupported_zip_features_are_one_line_errors(saved: Path, tmp_path: Path, flag) -> None:
    """Found by fuzzing: zipfile raises NotImplementedError/RuntimeError for these."""
    data = bytearray(saved.read_bytes())
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= flag  # the general-purpose flags of the first central entry
    target = tmp_path / "flags.npz"
    target.write_bytes(bytes(data))
    refused(target)
