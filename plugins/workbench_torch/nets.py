"""The PyTorch networks: dot product, MLP and NeuMF-style fusion over user/item embeddings.

Every architecture scores ``net(user part, item part) (+ b_u + b_i) (+ mu)``:

- ``dot``: ``p_u . q_i`` (classic biased MF when biases are on);
- ``mlp``: ``w . MLP([p_u; q_i])``, the concatenated embeddings through ReLU layers;
- ``neumf``: ``w . [p_u * q_i ; MLP([p'_u; q'_i])]`` (He et al. 2017): the element-wise product of
  one pair of embeddings fused with an MLP over a second pair.

A user's part is a dict of tensors (``factors``, ``bias``, and ``mlp_factors`` for neumf), so
folded-in users (not in the tables) are scored by the same code as trained ones. The first
MLP layer is split into a user half and an item half, so scoring a block of users against many
items computes each half once (``relu(A_u + B_i)``) instead of concatenating every pair.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

#: Floats of hidden activations computed at once when scoring blocks (64 MiB in float32).
PAIR_CELLS = 1 << 24


class FactorNet(nn.Module):
    """User/item embeddings (+ biases + global mean) with a dot, MLP or NeuMF head."""

    def __init__(
        self,
        n_users: int,
        n_items: int,
        *,
        arch: str,
        n_factors: int,
        hidden: Sequence[int],
        biases: bool,
        mean: float,
        dropout: float,
        sparse: bool,
        init_std: float,
        generator: torch.Generator,
    ) -> None:
        super().__init__()
        self.arch = arch
        self.use_biases = biases
        self.dropout = dropout
        self.sparse = sparse
        f = n_factors
        # One table per side holds every per-user (per-item) part as columns: one lookup
        # (and one scatter in the backward pass) per side and batch instead of one per part.
        self.columns: dict[str, slice] = {"factors": slice(0, f)}
        if arch == "neumf":
            self.columns["mlp_factors"] = slice(f, 2 * f)
        width = 2 * f if arch == "neumf" else f
        if biases:
            self.columns["bias"] = slice(width, width + 1)
            width += 1
        self.user = nn.Embedding(n_users, width, sparse=sparse)
        self.item = nn.Embedding(n_items, width, sparse=sparse)
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.layers = nn.ModuleList()
        if arch != "dot":
            width = 2 * f
            for h in hidden:
                self.layers.append(nn.Linear(width, h))
                width = h
            self.out = nn.Linear(width + (f if arch == "neumf" else 0), 1)
        with torch.no_grad():
            for table in (self.user, self.item):
                table.weight.normal_(0.0, init_std, generator=generator)
                if biases:
                    table.weight[:, self.columns["bias"]] = 0.0
            for layer in [*self.layers, *([self.out] if arch != "dot" else [])]:
                bound = (6.0 / (layer.in_features + layer.out_features)) ** 0.5
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.zero_()

    # -- parts --------------------------------------------------------------------------------
    def split(self, rows: torch.Tensor) -> dict[str, torch.Tensor]:
        """A table's rows cut into its named parts (the bias as a vector)."""
        parts = {name: rows[..., cols] for name, cols in self.columns.items()}
        if "bias" in parts:
            parts["bias"] = parts["bias"].squeeze(-1)
        return parts

    def lookup(self, table: nn.Embedding, index: torch.Tensor) -> torch.Tensor:
        if self.sparse:
            return table(index)
        return table.weight.index_select(0, index)  # backward: index_add, faster on CPU

    def penalty_weights(self, reg: float, reg_bias: float) -> torch.Tensor:
        """Per-column L2 weights of a table row: ``reg`` on factors, ``reg_bias`` on bias."""
        weights = torch.full((self.user.weight.shape[1],), float(reg))
        if "bias" in self.columns:
            weights[self.columns["bias"]] = float(reg_bias)
        return weights.to(self.user.weight.device)

    def user_part(self, users: torch.Tensor) -> dict[str, torch.Tensor]:
        """The user-side tensors of these (in-range) user indices."""
        return self.split(self.lookup(self.user, users))

    def item_part(self, items: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.split(self.lookup(self.item, items))

    def set_item_tables(self, parts: dict[str, torch.Tensor]) -> None:
        """Write item-side parts (e.g. loaded from a model file) into the item table."""
        with torch.no_grad():
            for name, cols in self.columns.items():
                value = parts[name]
                self.item.weight[:, cols] = value[:, None] if value.dim() == 1 else value

    def _mlp_input(self, user: dict[str, torch.Tensor]) -> torch.Tensor:
        return user["mlp_factors"] if self.arch == "neumf" else user["factors"]

    def _hidden(self, h: torch.Tensor) -> torch.Tensor:
        """The MLP after its first (linear) layer: ReLU, dropout, the remaining layers."""
        h = torch.relu(h)
        for layer in self.layers[1:]:
            if self.training and self.dropout > 0:
                h = nn.functional.dropout(h, self.dropout, training=True)
            h = torch.relu(layer(h))
        if self.training and self.dropout > 0:
            h = nn.functional.dropout(h, self.dropout, training=True)
        return h

    # -- scores ---------------------------------------------------------------------------------
    def pair_scores(
        self, user: dict[str, torch.Tensor], item: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """Score of row r of ``user`` with row r of ``item``: shape (n,)."""
        p, q = user["factors"], item["factors"]
        if self.arch == "dot":
            score = (p * q).sum(-1)
        else:
            x = torch.cat([self._mlp_input(user), self._mlp_input(item)], dim=-1)
            h = self._hidden(self.layers[0](x))
            if self.arch == "neumf":
                h = torch.cat([p * q, h], dim=-1)
            score = self.out(h).squeeze(-1)
        if self.use_biases:
            score = score + user["bias"] + item["bias"]
        return score + self.mean

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.pair_scores(self.user_part(users), self.item_part(items))

    def block_scores(
        self, user: dict[str, torch.Tensor], item: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """Scores of every user row against every item row: shape (n_users, n_items)."""
        p, q = user["factors"], item["factors"]
        if self.arch == "dot":
            scores = p @ q.T
        else:
            first = self.layers[0]
            f_in = first.in_features // 2
            w_user, w_item = first.weight[:, :f_in], first.weight[:, f_in:]
            a = self._mlp_input(user) @ w_user.T  # (n, h)
            b = self._mlp_input(item) @ w_item.T + first.bias  # (m, h)
            n, m = a.shape[0], b.shape[0]
            scores = torch.empty((n, m), dtype=p.dtype, device=p.device)
            rows = max(1, PAIR_CELLS // max(m * a.shape[1], 1))
            for start in range(0, n, rows):
                sl = slice(start, min(start + rows, n))
                h = self._hidden(a[sl, None, :] + b[None, :, :])
                if self.arch == "neumf":
                    h = torch.cat([p[sl, None, :] * q[None, :, :], h], dim=-1)
                scores[sl] = self.out(h).squeeze(-1)
        if self.use_biases:
            scores = scores + user["bias"][:, None] + item["bias"][None, :]
        return scores + self.mean

    def user_tables(self) -> dict[str, torch.Tensor]:
        """The user-side weights by part name (the per-user state)."""
        return self.split(self.user.weight)

    def item_tables(self) -> dict[str, torch.Tensor]:
        return self.split(self.item.weight)
