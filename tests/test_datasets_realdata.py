"""The real datasets in $WORKBENCH_DATA_DIR: exact counts (skipped where the data is absent)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.experiments.loading import load_dataset, make_splitter

pytestmark = pytest.mark.realdata


def test_movielens_100k(real_data_dir):
    data = load_dataset("movielens", path=str(real_data_dir / "ml-100k"))
    assert (len(data), data.n_users, data.n_items) == (100_000, 943, 1_682)
    assert data.meta["variant"] == "100k" and data.rating_scale == (1.0, 5.0)
    assert np.bincount(data.value.astype(int))[1:].tolist() == [6110, 11370, 27145, 34174, 21201]
    assert data.meta["duplicates_merged"] == 0
    # titles from the RecBole-style items.tsv, with the year as in the original u.item
    meta = data.item_metadata
    assert len(meta) == 1682
    assert meta.loc[1, "title"] == "Toy Story (1995)"
    assert meta.loc[1, "genres"] == "Animation|Children's|Comedy"
    assert data.item_titles(data.items.index_of([543]))[0].startswith("Misérables, Les")


def test_movielens_100k_u_data_as_a_plain_table(real_data_dir):
    data = load_dataset(str(real_data_dir / "ml-100k" / "u.data"))
    assert (len(data), data.n_users, data.n_items) == (100_000, 943, 1_682)
    assert data.timestamp is not None


def test_movielens_latest_small(real_data_dir):
    data = load_dataset("movielens", path=str(real_data_dir / "ml-latest-small"))
    assert (len(data), data.n_users, data.n_items) == (100_836, 610, 9_724)
    assert data.meta["variant"] == "latest-small" and data.rating_scale == (0.5, 5.0)
    values, counts = np.unique(data.value, return_counts=True)
    assert dict(zip(values.tolist(), counts.tolist(), strict=True)) == {
        0.5: 1370, 1.0: 2811, 1.5: 1791, 2.0: 7551, 2.5: 5550,
        3.0: 20047, 3.5: 13136, 4.0: 26818, 4.5: 8551, 5.0: 13211,
    }  # fmt: skip
    assert len(data.item_metadata) == 9742
    assert data.item_metadata.loc[1, "genres"] == "Adventure|Animation|Children|Comedy|Fantasy"


def test_lastfm_play_counts(real_data_dir):
    folder = real_data_dir / "hetrec2011-lastfm-2k"
    data = load_dataset("lastfm", path=str(folder))
    assert (len(data), data.n_users, data.n_items) == (92_834, 1_892, 17_632)
    assert data.kind == "implicit"
    assert data.value.min() == 1 and data.value.max() == 352_698
    assert data.item_metadata.loc[1, "title"] == "MALICE MIZER"
    as_table = load_dataset("tabular", path=str(folder / "user_artists.dat"))
    assert as_table.kind == "implicit" and len(as_table) == 92_834
    assert as_table.fingerprint() == data.fingerprint()


def test_real_data_splits_without_leakage(real_data_dir):
    data = load_dataset("movielens", path=str(real_data_dir / "ml-100k"))
    splits = list(make_splitter("kfold n_folds=5 seed=0").split(data))
    assert sum(len(s.test) for s in splits) == 100_000
    assert all(s.leaked_pairs() == 0 for s in splits)
    (loo,) = make_splitter("leave-one-out").split(data)
    assert len(loo.test) == 943
