"""Reference libraries behind one interface: fit on our index arrays, predict pairs, score
blocks of users against every item (benchmark code: dense blocks are fine at ML-100k size).

Each adapter returns a `Fitted` with ``predict(users, items)`` and ``scores(users)`` in our
index space; a library that is not installed raises `Missing` with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workbench.data import Interactions


class Missing(Exception):
    """A reference library is not installed (or does not import)."""


@dataclass
class Fitted:
    predict: Callable[[np.ndarray, np.ndarray], np.ndarray]
    scores: Callable[[np.ndarray], np.ndarray]
    #: Seconds of the library's own fit call (without building its input structures).
    fit_s: float | None = None


def _import(module: str, package: str) -> Any:
    try:
        return __import__(module, fromlist=["_"])
    except Exception as exc:  # ImportError, or a binary built against another numpy
        raise Missing(f"{package} is not installed or does not import ({exc})") from None


def version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as v

    try:
        return v(package)
    except PackageNotFoundError:
        return None


# -- Surprise ---------------------------------------------------------------------------------
def _surprise_trainset(train: Interactions, scale: tuple[float, float]) -> Any:
    surprise = _import("surprise", "scikit-surprise")
    df = pd.DataFrame({"u": train.user, "i": train.item, "r": train.value})
    reader = surprise.Reader(rating_scale=scale)
    return surprise.Dataset.load_from_df(df, reader).build_full_trainset()


def _in_our_space(trainset: Any, n: int, rows: np.ndarray, user: bool) -> np.ndarray:
    """Rows of a Surprise array (inner ids) placed at our indices; unknown rows are zero."""
    out = np.zeros((n, *rows.shape[1:]), dtype=np.float64)
    count = trainset.n_users if user else trainset.n_items
    to_raw = trainset.to_raw_uid if user else trainset.to_raw_iid
    raw = np.array([to_raw(k) for k in range(count)], dtype=np.int64)
    out[raw] = rows
    return out


def _factor_fitted(mu, bu, bi, p, q, fit_s=None) -> Fitted:  # noqa: ANN001
    def predict(users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return mu + bu[users] + bi[items] + np.einsum("ij,ij->i", p[users], q[items])

    def scores(users: np.ndarray) -> np.ndarray:
        return mu + bu[users][:, None] + bi[None, :] + p[users] @ q.T

    return Fitted(predict, scores, fit_s)


def surprise_model(
    kind: str, train: Interactions, scale: tuple[float, float], **params: Any
) -> Fitted:
    """Surprise's SVD, SVDpp, NMF or BaselineOnly, as dense arrays in our index space."""
    surprise = _import("surprise", "scikit-surprise")
    trainset = _surprise_trainset(train, scale)
    algo = getattr(surprise, kind)(**params)
    started = time.perf_counter()
    algo.fit(trainset)
    fit_s = time.perf_counter() - started
    nu, ni = train.n_users, train.n_items
    mu = trainset.global_mean
    if kind == "BaselineOnly":
        bu = _in_our_space(trainset, nu, np.asarray(algo.bu), True)
        bi = _in_our_space(trainset, ni, np.asarray(algo.bi), False)
        return _factor_fitted(mu, bu, bi, np.zeros((nu, 1)), np.zeros((ni, 1)), fit_s)
    p = np.asarray(algo.pu, dtype=np.float64)
    if kind == "SVDpp":
        y = np.asarray(algo.yj)
        p = p.copy()
        for u in range(trainset.n_users):
            rated = [j for j, _ in trainset.ur[u]]
            p[u] += y[rated].sum(axis=0) / np.sqrt(len(rated))
    biased = kind != "NMF" or params.get("biased", False)
    bu = _in_our_space(trainset, nu, np.asarray(algo.bu), True) if biased else np.zeros(nu)
    bi = _in_our_space(trainset, ni, np.asarray(algo.bi), False) if biased else np.zeros(ni)
    pu = _in_our_space(trainset, nu, p, True)
    qi = _in_our_space(trainset, ni, np.asarray(algo.qi), False)
    return _factor_fitted(mu if biased else 0.0, bu, bi, pu, qi, fit_s)


