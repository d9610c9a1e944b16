"""The PyTorch models pass the model contract (every architecture, rating and ranking losses)."""

from __future__ import annotations

from typing import Any

from workbench_torch.models import TorchMF, TorchMLP, TorchNeuMF

from workbench.data import Interactions
from workbench.testing import ModelContract, low_rank_ratings

SMALL = {"batch_size": 256, "device": "cpu", "threads": 1}


class TestTorchMFContract(ModelContract):
    def make_model(self, **params: Any) -> TorchMF:
        return TorchMF(n_factors=8, n_epochs=30, lr=0.05, **SMALL, **params)


class TestTorchMLPContract(ModelContract):
    def make_model(self, **params: Any) -> TorchMLP:
        return TorchMLP(n_factors=8, hidden=[16], n_epochs=30, dropout=0.1, **SMALL, **params)


class TestTorchNeuMFContract(ModelContract):
    def make_model(self, **params: Any) -> TorchNeuMF:
        return TorchNeuMF(n_factors=8, hidden=[16, 8], n_epochs=30, **SMALL, **params)


class TestTorchBPRContract(ModelContract):
    learns = False

    def make_model(self, **params: Any) -> TorchMF:
        return TorchMF(n_factors=8, n_epochs=10, loss="bpr", **SMALL, **params)

    def make_data(self) -> Interactions:
        return low_rank_ratings(kind="implicit")


class TestTorchBCEContract(ModelContract):
    learns = False

    def make_model(self, **params: Any) -> TorchMLP:
        return TorchMLP(
            n_factors=8, hidden=[8], n_epochs=10, loss="bce", n_negatives=2, **SMALL, **params
        )

    def make_data(self) -> Interactions:
        return low_rank_ratings(kind="implicit")


class TestTorchSparseAdamContract(ModelContract):
    def make_model(self, **params: Any) -> TorchMF:
        return TorchMF(
            n_factors=8, n_epochs=30, lr=0.05, optimizer="sparse_adam", **SMALL, **params
        )
