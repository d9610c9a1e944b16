"""PyTorch matrix factorisation: ``torch-mf`` (dot), ``torch-mlp`` and ``torch-neumf``.

The models are `EmbeddingModel`s: the learned weights live on the model as numpy arrays
(``user_factors_``, ``item_factors_``, biases, ``user_mlp_factors_``/``item_mlp_factors_`` for
NeuMF, ``network_`` for the layers), so files are the workbench's ``.npz`` format (the
architecture is in the saved parameters) and a model trained on a GPU loads anywhere.
Scoring and ranking rebuild the network on the model's device from those arrays (once,
cached) and score blocks of users there (`_rank` takes the top-k on the device too).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.sparse as sp

from workbench.capabilities import Capabilities, ColdStart
from workbench.data import Interactions
from workbench.errors import DataError, ParamError
from workbench.factor.embedding import EmbeddingModel
from workbench.model import EpochInfo, TrainingCallback, top_k
from workbench.user_state import UserState, grow_rows
from workbench_torch.params import DEFAULT_REG, MLPParams, NeuMFParams, TorchParams

if TYPE_CHECKING:  # torch is imported where it is used: registering the models stays fast
    import torch

    from workbench_torch.nets import FactorNet
    from workbench_torch.train import TrainConfig
#: Per-user state parts and the model attribute holding each for trained users.
USER_PARTS = {"factors": "user_factors_", "bias": "user_bias_", "mlp_factors": "user_mlp_factors_"}
ITEM_PARTS = {"factors": "item_factors_", "bias": "item_bias_", "mlp_factors": "item_mlp_factors_"}


class TorchModel(EmbeddingModel):
    """Base of the PyTorch models (not registered itself); ``arch`` picks the network."""

    Params: ClassVar[type[TorchParams]] = TorchParams
    arch: ClassVar[str] = "dot"
    capabilities = Capabilities(
        cold_start=ColdStart(
            user="zero embeddings and bias: with mse, mu + b_i for torch-mf (the network at a "
            "zero user vector plus b_i for mlp/neumf); with bce/bpr items rank by their bias",
            item="zero embeddings; bias 0 with mse (mu + b_u for torch-mf), the lowest trained "
            "item bias with bce/bpr (ranked with the weakest known item)",
        ),
        fold_in="gradient",
        update_users=True,
        similar_items=True,
    )

    # -- what the model declares -------------------------------------------------------------
    @classmethod
    def capabilities_for(cls, params: Any) -> Capabilities:
        """Biases as declared; ratings with the MSE loss (ranking scores with BCE/BPR); only
        CPU models run in forked workers (CUDA/MPS state does not survive a fork)."""
        from workbench_torch.device import resolve_device

        cpu = params.device == "cpu" or (
            resolve_device(params.device, owner=cls.owner(), strict=False).type == "cpu"
        )
        return cls.capabilities.replace(
            biased=params.biases,
            predicts="ratings" if params.loss == "mse" else "scores",
            fork_safe=cpu,
        )

    def selects_on_validation(self) -> bool:
        return self.params.early_stopping_rounds is not None

    def reg_value(self) -> float:
        """``reg``, or its default for the loss and architecture when it is None."""
        if self.params.reg is not None:
            return self.params.reg
        return DEFAULT_REG["dot" if self.arch == "dot" else "mlp"][self.params.loss]

    def _device(self, *, strict: bool) -> torch.device:
        from workbench_torch.device import resolve_device

        return resolve_device(self.params.device, owner=self.owner(), strict=strict)

    def _net_kwargs(self) -> dict[str, Any]:
        p = self.params
        return {
            "arch": self.arch,
            "n_factors": p.n_factors,
            "hidden": list(getattr(p, "hidden", [])),
            "biases": p.biases,
            "dropout": float(getattr(p, "dropout", 0.0)),
            "sparse": p.optimizer == "sparse_adam",
            "init_std": p.init_std,
        }

    def _config(self) -> TrainConfig:
        from workbench_torch.train import TrainConfig

        p = self.params
        return TrainConfig(
            loss=p.loss,
            n_epochs=p.n_epochs,
            batch_size=p.batch_size,
            lr=p.lr,
            lr_schedule=p.lr_schedule,
            reg=self.reg_value(),
            reg_bias=p.reg_bias,
            weight_decay=float(getattr(p, "weight_decay", 0.0)),
            n_negatives=p.n_negatives,
            sparse=p.optimizer == "sparse_adam",
            early_stopping_rounds=p.early_stopping_rounds,
        )

    # -- training -----------------------------------------------------------------------------
    def _fit(
        self,
        train: Interactions,
        *,
        callback: TrainingCallback,
        validation: Interactions | None,
    ) -> None:
        import torch

        from workbench_torch.nets import FactorNet
        from workbench_torch.train import run_training, torch_threads

        p = self.params
        if p.loss == "mse" and train.kind != "explicit":
            raise ParamError(
                f"parameter 'loss' of {self.owner()}: 'mse' predicts ratings, but "
                f"{train.name!r} is {train.kind} feedback; use loss='bpr' or loss='bce'"
            )
        device = self._device(strict=True)
        self.__dict__.pop("_inference_cache", None)
        users, items, values = self._training_arrays(train)
        val = self._validation_arrays(validation, users, items, values)
        if val is not None and validation is None:
            users, items, values = val[3]
            val = val[:3]
        if p.early_stopping_rounds is not None and val is None:
            raise ParamError(
                f"parameter 'early_stopping_rounds' of {self.owner()} needs validation data: "
                "pass fit(validation=...) or set validation_fraction > 0"
            )
        seen = sp.csr_matrix(
            (np.ones(len(users), np.bool_), (users, items)), shape=(self.n_users_, self.n_items_)
        )
        if p.loss != "mse":
            keep = self._positive(values)
            if not keep.any():
                raise DataError(
                    f"{self.owner()}: no positives in {train.name!r}: no value >= "
                    f"positive_threshold={p.positive_threshold}"
                )
            users, items, values = users[keep], items[keep], np.ones(keep.sum(), np.float32)
        mean = float(values.mean(dtype=np.float64)) if p.loss == "mse" else 0.0
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch_threads(p.threads), torch.random.fork_rng(devices=devices):
            torch.manual_seed(p.seed)  # dropout draws from the global generator
            generator = torch.Generator().manual_seed(p.seed)
            net = FactorNet(
                self.n_users_,
                self.n_items_,
                mean=mean,
                generator=generator,
                **self._net_kwargs(),
            ).to(device)
            tensors = [torch.from_numpy(np.array(a)).to(device) for a in (users, items, values)]
            validate, select_on = self._validator(net, val, seen, device)

            def report(epoch: int, loss: float, metrics: dict[str, float], secs: float) -> None:
                callback(EpochInfo(epoch, p.n_epochs, loss, validation=metrics, seconds=secs))

            result = run_training(
                net,
                *tensors,
                self._config(),
                n_items=self.n_items_,
                generator=generator,
                report=report,
                validate=validate,
                select_on=select_on,
            )
        self.device_ = device.type
        self.n_epochs_ = result.n_epochs
        self.best_epoch_ = result.best_epoch
        self.loss_history_ = np.asarray(result.loss_history)
        self._take_weights(net, users, items)

    def _positive(self, values: np.ndarray) -> np.ndarray:
        t = self.params.positive_threshold
        return np.ones(len(values), bool) if t is None else values >= t

    def _training_arrays(self, data: Interactions) -> tuple[np.ndarray, ...]:
        return (
            np.ascontiguousarray(data.user, dtype=np.int64),
            np.ascontiguousarray(data.item, dtype=np.int64),
            np.ascontiguousarray(data.value, dtype=np.float32),
        )

    def _validation_arrays(
        self,
        validation: Interactions | None,
        users: np.ndarray,
        items: np.ndarray,
        values: np.ndarray,
    ) -> tuple[Any, ...] | None:
        """(users, items, values) of the validation data in the model's id space; with a
        held-out ``validation_fraction`` also the remaining training arrays (4th item)."""
        p = self.params
        if validation is not None:
            if not isinstance(validation, Interactions):
                raise DataError(
                    f"{self.owner()}: validation must be Interactions, got {type(validation)!r}"
                )
            if len(validation) == 0:
                raise DataError(f"{self.owner()}: the validation set is empty")
            if validation.users != self.users_ or validation.items != self.items_:
                validation = validation.align_to(self.users_, self.items_)
            return self._training_arrays(validation)
        if p.validation_fraction <= 0:
            return None
        held = np.random.default_rng([p.seed, 2]).random(len(values)) < p.validation_fraction
        if held.all() or not held.any():
            raise DataError(
                f"{self.owner()}: validation_fraction={p.validation_fraction} leaves no "
                f"training or no validation data out of {len(values)}"
            )
        rest = (users[~held], items[~held], values[~held])
        return users[held], items[held], values[held], rest

    def _validator(
        self,
        net: FactorNet,
        val: tuple[np.ndarray, ...] | None,
        seen: sp.csr_matrix,
        device: torch.device,
    ) -> tuple[Any, str | None]:
        """The per-epoch validation function and the metric early stopping selects on."""
        import torch

        from workbench_torch.train import ndcg_at_10, zero_rows

        if val is None:
            return None, None
        vu, vi, vv = val
        inside = (vu >= 0) & (vu < self.n_users_) & (vi >= 0) & (vi < self.n_items_)
        if self.params.loss == "mse":
            u = torch.from_numpy(np.where(inside, vu, 0)).to(device)
            i = torch.from_numpy(np.where(inside, vi, 0)).to(device)
            mask = torch.from_numpy(inside.astype(np.float32)).to(device)
            truth = torch.from_numpy(np.array(vv)).to(device)
            scale = self.rating_scale_

            def rmse() -> dict[str, float]:
                with torch.no_grad():
                    user = {k: zero_rows(t, mask) for k, t in net.user_part(u).items()}
                    item = {k: zero_rows(t, mask) for k, t in net.item_part(i).items()}
                    pred = net.pair_scores(user, item)
                    if scale is not None:
                        pred = pred.clamp(*scale)
                    return {"rmse": float(torch.sqrt(torch.mean((pred - truth) ** 2)).item())}

            return rmse, "rmse"
        keep = inside & self._positive(vv)
        relevant = sp.csr_matrix(
            (np.ones(keep.sum(), np.bool_), (vu[keep], vi[keep])),
            shape=(self.n_users_, self.n_items_),
        )
        relevant.sum_duplicates()
        rows = np.flatnonzero(np.diff(relevant.indptr) > 0)

        def ndcg() -> dict[str, float]:
            with torch.no_grad():
                return {"ndcg@10": ndcg_at_10(net, rows, relevant, seen, device)}

        return ndcg, "ndcg@10"

    def _take_weights(self, net: FactorNet, users: np.ndarray, items: np.ndarray) -> None:
        """Copy the trained weights into numpy arrays; cold users/items get the fallback."""
        import torch

        def host(t: torch.Tensor) -> np.ndarray:
            return t.detach().to("cpu", torch.float32).numpy().copy()

        for part, attr in USER_PARTS.items():
            table = net.user_tables().get(part)
            setattr(self, attr, None if table is None else host(table))
        for part, attr in ITEM_PARTS.items():
            table = net.item_tables().get(part)
            setattr(self, attr, None if table is None else host(table))
        self.global_mean_ = float(net.mean.item())
        self.network_ = {
            name: host(t)
            for name, t in net.state_dict().items()
            if name.startswith(("layers.", "out."))
        }
        trained_users = np.bincount(users, minlength=self.n_users_) > 0
        trained_items = np.bincount(items, minlength=self.n_items_) > 0
        for attr in USER_PARTS.values():
            if getattr(self, attr) is not None:
                getattr(self, attr)[~trained_users] = 0.0
        for attr in ITEM_PARTS.values():
            if getattr(self, attr) is not None:
                getattr(self, attr)[~trained_items] = 0.0
        ranking = self.params.loss != "mse" and self.has_biases()
        if ranking and trained_items.any() and not trained_items.all():
            # Ranking: an item never seen as a positive ranks with the weakest known item.
            self.item_bias_[~trained_items] = self.item_bias_[trained_items].min()

    def _after_fit(self) -> None:
        """Nothing: `_take_weights` already applied the cold-start fallback, counting only
        the interactions training used (validation held out, positives for BCE/BPR)."""

    # -- scoring ------------------------------------------------------------------------------
    def _inference(self) -> tuple[FactorNet, torch.device]:
        """The network rebuilt from the learned arrays on the model's device (cached)."""
        import torch

        from workbench_torch.nets import FactorNet

        cache = self.__dict__.get("_inference_cache")
        if cache is not None and cache[0] == self.params.device:
            return cache[1], cache[2]
        device = self._device(strict=False)
        net = FactorNet(
            1,
            self.n_items_,
            mean=self.global_mean_,
            generator=torch.Generator(),
            **{**self._net_kwargs(), "sparse": False},
        )
        parts = {}
        for part, attr in ITEM_PARTS.items():
            if part in net.columns:
                parts[part] = torch.from_numpy(np.asarray(getattr(self, attr), np.float32))
        net.set_item_tables(parts)
        state = net.state_dict()
        for name, arr in self.network_.items():
            state[name] = torch.from_numpy(np.asarray(arr, np.float32))
        net.load_state_dict(state)
        net = net.to(device).eval().requires_grad_(False)
        self._inference_cache = (self.params.device, net, device)
        return net, device

    def _user_state(self, users: np.ndarray) -> UserState:
        inside = users >= 0
        safe = np.where(inside, users, 0)
        out = {}
        for part, attr in USER_PARTS.items():
            table = getattr(self, attr, None)
            if table is not None:
                rows = table[safe]
                mask = inside[:, None] if rows.ndim == 2 else inside
                out[part] = (rows * mask).astype(np.float32)
        return UserState.of(n_rows=len(users), **out)

    def _set_user_rows(self, rows: np.ndarray, state: UserState, n_users: int) -> None:
        for part, attr in USER_PARTS.items():
            table = getattr(self, attr, None)
            if table is not None:
                grown = grow_rows(table, n_users)
                grown[rows] = state[part]
                setattr(self, attr, grown)

    def _user_tensors(self, state: Mapping[str, np.ndarray], device: torch.device):
        import torch

        return {
            k: torch.from_numpy(np.ascontiguousarray(v, np.float32)).to(device)
            for k, v in state.items()
        }

    def _item_tensors(self, net: FactorNet, items: np.ndarray, device: torch.device):
        import torch

        from workbench_torch.train import zero_rows

        inside = items >= 0
        idx = torch.from_numpy(np.where(inside, items, 0).astype(np.int64)).to(device)
        part = net.item_part(idx)
        if inside.all():
            return part
        mask = torch.from_numpy(inside.astype(np.float32)).to(device)
        return {k: zero_rows(t, mask) for k, t in part.items()}

    def _score(self, state: UserState, items: np.ndarray) -> np.ndarray:
        import torch

        from workbench_torch.train import torch_threads

        net, device = self._inference()
        with torch_threads(self.params.threads), torch.no_grad():
            user = self._user_tensors(state, device)
            scores = net.block_scores(user, self._item_tensors(net, items, device))
            return scores.to("cpu").numpy()

    def _score_pairs(self, state: UserState, items: np.ndarray) -> np.ndarray:
        import torch

        from workbench_torch.train import torch_threads

        net, device = self._inference()
        with torch_threads(self.params.threads), torch.no_grad():
            user = self._user_tensors(state, device)
            scores = net.pair_scores(user, self._item_tensors(net, items, device))
            return scores.to("cpu").numpy()

    def _rank(
        self,
        state: UserState,
        seen: sp.csr_matrix | None,
        candidates: np.ndarray,
        k: int,
        order: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top-k on the model's device: score the block there, set seen items to -inf, take
        ``topk(k + 1)``; only (k, k+1)-ties and the k-list's own order are settled on the host,
        so ties follow ``order`` (or the item index) exactly like the default ranking."""
        import torch

        from workbench_torch.train import torch_threads

        net, device = self._inference()
        m = len(candidates)
        with torch_threads(self.params.threads), torch.no_grad():
            user = self._user_tensors(state, device)
            cols = candidates if order is None else candidates[order]
            scores = net.block_scores(user, self._item_tensors(net, cols, device))
            if seen is not None and seen.nnz:
                pos = np.full(self.n_items_, -1, dtype=np.int64)
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

    def item_embeddings(self) -> np.ndarray:
        return self.item_factors_

    # -- fold-in ------------------------------------------------------------------------------
    def _fold_in(self, history: sp.csr_matrix, **options: Any) -> UserState:
        """New users' parts optimised by full-batch Adam on the training loss (items and
        layers frozen), from zero, ``fold_in_epochs`` steps; deterministic (seeded)."""
        import torch

        from workbench_torch.train import batch_loss, torch_threads

        p = self.params
        net, device = self._inference()
        n = history.shape[0]
        users = np.repeat(np.arange(n, dtype=np.int64), np.diff(history.indptr))
        items = history.indices.astype(np.int64)
        values = history.data.astype(np.float32)
        if p.loss != "mse":
            keep = self._positive(values)
            users, items, values = users[keep], items[keep], np.ones(keep.sum(), np.float32)
        template = self._user_state(np.full(n, -1, dtype=np.int64))
        if len(users) == 0:
            return template
        with torch_threads(p.threads):
            width = net.user.weight.shape[1]
            rows = torch.zeros((n, width), device=device, requires_grad=True)  # a user table
            u = torch.from_numpy(users).to(device)
            i = torch.from_numpy(items).to(device)
            r = torch.from_numpy(values).to(device)
            opt = torch.optim.Adam([rows], lr=options.get("lr", p.fold_in_lr))
            n_epochs = int(options.get("n_epochs", p.fold_in_epochs))
            generator = torch.Generator().manual_seed(p.seed + 1)
            cfg = self._config()
            weights = net.penalty_weights(cfg.reg, cfg.reg_bias)
            for _ in range(n_epochs):
                opt.zero_grad(set_to_none=True)
                loss = batch_loss(
                    net, rows[u], i, r, cfg, self.n_items_, generator, weights, items_frozen=True
                )
                loss.backward()
                opt.step()
            self.check_loss(float(loss.item()), n_epochs, "try a lower fold_in_lr")
            out = {k: t.to("cpu").numpy().copy() for k, t in net.split(rows.detach()).items()}
            return UserState.of(n_rows=n, **out)

    # -- files --------------------------------------------------------------------------------
    def _state_arrays(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {"global_mean": np.asarray(self.global_mean_, np.float64)}
        for attr in [*USER_PARTS.values(), *ITEM_PARTS.values()]:
            if getattr(self, attr, None) is not None:
                out[attr.rstrip("_")] = getattr(self, attr)
        for name, arr in self.network_.items():
            out[f"net/{name}"] = arr
        return out

    def _set_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.__dict__.pop("_inference_cache", None)
        self.global_mean_ = float(arrays["global_mean"])
        for attr in [*USER_PARTS.values(), *ITEM_PARTS.values()]:
            key = attr.rstrip("_")
            setattr(self, attr, np.asarray(arrays[key], np.float32) if key in arrays else None)
        self.network_ = {
            k[4:]: np.asarray(v, np.float32) for k, v in arrays.items() if k.startswith("net/")
        }
        expected = 2 * len(getattr(self.params, "hidden", [])) + (2 if self.arch != "dot" else 0)
        if len(self.network_) != expected:
            raise DataError(
                f"{self.owner()}: the file holds {len(self.network_)} layer arrays, the "
                f"parameters describe {expected}"
            )


class TorchMF(TorchModel):
    """PyTorch MF: user/item embeddings with a dot product, biases and the global mean."""

    name = "torch-mf"
    Params = TorchParams
    arch = "dot"


class TorchMLP(TorchModel):
    """PyTorch MLP recommender: the concatenated embeddings through ReLU layers (+ biases)."""

    name = "torch-mlp"
    Params = MLPParams
    arch = "mlp"


class TorchNeuMF(TorchModel):
    """NeuMF (He et al. 2017): a dot-product branch fused with an MLP branch."""

    name = "torch-neumf"
    Params = NeuMFParams
    arch = "neumf"
