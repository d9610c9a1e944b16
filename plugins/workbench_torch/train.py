"""The training loop: mini-batches sliced from tensors in memory, MSE / BCE / BPR losses.

No per-sample ``Dataset``/``DataLoader``: each epoch draws one permutation (from the model's
seeded generator), gathers the (user, item, value) tensors once into that order, and slices
contiguous mini-batches from them. Negatives for BCE and BPR are drawn uniformly from all items
by the same generator. Regularisation is L2 on the embedding rows a batch touches (the
classic per-rating penalty of SGD matrix factorisation, which also works with sparse
gradients) plus weight decay on the network layers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from workbench.model import DivergenceGuard
from workbench_torch import fused
from workbench_torch.nets import FactorNet

#: Users scored per block when validating by nDCG@10 during training.
VALIDATION_BLOCK = 1024
#: Validation metrics where higher is better (the others are minimised).
HIGHER_IS_BETTER = frozenset({"ndcg@10"})


@dataclass(frozen=True)
class TrainConfig:
    """What the loop needs from the model's parameters."""

    loss: str  # "mse" | "bce" | "bpr"
    n_epochs: int
    batch_size: int
    lr: float
    lr_schedule: str  # "cosine" | "constant"
    reg: float
    reg_bias: float
    weight_decay: float
    n_negatives: int
    sparse: bool
    early_stopping_rounds: int | None


