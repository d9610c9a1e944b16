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
        f = n_factors
        self.user = nn.Embedding(n_users, f, sparse=sparse)
        self.item = nn.Embedding(n_items, f, sparse=sparse)
        tables = [self.user, self.item]
        if arch == "neumf":
            self.user_mlp = nn.Embedding(n_users, f, sparse=sparse)
            self.item_mlp = nn.Embedding(n_items, f, sparse=sparse)
            tables += [self.user_mlp, self.item_mlp]
        if biases:
            self.user_bias = nn.Embedding(n_users, 1, sparse=sparse)
            self.item_bias = nn.Embedding(n_items, 1, sparse=sparse)
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.layers = nn.ModuleList()
        if arch != "dot":
            width = 2 * f
            for h in hidden:
                self.layers.append(nn.Linear(width, h))
                width = h
            self.out = nn.Linear(width + (f if arch == "neumf" else 0), 1)
        with torch.no_grad():
            for table in tables:
                table.weight.normal_(0.0, init_std, generator=generator)
            if biases:
                self.user_bias.weight.zero_()
                self.item_bias.weight.zero_()
            for layer in [*self.layers, *([self.out] if arch != "dot" else [])]:
                bound = (6.0 / (layer.in_features + layer.out_features)) ** 0.5
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.zero_()

    # -- parts --------------------------------------------------------------------------------
    def user_part(self, users: torch.Tensor) -> dict[str, torch.Tensor]:
        """The user-side tensors of these (in-range) user indices."""
        part = {"factors": self.user(users)}
        if self.arch == "neumf":
            part["mlp_factors"] = self.user_mlp(users)
        if self.use_biases:
            part["bias"] = self.user_bias(users).squeeze(-1)
        return part

    def item_part(self, items: torch.Tensor) -> dict[str, torch.Tensor]:
        part = {"factors": self.item(items)}
        if self.arch == "neumf":
            part["mlp_factors"] = self.item_mlp(items)
        if self.use_biases:
            part["bias"] = self.item_bias(items).squeeze(-1)
        return part

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
        out = {"factors": self.user.weight}
        if self.arch == "neumf":
            out["mlp_factors"] = self.user_mlp.weight
        if self.use_biases:
            out["bias"] = self.user_bias.weight.squeeze(-1)
        return out

    def item_tables(self) -> dict[str, torch.Tensor]:
        out = {"factors": self.item.weight}
        if self.arch == "neumf":
            out["mlp_factors"] = self.item_mlp.weight
        if self.use_biases:
            out["bias"] = self.item_bias.weight.squeeze(-1)
        return out
