"""Data loading that never guesses silently (issue 10, items 1, 4, 5, 8, 10, 11 and 12):
lossless ids, the first repeat named, inferred scales said, outputs checked before work,
bare paths, one error style, gzipped MovieLens files and id types in JSON output."""

from __future__ import annotations

import gzip
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import cli

from workbench import load_dataset
from workbench.errors import DataError, WorkbenchError
from workbench.plugins import set_loaded

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "data"


@pytest.fixture(autouse=True)
def default_plugins(monkeypatch):
    monkeypatch.delenv("WORKBENCH_PLUGINS", raising=False)
    set_loaded(None)
    yield
    set_loaded(None)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- item 1: ids beyond int64 -------------------------------------------------------------------
@pytest.mark.parametrize(
    "big", ["9223372036854775808", "92233720368547758080", "18446744073709551616"]
)
def test_ids_beyond_int64_are_never_wrapped(tmp_path: Path, big: str) -> None:
    path = write(
        tmp_path / "big.csv",
        f"user,item,rating\n{big},1,4\n-9223372036854775808,2,3\n1,1,5\n",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "invalid value encountered in cast"
        data = load_dataset(str(path))
    assert data.n_users == 3  # three different users stay three
    assert sorted(data.users.ids.tolist()) == sorted([big, "-9223372036854775808", "1"])


def test_ids_that_fit_stay_integers(tmp_path: Path) -> None:
    path = write(tmp_path / "ok.csv", "user,item,rating\n9223372036854775807,1,4\n1,1,5\n")
    data = load_dataset(str(path))
    assert data.users.ids.dtype == np.int64
    assert data.users.ids.tolist() == [1, 9223372036854775807]


def test_netflix_customer_ids_beyond_int32_are_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "mv_0000001.txt", "1:\n3000000000,3,2005-01-01\n5,4,2005-01-02\n")
    data = load_dataset("netflix", path=str(path), titles=False)
    assert sorted(data.users.ids.tolist()) == [5, 3000000000]


def test_netflix_ids_beyond_int64_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "mv_0000001.txt", "1:\n92233720368547758080,3,2005-01-01\n")
    with pytest.raises(DataError) as err:
        load_dataset("netflix", path=str(path), titles=False)
    assert str(err.value) == (
        "mv_0000001.txt: line 2: customer id 92233720368547758080 does not fit a 64-bit "
        "integer: '92233720368547758080,3,2005-01-01'"
    )


# -- item 4: duplicates ----------------------------------------------------------------------
DUPLICATES = "user,item,rating\n3,3,4\n2,2,4\n\n2,1,3\n3,3,5\n2,2,1\n"


def test_duplicates_error_names_the_first_repeat_in_the_file(tmp_path: Path) -> None:
    # (3, 3) repeats on line 6 before (2, 2) repeats on line 7 (but sorts after it)
    path = write(tmp_path / "dup.csv", DUPLICATES)
    with pytest.raises(DataError) as err:
        load_dataset("tabular", path=str(path), duplicates="error")
    assert str(err.value) == (
        "dup.csv: line 6: duplicate rating of item '3' by user '3' (choose a duplicates "
        "policy: last, first, mean or sum): '3,3,5'"
    )


def test_netflix_duplicates_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "mv_0000002.txt",
        "2:\n7,4,2005-01-02\n8,3,2005-01-01\n9,2,2005-01-03\n8,5,2005-01-04\n7,1,2005-01-05\n",
    )
    with pytest.raises(DataError) as err:
        load_dataset("netflix", path=str(path), titles=False, duplicates="error")
    assert str(err.value).startswith("mv_0000002.txt: line 5: duplicate rating of item '2' by")
    assert str(err.value).endswith(": '8,5,2005-01-04'")


