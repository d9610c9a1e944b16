"""Side information: `Attributes` in `Interactions`, the dataset readers, and ``svdpp-attr``
(contract, equivalence with svdpp when off, cold users/items predicted from attributes,
fold-in with the history's attributes, unseen categories)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from workbench_datasets.movielens import MovieLens
from workbench_datasets.tabular import Tabular
from workbench_sgd.svdpp import SVDpp
from workbench_sgd.timesvdpp import SVDppAttr

from workbench.attributes import Attributes
from workbench.data import IdMap, Interactions
from workbench.errors import DataError
from workbench.testing import ModelContract, low_rank_ratings

FIXTURES = Path(__file__).parent / "fixtures" / "data"


def item_genres(data: Interactions) -> Attributes:
    ids = data.items.ids
    return Attributes.from_rows(ids, [[f"genre={k % 4}", f"year={k % 3}"] for k in range(len(ids))])


# -- Attributes and Interactions -------------------------------------------------------------
def test_attributes_from_a_table_with_fallbacks_and_errors() -> None:
    frame = pd.DataFrame(
        {"id": [1, 2, 3], "genres": ["a|b", None, "c"], "size": ["x", "y", None]}
    )
    attrs = Attributes.from_frame(frame, id_column="id", multi={"genres": "|"})
    assert attrs.fields == ("genres", "size")
    m = attrs.matrix([3, 2, 99]).toarray()  # 99: no row -> no features
    names = np.array(attrs.features)
    assert list(names[m[0] > 0]) == ["genres=c"]  # missing size: no feature for it
    assert list(names[m[1] > 0]) == ["size=y"]
    assert m[2].sum() == 0
    only = attrs.matrix([1], features=["size=x", "genres=zzz"]).toarray()
    np.testing.assert_array_equal(only, [[1, 0]])  # features outside the list are dropped
    with pytest.raises(DataError, match="line 3: the id is missing"):
        Attributes.from_frame(frame.assign(id=[1, None, 3]), id_column="id")
    with pytest.raises(DataError, match="line 4: id '1' appears again"):
        Attributes.from_frame(frame.assign(id=[1, 2, 1]), id_column="id")


def test_interactions_carry_typed_attributes() -> None:
    data = low_rank_ratings()
    attrs = item_genres(data)
    with_attrs = data.with_attributes(items=attrs)
    assert with_attrs.item_attributes is attrs and with_attrs.user_attributes is None
    part = with_attrs.subset(np.arange(10))
    assert part.item_attributes is attrs
    aligned = part.align_to(IdMap(["zz"]), IdMap(["qq"]))
    assert aligned.item_attributes is attrs  # keyed by external id: any id space
    with pytest.raises(DataError, match="item_attributes must be workbench.attributes.Attributes"):
        Interactions(
            data.user, data.item, data.value, users=data.users, items=data.items,
            item_attributes={"genre": 1},  # type: ignore[arg-type]
        )  # fmt: skip


# -- datasets ---------------------------------------------------------------------------------
@pytest.mark.parametrize("folder", ["ml-100k", "ml-100k-recbole"])
def test_movielens_ships_user_and_item_attributes(folder: str) -> None:
    data = MovieLens(path=str(FIXTURES / folder)).load()
    users = data.user_attributes
    assert users is not None and users.fields == ("age", "gender", "occupation")
    feats = np.array(users.features)
    row = users.matrix([7]).toarray()[0] > 0
    assert set(feats[row]) == {"age=56+", "gender=M", "occupation=administrator"}
    row8 = users.matrix([8]).toarray()[0] > 0  # age missing in the file: no age feature
    assert set(feats[row8]) == {"gender=M", "occupation=technician"}
    items = data.item_attributes
    assert items is not None and set(items.fields) == {"genre", "year"}
    assert "year=1995-1999" in items.features
    bare = MovieLens(path=str(FIXTURES / folder), attributes=False).load()
    assert bare.user_attributes is None and bare.item_attributes is None


def test_tabular_attribute_files(tmp_path: Path) -> None:
    ratings = FIXTURES / "tabular" / "ratings.csv.gz"
    base = Tabular(path=str(ratings)).load()
    uid = base.users.ids
    users = tmp_path / "users.csv"
    users.write_text(
        "user,gender,age\n"
        f"{uid[0]},F,20-29\n{uid[1]},,30-39\n424242,M,20-29\n"  # 424242: not in the ratings
    )
    data = Tabular(path=str(ratings), user_attributes=str(users)).load()
    attrs = data.user_attributes
    assert attrs is not None and len(attrs) == 3  # unknown ids are kept (later fold-in)
    row = attrs.matrix([uid[1]]).toarray()[0] > 0
    assert list(np.array(attrs.features)[row]) == ["age=30-39"]
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,colour\nx1,red\nx2,blue\n")
    with pytest.raises(DataError, match=r"wrong.csv: none of its 2 user ids .* occur"):
        Tabular(path=str(ratings), user_attributes=str(wrong)).load()
    missing = tmp_path / "missing.csv"
    missing.write_text(f"item,genre\n{base.items.ids[0]},a\n,b\n")
    with pytest.raises(DataError, match=r"missing.csv: line 3: the id is missing"):
        Tabular(path=str(ratings), item_attributes=str(missing)).load()


# -- the model --------------------------------------------------------------------------------
class TestSVDppAttrContract(ModelContract):
    """Item attributes (user attributes would change the contract's re-keyed fold-in user)."""

    def make_model(self, **params: Any) -> SVDppAttr:
        return SVDppAttr(n_factors=6, n_epochs=25, **params)

    def make_data(self) -> Interactions:
        data = low_rank_ratings()
        return data.with_attributes(items=item_genres(data))

    def test_refit_starts_over(self, data: Interactions) -> None:
        # the suite's version refits on data without attributes (an error here)
        other = low_rank_ratings(seed=7)
        model = self.make_model().fit(other.with_attributes(items=item_genres(other))).fit(data)
        fresh = self.make_model().fit(data)
        u, i = self._pairs(data)
        np.testing.assert_allclose(model.predict(u, i), fresh.predict(u, i), rtol=1e-5, atol=1e-5)


def test_without_attributes_it_is_svdpp() -> None:
    data = low_rank_ratings()
    a = SVDppAttr(attributes=False, n_factors=5, n_epochs=8).fit(data)
    b = SVDpp(n_factors=5, n_epochs=8).fit(data)
    u = np.arange(data.n_users).repeat(3)
    i = np.tile([0, 5, 9], data.n_users)
    np.testing.assert_array_equal(a.predict(u, i), b.predict(u, i))
    with pytest.raises(DataError, match="needs user or item attributes.*user_attributes=FILE"):
        SVDppAttr(n_epochs=1).fit(data)


def gendered(seed: int = 0) -> Interactions:
    """Ratings where group F likes even items and group M odd items (plus noise)."""
    rng = np.random.default_rng(seed)
    n_users, n_items, n = 150, 40, 6000
    group = rng.integers(0, 2, n_users)
    u = rng.integers(0, n_users, n)
    i = rng.integers(0, n_items, n)
    value = np.where((i % 2) == group[u], 4.5, 1.8) + rng.normal(0, 0.4, n)
    data = Interactions.from_arrays(
        u, i, np.clip(np.round(value), 1, 5), rating_scale=(1, 5), duplicates="last"
    )
    users = Attributes.from_rows(
        np.arange(n_users), [["gender=" + "MF"[g], "age=x"] for g in group]
    )
    return data.with_attributes(users=users)


def test_cold_users_are_predicted_from_their_attributes() -> None:
    data = gendered()
    cold = np.arange(20)  # users 0..19 have no training ratings at all
    train = data.subset(~np.isin(data.user, cold))
    test = data.subset(np.isin(data.user, cold))
    model = SVDppAttr(n_factors=4, n_epochs=30).fit(train)
    plain = SVDppAttr(attributes=False, n_factors=4, n_epochs=30).fit(train)

    def rmse(m: SVDppAttr) -> float:
        pred = np.clip(m.predict(test.user, test.item), 1, 5)
        return float(np.sqrt(np.mean((pred - test.value) ** 2)))

    assert rmse(model) < rmse(plain) - 0.5, (rmse(model), rmse(plain))
    # fold-in takes the history's attributes; an unseen category is ignored
    history = test.subset(test.user == cold[0])
    folded = model.fold_in(history)
    users = data.user_attributes
    gender = users.matrix([0], ["gender=F", "gender=M"]).toarray()[0]
    renamed = Attributes.from_rows(
        users.ids, [["age=x", "gender=" + ("F" if gender[0] else "M")]] + [["age=x"]] * 149
    )
    same = model.fold_in(history.with_attributes(users=renamed))
    np.testing.assert_allclose(same.state["factors"], folded.state["factors"], atol=1e-6)
    unseen = Attributes.from_rows(users.ids, [["age=x", "gender=unknown"]] * 150)
    nogender = Attributes.from_rows(users.ids, [["age=x"]] * 150)
    a = model.fold_in(history.with_attributes(users=unseen)).state["factors"]
    b = model.fold_in(history.with_attributes(users=nogender)).state["factors"]
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert not np.allclose(a, folded.state["factors"], atol=1e-3)


def test_cold_items_are_predicted_from_their_attributes(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n_users, n_items, n = 100, 60, 5000
    u = rng.integers(0, n_users, n)
    i = rng.integers(0, n_items, n)
    value = np.clip(np.round(np.where(i % 3 == 0, 4.6, 2.0) + rng.normal(0, 0.3, n)), 1, 5)
    data = Interactions.from_arrays(u, i, value, rating_scale=(1, 5), duplicates="last")
    items = Attributes.from_rows(np.arange(n_items), [[f"kind={k % 3}"] for k in range(n_items)])
    data = data.with_attributes(items=items)
    cold = data.item < 6
    model = SVDppAttr(n_factors=4, n_epochs=30).fit(data.subset(~cold))
    test = data.subset(cold)
    pred = model.predict(test.user, test.item)
    good = test.item % 3 == 0
    assert pred[good].mean() > pred[~good].mean() + 1.5
    loaded = SVDppAttr.load(model.save(tmp_path / "a.npz"))
    np.testing.assert_array_equal(loaded.predict(test.user, test.item), pred)
    np.testing.assert_array_equal(loaded.user_features_, model.user_features_)
