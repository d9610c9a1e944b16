"""One training step of the dot model with the MSE loss, its gradient written by hand.

For ``torch-mf``'s default (``arch=dot``, ``loss=mse``, dense tables) the loss of a batch
is ``mean((p_u . q_i + b_u + b_i + mu - r)^2) + mean(sum_j w_j U_j^2) + mean(sum_j w_j
I_j^2)`` over the batch's user rows ``U`` and item rows ``I`` (``w``: ``reg`` on the
factors, ``reg_bias`` on the bias). Its gradient is short enough to write out: ``g = 2 (pred
- r) / B``, ``dU = g [q_i, 1] + 2 w U / B`` (likewise ``dI``), scattered into the table
gradients with one ``index_add_`` per side. About 25 tensor operations a batch instead of the
~60 of the autograd graph (column-slice views, their zero-filled backward, the penalty and
loss nodes), which is most of an epoch on small data: the math is autograd's, the rounding of
the last bits is not (the sums run in another order).
"""

from __future__ import annotations

import torch

from workbench_torch.nets import FactorNet


def applies(net: FactorNet, loss: str, sparse: bool) -> bool:
    """Whether `dot_mse_step` computes this model's training step."""
    return net.arch == "dot" and loss == "mse" and not sparse and not list(net.layers)


def dot_mse_step(
    net: FactorNet, u: torch.Tensor, i: torch.Tensor, r: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """Set the gradients of ``net``'s user and item tables for the batch ``(u, i, r)``;
    returns the batch's loss (a 0-d tensor, no graph)."""
    users, items = net.user.weight, net.item.weight
    f = net.columns["factors"].stop
    bias = net.columns.get("bias")
    n = len(r)
    with torch.no_grad():
        U = users.index_select(0, u)
        I = items.index_select(0, i)  # noqa: E741
        pred = (U[:, :f] * I[:, :f]).sum(1)
        if bias is not None:
            pred += U[:, f] + I[:, f]
        err = pred + net.mean - r
        loss = err.square().mean() + (U.square() @ weights).mean() + (I.square() @ weights).mean()
        g = err * (2.0 / n)
        scale = weights * (2.0 / n)
        grads = []
        for own, other in ((U, I), (I, U)):
            d = own * scale
            d[:, :f].addcmul_(g[:, None], other[:, :f])
            if bias is not None:
                d[:, f] += g
            grads.append(d)
        for table, index, d in ((users, u, grads[0]), (items, i, grads[1])):
            if table.grad is None:
                table.grad = torch.zeros_like(table)
            else:  # the same buffer every batch: no allocation of a table-sized tensor
                table.grad.zero_()
            table.grad.index_add_(0, index, d)
    return loss
