"""The declared scorer of the torch models (`workbench.factor.scoring`): the user state is the
model's per-user tables, scores come from the network on the model's placement
(`workbench_torch.placement`, imported with torch only when a model scores).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.user_state import UserState
from workbench_torch.parts import USER_PARTS


class TorchScorer:
    """The scorer of the torch models: the user state is the model's per-user tables (zeros
    for ``-1``), scores come from the network on the model's placement."""

    uses_mean = False  # the mean is one of the torch models' own saved arrays

    def user_state(self, model: Any, users: np.ndarray) -> UserState:
        inside = users >= 0
        safe = np.where(inside, users, 0)
        out = {}
        for part, attr in USER_PARTS.items():
            table = getattr(model, attr, None)
            if table is not None:
                rows = table[safe]
                mask = inside[:, None] if rows.ndim == 2 else inside
                out[part] = (rows * mask).astype(np.float32)
        return UserState.of(n_rows=len(users), **out)

    def block(self, model: Any, state: UserState, items: np.ndarray) -> np.ndarray:
        from workbench_torch.placement import placement_of

        return placement_of(model).block(state, items)

    def pairs(self, model: Any, state: UserState, items: np.ndarray) -> np.ndarray:
        from workbench_torch.placement import placement_of

        return placement_of(model).pairs(state, items)
