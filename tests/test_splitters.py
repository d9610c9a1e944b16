"""Every splitter: registered, seeded and reproducible, no leakage, its own guarantees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from workbench_splitters.base import assert_no_leakage

from workbench.data import IdMap, Interactions
from workbench.errors import DataError, ParamError
from workbench.experiments.loading import load_dataset, make_splitter
from workbench.plugins import get_registry
from workbench.splits import Split

FIX = Path(__file__).parent / "fixtures" / "data"

SPECS = [
    "holdout",
    "holdout ratio=0.3",
    "kfold",
    "kfold n_folds=3",
    "user-holdout",
    "user-holdout n=2 by=time",
    "user-holdout fraction=0.5 by=random min_train=3",
    "temporal",
    "temporal quantile=0.5",
    "leave-one-out",
    "leave-one-out by=random",
    "new-users",
    "new-users history_n=3 by=time",
    "new-users n_folds=4",
]
#: Splits that depend on the seed (by=time and temporal ones do not).
RANDOM_SPECS = [
    s
    for s in SPECS
    if "by=time" not in s and s not in ("temporal", "temporal quantile=0.5", "leave-one-out")
]


@pytest.fixture(scope="module")
def data() -> Interactions:
    return load_dataset("synthetic", n_users=300, n_items=400, n_interactions=15_000, seed=5)


def fingerprints(splits: list[Split]) -> list[tuple[str, str, str | None]]:
    return [
        (s.train.fingerprint(), s.test.fingerprint(), s.history and s.history.fingerprint())
        for s in splits
    ]


def test_all_registered_with_aliases():
    registry = get_registry()
    names = set(registry.names("splitter"))
    assert {
        "holdout",
        "kfold",
        "user-holdout",
        "temporal",
        "leave-one-out",
        "new-users",
        "predefined",
    } <= names
    for alias, name in [("cv", "kfold"), ("loo", "leave-one-out"), ("fold-in", "new-users")]:
        assert registry.entry("splitter", alias).name == name


@pytest.mark.parametrize("spec", SPECS)
def test_reproducible_no_leakage_shared_ids(spec, data):
    splitter = make_splitter(spec)
    first = list(splitter.split(data))
    again = list(make_splitter(spec).split(data))
    assert fingerprints(first) == fingerprints(again)
    assert len(first) == splitter.n_splits() == splitter.n_splits(data)
    for k, split in enumerate(first):
        assert split.fold == k
        assert split.leaked_pairs() == 0
        assert split.train.users is data.users and split.test.items is data.items
        info = split.describe()
        assert info["n_train"] + info["n_test"] + info["n_history"] == len(data)
        assert info["cold_users"] == len(split.cold_users())
        assert len(split.test) > 0 and len(split.train) > 0


@pytest.mark.parametrize("spec", RANDOM_SPECS)
def test_seed_changes_random_splits(spec, data):
    a = fingerprints(list(make_splitter(f"{spec} seed=1").split(data)))
    b = fingerprints(list(make_splitter(f"{spec} seed=2").split(data)))
    assert a != b


def rows_of(part: Interactions, data: Interactions) -> np.ndarray:
    """Row positions of ``part`` in ``data`` (data has unique (user, item) pairs)."""
    key = data.user.astype(np.int64) * data.n_items + data.item
    order = np.argsort(key)
    part_key = part.user.astype(np.int64) * data.n_items + part.item
    return order[np.searchsorted(key[order], part_key)]


def test_holdout_ratio(data):
    (split,) = make_splitter("holdout ratio=0.25").split(data)
    assert len(split.test) == round(0.25 * len(data))


def test_kfold_each_interaction_in_exactly_one_test_fold(data):
    splits = list(make_splitter("kfold n_folds=4 seed=3").split(data))
    seen = np.zeros(len(data), dtype=np.int64)
    for split in splits:
        rows = rows_of(split.test, data)
        seen[rows] += 1
        assert abs(len(split.test) - len(data) / 4) <= 1
    assert (seen == 1).all()


def test_user_holdout_by_time_takes_each_users_latest(data):
    (split,) = make_splitter("user-holdout n=2 by=time").split(data)
    assert (np.bincount(split.test.user, minlength=data.n_users) == 2).all()
    last_train = np.full(data.n_users, -1, dtype=np.int64)
    np.maximum.at(last_train, split.train.user, split.train.timestamp)
    first_test = np.full(data.n_users, np.iinfo(np.int64).max)
    np.minimum.at(first_test, split.test.user, split.test.timestamp)
    assert (last_train <= first_test).all()


def test_user_holdout_fraction_and_min_train(data):
    (split,) = make_splitter("user-holdout fraction=0.5 min_train=3").split(data)
    counts = data.user_counts()
    test = np.bincount(split.test.user, minlength=data.n_users)
    want = np.minimum(np.floor(counts * 0.5 + 0.5), counts - 3).clip(0)
    np.testing.assert_array_equal(test, want)


def test_temporal_cut_separates_past_and_future(data):
    splitter = make_splitter("temporal quantile=0.7")
    (split,) = splitter.split(data)
    assert split.train.timestamp.max() < split.test.timestamp.min()
    assert abs(len(split.train) / len(data) - 0.7) < 0.01
    cut = int(np.datetime64("2002-06-01", "s").astype(np.int64))
    (by_date,) = make_splitter("temporal cut=2002-06-01").split(data)
    assert by_date.test.timestamp.min() >= cut > by_date.train.timestamp.max()
    (by_secs,) = make_splitter(f"temporal cut={cut}").split(data)
    assert by_secs.test.fingerprint() == by_date.test.fingerprint()


def test_leave_one_out_one_latest_per_user(data):
    (split,) = make_splitter("leave-one-out").split(data)
    assert (np.bincount(split.test.user, minlength=data.n_users) == 1).all()
    latest = np.full(data.n_users, -1, dtype=np.int64)
    np.maximum.at(latest, data.user, data.timestamp)
    np.testing.assert_array_equal(latest[split.test.user], split.test.timestamp)


def test_leave_one_out_keeps_tiny_users_in_train():
    tiny = Interactions.from_arrays(
        [1, 1, 1, 2], [1, 2, 3, 1], [3, 4, 5, 2], timestamps=[1, 2, 3, 4]
    )
    (split,) = make_splitter("leave-one-out").split(tiny)
    assert list(tiny.users.id_of(split.test.user)) == [1]
    assert list(tiny.items.id_of(split.test.item)) == [3]


def test_new_users_are_held_out_entirely(data):
    (split,) = make_splitter("new-users user_fraction=0.2 history_fraction=0.5 seed=4").split(data)
    held = np.unique(split.test.user)
    assert len(held) == round(0.2 * data.n_users)
    assert not np.isin(held, split.train.user).any()
    assert set(np.unique(split.history.user)) <= set(held)
    # history + test = all of the held-out users' interactions, about half each
    held_rows = np.isin(data.user, held).sum()
    assert len(split.history) + len(split.test) == held_rows
    assert abs(len(split.history) / held_rows - 0.5) < 0.05
    assert split.describe()["cold_users"] == 0  # folded in through their history
    assert len(split.cold_users()) == 0


def test_new_users_folds_cover_every_user_once(data):
    splits = list(make_splitter("new-users n_folds=3").split(data))
    held = np.concatenate([np.unique(s.test.user) for s in splits])
    assert len(held) == len(np.unique(held)) == data.n_users


def test_new_users_history_by_time_is_the_earliest(data):
    (split,) = make_splitter("new-users history_n=3 by=time").split(data)
    last_hist = np.full(data.n_users, -1, dtype=np.int64)
    np.maximum.at(last_hist, split.history.user, split.history.timestamp)
    first_test = np.full(data.n_users, np.iinfo(np.int64).max)
    np.minimum.at(first_test, split.test.user, split.test.timestamp)
    users = np.unique(split.test.user)
    assert (last_hist[users] <= first_test[users]).all()
    assert (np.bincount(split.history.user)[users] == 3).all()


def test_time_splits_need_timestamps():
    flat = load_dataset("synthetic", n_users=50, n_items=60, n_interactions=800, timestamps=False)
    for spec in ("temporal", "leave-one-out", "user-holdout by=time", "new-users by=time"):
        with pytest.raises(DataError, match="needs timestamps"):
            list(make_splitter(spec).split(flat))


def test_cold_items_are_counted():
    data = Interactions.from_arrays([1, 1, 2, 2, 3], [1, 2, 1, 3, 1], [5, 4, 3, 2, 1])
    test = data.item == data.items.index_of([3])[0]
    split = Split(data.subset(~test), data.subset(test))
    assert split.describe()["cold_items"] == 1 and split.describe()["cold_users"] == 0


def test_leakage_is_detected_when_pairs_repeat():
    users, items = IdMap([1, 2]), IdMap([1, 2])
    data = Interactions(
        np.array([0, 0, 1]),
        np.array([0, 0, 1]),
        np.array([1.0, 2.0, 3.0]),
        users=users,
        items=items,
    )
    with pytest.raises(DataError, match="1 test .* pairs also occur in the training"):
        assert_no_leakage(Split(data.subset([0, 2]), data.subset([1])))
    with pytest.raises(DataError, match="duplicates policy"):
        list(make_splitter("kfold n_folds=3").split(data))


# -- predefined ------------------------------------------------------------------------------
def test_predefined_movielens_file_pairs():
    data = load_dataset("movielens", path=str(FIX / "ml-100k"))
    splitter = make_splitter("predefined")
    assert splitter.n_splits(data) == 2
    splits = list(splitter.split(data))
    assert len(splits) == 2
    for k, split in enumerate(splits, start=1):
        want = {
            tuple(map(int, line.split("\t")[:2]))
            for line in (FIX / "ml-100k" / f"u{k}.test").read_text().splitlines()
        }
        got = set(
            zip(
                data.users.id_of(split.test.user).tolist(),
                data.items.id_of(split.test.item).tolist(),
                strict=True,
            )
        )
        assert got == want
        assert len(split.train) + len(split.test) == len(data)
        assert split.leaked_pairs() == 0


def test_predefined_explicit_patterns_dir_and_folds():
    data = load_dataset("tabular", path=str(FIX / "ml-100k" / "u.data"))
    spec = f"predefined train=u{{fold}}.base test=u{{fold}}.test dir={FIX / 'ml-100k'} folds=2"
    splitter = make_splitter(spec)
    assert splitter.n_splits() == 1
    (split,) = splitter.split(data)
    assert len(split.test) == len((FIX / "ml-100k" / "u2.test").read_text().splitlines())


def test_predefined_from_a_fold_column():
    data = load_dataset("tabular", path=str(FIX / "tabular" / "folds.csv"), fold="fold")
    splits = list(make_splitter("predefined").split(data))
    assert len(splits) == 3
    folds = data.provenance.folds.labels
    for k, split in enumerate(splits):
        assert len(split.test) == int((folds == k).sum())
        # a part keeps where the data came from, not the per-row labels or the spec
        for part in (split.train, split.test):
            assert part.provenance.folds is None and part.provenance.spec is None
            assert part.provenance.path == data.provenance.path
    assert len(list(make_splitter("predefined folds=0,2").split(data))) == 2


def test_predefined_errors(tmp_path):
    data = load_dataset("tabular", path=str(FIX / "tabular" / "ratings.tsv"))
    with pytest.raises(DataError, match="has no fold ids"):
        list(make_splitter("predefined").split(data))
    with pytest.raises(ParamError, match="give both train= and test="):
        list(make_splitter("predefined train=a{fold}.txt").split(data))
    with pytest.raises(ParamError, match="has no {fold}"):
        list(make_splitter(f"predefined train=a.txt test=b.txt dir={tmp_path}").split(data))
    (tmp_path / "x1.base").write_text("1\t1\t1\t1\n")
    with pytest.raises(DataError, match=r"x1\.test is missing"):
        list(
            make_splitter(
                f"predefined train=x{{fold}}.base test=x{{fold}}.test dir={tmp_path}"
            ).split(data)
        )
    (tmp_path / "x1.test").write_text("1\t2\t4\t1\n99\t1\t3\t1\n")
    with pytest.raises(DataError, match=r"x1\.test: line 2: user 99 is not in dataset"):
        list(
            make_splitter(
                f"predefined train=x{{fold}}.base test=x{{fold}}.test dir={tmp_path}"
            ).split(data)
        )
    (tmp_path / "x1.test").write_text("2\t2\t4\t1\n")  # user 2 never rated item 2
    with pytest.raises(DataError, match=r"line 1: the pair \(2, 2\) is not in dataset"):
        list(
            make_splitter(
                f"predefined train=x{{fold}}.base test=x{{fold}}.test dir={tmp_path}"
            ).split(data)
        )
    (tmp_path / "x1.test").write_text("1\t1\t4\t1\n")  # the same pair as in train
    with pytest.raises(DataError, match="also occur in the training data"):
        list(
            make_splitter(
                f"predefined train=x{{fold}}.base test=x{{fold}}.test dir={tmp_path}"
            ).split(data)
        )