@dataclass
class TrainResult:
    """What happened: epochs run, the epoch whose weights were kept, the loss per epoch."""

    n_epochs: int
    best_epoch: int
    loss_history: list[float] = field(default_factory=list)
    validation_history: list[dict[str, float]] = field(default_factory=list)


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` intra-op threads (None: the workbench's thread setting,
    `workbench.threads.thread_budget`: one in a ``--jobs`` or cluster worker)."""
    from workbench.threads import torch_threads as workbench_torch_threads

    with workbench_torch_threads(n):
        yield


def make_optimizers(net: nn.Module, cfg: TrainConfig) -> list[torch.optim.Optimizer]:
    """SparseAdam for sparse embedding tables (+ Adam for the layers), or one Adam with
    weight decay on the layers only (the tables are regularised per batch row)."""
    tables = [p for n, p in net.named_parameters() if not n.startswith(("layers.", "out."))]
    layers = [p for n, p in net.named_parameters() if n.startswith(("layers.", "out."))]
    if cfg.sparse:
        opts: list[torch.optim.Optimizer] = [torch.optim.SparseAdam(tables, lr=cfg.lr)]
        if layers:
            opts.append(torch.optim.Adam(layers, lr=cfg.lr, weight_decay=cfg.weight_decay))
        return opts
    groups = [{"params": tables, "weight_decay": 0.0}]
    if layers:
        groups.append({"params": layers, "weight_decay": cfg.weight_decay})
    # fused: one kernel per step for all parameters (CPU and CUDA), instead of a loop of ops
    fused = all(p.device.type in ("cpu", "cuda") for p in tables + layers)
    return [torch.optim.Adam(groups, lr=cfg.lr, fused=fused or None)]


def lr_factor(cfg: TrainConfig, epoch: int) -> float:
    """Multiplier of the learning rate in ``epoch`` (0-based): cosine from 1 down to 0.05."""
    if cfg.lr_schedule == "constant" or cfg.n_epochs <= 1:
        return 1.0
    return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * epoch / (cfg.n_epochs - 1)))


def row_penalty(rows: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """L2 of the table rows in a batch: per row ``sum_j weights_j x_j^2`` (``reg`` on the
    factors, ``reg_bias`` on the bias), batch mean."""
    return (rows.square() @ weights).mean()


def batch_loss(
    net: FactorNet,
    user_rows: torch.Tensor,
    i: torch.Tensor,
    r: torch.Tensor,
    cfg: TrainConfig,
    n_items: int,
    generator: torch.Generator,
    weights: torch.Tensor,
    *,
    items_frozen: bool = False,
) -> torch.Tensor:
    """The loss of one batch: user table rows (one per interaction), item indices ``i``
    and values ``r`` (unused by BCE/BPR). ``items_frozen`` leaves out the item penalty."""
    user = net.split(user_rows)
    item_rows = net.lookup(net.item, i)
    item = net.split(item_rows)
    pen = row_penalty(user_rows, weights)
    if not items_frozen:
        pen = pen + row_penalty(item_rows, weights)
    if cfg.loss == "mse":
        return nn.functional.mse_loss(net.pair_scores(user, item), r) + pen
    k = cfg.n_negatives
    neg = torch.randint(n_items, (len(i) * k,), generator=generator).to(i.device)
    neg_rows = net.lookup(net.item, neg)
    neg_item = net.split(neg_rows)
    if not items_frozen:
        pen = pen + row_penalty(neg_rows, weights)
    rep_user = {name: t.repeat_interleave(k, dim=0) for name, t in user.items()} if k > 1 else user
    pos = net.pair_scores(user, item)
    negs = net.pair_scores(rep_user, neg_item)
    if cfg.loss == "bpr":
        diff = pos.repeat_interleave(k) - negs if k > 1 else pos - negs
        return -nn.functional.logsigmoid(diff).mean() + pen
    logits = torch.cat([pos, negs])
    labels = torch.cat([torch.ones_like(pos), torch.zeros_like(negs)])
    return nn.functional.binary_cross_entropy_with_logits(logits, labels) + pen


def run_training(
    net: FactorNet,
    users: torch.Tensor,
    items: torch.Tensor,
    values: torch.Tensor,
    cfg: TrainConfig,
    *,
    n_items: int,
    generator: torch.Generator,
    report: Callable[[int, float, dict[str, float], float], None],
    validate: Callable[[], dict[str, float]] | None = None,
    select_on: str | None = None,
) -> TrainResult:
    """Train ``net`` in place; returns what happened.

    ``report(epoch, loss, validation, seconds)`` is called after every epoch. With
    ``cfg.early_stopping_rounds`` and ``validate``, training stops after that many epochs
    without a better ``select_on`` metric and the best epoch's weights are restored.
    """
    optimizers = make_optimizers(net, cfg)
    n = len(values)
    bs = max(1, min(cfg.batch_size, n))
    result = TrainResult(n_epochs=0, best_epoch=0)
    best_value, best_state = None, None
    weights = net.penalty_weights(cfg.reg, cfg.reg_bias)
    guard = DivergenceGuard(f"try a lower learning rate than lr={cfg.lr:g} (or a larger reg)")
    fused_step = fused.applies(net, cfg.loss, cfg.sparse)
    for epoch in range(cfg.n_epochs):
        started = time.perf_counter()
        factor = lr_factor(cfg, epoch)
        for opt in optimizers:
            for group in opt.param_groups:
                group["lr"] = cfg.lr * factor
        net.train()
        order = torch.randperm(n, generator=generator, device="cpu").to(users.device)
        su, si, sv = users[order], items[order], values[order]
        total = torch.zeros((), dtype=torch.float64, device=users.device)
        for start in range(0, n, bs):
            u, i, r = su[start : start + bs], si[start : start + bs], sv[start : start + bs]
            if fused_step:  # sets the table gradients itself (in place)
                loss = fused.dot_mse_step(net, u, i, r, weights)
            else:
                for opt in optimizers:
                    opt.zero_grad(set_to_none=True)
                user_rows = net.lookup(net.user, u)
                loss = batch_loss(net, user_rows, i, r, cfg, n_items, generator, weights)
                loss.backward()
            for opt in optimizers:
                opt.step()
            total += loss.detach() * len(u)
        epoch_loss = float(total.item()) / n
        guard.check(epoch_loss, epoch + 1)  # NaN/inf or exploded: stop with the epoch
        net.eval()
        metrics = validate() if validate is not None else {}
        result.n_epochs = epoch + 1
        result.loss_history.append(epoch_loss)
        result.validation_history.append(metrics)
        report(epoch + 1, epoch_loss, metrics, time.perf_counter() - started)
        if cfg.early_stopping_rounds is None or select_on is None:
            continue
        value = metrics[select_on]
        if select_on not in HIGHER_IS_BETTER:
            value = -value
        if best_value is None or value > best_value:
            best_value, result.best_epoch = value, epoch + 1
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        elif epoch + 1 - result.best_epoch >= cfg.early_stopping_rounds:
            break
    if best_state is not None:
        net.load_state_dict(best_state)
    else:
        result.best_epoch = result.n_epochs
    net.eval()
    return result


def zero_rows(t: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``t`` with the rows where ``mask`` is 0 zeroed (1-D or 2-D ``t``)."""
    return t * (mask[:, None] if t.dim() == 2 else mask)


def ndcg_at_10(
    net: FactorNet,
    rows: np.ndarray,
    relevant: sp.csr_matrix,
    seen: sp.csr_matrix,
    device: torch.device,
    k: int = 10,
) -> float:
    """Mean nDCG@k over ``rows`` (users with a relevant item), training items excluded."""
    if len(rows) == 0:
        return float("nan")
    items = net.item_tables()
    discount = 1.0 / torch.log2(torch.arange(2, k + 2, device=device, dtype=torch.float32))
    ideal = torch.cumsum(discount, 0)
    total = 0.0
    for start in range(0, len(rows), VALIDATION_BLOCK):
        block = rows[start : start + VALIDATION_BLOCK]
        ub = torch.from_numpy(block.astype(np.int64)).to(device)
        scores = net.block_scores(net.user_part(ub), items)
        s = seen[block]
        r = np.repeat(np.arange(len(block)), np.diff(s.indptr))
        scores[
            torch.from_numpy(r).to(device), torch.from_numpy(s.indices.astype(np.int64)).to(device)
        ] = -torch.inf
        top = scores.topk(min(k, scores.shape[1]), dim=1).indices
        rel = relevant[block]
        dense = torch.zeros(scores.shape, dtype=torch.float32, device=device)
        rr = np.repeat(np.arange(len(block)), np.diff(rel.indptr))
        dense[
            torch.from_numpy(rr).to(device),
            torch.from_numpy(rel.indices.astype(np.int64)).to(device),
        ] = 1.0
        gains = dense.gather(1, top)
        dcg = (gains * discount[: top.shape[1]]).sum(1)
        n_rel = torch.from_numpy(np.diff(rel.indptr)).to(device).clamp(max=top.shape[1])
        total += float((dcg / ideal[n_rel - 1]).sum().item())
    return total / len(rows)