def test_merged_duplicates_are_counted_recorded_and_reported(tmp_path: Path, capsys) -> None:
    path = write(tmp_path / "dup.csv", DUPLICATES)
    data = load_dataset(str(path))
    assert data.meta["duplicates_merged"] == 2
    assert data.meta["first_duplicate"] == {"row": 3, "user": "3", "item": "3", "line": 6}
    from workbench import compare

    results = compare(data, "kfold n_folds=2", ["biases"], ["rmse"])
    recorded = results.metadata["dataset"]
    assert recorded["duplicates_merged"] == 2 and recorded["duplicate_policy"] == "last"
    expected = (
        "dup.csv: merged 2 repeated (user, item) rows (duplicates=last); first repeat: "
        "line 6 (user 3, item 3)"
    )
    code, _, err = cli(capsys, "train", "biases", "-d", path, "-o", tmp_path / "m.npz")
    assert code == 0, err
    assert expected in err
    code, out, err = cli(
        capsys, "compare", "-d", path, "-s", "kfold n_folds=2", "-m", "biases",
        "--metric", "rmse", "--run-dir", tmp_path / "run", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["metadata"]["dataset"]["duplicates_merged"] == 2


# -- item 5: inferred rating scale ------------------------------------------------------------
def test_an_inferred_scale_is_said_and_an_odd_one_warned_about(tmp_path: Path, capsys) -> None:
    from workbench.analysis.data_notes import data_notes

    usual = load_dataset(str(write(tmp_path / "a.csv", "user,item,rating\n1,1,1\n1,2,5\n")))
    assert usual.meta["rating_scale_inferred"] is True
    assert data_notes(usual) == [("note", "a.csv: rating scale inferred from the data: 1..5")]
    odd = write(tmp_path / "odd.csv", "user,item,rating\n1,1,4\n1,2,17\n2,1,-3\n2,2,5\n")
    [(level, message)] = data_notes(load_dataset(str(odd)))
    assert level == "warning" and "inferred from the data, -3..17, is not a usual one" in message
    code, _, err = cli(capsys, "train", "biases", "-q", "-d", odd, "-o", tmp_path / "m.npz")
    assert code == 0 and "warning: odd.csv: the rating scale inferred from the data, -3..17" in err
    declared = load_dataset("tabular", path=str(tmp_path / "a.csv"), rating_scale="1-5")
    assert declared.meta["rating_scale_inferred"] is False and data_notes(declared) == []


def test_a_dataset_may_say_which_scale_it_expects() -> None:
    from workbench.analysis.data_notes import data_notes
    from workbench.data import Interactions

    data = Interactions.from_arrays([1, 2], [1, 1], [0.0, 7.0], name="mine")
    data.meta["expected_rating_scale"] = [1, 5]
    [(level, message)] = data_notes(data)
    assert level == "warning" and "is not the scale 1..5 this dataset expects" in message


# -- item 8: train -o ---------------------------------------------------------------------------
def test_train_output_is_checked_before_any_work(tmp_path: Path, capsys, monkeypatch) -> None:
    import workbench.experiments.resolve

    def no_loading(*args, **kwargs):
        raise AssertionError("the data was loaded before the output was checked")

    monkeypatch.setattr(workbench.experiments.resolve, "resolve_data", no_loading)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outdir").mkdir()
    cases = {
        "missing_folder/m.npz": "cannot write model file missing_folder/m.npz: folder "
        "missing_folder does not exist (create it first)",
        "outdir": "cannot write model file outdir: it is a folder; give a file name such as "
        "outdir/model.npz",
        "/proc/m.npz": "cannot write model file /proc/m.npz: folder /proc does not accept new "
        "files",
    }
    for output, message in cases.items():
        if output.startswith("/proc") and not Path("/proc").is_dir():
            continue
        code, _, err = cli(capsys, "train", "biases", "-o", output)
        assert code == 1 and f"error: {message}" in err, err
    assert not (tmp_path / "outdir.npz").exists()


# -- item 10: bare mistyped paths ---------------------------------------------------------------
@pytest.mark.parametrize("spec", ["data/ratngs.txt", "ratngs.csv", "./ratngs"])
def test_a_mistyped_bare_path_gets_the_file_answer(tmp_path: Path, monkeypatch, spec) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    write(tmp_path / "data" / "ratings.txt", "1\t1\t4\n")
    write(tmp_path / "ratings.csv", "1,1,4\n")
    with pytest.raises(DataError, match=r"^no such file: ") as err:
        load_dataset(spec)
    if spec == "data/ratngs.txt":
        assert str(err.value) == (
            "no such file: 'data/ratngs.txt'; did you mean 'data/ratings.txt'?"
        )


def test_a_mistyped_dataset_name_is_still_an_unknown_dataset() -> None:
    with pytest.raises(WorkbenchError, match="unknown dataset 'movielns'; did you mean"):
        load_dataset("movielns")


# -- item 11: one error style -------------------------------------------------------------------
@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity"])
def test_infinite_values_name_column_line_and_text(tmp_path: Path, value: str) -> None:
    path = write(tmp_path / "r.csv", f"user,item,rating\n1,1,4\n2,1,{value}\n")
    with pytest.raises(DataError) as err:
        load_dataset(str(path))
    sign = "-" if value.startswith("-") else ""
    assert str(err.value) == (
        f"r.csv: line 3: rating is {sign}inf (expected a finite number): '2,1,{value}'"
    )


def test_errors_found_after_reading_name_the_line_too(tmp_path: Path) -> None:
    """Problems found once the columns are read (here a rating beyond float32) use the same
    ``FILE: line N: ...: 'the line'`` style as parse errors, not ``row N``."""
    path = write(tmp_path / "w.csv", "user,item,rating\n1,1,2\n\n2,1,1e39\n")
    with pytest.raises(DataError) as err:
        load_dataset(str(path))
    assert str(err.value) == (
        "w.csv: line 4: rating 1e+39 is too large (values are stored as 32-bit floats, at "
        "most 3.4e38): '2,1,1e39'"
    )


# -- item 12: gzipped MovieLens and id types ----------------------------------------------------
@pytest.mark.parametrize(
    ("source", "names"), [("ml-100k", ("u.data", "u.item")), ("ml-1m.zip", ("ratings.dat",))]
)
def test_movielens_reads_gzipped_files(tmp_path: Path, source: str, names) -> None:
    folder = tmp_path / "ml"
    if source.endswith(".zip"):
        import zipfile

        with zipfile.ZipFile(FIXTURES / source) as zf:
            zf.extractall(folder)
        plain = next(folder.rglob("ratings.dat")).parent
    else:
        shutil.copytree(FIXTURES / source, folder)
        plain = folder
    expected = load_dataset("movielens", path=str(plain), download=False)
    for name in names:
        original = plain / name
        with original.open("rb") as src, gzip.open(str(original) + ".gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
        original.unlink()
    data = load_dataset("movielens", path=str(plain), download=False)
    assert data.fingerprint() == expected.fingerprint()
    if expected.item_metadata is not None:
        assert data.item_metadata is not None
        assert data.item_metadata["title"].equals(expected.item_metadata["title"])


def test_recommend_json_keeps_the_model_id_types(tmp_path: Path, capsys) -> None:
    ints = write(tmp_path / "i.csv", "user,item,rating\n1,10,4\n1,11,3\n2,10,5\n2,12,1\n")
    code, _, err = cli(capsys, "train", "biases", "-q", "-d", ints, "-o", tmp_path / "i.npz")
    assert code == 0, err
    code, out, err = cli(capsys, "recommend", tmp_path / "i.npz", "--user", "2", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert {type(r["user"]) for r in rows} == {int} and {type(r["item"]) for r in rows} == {int}
    strs = write(tmp_path / "s.csv", "user,item,rating\nu1,a,4\nu1,b,3\nu2,a,5\nu2,c,1\n")
    code, _, err = cli(capsys, "train", "biases", "-q", "-d", strs, "-o", tmp_path / "s.npz")
    code, out, err = cli(capsys, "recommend", tmp_path / "s.npz", "--user", "u2", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert {type(r["user"]) for r in rows} == {str} and {type(r["item"]) for r in rows} == {str}


def test_found_by_fuzzing_ids_that_are_not_text_and_signed_netflix_ids(tmp_path: Path) -> None:
    found = r"^u8\.csv: line 1: (item id is not valid utf-8|user id holds a NUL)"
    with pytest.raises(DataError, match=found):
        load_dataset(str(write_bytes(tmp_path / "u8.csv", b"\x00ser,\x80tem")))
    path = write(tmp_path / "mv_0000013.txt", "13:\n1,5,2000-01-28\n-5,3,2005-01-01\n")
    with pytest.raises(DataError, match=r"^mv_0000013\.txt: line 3: expected 'CustomerID"):
        load_dataset("netflix", path=str(path), titles=False)


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
