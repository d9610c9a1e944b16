"""Built-in plugin: matrix factorisation and neural recommenders in PyTorch.

- ``torch-mf`` (alias ``torch-dot``): embeddings with a dot product, biases and global mean.
- ``torch-mlp``: the embeddings through a small fully connected network.
- ``torch-neumf`` (alias ``neumf``): NeuMF-style fusion of the two.

Each trains with MSE (ratings) or BCE with sampled negatives / BPR (ranking). torch is
imported inside the hook, so ``import workbench`` and listing plugins stay fast.
"""

from __future__ import annotations

from workbench import hookimpl


@hookimpl
def register_models(register):
    from workbench_torch.models import TorchMF, TorchMLP, TorchNeuMF

    register(TorchMF, aliases=["torch-dot"])
    register(TorchMLP)
    register(TorchNeuMF, aliases=["neumf"])
