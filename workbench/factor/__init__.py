"""The building blocks of matrix-factorisation models: the embedding model kinds (a factor
vector per user and per item, biases optional: `embedding`) and the fold-in solvers that give
new users their factors with the items frozen (`fold_in`: ridge, confidence-weighted,
non-negative and gradient steps). Model plugins compose these on top of the
contract of `workbench.model`.
"""
