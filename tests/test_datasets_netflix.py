"""Netflix Prize format: both layouts, titles, streaming across blocks, prefixes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from workbench_datasets.netflix import find_files, parse

from workbench.experiments.loading import load_dataset

FIX = Path(__file__).parent / "fixtures" / "data"


def reference() -> pd.DataFrame:
    """The fixture's ratings, read line by line independently of the library."""
    rows, movie = [], None
    for path in sorted((FIX / "netflix" / "training_set").glob("mv_*.txt")):
        for line in path.read_text().splitlines():
            if line.endswith(":"):
                movie = int(line[:-1])
            else:
                customer, rating, date = line.split(",")
                ts = int(pd.Timestamp(date, tz="UTC").timestamp())
                rows.append((int(customer), movie, float(rating), ts))
    return pd.DataFrame(rows, columns=["user", "item", "value", "timestamp"])


def canon(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["user", "item"]).reset_index(drop=True)


@pytest.mark.parametrize("folder", ["netflix", "netflix/training_set", "netflix-combined"])
def test_both_layouts_give_the_same_ratings(folder):
    data = load_dataset("netflix", path=str(FIX / folder))
    assert data.kind == "explicit" and data.rating_scale == (1.0, 5.0)
    got = canon(data.to_pandas())
    want = canon(reference())
    assert len(got) == 36
    for col in ("user", "item", "value", "timestamp"):
        np.testing.assert_array_equal(got[col].to_numpy(), want[col].to_numpy())


def test_titles_from_movie_titles_txt():
    data = load_dataset("netflix", path=str(FIX / "netflix"))
    meta = data.item_metadata
    assert meta.loc[1, "title"] == "Toy Story (1995)"
    assert meta.loc[3, "title"] == "Four Rooms"  # year NULL
    assert meta.loc[10, "title"] == "Misérables, Les (1995)"  # Latin-1 with a comma
    assert load_dataset("netflix", path=str(FIX / "netflix"), titles=False).item_metadata is None


def write_big(folder: Path, n_movies: int, per_movie: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    text = []
    for movie in range(1, n_movies + 1):
        customers = rng.choice(2_000_000, per_movie, replace=False) + 1
        ratings = rng.integers(1, 6, per_movie)
        days = rng.integers(0, 2000, per_movie)
        dates = pd.to_datetime(days + 10957, unit="D").strftime("%Y-%m-%d")
        text.append(f"{movie}:\n")
        text += [f"{c},{r},{d}\n" for c, r, d in zip(customers, ratings, dates, strict=True)]
        rows.append(pd.DataFrame({"user": customers, "item": movie, "value": ratings}))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "combined_data_1.txt").write_text("".join(text))
    return pd.concat(rows, ignore_index=True)


def test_streaming_across_many_blocks_matches(tmp_path):
    want = write_big(tmp_path, n_movies=40, per_movie=5000)
    assert (tmp_path / "combined_data_1.txt").stat().st_size > 3 << 20  # > 3 parse blocks
    movie, customer, rating, _ = parse(find_files(tmp_path), block_mb=1)
    got = pd.DataFrame({"user": customer, "item": movie, "value": rating}).astype(np.int64)
    pd.testing.assert_frame_equal(canon(got), canon(want.astype(np.int64)), check_dtype=False)
    # compact result arrays: 4 + 4 + 1 + 4 bytes a rating
    assert movie.dtype == np.int32 and customer.dtype == np.int32 and rating.dtype == np.int8


def test_max_ratings_keeps_whole_movies(tmp_path):
    write_big(tmp_path, n_movies=5, per_movie=100)
    data = load_dataset("netflix", path=str(tmp_path), max_ratings=250)
    assert len(data) == 300  # movies 1-3
    assert sorted(set(data.items.ids)) == [1, 2, 3]
