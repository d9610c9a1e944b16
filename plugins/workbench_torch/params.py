"""Parameters of the PyTorch models, with the defaults documented in docs/models.md.

Kept free of torch imports: the CLI lists parameters without loading torch.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from workbench.params import Params

#: The default ``reg`` by loss (``reg=None``), per architecture.
DEFAULT_REG = {
    "dot": {"mse": 0.1, "bce": 0.01, "bpr": 0.01},
    "mlp": {"mse": 0.3, "bce": 0.01, "bpr": 0.01},
}


class TorchParams(Params):
    """Parameters every PyTorch model has (the dot-product model's defaults)."""

    n_factors: int = Field(64, ge=1, description="embedding size of users and items")
    loss: Literal["mse", "bce", "bpr"] = Field(
        "mse",
        description="mse: rating prediction; bce (sampled negatives) or bpr: ranking from "
        "implicit feedback, or from explicit data used as implicit (see positive_threshold)",
    )
    n_epochs: int = Field(20, ge=1, description="passes over the training interactions")
    batch_size: int = Field(4096, ge=1, description="interactions per mini-batch")
    lr: float = Field(0.02, gt=0, description="Adam learning rate of the first epoch")
    lr_schedule: Literal["cosine", "constant"] = Field(
        "cosine", description="cosine: decay the learning rate to 5% of lr over n_epochs"
    )
    reg: float | None = Field(
        None,
        ge=0,
        description="L2 penalty of the embedding rows in each batch (per row); None: 0.1 "
        "for mse, 0.01 for bce/bpr",
    )
    reg_bias: float = Field(0.01, ge=0, description="L2 penalty of the biases in each batch")
    biases: bool = Field(True, description="learn user and item biases")
    init_std: float = Field(0.01, gt=0, description="standard deviation of the initial embeddings")
    optimizer: Literal["adam", "sparse_adam"] = Field(
        "adam",
        description="adam: dense Adam (weight decay on the layers); sparse_adam: sparse "
        "embedding gradients with SparseAdam (large catalogues)",
    )
    n_negatives: int = Field(
        1, ge=1, description="sampled negative items per positive (bce and bpr)"
    )
    positive_threshold: float | None = Field(
        None,
        description="bce/bpr only: interactions with a value >= this are positives (e.g. 4 "
        "for ratings); None: every interaction is a positive",
    )
    early_stopping_rounds: int | None = Field(
        None,
        ge=1,
        description="stop after this many epochs without a better validation RMSE (mse) or "
        "nDCG@10 (bce/bpr) and keep the best epoch (needs validation data)",
    )
    validation_fraction: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="fraction of the training interactions held out (seeded) as validation "
        "data when fit() gets none",
    )
    fold_in_epochs: int = Field(
        100, ge=1, description="full-batch Adam steps of fold_in/update_users (items frozen)"
    )
    fold_in_lr: float = Field(0.05, gt=0, description="Adam learning rate of fold-in")
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto", description="where to train and score; auto: cuda, else mps, else cpu"
    )
    threads: int | None = Field(
        None,
        ge=1,
        description="torch CPU threads for fit and scoring; None: WORKBENCH_THREADS where "
        "set, else 1 (one in a --jobs or cluster worker)",
    )
    seed: int = Field(0, ge=0, description="random seed (initial weights, batches, negatives)")


class MLPParams(TorchParams):
    """The MLP's defaults (5-fold ML-100k, docs/models.md)."""

    n_factors: int = Field(32, ge=1, description="embedding size of users and items")
    hidden: list[Annotated[int, Field(ge=1)]] = Field(
        [64, 32],
        min_length=1,
        description="widths of the hidden ReLU layers (at least one layer)",
    )
    dropout: float = Field(0.4, ge=0, lt=1, description="dropout after each hidden layer")
    weight_decay: float = Field(1e-3, ge=0, description="Adam weight decay of the layers")
    n_epochs: int = Field(20, ge=1, description="passes over the training interactions")
    lr: float = Field(0.01, gt=0, description="Adam learning rate of the first epoch")
    reg: float | None = Field(
        None,
        ge=0,
        description="L2 penalty of the embedding rows in each batch (per row); None: 0.3 "
        "for mse, 0.01 for bce/bpr",
    )


class NeuMFParams(MLPParams):
    """NeuMF's defaults (the MLP's, with the dot-product half added)."""
