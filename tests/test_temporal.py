"""timesvdpp / timebiases: contract, an independent reference epoch, time terms at predict
time (evaluation, extrapolation), fold-in and saving, and bad timestamps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from workbench_sgd.timeline import UNITS, Timeline
from workbench_sgd.timesvdpp import TimeBiases, TimeSVDpp

from workbench.data import Interactions
from workbench.errors import DataError
from workbench.evaluation import evaluate
from workbench.experiments.resolve import resolve_metrics
from workbench.protocol import EvaluationProtocol
from workbench.splits import Split
from workbench.testing import ModelContract, holdout, low_rank_ratings

DAY = 86400
T0 = 880_000_000  # 1997-11-20, seconds


def timed(data: Interactions, seed: int = 0, span_days: int = 200) -> Interactions:
    """``data`` with a timestamp per rating: each user rates on a few days of the period."""
    rng = np.random.default_rng(seed)
    frame = data.to_pandas()
    user_days = rng.integers(0, span_days, (data.n_users, 3))
    pick = rng.integers(0, 3, len(frame))
    day = user_days[data.user, pick]
    frame["timestamp"] = T0 + day * DAY + rng.integers(0, DAY // 2, len(frame))
    return Interactions.from_pandas(
        frame, value="value", timestamp="timestamp", rating_scale=(1, 5), name="timed"
    )


class _Timed(ModelContract):
    def make_data(self) -> Interactions:
        return timed(low_rank_ratings())

    def test_refit_starts_over(self, data: Interactions) -> None:
        # the suite's version refits on data without timestamps (an error here)
        model = self.make_model().fit(timed(low_rank_ratings(seed=7), seed=5)).fit(data)
        fresh = self.make_model().fit(data)
        u, i = self._pairs(data)
        np.testing.assert_allclose(model.predict(u, i), fresh.predict(u, i), rtol=1e-5, atol=1e-5)
        assert model.n_users_ == data.n_users


class TestTimeSVDppContract(_Timed):
    def make_model(self, **params: Any) -> TimeSVDpp:
        return TimeSVDpp(n_factors=6, n_epochs=20, **params)


class TestTimeBiasesContract(_Timed):
    def make_model(self, **params: Any) -> TimeBiases:
        return TimeBiases(n_epochs=20, **params)


def shifting_biases(seed: int = 0) -> Interactions:
    """Ratings whose item biases flip halfway through the period and whose users have a
    mood per day: what time-dependent biases capture and static ones cannot."""
    rng = np.random.default_rng(seed)
    n_users, n_items, n = 120, 40, 9000
    u = rng.integers(0, n_users, n)
    i = rng.integers(0, n_items, n)
    user_days = rng.integers(0, 100, (n_users, 4))
    day = user_days[u, rng.integers(0, 4, n)]
    item_shift = rng.choice([-0.8, 0.8], n_items)
    mood = rng.normal(0, 0.7, (n_users, 100))
    value = 3.2 + np.where(day < 50, item_shift[i], -item_shift[i]) + mood[u, day]
    value = np.clip(np.round(value + rng.normal(0, 0.3, n)), 1, 5)
    return Interactions.from_arrays(
        u, i, value, timestamps=T0 + day * DAY + 3600, rating_scale=(1, 5), duplicates="last"
    )


def test_time_terms_beat_static_biases_on_drifting_data() -> None:
    from workbench_baselines.models import Biases

    data = shifting_biases()
    train, test = holdout(data, seed=3)
    split = Split(train=train, test=test, fold=0)
    metrics = resolve_metrics(["rmse"], train)
    timed_model = TimeBiases(n_bins=2, reg_bin=0.02, n_epochs=40).fit(train)
    static = Biases().fit(train)
    t_rmse = evaluate(timed_model, split, metrics, EvaluationProtocol()).scores["rmse"]
    s_rmse = evaluate(static, split, metrics, EvaluationProtocol()).scores["rmse"]
    assert t_rmse < s_rmse - 0.2, (t_rmse, s_rmse)
    # the evaluation passed the test timestamps: without them (end of the period) it is worse
    no_time = np.clip(timed_model.predict(test.user, test.item), 1, 5)
    assert np.sqrt(np.mean((no_time - test.value) ** 2)) > t_rmse + 0.2


def reference_epoch(model: TimeBiases, data: Interactions, order: np.ndarray) -> dict:
    """Plain float64 SGD over ``order`` of the timebiases prediction
    mu + b_u + b_i + b_{i,bin} + alpha_u dev + b_{u,day} (an independent implementation)."""
    p = model.params
    tl = model.timeline_
    days = (data.timestamp - tl.origin) / DAY
    tmean = np.bincount(data.user, weights=days) / np.bincount(data.user)
    raw = np.sign(days - tmean[data.user]) * np.abs(days - tmean[data.user]) ** p.beta
    dev = raw / np.mean(np.abs(raw))
    bins = np.clip(np.floor(days / (max(tl.span, 1) / p.n_bins)), 0, p.n_bins - 1).astype(int)
    keys = sorted(set(zip(data.user.tolist(), np.floor(days).astype(int).tolist(), strict=True)))
    slot = {k: n for n, k in enumerate(keys)}
    s = {
        "bu": np.zeros(data.n_users), "bi": np.zeros(data.n_items), "alpha": np.zeros(data.n_users),
        "bit": np.zeros((data.n_items, p.n_bins)), "but": np.zeros(len(keys)),
    }  # fmt: skip
    mu = float(np.mean(data.value, dtype=np.float64))
    lr, lr_a = p.lr, p.lr * p.drift_lr_ratio
    for r in order:
        u, i, b = data.user[r], data.item[r], bins[r]
        d = slot[(int(u), int(np.floor(days[r])))]
        pred = mu + s["bu"][u] + s["bi"][i] + s["bit"][i, b] + s["alpha"][u] * dev[r]
        err = data.value[r] - (pred + s["but"][d])
        s["bu"][u] += lr * (err - p.reg_bias * s["bu"][u])
        s["alpha"][u] += lr_a * (err * dev[r] - p.reg_drift * s["alpha"][u])
        s["but"][d] += lr * (err - p.reg_day * s["but"][d])
        s["bi"][i] += lr * (err - p.reg_bias * s["bi"][i])
        s["bit"][i, b] += lr * (err - p.reg_bin * s["bit"][i, b])
    return s


def test_one_epoch_matches_an_independent_reference() -> None:
    data = timed(low_rank_ratings(n_users=20, n_items=15, density=0.4, seed=2))
    kw = dict(lr=0.03, reg_bias=0.01, reg_bin=0.1, reg_drift=0.02, reg_day=0.05, n_bins=3)
    model = TimeBiases(n_epochs=1, seed=4, drift_lr_ratio=0.5, **kw).fit(data)
    rng = np.random.default_rng(4)
    # the shuffle of SGDModel/HybridSVDpp: ratings grouped by user, users in random order
    perm = rng.permutation(len(data))
    rank = rng.permutation(int(data.user.max()) + 1)
    order = perm[np.argsort(rank[data.user[perm]], kind="stable")]
    s = reference_epoch(model, data, order)
    np.testing.assert_allclose(model.user_bias_, s["bu"], atol=1e-5)
    np.testing.assert_allclose(model.item_bias_, s["bi"], atol=1e-5)
    np.testing.assert_allclose(model.user_drift_, s["alpha"], atol=1e-5)
    np.testing.assert_allclose(model.item_bin_bias_, s["bit"], atol=1e-5)
    np.testing.assert_allclose(model.user_day_bias_, s["but"], atol=1e-5)


def test_prediction_uses_the_pair_timestamp_and_extrapolates() -> None:
    data = timed(low_rank_ratings())
    model = TimeSVDpp(n_factors=4, n_epochs=10, n_bins=5).fit(data)
    tl = model.timeline_
    u, i = np.array([3, 3]), np.array([5, 5])
    last_day = T0 + int(tl.span * DAY)
    late = np.array([last_day + 400 * DAY, last_day + 800 * DAY])
    got = model.predict(u, i, timestamps=late)
    base = model.predict(u[:1], i[:1])  # no timestamp: the end of the training period
    days = tl.days(late)
    drift = model.user_drift_[3] * tl.dev(days, np.full(2, model.user_tmean_[3]))
    end_drift = model.user_drift_[3] * tl.dev(np.array([tl.end]), model.user_tmean_[3:4])
    # beyond training: last bin (the same item term as at the end), drift evaluated at t
    np.testing.assert_allclose(got - base, drift - end_drift, atol=1e-5)
    assert (tl.bins(days) == tl.n_bins - 1).all()
    # order of the pairs does not matter
    np.testing.assert_array_equal(model.predict(u[::-1], i, timestamps=late[::-1]), got[::-1])


def test_evaluation_passes_test_timestamps_and_other_models_ignore_them() -> None:
    from workbench_sgd.svdpp import SVDpp

    data = timed(low_rank_ratings())
    train, test = holdout(data)
    split = Split(train=train, test=test, fold=0)
    metrics = resolve_metrics(["rmse"], train)
    model = TimeSVDpp(n_factors=4, n_epochs=10).fit(train)
    pred = np.clip(model.predict(test.user, test.item, timestamps=test.timestamp), 1, 5)
    expected = float(np.sqrt(np.mean((pred - test.value) ** 2)))
    got = evaluate(model, split, metrics, EvaluationProtocol()).scores["rmse"]
    assert got == pytest.approx(expected, abs=1e-6)
    plain = SVDpp(n_factors=4, n_epochs=5).fit(train)
    np.testing.assert_array_equal(
        plain.predict(test.user, test.item, timestamps=test.timestamp),
        plain.predict(test.user, test.item),
    )


def test_fold_in_and_save_load_keep_time_terms(tmp_path: Path) -> None:
    data = timed(low_rank_ratings())
    model = TimeSVDpp(n_factors=4, n_epochs=8).fit(data.subset(data.user != 0))
    loaded = TimeSVDpp.load(model.save(tmp_path / "t.npz"))
    test = data.subset(data.user == 1)
    np.testing.assert_array_equal(
        loaded.predict(test.user, test.item, timestamps=test.timestamp),
        model.predict(test.user, test.item, timestamps=test.timestamp),
    )
    history = data.subset(data.user == 0)
    folded = loaded.fold_in(history)
    assert (folded.state["row"] == -1).all() and (folded.state["drift"] == 0).all()
    # a folded user has no day term, but gets the item's bin bias of the pair's date
    a = loaded.predict(folded, history.item[:1], timestamps=history.timestamp[:1])
    b = loaded.predict(folded, history.item[:1])
    tl = loaded.timeline_
    bin_then = tl.bins(tl.days(history.timestamp[:1]))[0]
    diff = loaded.item_bin_bias_[history.item[0], bin_then] - loaded.item_bin_bias_[
        history.item[0], tl.n_bins - 1
    ]
    np.testing.assert_allclose(a - b, diff, atol=1e-5)


def test_timebiases_has_no_factor_parameters() -> None:
    params = TimeBiases().get_params()
    assert "n_factors" not in params and "reg" not in params and "n_bins" in params
    model = TimeBiases(n_epochs=2).fit(timed(low_rank_ratings()))
    assert model.user_factors_.shape[1] == 0 and model.item_embeddings() is None


def test_training_curves_through_the_callback() -> None:
    data = timed(low_rank_ratings())
    train, val = holdout(data)
    seen = []
    TimeSVDpp(n_factors=4, n_epochs=6).fit(train, validation=val, callback=seen.append)
    assert [e.epoch for e in seen] == list(range(1, 7))
    assert all(np.isfinite(e.validation["rmse"]) for e in seen)
    assert seen[-1].loss < seen[0].loss


# -- bad timestamps --------------------------------------------------------------------------
def test_missing_timestamps_name_the_option() -> None:
    with pytest.raises(DataError, match=r"timesvdpp' needs timestamps.*timestamp=COLUMN"):
        TimeSVDpp(n_epochs=1).fit(low_rank_ratings())
    with pytest.raises(DataError, match=r"timebiases' needs timestamps"):
        TimeBiases(n_epochs=1).fit(low_rank_ratings())


def test_mixed_units_are_an_error() -> None:
    data = timed(low_rank_ratings())
    ts = data.timestamp.copy()
    ts[7] *= 1000  # one row in milliseconds
    bad = Interactions.from_arrays(
        data.users.id_of(data.user), data.items.id_of(data.item), data.value, timestamps=ts
    )
    with pytest.raises(DataError, match=r"mix units: row \d+ .* seconds, row 7 .* milliseconds"):
        TimeSVDpp(n_epochs=1).fit(bad)
    model = TimeSVDpp(n_epochs=1, n_factors=2).fit(data)
    with pytest.raises(DataError, match="look like milliseconds.*trained on seconds"):
        model.predict([0], [0], timestamps=[data.timestamp[0] * 1000])


def test_future_timestamps_are_an_error() -> None:
    data = timed(low_rank_ratings())
    ts = data.timestamp.copy()
    ts[3] = 4_000_000_000  # 2096
    bad = Interactions.from_arrays(
        data.users.id_of(data.user), data.items.id_of(data.item), data.value, timestamps=ts
    )
    with pytest.raises(DataError, match=r"row 3 .* 2096-.* is in the future"):
        TimeSVDpp(n_epochs=1).fit(bad)


def test_unsorted_timestamps_are_fine_and_units_are_detected() -> None:
    data = timed(low_rank_ratings())
    order = np.argsort(data.timestamp)
    a = Timeline.fit(data.timestamp, 7, 0.4, "x")
    b = Timeline.fit(data.timestamp[order], 7, 0.4, "x")
    assert a == b
    days = a.days(data.timestamp)
    np.testing.assert_array_equal(a.bins(days)[order], b.bins(days[order]))
    for k, (_, per_second, _) in enumerate(UNITS):
        t = Timeline.fit((data.timestamp * per_second).astype(np.int64), 7, 0.4, "x")
        assert t.unit == k and t.span == pytest.approx(a.span)
    dates = pd.to_datetime(data.timestamp, unit="s")  # datetimes are read as seconds
    frame = data.to_pandas().assign(timestamp=dates.to_numpy()[::-1])  # unsorted dates
    again = Interactions.from_pandas(frame, value="value", timestamp="timestamp")
    TimeBiases(n_epochs=2).fit(again)