# -- matrix-factorization (KernelMF) ------------------------------------------------------------
def kernel_mf(train: Interactions, scale: tuple[float, float], **params: Any) -> Fitted:
    mf = _import("matrix_factorization", "matrix-factorization")
    # float ids: the package's id mapping writes back into the column (pandas 3 refuses ints)
    x = pd.DataFrame({"user_id": train.user.astype(float), "item_id": train.item.astype(float)})
    algo = mf.KernelMF(min_rating=scale[0], max_rating=scale[1], verbose=0, **params)
    y = pd.Series(train.value.astype(np.float64))
    started = time.perf_counter()
    algo.fit(x, y)
    fit_s = time.perf_counter() - started
    n_items = train.n_items

    def predict(users: np.ndarray, items: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame({"user_id": users.astype(float), "item_id": items.astype(float)})
        return np.asarray(algo.predict(frame), dtype=np.float64)

    def scores(users: np.ndarray) -> np.ndarray:
        u = np.repeat(users, n_items)
        i = np.tile(np.arange(n_items), len(users))
        return predict(u, i).reshape(len(users), n_items)

    return Fitted(predict, scores, fit_s)


# -- implicit (ALS) and scikit-learn (NMF): ranking references ---------------------------------
def _ranking_fitted(users_f: np.ndarray, items_f: np.ndarray, fit_s: float) -> Fitted:
    """Scores only (a ranking model): predictions are NaN, so RMSE/MAE show as n/a."""

    def predict(users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.full(len(users), np.nan)

    def scores(users: np.ndarray) -> np.ndarray:
        return users_f[users] @ items_f.T

    return Fitted(predict, scores, fit_s)


def implicit_als(train: Interactions, scale: tuple[float, float], **params: Any) -> Fitted:
    """``implicit``'s CPU ALS on the rating matrix as confidences (``1 + alpha r``)."""
    als = _import("implicit.cpu.als", "implicit")
    from threadpoolctl import threadpool_limits

    model = als.AlternatingLeastSquares(random_state=0, **params)
    matrix = train.csr().astype(np.float32)
    with threadpool_limits(1, "blas"):
        started = time.perf_counter()
        model.fit(matrix, show_progress=False)
        fit_s = time.perf_counter() - started
    return _ranking_fitted(np.asarray(model.user_factors), np.asarray(model.item_factors), fit_s)


def sklearn_nmf(train: Interactions, scale: tuple[float, float], **params: Any) -> Fitted:
    """scikit-learn's ``NMF`` on the zero-filled (sparse) rating matrix; scores ``W H``."""
    decomposition = _import("sklearn.decomposition", "scikit-learn")
    import warnings

    model = decomposition.NMF(random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at its default max_iter
        started = time.perf_counter()
        w = model.fit_transform(train.csr())
        fit_s = time.perf_counter() - started
    return _ranking_fitted(w, model.components_.T, fit_s)


REFERENCES: dict[str, tuple[str, str]] = {
    # our model -> (reference label, package)
    "sgd": ("Surprise SVD", "scikit-surprise"),
    "svdpp": ("Surprise SVDpp", "scikit-surprise"),
    "biases": ("Surprise BaselineOnly", "scikit-surprise"),
    "kernel-mf": ("matrix-factorization KernelMF", "matrix-factorization"),
}
#: The reference libraries of issue 13 and what they are compared with.
LIBRARIES = {
    "scikit-surprise": "surprise",
    "matrix-factorization": "matrix_factorization",
    "implicit": "implicit",
    "lenskit": "lenskit",
    "scikit-learn": "sklearn",
}


#: Why a library is known not to install next to the workbench (shown with its absence).
KNOWN_BLOCKERS = {
    "lenskit": "lenskit 2025.x requires pandas < 3 and the workbench requires pandas 3 "
    "(pip would downgrade pandas); older lenskit releases do not support Python 3.11",
}


def library_status() -> list[dict[str, Any]]:
    """Installed version of each reference library, or why it is missing."""
    rows = []
    for package, module in LIBRARIES.items():
        try:
            _import(module, package)
            rows.append({"library": package, "version": version(package)})
        except Missing as exc:
            why = KNOWN_BLOCKERS.get(package, str(exc))
            rows.append({"library": package, "version": None, "why": why})
    return rows
