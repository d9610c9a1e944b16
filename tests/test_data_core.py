"""`Interactions` and `IdMap`: construction, validation with one-line errors, views, subsets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench import DataError, IdMap, Interactions


def frame(**columns) -> pd.DataFrame:
    base = {"user": ["u1", "u2", "u1", "u3"], "item": ["a", "b", "b", "c"], "rating": [4, 5, 3, 1]}
    base.update(columns)
    return pd.DataFrame(base)


# -- ids ---------------------------------------------------------------------------------------
def test_string_ids_map_both_ways() -> None:
    data = Interactions.from_pandas(frame())
    assert data.users.is_string and list(data.users.ids) == ["u1", "u2", "u3"]  # sorted
    assert data.users.index_of(["u3", "u1"]).tolist() == [2, 0]
    assert data.items.id_of([2, 0]).tolist() == ["c", "a"]
    back = data.to_pandas()
    assert back[["user", "item"]].values.tolist() == frame()[["user", "item"]].values.tolist()
    assert back["value"].tolist() == [4, 5, 3, 1]


def test_integer_ids_map_both_ways_and_accept_digit_strings() -> None:
    data = Interactions.from_arrays([10, 30, 20], [7, 7, 9], [1.0, 2.0, 3.0])
    assert not data.users.is_string and data.users.ids.dtype == np.int64
    assert data.users.index_of([30, 10]).tolist() == [2, 0]
    assert data.users.index_of(["20"]).tolist() == [1]  # "20" typed on a command line
    assert data.items.id_of([1]).tolist() == [9]


def test_unknown_ids() -> None:
    data = Interactions.from_pandas(frame())
    with pytest.raises(DataError, match="^unknown id 'zz'$"):
        data.users.index_of(["u1", "zz"])
    assert data.users.index_of(["zz", "u2"], missing="minus1").tolist() == [-1, 1]


def test_id_map_refuses_repeated_ids_and_extends_in_order() -> None:
    with pytest.raises(DataError, match="id 'a' appears more than once"):
        IdMap(["a", "b", "a"])
    grown = IdMap(["b", "a"]).extend(["c", "a", "d", "c"])
    assert list(grown.ids) == ["b", "a", "c", "d"]


# -- validation --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.nan, "ratings.csv: row 3: rating is nan (expected a finite number)"),
        (np.inf, "ratings.csv: row 3: rating is inf (expected a finite number)"),
        (-np.inf, "ratings.csv: row 3: rating is -inf (expected a finite number)"),
        ("abc", "ratings.csv: row 3: rating 'abc' is not a number"),
    ],
)
def test_non_finite_or_non_numeric_values(value, message: str) -> None:
    ratings = [4, 5, value, 1]
    with pytest.raises(DataError) as err:
        Interactions.from_pandas(frame(rating=ratings), source="ratings.csv")
    assert str(err.value) == message


def test_values_outside_the_declared_scale() -> None:
    with pytest.raises(DataError) as err:
        Interactions.from_pandas(frame(rating=[4, 5, 6, 1]), rating_scale=(1, 5), name="ml")
    assert str(err.value) == "ml: row 3: rating 6 is outside the rating scale 1..5"
    with pytest.raises(DataError, match="row 4: rating 0.5 is outside the rating scale 1..5"):
        Interactions.from_pandas(frame(rating=[4, 5, 3, 0.5]), rating_scale=(1, 5))


def test_row_numbers_follow_the_file_lines() -> None:
    with pytest.raises(DataError, match="^f.csv: row 4: rating 6 "):
        Interactions.from_pandas(
            frame(rating=[4, 5, 6, 1]), rating_scale=(1, 5), source="f.csv", row_offset=2
        )


def test_empty_input() -> None:
    with pytest.raises(DataError) as err:
        Interactions.from_pandas(frame().iloc[:0], name="empty")
    assert str(err.value) == "empty: no interactions (the input is empty)"
    with pytest.raises(DataError, match="no interactions"):
        Interactions.from_arrays([], [], [])


def test_mismatched_lengths() -> None:
    with pytest.raises(DataError) as err:
        Interactions.from_arrays(["a", "b", "c"], ["x", "y"], [1, 2, 3], name="d")
    assert str(err.value) == "d: columns have different lengths (users=3, items=2, values=3)"
    with pytest.raises(DataError, match=r"\(users=2, items=2, values=2, timestamps=3\)$"):
        Interactions.from_arrays(["a", "b"], ["x", "y"], [1, 2], timestamps=[1, 2, 3])


def test_missing_ids_and_columns() -> None:
    with pytest.raises(DataError, match="^data: row 2: user id is missing$"):
        Interactions.from_pandas(frame(user=["u1", None, "u1", "u3"]))
    with pytest.raises(DataError) as err:
        Interactions.from_pandas(frame(), value="score")
    assert str(err.value) == "data: no column 'score' (columns: user, item, rating)"


def test_kind_and_value_requirements() -> None:
    with pytest.raises(DataError, match="kind must be 'explicit' or 'implicit', got 'both'"):
        Interactions.from_pandas(frame(), kind="both")
    with pytest.raises(DataError, match="explicit data needs a rating column"):
        Interactions.from_pandas(frame(), value=None)
    with pytest.raises(DataError, match="row 2: rating -1 is negative"):
        Interactions.from_pandas(frame(rating=[1, -1, 2, 3]), kind="implicit")


def test_timestamps() -> None:
    stamps = pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04"])
    data = Interactions.from_pandas(frame(ts=stamps), timestamp="ts")
    assert data.timestamp.dtype == np.int64 and data.timestamp[0] == 1577836800
    with pytest.raises(DataError, match="row 3: ts 'soon' is not a number"):
        Interactions.from_pandas(frame(ts=[1, 2, "soon", 4]), timestamp="ts")


def test_missing_and_timezone_aware_datetime_timestamps() -> None:
    # a missing datetime (NaT) is an error like a missing number, never INT64_MIN (which a
    # temporal split would put first); a timezone-aware column counts Unix seconds in UTC
    stamps = pd.to_datetime(["2020-01-01", "2020-01-02", None, "2020-01-04"])
    with pytest.raises(DataError, match="row 3: ts is missing"):
        Interactions.from_pandas(frame(ts=stamps), timestamp="ts")
    aware = pd.to_datetime(["2020-01-01T01:00:00+01:00"] * 4)
    data = Interactions.from_pandas(frame(ts=aware), timestamp="ts")
    assert data.timestamp.tolist() == [1577836800] * 4


# -- kinds, scale, duplicates --------------------------------------------------------------------
def test_explicit_scale_is_inferred_or_declared() -> None:
    assert Interactions.from_pandas(frame()).rating_scale == (1.0, 5.0)
    data = Interactions.from_pandas(frame(), rating_scale=(0, 10))
    assert data.rating_scale == (0.0, 10.0) and data.is_explicit


def test_implicit_without_values_counts_each_row_once_and_sums_repeats() -> None:
    data = Interactions.from_arrays(["a", "a", "b"], ["x", "x", "y"], kind="implicit")
    assert data.kind == "implicit" and data.rating_scale is None
    assert data.csr().toarray().tolist() == [[2.0, 0.0], [0.0, 1.0]]
    assert data.meta["duplicates_merged"] == 1 and data.meta["duplicate_policy"] == "sum"


@pytest.mark.parametrize(
    ("policy", "value"), [("last", 2.0), ("first", 4.0), ("mean", 3.0), ("sum", 6.0)]
)
def test_duplicate_policies(policy: str, value: float) -> None:
    data = Interactions.from_arrays(["a", "b", "a"], ["x", "x", "x"], [4, 5, 2], duplicates=policy)
    assert len(data) == 2
    assert data.csr()[data.users.index_of(["a"])[0], 0] == value


def test_duplicate_policy_error_and_unknown_policy() -> None:
    with pytest.raises(DataError) as err:
        Interactions.from_pandas(frame(item=["a", "b", "a", "c"]), duplicates="error")
    assert str(err.value) == (
        "data: row 3: duplicate rating of item 'a' by user 'u1' "
        "(choose a duplicates policy: last, first, mean or sum)"
    )
    with pytest.raises(DataError, match="duplicates policy 'max' is not one of"):
        Interactions.from_pandas(frame(item=["a", "b", "a", "c"]), duplicates="max")


# -- views and derived data --------------------------------------------------------------------
def test_compact_dtypes_and_read_only_arrays() -> None:
    data = Interactions.from_pandas(frame())
    assert (data.user.dtype, data.item.dtype, data.value.dtype) == (
        np.int32,
        np.int32,
        np.float32,
    )
    with pytest.raises(ValueError):
        data.value[0] = 2


def test_csr_and_csc_views() -> None:
    data = Interactions.from_pandas(frame())
    csr = data.csr()
    assert csr.shape == (3, 3) and csr.nnz == 4 and csr is data.csr()  # cached
    u, i = data.users.index_of(["u1"])[0], data.items.index_of(["b"])[0]
    assert csr[u, i] == 3.0
    assert (data.csc().toarray() == csr.toarray()).all()
    assert data.user_counts().tolist() == [2, 1, 1] and data.item_counts().tolist() == [1, 2, 1]


def test_subset_keeps_the_id_space() -> None:
    data = Interactions.from_pandas(frame())
    part = data.subset(np.array([True, False, False, True]), name="train")
    assert part.users is data.users and part.items is data.items
    assert (part.n_users, part.n_items, len(part)) == (3, 3, 2) and part.name == "train"
    assert part.user_counts().tolist() == [1, 0, 1]  # u2 is cold in this part
    assert part.csr().shape == data.csr().shape
    by_index = data.subset(np.array([3]))
    assert by_index.to_pandas()["user"].tolist() == ["u3"]
    with pytest.raises(DataError, match="subset mask has 2 rows, expected 4"):
        data.subset(np.array([True, False]))


def test_align_to_another_id_space_appends_new_ids() -> None:
    model_space = Interactions.from_pandas(frame())
    other = Interactions.from_arrays(["u9", "u2"], ["b", "zz"], [2.0, 4.0])
    aligned = other.align_to(model_space.users, model_space.items)
    assert list(aligned.users.ids) == ["u1", "u2", "u3", "u9"]
    assert list(aligned.items.ids) == ["a", "b", "c", "zz"]
    pairs = set(zip(aligned.to_pandas()["user"], aligned.to_pandas()["item"], strict=True))
    assert pairs == {("u9", "b"), ("u2", "zz")}
    assert aligned.user.max() == 3 and aligned.item.max() == 3  # new ids: cold to the model


def test_fingerprint_identifies_the_data() -> None:
    a = Interactions.from_pandas(frame())
    assert a.fingerprint() == Interactions.from_pandas(frame()).fingerprint()
    assert a.fingerprint() != Interactions.from_pandas(frame(rating=[4, 5, 3, 2])).fingerprint()


def test_item_titles_from_metadata() -> None:
    meta = pd.DataFrame({"title": ["Alpha", "Beta"]}, index=["a", "b"])
    data = Interactions.from_pandas(frame(), item_metadata=meta)
    assert data.item_titles(data.items.index_of(["b", "c"])) == ["Beta", None]


def test_summing_repeated_ratings_beyond_the_scale_is_refused():
    df = pd.DataFrame({"user": [1, 1, 2], "item": [5, 5, 5], "rating": [4, 5, 3]})
    with pytest.raises(DataError, match=r"duplicates=sum gives 9 .* outside the rating scale 1..5"):
        Interactions.from_pandas(df, rating_scale=(1, 5), duplicates="sum")
    summed = Interactions.from_pandas(df, rating_scale=(1, 10), duplicates="sum")
    assert sorted(summed.value.tolist()) == [3.0, 9.0]


def test_string_ids_against_an_integer_id_map_are_a_clear_error():
    data = Interactions.from_arrays([1, 2], [10, 20], [3.0, 4.0])
    new = Interactions.from_arrays(["alice"], ["x"], [5.0])
    with pytest.raises(DataError, match="'alice' is not an integer"):
        new.align_to(data.users, data.items)


@pytest.mark.parametrize(("policy", "expected_ts"), [("mean", 300), ("sum", 300), ("first", 100)])
def test_merged_duplicates_take_the_latest_timestamp(policy: str, expected_ts: int) -> None:
    df = pd.DataFrame(
        {"user": [1, 2, 1], "item": [5, 5, 5], "rating": [2, 3, 4], "ts": [100, 200, 300]}
    )
    data = Interactions.from_pandas(df, timestamp="ts", duplicates=policy, rating_scale=(1, 10))
    row = int(np.flatnonzero(data.user == data.users.index_of([1])[0])[0])
    assert data.timestamp[row] == expected_ts
