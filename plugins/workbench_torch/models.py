"""PyTorch matrix factorisation: ``torch-mf`` (dot), ``torch-mlp`` and ``torch-neumf``.

The models are `EmbeddingModel`s: the learned weights live on the model as numpy arrays
(``user_factors_``, ``item_factors_``, biases, ``user_mlp_factors_``/``item_mlp_factors_`` for
NeuMF, ``network_`` for the layers), so files are the workbench's ``.npz`` format (the
architecture is in the saved parameters) and a model trained on a GPU loads anywhere.
The model class holds parameters and those arrays only: the device and the inference network
rebuilt there live in a placement (`workbench_torch.placement`, looked up at fit and score
time, never saved or cloned); the models score through their declared `TorchScorer` and
`_rank` takes the top-k on the placement's device.
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
from workbench.factor.fold_in import gradient_schedule
from workbench.model import EpochInfo, TrainingCallback
from workbench.user_state import UserState, grow_rows
from workbench_torch.params import DEFAULT_REG, MLPParams, NeuMFParams, TorchParams
from workbench_torch.parts import ITEM_PARTS, USER_PARTS
from workbench_torch.scorer import TorchScorer

if TYPE_CHECKING:  # torch is imported where it is used: registering the models stays fast
    import torch

    from workbench_torch.nets import FactorNet
    from workbench_torch.train import TrainConfig


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
    #: Scores from the network on the model's placement (`workbench_torch.placement`).
    scorer = TorchScorer()

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
        from workbench_torch.placement import device_of

        device = device_of(self, strict=True)
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

    # -- scoring: the declared TorchScorer; ranking on the placement's device ---------------
    def _set_user_rows(self, rows: np.ndarray, state: UserState, n_users: int) -> None:
        for part, attr in USER_PARTS.items():
            table = getattr(self, attr, None)
            if table is not None:
                grown = grow_rows(table, n_users)
                grown[rows] = state[part]
                setattr(self, attr, grown)

    def _rank(
        self,
        state: UserState,
        seen: sp.csr_matrix | None,
        candidates: np.ndarray,
        k: int,
        order: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top-k on the model's device (`workbench_torch.placement.Placement.rank`)."""
        from workbench_torch.placement import placement_of

        return placement_of(self).rank(state, seen, candidates, k, order, self.n_items_)

    # -- fold-in ------------------------------------------------------------------------------
    def _fold_in(self, history: sp.csr_matrix, **options: Any) -> UserState:
        """New users' parts optimised by full-batch Adam on the training loss (items and
        layers frozen), from zero, ``fold_in_epochs`` steps; deterministic (seeded)."""
        import torch

        from workbench_torch.placement import placement_of
        from workbench_torch.train import batch_loss, torch_threads

        p = self.params
        placement = placement_of(self)
        net, device = placement.net, placement.device
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
            n_epochs, lr = gradient_schedule(options, n_epochs=p.fold_in_epochs, lr=p.fold_in_lr)
            opt = torch.optim.Adam([rows], lr=lr)
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
