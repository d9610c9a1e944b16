"""Where a torch model's network runs, kept out of the model class (as `implicit` keeps its
CPU and GPU code apart): the model holds its parameters and fitted numpy arrays only.

- `Placement` — a device and the inference network rebuilt there from a model's arrays; it
  scores blocks and pairs of user states and takes the top-k on the device.
- `placement_of` — the placement of a fitted model, built on first use and cached here (weakly,
  per model object; never in the model's state, clone or file), rebuilt when the model's
  ``device`` parameter or its item/network arrays change (fit, load).
The models' declared scorer (`workbench_torch.scorer.TorchScorer`) scores through it.

Imports torch: only used once a torch model scores or trains.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from workbench.model import top_k
from workbench.user_state import UserState
from workbench_torch.device import resolve_device
from workbench_torch.nets import FactorNet
from workbench_torch.parts import ITEM_PARTS
from workbench_torch.train import torch_threads, zero_rows


def device_of(model: Any, *, strict: bool) -> torch.device:
    """The device the model's ``device`` parameter names (`resolve_device`; a missing
    accelerator is an error when ``strict``, the CPU otherwise)."""
    return resolve_device(model.params.device, owner=model.owner(), strict=strict)


@dataclass(frozen=True)
class Placement:
    """The inference network of one fitted model on one device."""

    device: torch.device
    net: FactorNet
    threads: int | None

    def _user(self, state: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {
            k: torch.from_numpy(np.ascontiguousarray(v, np.float32)).to(self.device)
            for k, v in state.items()
        }

    def _items(self, items: np.ndarray) -> dict[str, torch.Tensor]:
        inside = items >= 0
        idx = torch.from_numpy(np.where(inside, items, 0).astype(np.int64)).to(self.device)
        part = self.net.item_part(idx)
        if inside.all():
            return part
        mask = torch.from_numpy(inside.astype(np.float32)).to(self.device)
        return {k: zero_rows(t, mask) for k, t in part.items()}

    def block(self, state: UserState, items: np.ndarray) -> np.ndarray:
        """Scores of every state row against ``items`` (on the device, returned on the host)."""
        with torch_threads(self.threads), torch.no_grad():
            scores = self.net.block_scores(self._user(state), self._items(items))
            return scores.to("cpu").numpy()

    def pairs(self, state: UserState, items: np.ndarray) -> np.ndarray:
        """Score of state row r with ``items[r]`` (``-1``: zero item parts)."""
        with torch_threads(self.threads), torch.no_grad():
            scores = self.net.pair_scores(self._user(state), self._items(items))
            return scores.to("cpu").numpy()

    def rank(
        self,
        state: UserState,
        seen: sp.csr_matrix | None,
        candidates: np.ndarray,
        k: int,
        order: np.ndarray | None,
        n_items: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top-k on the device: score the block there, set seen items to -inf, take
        ``topk(k + 1)``; only (k, k+1)-ties and the k-list's own order are settled on the host,
        so ties follow ``order`` (or the item index) exactly like the default ranking."""
        device = self.device
        m = len(candidates)
        with torch_threads(self.threads), torch.no_grad():
            cols = candidates if order is None else candidates[order]
            scores = self.net.block_scores(self._user(state), self._items(cols))
            if seen is not None and seen.nnz:
                pos = np.full(n_items, -1, dtype=np.int64)
                pos[cols] = np.arange(m)
                r = np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))
                c = pos[seen.indices]
                keep = c >= 0
                rr = torch.from_numpy(r[keep]).to(device)
                scores[rr, torch.from_numpy(c[keep]).to(device)] = -torch.inf
            scores = torch.where(torch.isfinite(scores), scores, -torch.inf)
            n_cand = torch.isfinite(scores).sum(1).to("cpu").numpy()
            kk = min(k + 1, m)
            vals, idx = scores.topk(kk, dim=1) if kk else (scores[:, :0], scores[:, :0].long())
            vals, idx = vals.to("cpu").numpy(), idx.to("cpu").numpy()
            boundary = np.zeros(len(vals), dtype=bool)
            if kk > k:  # a tie across the k-th place: that row is settled on the host
                boundary = np.isfinite(vals[:, k - 1]) & (vals[:, k - 1] == vals[:, k])
            full = scores[torch.from_numpy(np.flatnonzero(boundary)).to(device)].to("cpu")
        vals, idx = vals[:, :k], idx[:, :k]
        within = np.lexsort((idx, -vals), axis=1)  # descending score, ties by column
        vals = np.take_along_axis(vals, within, axis=1)
        idx = np.take_along_axis(idx, within, axis=1)
        if boundary.any():
            tied_cols, tied_vals = top_k(full.numpy(), np.arange(m), k)
            idx[boundary], vals[boundary] = tied_cols[:, : idx.shape[1]], tied_vals[:, :k]
        items = np.full((len(vals), k), -1, dtype=np.int64)
        best = np.full((len(vals), k), np.nan, dtype=np.float32)
        valid = np.isfinite(vals) & (idx >= 0)
        items[:, : idx.shape[1]] = np.where(valid, cols[np.maximum(idx, 0)], -1)
        best[:, : idx.shape[1]] = np.where(valid, vals, np.nan)
        return items, best, n_cand


#: model -> (the arrays and device name the placement was built from, the placement).
_placements: weakref.WeakKeyDictionary[Any, tuple[tuple[Any, ...], Placement]] = (
    weakref.WeakKeyDictionary()
)


def _sources(model: Any) -> tuple[Any, ...]:
    """What a model's placement is built from: its device parameter, threads, global mean,
    item tables and layer arrays (compared by identity: fit and load replace them)."""
    items = tuple(getattr(model, attr, None) for attr in ITEM_PARTS.values())
    layers = tuple(model.network_.values())
    return (model.params.device, model.params.threads, model.global_mean_, *items, *layers)


def _same(before: tuple[Any, ...], now: tuple[Any, ...]) -> bool:
    """Arrays by identity, other values by equality."""
    if len(before) != len(now):
        return False
    pairs = zip(before, now, strict=True)
    return all(a is b or (not isinstance(a, np.ndarray) and a == b) for a, b in pairs)


def placement_of(model: Any) -> Placement:
    """The placement of a fitted torch model (built once per arrays and device; cached here,
    not on the model)."""
    sources = _sources(model)
    cached = _placements.get(model)
    if cached is not None and _same(cached[0], sources):
        return cached[1]
    device = device_of(model, strict=False)
    net = FactorNet(
        1,
        model.n_items_,
        mean=model.global_mean_,
        generator=torch.Generator(),
        **{**model._net_kwargs(), "sparse": False},
    )
    parts = {}
    for part, attr in ITEM_PARTS.items():
        if part in net.columns:
            parts[part] = torch.from_numpy(np.asarray(getattr(model, attr), np.float32))
    net.set_item_tables(parts)
    state = net.state_dict()
    for name, arr in model.network_.items():
        state[name] = torch.from_numpy(np.asarray(arr, np.float32))
    net.load_state_dict(state)
    net = net.to(device).eval().requires_grad_(False)
    placement = Placement(device, net, model.params.threads)
    _placements[model] = (sources, placement)
    return placement
