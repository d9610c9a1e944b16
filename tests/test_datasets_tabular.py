"""The tabular dataset: every file format gives the same interactions; columns, kinds, ids."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.errors import DataError
from workbench.experiments.loading import load_dataset

FIX = Path(__file__).parent / "fixtures" / "data"
TAB = FIX / "tabular"


def canon(data) -> pd.DataFrame:
    """(user, item, value[, timestamp]) sorted, with ids as ints: comparable across formats."""
    frame = data.to_pandas()
    frame["user"] = frame["user"].astype(np.int64)
    frame["item"] = frame["item"].astype(np.int64)
    return frame.sort_values(["user", "item"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    """The fixture ratings, read independently of the library."""
    frame = pd.read_csv(TAB / "ratings.tsv", sep="\t", header=None)
    frame.columns = ["user", "item", "value", "timestamp"]
    return frame.sort_values(["user", "item"]).reset_index(drop=True)


SAME_DATA = [
    "tabular path={tab}/ratings.tsv",
    "tabular path={tab}/ratings.dat",
    "tabular path={tab}/ratings.dat sep=:: header=false",
    "tabular path={tab}/ratings.dat.gz sep=::",
    "tabular path={tab}/ratings_semicolon.txt",
    "tabular path={tab}/ratings_pipe.txt",
    "tabular path={tab}/ratings_spaces.txt",
    "tabular path={tab}/ratings_spaces.txt sep=whitespace",
    "tabular path={tab}/ratings_header.csv",
    "tabular path={tab}/ratings_crlf.csv",
    "tabular path={tab}/ratings.csv.gz",
    "tabular path={tab}/ratings.zip",
    "tabular path={tab}/two_files.zip member=data/ratings.tsv",
    "tabular path={tab}/ratings.parquet",
    "csv path={tab}/ratings.tsv sep=tab",
    "file path={tab}/ratings.tsv sep='\\t'",
    "tabular path={tab}/ratings_reordered.csv user=person item=film rating=score timestamp=when",
    "tabular path={tab}/ratings_reordered.csv user=3 item=2 rating=1 timestamp=0",
    "{tab}/ratings.tsv",
]


@pytest.mark.parametrize("spec", SAME_DATA)
def test_every_format_gives_the_same_interactions(spec, reference):
    data = load_dataset(spec.format(tab=TAB))
    assert data.kind == "explicit"
    got = canon(data)
    assert len(got) == len(reference) == 36
    np.testing.assert_array_equal(got["user"], reference["user"])
    np.testing.assert_array_equal(got["item"], reference["item"])
    np.testing.assert_array_equal(got["value"], reference["value"])
    np.testing.assert_array_equal(got["timestamp"], reference["timestamp"])


def test_mapping_and_keyword_forms_are_equivalent(reference):
    a = load_dataset({"name": "tabular", "path": str(TAB / "ratings.dat"), "sep": "::"})
    b = load_dataset("tabular", path=str(TAB / "ratings.dat"), sep="::", header=False)
    pd.testing.assert_frame_equal(canon(a), canon(b))


def test_headerless_columns_option_names_the_roles():
    data = load_dataset(
        "tabular", path=str(TAB / "ratings.tsv"), columns="user,item,rating,timestamp"
    )
    assert data.meta["columns"] == {
        "user": "user",
        "item": "item",
        "rating": "rating",
        "timestamp": "timestamp",
    }
    data = load_dataset("tabular", path=str(TAB / "ratings.tsv"), columns=["u", "i", "r", "ts"])
    assert data.kind == "explicit" and data.timestamp is not None


def test_dates_become_unix_seconds(reference):
    data = load_dataset("tabular", path=str(TAB / "ratings_dates.csv"))
    got = canon(data)
    days = (reference["timestamp"] // 86400) * 86400
    np.testing.assert_array_equal(got["timestamp"], days)


def test_implicit_with_play_counts_and_string_ids():
    data = load_dataset("tabular", path=str(TAB / "plays.tsv"))
    assert data.kind == "implicit"
    assert data.meta["columns"] == {"user": "user_id", "item": "artist", "weight": "plays"}
    assert data.users.is_string and data.items.is_string
    frame = pd.read_csv(TAB / "plays.tsv", sep="\t")
    got = data.to_pandas().set_index(["user", "item"])["value"]
    want = frame.set_index(["user_id", "artist"])["plays"].astype(np.float32)
    assert got.sort_index().to_dict() == want.sort_index().to_dict()


def test_implicit_each_row_counts_one():
    data = load_dataset("tabular", path=str(TAB / "implicit_pairs.csv"))
    assert data.kind == "implicit" and len(data) == 36
    assert (data.value == 1).all()
    data = load_dataset("tabular", path=str(TAB / "plays.tsv"), weight="-")
    assert (data.value == 1).all()


def test_implicit_kind_ignores_ratings_unless_weight_given():
    data = load_dataset("tabular", path=str(TAB / "ratings.tsv"), kind="implicit")
    assert data.kind == "implicit" and (data.value == 1).all()
    data = load_dataset("tabular", path=str(TAB / "ratings.tsv"), kind="implicit", weight=2)
    assert data.value.sum() == pd.read_csv(TAB / "ratings.tsv", sep="\t", header=None)[2].sum()


def test_string_ids_keep_leading_zeros():
    data = load_dataset("tabular", path=str(TAB / "string_ids.csv"), string_ids=True)
    assert data.users.is_string
    assert "01" in set(data.users.ids)
    numeric = load_dataset("tabular", path=str(TAB / "string_ids.csv"))
    assert not numeric.users.is_string and 1 in set(numeric.users.ids)


def test_rating_scale_is_declared_or_inferred():
    data = load_dataset("tabular", path=str(TAB / "ratings.tsv"), rating_scale="0.5-5")
    assert data.rating_scale == (0.5, 5.0)
    assert load_dataset("tabular", path=str(TAB / "ratings.tsv")).rating_scale == (1.0, 5.0)
    data = load_dataset("tabular", path=str(TAB / "ratings.tsv"), rating_scale=[1, 10])
    assert data.rating_scale == (1.0, 10.0)


@pytest.mark.parametrize(
    ("policy", "value", "n_merged"),
    [("last", 5.0, 2), ("first", 1.0, 2), ("mean", (1 + 1 + 5) / 3, 2)],
)
def test_duplicate_policies(policy, value, n_merged):
    # duplicates.csv: (1, 1) rated 1, then 1 again, then 5
    data = load_dataset("tabular", path=str(TAB / "duplicates.csv"), duplicates=policy)
    frame = data.to_pandas().set_index(["user", "item"])
    assert frame.loc[(1, 1), "value"] == pytest.approx(value)
    assert data.meta["duplicates_merged"] == n_merged
    assert len(data) == 6


def test_duplicate_policy_sum_for_implicit_and_error():
    data = load_dataset(
        "tabular", path=str(TAB / "duplicates.csv"), kind="implicit", weight="rating"
    )
    assert data.meta["duplicate_policy"] == "sum"
    assert data.to_pandas().set_index(["user", "item"]).loc[(1, 1), "value"] == 7
    with pytest.raises(DataError, match=r"duplicates\.csv: line 8: duplicate rating"):
        load_dataset("tabular", path=str(TAB / "duplicates.csv"), duplicates="error")


def test_item_metadata_from_an_items_file():
    data = load_dataset("tabular", path=str(TAB / "ratings.tsv"), items=str(TAB / "items.csv"))
    meta = data.item_metadata
    assert meta.loc[10, "title"] == "Misérables, Les (1995)"
    assert meta.loc[1, "genres"] == "Animation|Children's|Comedy"
    idx = data.items.index_of([10])
    assert data.item_titles(idx) == ["Misérables, Les (1995)"]


def test_fold_column_is_kept_aligned_with_rows():
    data = load_dataset("tabular", path=str(TAB / "folds.csv"), fold="fold")
    raw = pd.read_csv(TAB / "folds.csv")
    got = pd.DataFrame(
        {
            "user": data.users.id_of(data.user),
            "item": data.items.id_of(data.item),
            "fold": data.provenance.folds.labels,
        }
    )
    merged = got.merge(raw, on=["user", "item"], suffixes=("", "_raw"))
    assert len(merged) == len(raw)
    assert (merged["fold"] == merged["fold_raw"]).all()
    assert data.provenance.folds.name == "fold"
    assert data.provenance.path == TAB / "folds.csv" and data.provenance.member is None
    # the core loader records the spec
    assert data.provenance.spec == {
        "name": "tabular",
        "path": str(TAB / "folds.csv"),
        "fold": "fold",
    }


def test_gzip_detected_by_content_not_name(tmp_path, reference):
    path = tmp_path / "ratings.txt"  # gzip data without a .gz name
    path.write_bytes(gzip.compress((TAB / "ratings.tsv").read_bytes()))
    got = canon(load_dataset("tabular", path=str(path)))
    np.testing.assert_array_equal(got["value"], reference["value"])


@pytest.mark.parametrize("codec", ["bz2", "xz", "zst"])
def test_other_compressions(codec, tmp_path, reference):
    import bz2
    import lzma

    import pyarrow as pa

    raw = (TAB / "ratings.dat").read_bytes()
    path = tmp_path / f"ratings.dat.{codec}"
    if codec == "zst":
        with pa.CompressedOutputStream(str(path), "zstd") as out:
            out.write(raw)
    else:
        path.write_bytes(bz2.compress(raw) if codec == "bz2" else lzma.compress(raw))
    got = canon(load_dataset("tabular", path=str(path), sep="::"))
    np.testing.assert_array_equal(got["value"], reference["value"])
    np.testing.assert_array_equal(got["timestamp"], reference["timestamp"])


def test_large_multichar_file_streams_across_blocks(tmp_path):
    """A '::' file bigger than one stream block parses the same as pandas reads it."""
    rng = np.random.default_rng(0)
    n = 300_000
    frame = pd.DataFrame(
        {
            "u": rng.integers(1, 5000, n),
            "i": rng.integers(1, 3000, n),
            "r": rng.integers(1, 6, n),
            "t": rng.integers(9e8, 1e9, n),
        }
    ).drop_duplicates(["u", "i"])
    path = tmp_path / "big.dat"
    path.write_text("".join(f"{u}::{i}::{r}::{t}\n" for u, i, r, t in frame.itertuples(False)))
    assert path.stat().st_size > 4 << 20  # more than one LineStream block
    data = load_dataset("tabular", path=str(path), sep="::")
    assert len(data) == len(frame)
    got = canon(data)
    want = frame.sort_values(["u", "i"]).reset_index(drop=True)
    np.testing.assert_array_equal(got["user"], want["u"])
    np.testing.assert_array_equal(got["value"], want["r"])
    np.testing.assert_array_equal(got["timestamp"], want["t"])
