"""`workbench_torch.fused.dot_mse_step`: the hand-written gradient of the dot model's MSE
step equals autograd's of `train.batch_loss` (to float32 rounding), with and without biases."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from workbench_torch import fused  # noqa: E402
from workbench_torch.nets import FactorNet  # noqa: E402
from workbench_torch.train import TrainConfig, batch_loss  # noqa: E402


def net(biases: bool) -> FactorNet:
    g = torch.Generator().manual_seed(0)
    m = FactorNet(30, 20, arch="dot", n_factors=6, hidden=[], biases=biases, mean=3.5,
                  dropout=0.0, sparse=False, init_std=0.3, generator=g)  # fmt: skip
    if biases:
        with torch.no_grad():
            m.user.weight[:, -1].normal_(0, 0.2, generator=g)
            m.item.weight[:, -1].normal_(0, 0.2, generator=g)
    return m


@pytest.mark.parametrize("biases", [True, False])
def test_hand_written_gradient_equals_autograd(biases):
    rng = np.random.default_rng(1)
    u = torch.from_numpy(rng.integers(0, 30, 50))  # repeats: the scatter must add them
    i = torch.from_numpy(rng.integers(0, 20, 50))
    r = torch.from_numpy(rng.integers(1, 6, 50).astype(np.float32))
    cfg = TrainConfig(loss="mse", n_epochs=1, batch_size=50, lr=0.01, lr_schedule="constant",
                      reg=0.05, reg_bias=0.01, weight_decay=0.0, n_negatives=1, sparse=False,
                      early_stopping_rounds=None)  # fmt: skip
    a, b = net(biases), net(biases)
    assert fused.applies(a, "mse", False) and not fused.applies(a, "bce", False)
    weights = a.penalty_weights(cfg.reg, cfg.reg_bias)
    ref = batch_loss(a, a.lookup(a.user, u), i, r, cfg, 20, torch.Generator(), weights)
    ref.backward()
    got = fused.dot_mse_step(b, u, i, r, weights)
    assert float(got) == pytest.approx(float(ref), rel=1e-6)
    for table in ("user", "item"):
        want = getattr(a, table).weight.grad
        have = getattr(b, table).weight.grad
        torch.testing.assert_close(have, want, rtol=1e-5, atol=1e-7)
        assert (have != 0).any()
