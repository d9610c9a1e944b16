"""Choosing the torch device (imports torch: only used once a torch model runs)."""

from __future__ import annotations

import torch

from workbench.errors import ParamError


def available(kind: str) -> bool:
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        mps = getattr(torch.backends, "mps", None)
        return bool(mps is not None and mps.is_available())
    return kind == "cpu"


def resolve_device(name: str, *, owner: str, strict: bool) -> torch.device:
    """The device for ``device=name``: ``auto`` picks cuda, then mps, then cpu.

    A named accelerator that is missing is a `ParamError` when ``strict`` (training), and the
    CPU otherwise (a model trained on a GPU, loaded on a machine without one).
    """
    if name == "auto":
        for kind in ("cuda", "mps"):
            if available(kind):
                return torch.device(kind)
        return torch.device("cpu")
    if available(name):
        return torch.device(name)
    if strict:
        raise ParamError(
            f"parameter 'device' of {owner}: got {name!r}, but {name} is not available in this "
            f"torch {torch.__version__} install; use device='cpu' or 'auto'"
        )
    return torch.device("cpu")
