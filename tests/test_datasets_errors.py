"""Bad input gives one clear line naming the file, line and problem: never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.errors import DataError, ParamError, UnknownNameError
from workbench.experiments.loading import load_dataset

FIX = Path(__file__).parent / "fixtures" / "data"
BAD = FIX / "bad"
TAB = FIX / "tabular"

CASES = [
    # (spec, error class, exact message or fragment)
    (
        "tabular path={bad}/ratings.dat sep=::",
        DataError,
        "ratings.dat: line 17: expected 4 fields separated by '::', got 'abc'",
    ),
    (
        "tabular path={bad}/ratings.dat",
        DataError,
        "ratings.dat: line 17: expected 4 fields separated by '::', got 'abc'",
    ),
    (
        "tabular path={bad}/comma.data sep=tab",
        DataError,
        "comma.data: no tab-separated columns found; the file looks comma-separated (try sep=,)",
    ),
    (
        "tabular path={tab}/ratings.dat sep=,",
        DataError,
        "ratings.dat: no comma-separated columns found; the file looks '::'-separated (try sep=::)",
    ),
    (
        "tabular path={bad}/extra_field.csv",
        DataError,
        "extra_field.csv: line 11: expected 4 fields separated by ',', got '3,7,4,880000000,99'",
    ),
    (
        "tabular path={bad}/missing_field.tsv",
        DataError,
        "missing_field.tsv: line 5: expected 4 fields separated by tabs, got '3\\t7'",
    ),
    (
        "tabular path={bad}/non_numeric.csv",
        DataError,
        "non_numeric.csv: line 6: rating 'abc' is not a number: '3,7,abc,880000000'",
    ),
    (
        "tabular path={bad}/nan_rating.csv",
        DataError,
        "nan_rating.csv: line 9: rating is missing or NaN: '3,7,NaN,880000000'",
    ),
    (
        "tabular path={bad}/out_of_scale.csv rating_scale=1-5",
        DataError,
        "out_of_scale.csv: line 4: rating 7 is outside the rating scale 1..5: '3,7,7,880000000'",
    ),
    (
        "tabular path={bad}/missing_id.csv",
        DataError,
        "missing_id.csv: line 3: user id is missing: ',7,4,880000000'",
    ),
    ("tabular path={bad}/empty.csv", DataError, "empty.csv: the file is empty"),
    ("tabular path={bad}/blank_lines.csv", DataError, "blank_lines.csv: the file is empty"),
    (
        "tabular path={bad}/header_only.csv",
        DataError,
        "header_only.csv: only a header line ('userId,movieId,rating,timestamp'), no data rows",
    ),
    (
        "tabular path={bad}/truncated.csv.gz",
        DataError,
        "truncated.csv.gz: the gzip data is truncated or corrupt",
    ),
    ("tabular path={bad}/truncated.zip", DataError, "truncated.zip: the zip data is truncated"),
    ("tabular path={bad}/not_parquet.parquet", DataError, "not a readable Parquet file"),
    ("tabular path={bad}/nope.csv", DataError, "no such file: "),
    ("tabular path={tab}/ratings.tsvv", DataError, "did you mean"),
    ("tabular path={tab}", DataError, "is a folder; give the path of a data file"),
    (
        "tabular path={tab}/two_files.zip",
        DataError,
        "two_files.zip: the zip archive holds 2 files (data/ratings.tsv, data/README.txt); "
        "name one with member=NAME",
    ),
    (
        "tabular path={tab}/ratings_reordered.csv",
        DataError,
        "ratings_reordered.csv: no user column found (columns: 'when', 'score', 'film', "
        "'person'); name it with user=COLUMN (a name or a 0-based position)",
    ),
    ("tabular path={tab}/ratings.tsv user=9", DataError, "user=9 is not a column position"),
    ("tabular path={tab}/ratings_header.csv rating=stars", DataError, "no column 'stars'"),
    (
        "tabular path={tab}/implicit_pairs.csv kind=explicit",
        DataError,
        "no rating column found",
    ),
    ("tabular path={tab}/ratings.tsv rating_scale=high", DataError, "expected LOW-HIGH"),
    ("tabular path={tab}/ratings.tsv colour=red", ParamError, "unknown parameter 'colour'"),
    ("tabular path={tab}/ratings.tsv duplicates=some", ParamError, "parameter 'duplicates'"),
    ("tabular path={tab}/ratings.tsv header=maybe", ParamError, "parameter 'header'"),
    ("movielens path={bad}/nowhere", DataError, "no such file or folder"),
    ("movielens path={fix}/netflix variant=1m", DataError, "no ratings.dat (MovieLens 1m) found"),
    ("movielens path={tab}/ratings.tsv", DataError, "expected a MovieLens folder or .zip"),
    ("movielens variant=2m", ParamError, "parameter 'variant'"),
    (
        "netflix path={bad}/netflix",
        DataError,
        "combined_data_1.txt: line 5: expected 'CustomerID,Rating,Date' (rating 1-5, date "
        "YYYY-MM-DD), got '1001,x,2005-09-06'",
    ),
    (
        "netflix path={bad}/netflix-norating",
        DataError,
        "combined_data_1.txt: line 1: expected a 'MovieID:' line first, got '1001,3,2005-09-06'",
    ),
    ("netflix path={tab}", DataError, "no Netflix Prize files found"),
    ("synthetic n_users=10 n_items=10 n_interactions=5", ParamError, "below n_users=10"),
    ("synthetic n_users=10 n_items=10 n_interactions=101", ParamError, "is too many"),
    ("synthetic n_users=-1", ParamError, "parameter 'n_users'"),
    ("synthetic kind=ratings", ParamError, "parameter 'kind'"),
    ("nosuchdataset", UnknownNameError, "unknown dataset 'nosuchdataset'"),
]


@pytest.mark.parametrize(("spec", "error", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_line(spec, error, message):
    with pytest.raises(error) as info:
        load_dataset(spec.format(bad=BAD, tab=TAB, fix=FIX))
    text = str(info.value)
    assert message in text
    assert "\n" not in text
    assert "Traceback" not in text


def test_netflix_bad_line_in_training_set_folder(tmp_path):
    folder = tmp_path / "training_set"
    folder.mkdir()
    (folder / "mv_0000001.txt").write_text("1:\n1001,3,2005-09-06\n")
    (folder / "mv_0000002.txt").write_text("2:\n1001,3,2005-09-06\n1002,9,2005-09-06\n")
    with pytest.raises(DataError, match=r"mv_0000002\.txt: line 3: expected 'CustomerID"):
        load_dataset("netflix", path=str(tmp_path))


def test_corrupt_gzip_in_the_middle(tmp_path):
    import gzip

    data = bytearray(gzip.compress((TAB / "ratings.tsv").read_bytes() * 200, mtime=0))
    data[len(data) // 2 : len(data) // 2 + 64] = b"\x00" * 64
    path = tmp_path / "broken.tsv.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"broken\.tsv\.gz: the gzip data is truncated or corrupt"):
        load_dataset("tabular", path=str(path))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("workbench")
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_cli_prints_one_line_errors_without_traceback():
    result = run_cli("data", "info", "tabular", f"path={BAD / 'ratings.dat'}", "sep=::")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: ratings.dat: line 17: expected 4 fields separated by '::', got 'abc'"
    ]
    result = run_cli("data", "info", "tabular", f"path={TAB / 'ratings.tsv'}", "bogus=1")
    assert result.returncode == 1
    assert "unknown parameter 'bogus'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
